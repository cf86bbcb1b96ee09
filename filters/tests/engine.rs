//! The indexed matcher against the reference evaluator: random filters and documents, random
//! interleavings of register and remove. The index must give exactly the evaluator's answer.

use std::collections::{BTreeSet, HashMap};

use herald_filters::engine::{CollectionName, Engine};
use herald_filters::eval::eval;
use herald_filters::{normalize, FilterId, Normalized, Options};
use proptest::prelude::*;
use serde_json::{json, Value};

const FIELDS: &[&str] = &["a", "b", "c.d", "tags", "loc", "n"];

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        (0i64..4).prop_map(|n| json!(n)),
        prop::sample::select(vec!["x", "y", "1", "true", "", "TRUE", "a true xyz"])
            .prop_map(|s| json!(s)),
        any::<bool>().prop_map(Value::Bool),
        Just(Value::Null),
        Just(json!(1.5)),
    ]
}

fn field() -> impl Strategy<Value = String> {
    prop::sample::select(FIELDS.to_vec()).prop_map(str::to_string)
}

fn point() -> impl Strategy<Value = Value> {
    prop_oneof![
        (0.0f64..2.0, 0.0f64..2.0).prop_map(|(lat, lon)| json!([lat, lon])),
        cluster_point().prop_map(|(lat, lon)| json!([lat, lon])),
    ]
}

/// A point of the dense cluster around (1, 1): about 5 km across, where many small shapes
/// of every size overlap (geo coverings, inside and boundary cells).
fn cluster_point() -> impl Strategy<Value = (f64, f64)> {
    (-0.025f64..0.025, -0.025f64..0.025).prop_map(|(a, b)| (1.0 + a, 1.0 + b))
}

fn term() -> impl Strategy<Value = Value> {
    prop_oneof![
        (field(), scalar()).prop_map(|(f, v)| json!({"equals": {f: v}})),
        (field(), prop::collection::vec(prop::sample::select(vec!["x", "y", "1", "z"]), 1..3))
            .prop_map(|(f, v)| json!({"in": {f: v}})),
        field().prop_map(|f| json!({"exists": f})),
        (field(), scalar()).prop_map(|(f, v)| json!({"exists": format!("{f}[{v}]")})),
        field().prop_map(|f| json!({"missing": f})),
        (field(), -1i64..3, 1i64..4, any::<bool>(), any::<bool>()).prop_map(|(f, lo, w, gi, li)| {
            let (g, l) = (if gi { "gte" } else { "gt" }, if li { "lte" } else { "lt" });
            json!({"range": {f: {g: lo, l: lo + w}}})
        }),
        (field(), -1i64..3, any::<bool>()).prop_map(|(f, b, up)| {
            if up { json!({"range": {f: {"lt": b}}}) } else { json!({"range": {f: {"gte": b}}}) }
        }),
        // Without grams (scanned), then with (indexed by gram; case-insensitive too).
        (field(), prop::sample::select(vec!["^x", "y$", "1", "^$", "tr"]))
            .prop_map(|(f, r)| json!({"regexp": {f: r}})),
        (field(), prop::sample::select(vec!["tru", "rue$", "\\btrue\\b", "xyz|TRU", "^a.*xyz"]), any::<bool>())
            .prop_map(|(f, r, i)| json!({"regexp": {f: {"value": r, "flags": if i { "i" } else { "" }}}})),
        (point(), 50_000u32..200_000).prop_map(|(p, d)| json!({"geoDistance": {"loc": p, "distance": format!("{d}m")}})),
        // From a few one-degree cells through the thirty-degree grid to the R-tree.
        (point(), 300u32..12_000).prop_map(|(p, d)| json!({"geoDistanceRange": {"loc": p, "from": "1km", "to": format!("{d}km")}})),
        // Polygons around the documents' points (edges cut in latitude bands).
        (prop::collection::vec((-3.0f64..5.0, -3.0f64..5.0), 3..6)).prop_map(|v| {
            json!({"geoPolygon": {"loc": {"points": v.iter().map(|(a, b)| json!([a, b])).collect::<Vec<_>>()}}})
        }),
        (0.0f64..1.5, 0.0f64..1.5).prop_map(|(b, l)| json!({"geoBoundingBox": {"loc": {"top": b + 0.5, "bottom": b, "left": l, "right": l + 0.5}}})),
        // The dense cluster: circles, bands and boxes of 20 m to 5 km around (1, 1).
        (cluster_point(), 20u32..5_000).prop_map(|((lat, lon), d)| json!({"geoDistance": {"loc": [lat, lon], "distance": format!("{d}m")}})),
        (cluster_point(), 10u32..2_000, 10u32..3_000).prop_map(|((lat, lon), from, w)| json!({"geoDistanceRange": {"loc": [lat, lon], "from": format!("{from}m"), "to": format!("{}m", from + w)}})),
        (cluster_point(), 0.0001f64..0.03).prop_map(|((lat, lon), h)| json!({"geoBoundingBox": {"loc": {"top": lat + h, "bottom": lat - h, "left": lon - h, "right": lon + h}}})),
        (field(), scalar()).prop_map(|(f, v)| json!({"match": {f: v}})),
        scalar().prop_map(|v| json!({"match": {"tags": [v]}})),
        (-2i64..2, scalar()).prop_map(|(i, v)| json!({"select": {"field": "tags", "index": i, "query": {"equals": {"value": v}}}})),
        Just(json!({"ids": {"values": ["d1", "d2"]}})),
        // Under a `not` (drawn by `filter`), these are negated `select`/`nothing` (decision 12).
        (-3i64..3).prop_map(|i| json!({"select": {"field": "tags", "index": i, "query": {"exists": "value"}}})),
        Just(json!({"nothing": 1})),
    ]
}

fn filter() -> impl Strategy<Value = Value> {
    term().prop_recursive(3, 12, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 1..4).prop_map(|v| json!({"and": v})),
            prop::collection::vec(inner.clone(), 1..4).prop_map(|v| json!({"or": v})),
            inner.clone().prop_map(|f| json!({"not": f})),
            (
                prop::collection::vec(inner.clone(), 0..2),
                prop::collection::vec(inner.clone(), 0..2),
                prop::collection::vec(inner, 1..3)
            )
                .prop_map(|(must, must_not, should)| {
                    let mut b = serde_json::Map::new();
                    if !must.is_empty() {
                        b.insert("must".into(), json!(must));
                    }
                    if !must_not.is_empty() {
                        b.insert("must_not".into(), json!(must_not));
                    }
                    b.insert("should".into(), json!(should));
                    json!({"bool": b})
                }),
        ]
    })
}

fn document() -> impl Strategy<Value = Value> {
    let value = prop_oneof![
        scalar(),
        prop::collection::vec(scalar(), 0..3).prop_map(Value::Array),
        point(),
        (0.0f64..2.0, 0.0f64..2.0).prop_map(|(lat, lon)| json!({"lat": lat, "lon": lon})),
        scalar().prop_map(|v| json!({"d": v})),
    ];
    (
        prop::collection::vec((field(), value), 0..6),
        prop::sample::select(vec!["d1", "d2", "d3"]),
    )
        .prop_map(|(fields, id)| {
            let mut map = serde_json::Map::new();
            map.insert("_id".into(), json!(id));
            for (f, v) in fields {
                map.insert(f, v);
            }
            Value::Object(map)
        })
}

#[derive(Debug, Clone)]
enum Op {
    Register(usize),
    Remove(usize),
    Test(usize),
}

fn check(
    engine: &Engine,
    collection: &CollectionName,
    registered: &HashMap<FilterId, Normalized>,
    doc: &Value,
) -> Result<(), TestCaseError> {
    let mut got = Vec::new();
    engine.test(collection, doc, &mut got);
    let got_set: BTreeSet<FilterId> = got.iter().copied().collect();
    prop_assert_eq!(got.len(), got_set.len(), "duplicate ids in the answer");
    let want: BTreeSet<FilterId> = registered
        .iter()
        .filter(|(_, n)| eval(&n.standardized, doc))
        .map(|(id, _)| *id)
        .collect();
    if got_set != want {
        let show = |ids: &BTreeSet<FilterId>| -> Vec<String> {
            ids.iter()
                .map(|id| {
                    registered
                        .get(id)
                        .map_or("?".into(), |n| n.canonical.to_canonical_string())
                })
                .collect()
        };
        let missing: BTreeSet<_> = want.difference(&got_set).copied().collect();
        let extra: BTreeSet<_> = got_set.difference(&want).copied().collect();
        return Err(TestCaseError::fail(format!(
            "doc {doc}\nmissing: {:?}\nextra: {:?}",
            show(&missing),
            show(&extra)
        )));
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn index_agrees_with_evaluator(
        filters in prop::collection::vec(filter(), 1..40),
        docs in prop::collection::vec(document(), 1..12),
        ops in prop::collection::vec((0u8..10, any::<prop::sample::Index>(), any::<prop::sample::Index>()), 1..120),
    ) {
        let options = Options::default();
        let normalized: Vec<Option<Normalized>> = filters.iter().map(|f| normalize(f, &options).ok()).collect();
        let engine = Engine::new();
        let collection = CollectionName::new("i", "c");
        let mut registered: HashMap<FilterId, Normalized> = HashMap::new();
        let ops: Vec<Op> = ops.into_iter().map(|(kind, a, b)| match kind {
            0..=4 => Op::Register(a.index(filters.len())),
            5..=6 => Op::Remove(a.index(filters.len())),
            _ => Op::Test(b.index(docs.len())),
        }).collect();
        for op in ops {
            match op {
                Op::Register(i) => if let Some(n) = &normalized[i] {
                    let id = engine.register(&collection, n.id, &n.canonical);
                    prop_assert_eq!(id, n.id);
                    registered.insert(n.id, n.clone());
                },
                Op::Remove(i) => if let Some(n) = &normalized[i] {
                    let was = registered.remove(&n.id).is_some();
                    prop_assert_eq!(engine.remove(&collection, &n.id), was);
                },
                Op::Test(d) => check(&engine, &collection, &registered, &docs[d])?,
            }
        }
        for doc in &docs {
            check(&engine, &collection, &registered, doc)?;
        }
        // Removing everything empties the collection.
        for id in registered.keys() {
            prop_assert!(engine.remove(&collection, id));
        }
        prop_assert!(engine.collections().is_empty());
    }
}

#[test]
fn collections_are_independent() {
    let engine = Engine::new();
    let a = CollectionName::new("i", "a");
    let b = CollectionName::new("i", "b");
    let n = normalize(&json!({"equals": {"x": 1}}), &Options::default()).unwrap();
    engine.register(&a, n.id, &n.canonical);
    let mut out = Vec::new();
    engine.test(&b, &json!({"x": 1}), &mut out);
    assert!(out.is_empty());
    engine.test(&a, &json!({"x": 1}), &mut out);
    assert_eq!(out, vec![n.id]);
    assert!(engine.contains(&a, &n.id));
    assert!(!engine.contains(&b, &n.id));
    assert!(!engine.remove(&b, &n.id));
    assert!(engine.remove(&a, &n.id));
    assert!(!engine.remove(&a, &n.id));
}

/// A deterministic generator (xorshift64*), so that the scale test below needs no seed file.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    }
}

/// One filter of a mix where tables grow past their incremental-growth and split thresholds
/// (tens of thousands of distinct `equals` values and literals), anchors are shared by
/// thousands of subfilters (nested nodes), and fields come and go.
fn scale_filter(rng: &mut Rng, i: u64) -> Value {
    match rng.below(7) {
        0 | 1 => json!({"equals": {"id": format!("v{}", rng.below(40_000))}}),
        2 => {
            let low = rng.below(900);
            json!({"and": [
                {"equals": {"cat": format!("c{}", rng.below(8))}},
                {"range": {"price": {"gte": low, "lt": low + 1 + rng.below(100)}}},
            ]})
        }
        3 => {
            json!({"in": {"tag": [format!("t{}", rng.below(3_000)), format!("t{}", rng.below(3_000))]}})
        }
        4 => json!({"and": [
            {"equals": {"cat": format!("c{}", rng.below(8))}},
            {"not": {"equals": {"id": format!("v{}", rng.below(40_000))}}},
        ]}),
        5 => json!({"exists": format!("f{}", i % 500)}),
        _ => json!({"bool": {
            "must": [{"equals": {"status": "active"}}],
            "should": [{"equals": {"tag": format!("t{}", rng.below(3_000))}},
                       {"range": {"price": {"lt": rng.below(1_000)}}}],
        }}),
    }
}

fn scale_document(rng: &mut Rng) -> Value {
    let mut doc = json!({
        "id": format!("v{}", rng.below(40_000)),
        "cat": format!("c{}", rng.below(8)),
        "price": rng.below(1_000),
        "tag": format!("t{}", rng.below(3_000)),
        "status": if rng.below(2) == 0 { "active" } else { "gone" },
    });
    let extra = format!("f{}", rng.below(500));
    doc[extra] = json!(1);
    doc
}

/// The index against the evaluator at a scale the random test above never reaches: 30,000
/// registrations interleaved with 12,000 removals, checked at checkpoints and at the end.
#[test]
fn index_agrees_with_evaluator_at_scale() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let options = Options::default();
    let engine = Engine::new();
    let collection = CollectionName::new("i", "scale");
    let mut registered: HashMap<FilterId, Normalized> = HashMap::new();
    let mut order: Vec<FilterId> = Vec::new();
    let docs: Vec<Value> = (0..40).map(|_| scale_document(&mut rng)).collect();
    let check_all = |registered: &HashMap<FilterId, Normalized>, docs: &[Value]| {
        for doc in docs {
            if let Err(e) = check(&engine, &collection, registered, doc) {
                panic!("{e}");
            }
        }
    };
    for i in 0..30_000u64 {
        let n = normalize(&scale_filter(&mut rng, i), &options).expect("a valid filter");
        engine.register(&collection, n.id, &n.canonical);
        if registered.insert(n.id, n.clone()).is_none() {
            order.push(n.id);
        }
        // Remove an earlier filter two times out of five.
        if rng.below(5) < 2 && !order.is_empty() {
            let at = rng.below(order.len() as u64) as usize;
            let id = order.swap_remove(at);
            assert!(engine.remove(&collection, &id));
            registered.remove(&id);
        }
        if i % 7_500 == 7_499 {
            check_all(&registered, &docs[..10]);
        }
    }
    assert_eq!(engine.len(&collection), registered.len());
    check_all(&registered, &docs);
    for id in order.drain(..) {
        assert!(engine.remove(&collection, &id));
    }
    assert!(engine.collections().is_empty());
}
