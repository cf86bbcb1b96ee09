//! Validation, identity and limits of the filter language.

use std::time::{Duration, Instant};

use herald_filters::{normalize, standardize, FilterError, Options};
use proptest::prelude::*;
use serde_json::{json, Value};

fn id(filter: Value) -> String {
    normalize(&filter, &Options::default())
        .unwrap_or_else(|e| panic!("{filter} rejected: {e}"))
        .id
        .to_hex()
}

fn error(filter: Value) -> FilterError {
    match normalize(&filter, &Options::default()) {
        Ok(n) => panic!("{filter} accepted as {}", n.canonical.to_canonical_string()),
        Err(e) => e,
    }
}

#[test]
fn errors_name_the_offending_path() {
    let cases = [
        (
            json!({"and": [{"equals": {"a": 1}}, {"range": {"age": {"gt": "x"}}}]}),
            "and[1].range.age.gt",
            "must be a number",
        ),
        (json!({"foo": {"a": 1}}), "foo", "unknown keyword"),
        (
            json!({"equals": {"a": 1}, "exists": "b"}),
            "",
            "Filters must have one keyword only",
        ),
        (
            json!({"equals": {"a": [1]}}),
            "equals.a",
            "must either be a string, a number, a boolean, or null",
        ),
        (
            json!({"equals": {"a": 1, "b": 2}}),
            "equals",
            "expected object to have exactly 1 property, got 2",
        ),
        (
            json!({"in": {"a": ["x", 1]}}),
            "in.a",
            "must hold only values of type \"string\"",
        ),
        (json!({"in": {"a": []}}), "in.a", "cannot be empty"),
        (
            json!({"ids": {"value": ["x"]}}),
            "ids",
            "the property \"values\" is missing",
        ),
        (
            json!({"exists": ""}),
            "exists",
            "cannot test empty field name",
        ),
        (
            json!({"exists": {"field": 3}}),
            "exists.field",
            "must be a string",
        ),
        (
            json!({"exists": "tags['red']"}),
            "exists",
            "contains an invalid array value",
        ),
        (
            json!({"range": {"a": {"gt": 1, "gte": 2}}}),
            "range.a",
            "only 1 lower boundary allowed",
        ),
        (
            json!({"range": {"a": {"gt": 5, "lt": 5}}}),
            "range.a",
            "lower boundary must be strictly inferior",
        ),
        (
            json!({"range": {"a": {"between": 5}}}),
            "range.a",
            "\"between\" is not an allowed attribute",
        ),
        (
            json!({"regexp": {"a": "(?=x)"}}),
            "regexp.a",
            "cannot parse regexp expression",
        ),
        (
            json!({"regexp": {"a": 5}}),
            "regexp.a",
            "must be either a string or a non-empty object",
        ),
        (
            json!({"or": [{"equals": {"a": 1}}, {}]}),
            "or",
            "can only contain non-empty objects",
        ),
        (json!({"or": []}), "or", "cannot be empty"),
        (
            json!({"not": {"equals": {"a": 1}, "exists": "a"}}),
            "not",
            "expected object to have exactly 1 property, got 2",
        ),
        (
            json!({"bool": {"must": [{"equals": {"a": 1}}], "filter": []}}),
            "bool",
            "\"filter\" is not an allowed attribute",
        ),
        (
            json!({"bool": {"should": [{"nope": 1}]}}),
            "bool.should[0].nope",
            "unknown keyword",
        ),
        (
            json!({"select": {"field": "a", "index": 1.5, "query": {"exists": "value"}}}),
            "select.index",
            "cannot have decimals",
        ),
        (
            json!({"select": {"field": "a", "index": 0, "query": {"range": {"value": {}}}}}),
            "select.query.range.value",
            "must be a non-empty object",
        ),
        (
            json!({"geoDistance": {"loc": [0, 0], "distance": 5}}),
            "geoDistance.distance",
            "must be a string",
        ),
        (
            json!({"geoDistance": {"loc": [0, 0], "distance": "1000"}}),
            "geoDistance.distance",
            "unable to parse distance value \"1000\"",
        ),
        (
            json!({"geoDistance": {"loc": [0, 0], "distance": "x5 m"}}),
            "geoDistance.distance",
            "unable to parse distance value",
        ),
        (
            json!({"geoDistance": {"loc": "nowhere!", "distance": "5m"}}),
            "geoDistance.loc",
            "unrecognized point format",
        ),
        (
            json!({"geoDistance": {"loc": [95, 0], "distance": "5m"}}),
            "geoDistance.loc",
            "latitude",
        ),
        (
            json!({"geoDistance": {"loc": {"latLon": null}, "distance": "5m"}}),
            "geoDistance.loc",
            "unrecognized point format",
        ),
        (
            json!({"geoDistanceRange": {"loc": [0, 0], "from": "2km", "to": "1km"}}),
            "geoDistanceRange",
            "inner radius must be smaller than outer radius",
        ),
        (
            json!({"geoPolygon": {"loc": {"points": [[0, 0], [1, 1]]}}}),
            "geoPolygon.loc.points",
            "at least 3 points",
        ),
        (
            json!({"geoPolygon": {"loc": {"points": [[0, 0], [1, 1], "x"]}}}),
            "geoPolygon.loc.points",
            "unrecognized point format \"\"x\"\"",
        ),
        (
            json!({"geoBoundingBox": {"loc": {"top": 1, "left": 0, "bottom": 2, "right": 1}}}),
            "geoBoundingBox.loc",
            "min_lat argument cannot be greater or equal max_lat",
        ),
        (json!({"match": {}}), "match", "must be a non-empty object"),
        (json!("abc"), "", "must be JSON objects"),
    ];
    for (filter, path, message) in cases {
        let e = error(filter.clone());
        assert_eq!(e.path, path, "{filter}: {e}");
        assert!(
            e.message.contains(message),
            "{filter}: {e} (wanted {message:?})"
        );
    }
}

#[test]
fn equal_meaning_equal_id() {
    let same = [
        (
            json!({"equals": {"a": 1}}),
            json!({"and": [{"equals": {"a": 1}}]}),
        ),
        (
            json!({"equals": {"a": 1}}),
            json!({"not": {"not": {"equals": {"a": 1.0}}}}),
        ),
        (json!({"in": {"a": ["x"]}}), json!({"equals": {"a": "x"}})),
        (
            json!({"in": {"a": ["x", "y"]}}),
            json!({"in": {"a": ["y", "x", "y"]}}),
        ),
        (
            json!({"ids": {"values": ["1", "2"]}}),
            json!({"in": {"_id": ["2", "1"]}}),
        ),
        (json!({"exists": "a"}), json!({"exists": {"field": "a"}})),
        (json!({"missing": "a"}), json!({"not": {"exists": "a"}})),
        (
            json!({"regexp": {"a": "x"}}),
            json!({"regexp": {"a": {"value": "x", "flags": ""}}}),
        ),
        (
            json!({"regexp": {"a": {"value": "x", "flags": "mi"}}}),
            json!({"regexp": {"a": {"value": "x", "flags": "iim"}}}),
        ),
        (
            json!({"range": {"a": {"gte": 1, "lt": 2}}}),
            json!({"range": {"a": {"lt": 2, "gte": 1}}}),
        ),
        (
            json!({"geoDistance": {"p": [43.6, 3.9], "distance": "1km"}}),
            json!({"geoDistance": {"distance": "1000 meters", "p": {"lat": 43.6, "lon": 3.9}}}),
        ),
        (
            json!({"and": [{"equals": {"b": 1}}, {"equals": {"a": 1}}]}),
            json!({"and": [{"equals": {"a": 1}}, {"equals": {"b": 1}}]}),
        ),
        (
            json!({"or": [{"equals": {"a": 1}}, {"equals": {"a": 1}}]}),
            json!({"equals": {"a": 1}}),
        ),
        (
            json!({"or": [{"equals": {"a": 1}}, {"and": [{"equals": {"a": 1}}, {"exists": "b"}]}]}),
            json!({"equals": {"a": 1}}),
        ),
        (
            json!({"bool": {"should_not": [{"equals": {"a": 1}}, {"exists": "b"}]}}),
            json!({"or": [{"not": {"equals": {"a": 1}}}, {"missing": "b"}]}),
        ),
        (
            json!({"match": {"a": {"x": 1, "y": [2, 3]}}}),
            json!({"match": {"a": {"y": [3, 2], "x": 1}}}),
        ),
        (
            json!({"and": [{"equals": {"a": 1}}, {"equals": {"a": 2}}]}),
            json!({"nothing": true}),
        ),
        (
            json!({"and": [{"exists": "x"}, {"missing": "x"}]}),
            json!({"nothing": null}),
        ),
        (json!({}), json!(null)),
    ];
    for (a, b) in same {
        assert_eq!(id(a.clone()), id(b.clone()), "{a} vs {b}");
    }
    let different = [
        (json!({"equals": {"a": 1}}), json!({"equals": {"a": "1"}})),
        (json!({"exists": "a"}), json!({"exists": "a[1]"})),
        (
            json!({"range": {"a": {"gt": 1}}}),
            json!({"range": {"a": {"gte": 1}}}),
        ),
        (
            json!({"and": [{"not": {"equals": {"age": "42"}}}, {"equals": {"age": 42}}]}),
            json!({"nothing": 1}),
        ),
        (json!({}), json!({"nothing": 1})),
    ];
    for (a, b) in different {
        assert_ne!(id(a.clone()), id(b.clone()), "{a} vs {b}");
    }
}

#[test]
fn ids_are_stable_hex() {
    // The id is a function of the canonical bytes only: pinned so that an accidental change of
    // the canonical form (which would rename every room) fails loudly.
    let n = normalize(&json!({"equals": {"a": 1}}), &Options::default()).unwrap();
    assert_eq!(
        n.canonical.to_canonical_string(),
        r#"[[{"equals":{"a":1},"not":false}]]"#
    );
    assert_eq!(n.id.to_hex().len(), 64);
    assert!(n
        .id
        .to_hex()
        .bytes()
        .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
    assert_eq!(
        n.id.to_hex(),
        herald_filters::FilterId::of_bytes(br#"[[{"equals":{"a":1},"not":false}]]"#).to_hex()
    );
}

fn or_pairs(k: usize) -> Value {
    let groups: Vec<Value> = (0..k)
        .map(
            |i| json!({"or": [{"equals": {format!("a{i}"): 1}}, {"equals": {format!("b{i}"): 1}}]}),
        )
        .collect();
    json!({"and": groups})
}

/// An `and` of an `equals` and a `bool` with a 2-way `should` and a `must_not` of two 3-term
/// `and`s: 9 written conditions, 2 x 3 x 3 = 18 subfilters of 4 literals in canonical form.
/// `copies` of it side by side under an `or`.
fn kuzzle_shaped(copies: usize) -> Value {
    let one = |c: usize| {
        json!({"and": [
            {"equals": {format!("s{c}"): "x"}},
            {"bool": {
                "should": [{"equals": {format!("a{c}"): 1}}, {"equals": {format!("b{c}"): 2}}],
                "must_not": [
                    {"and": [{"exists": format!("c{c}")}, {"range": {format!("d{c}"): {"gt": 1}}}, {"equals": {format!("e{c}"): true}}]},
                    {"and": [{"exists": format!("f{c}")}, {"regexp": {format!("g{c}"): "^x"}}, {"equals": {format!("h{c}"): "y"}}]}
                ]
            }}
        ]})
    };
    json!({"or": (0..copies).map(one).collect::<Vec<_>>()})
}

#[test]
fn condition_limit_counts_the_written_filter() {
    // 8 copies: 72 written conditions, 144 subfilters of 4 literals (576 literals): Kuzzle
    // accepts it, so must Herald.
    let n = normalize(&kuzzle_shaped(8), &Options::default()).unwrap();
    assert_eq!(n.canonical.subfilters().len(), 8 * 18);
    assert_eq!(n.canonical.condition_count(), 8 * 18 * 4);
    // 12 copies: 108 written conditions > 100, refused naming the count and the maximum.
    let e = error(kuzzle_shaped(12));
    assert!(
        e.message
            .contains("maximum number of conditions (conditions: 108, max: 100)"),
        "{e}"
    );
    // `in`/`ids` values count one each, operators none; the whole filter's count is given
    // even though reading stopped at the 101st.
    let values: Vec<String> = (0..150).map(|i| i.to_string()).collect();
    let e = error(json!({"and": [{"in": {"a": values}}, {"ids": {"values": ["x", "y"]}}]}));
    assert!(e.message.contains("(conditions: 152, max: 100)"), "{e}");
    let values: Vec<String> = (0..99).map(|i| i.to_string()).collect();
    assert!(normalize(
        &json!({"or": [{"in": {"a": values}}, {"nothing": 1}]}),
        &Options::default()
    )
    .is_ok());
    // A million `in` values: refused while reading, at once.
    let huge: Vec<String> = (0..1_000_000).map(|i| i.to_string()).collect();
    let start = Instant::now();
    let e = error(json!({"in": {"a": huge}}));
    assert!(e.message.contains("(conditions: 1000000, max: 100)"), "{e}");
    assert!(start.elapsed() < Duration::from_secs(2));
    // The limit is configurable.
    let options = Options {
        max_conditions: 200,
        ..Options::default()
    };
    assert!(normalize(&kuzzle_shaped(12), &options).is_ok());
}

#[test]
fn select_queries_are_counted_on_their_own() {
    // Koncorde normalizes a `select` query as a filter of its own: it counts one in its
    // parent, and its own conditions against the same limit.
    let values: Vec<String> = (0..90).map(|i| i.to_string()).collect();
    let select = json!({"select": {"field": "t", "index": 0, "query": {"in": {"value": values}}}});
    assert!(normalize(
        &json!({"and": [select.clone(), select.clone()]}),
        &Options::default()
    )
    .is_ok());
    let values: Vec<String> = (0..101).map(|i| i.to_string()).collect();
    let e =
        error(json!({"select": {"field": "t", "index": 0, "query": {"in": {"value": values}}}}));
    assert!(e.message.contains("(conditions: 101, max: 100)"), "{e}");
}

#[test]
fn expansion_bound_is_checked_before_expanding() {
    // An `and` of 50 two-way `or`s: 100 written conditions (within the limit), 2^50
    // subfilters. Refused at once, naming the expansion bound.
    let start = Instant::now();
    let e = error(or_pairs(50));
    assert!(
        e.message.contains("canonical form would hold at least")
            && e.message.contains("(max: 4096 subfilters)"),
        "{e}"
    );
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "{:?}",
        start.elapsed()
    );
    // 2^12 = 4,096 subfilters: the largest the default accepts.
    let n = normalize(&or_pairs(12), &Options::default()).unwrap();
    assert_eq!(n.canonical.subfilters().len(), 4096);
    let e = error(or_pairs(13));
    assert!(
        e.message
            .contains("at least 8192 subfilters (max: 4096 subfilters)"),
        "{e}"
    );
    // The bound applies to the reduced form: repeated operands do not count twice.
    let repeated = json!({"and": (0..40).map(|_| or_pairs(1)).collect::<Vec<_>>()});
    assert_eq!(
        normalize(&repeated, &Options::default())
            .unwrap()
            .canonical
            .subfilters()
            .len(),
        2
    );
    // Configurable.
    let options = Options {
        max_subfilters: 16,
        ..Options::default()
    };
    assert!(normalize(&or_pairs(4), &options).is_ok());
    let e = normalize(&or_pairs(5), &options).unwrap_err();
    assert!(e.message.contains("(max: 16 subfilters)"), "{e}");
}

#[test]
fn negated_select_and_nothing_are_supported() {
    let select =
        json!({"select": {"field": "tags", "index": -1, "query": {"equals": {"value": "urgent"}}}});
    for filter in [
        json!({"not": select.clone()}),
        json!({"bool": {"must_not": [select.clone()]}}),
        json!({"bool": {"should_not": [select.clone(), {"exists": "x"}]}}),
    ] {
        let s = standardize(&filter, &Options::default()).unwrap();
        let yes = |doc: Value| herald_filters::eval::eval(&s, &doc);
        assert!(!yes(json!({"tags": ["a", "urgent"], "x": 1})), "{filter}");
        assert!(yes(json!({"tags": ["urgent", "a"], "x": 1})), "{filter}");
        assert!(yes(json!({"tags": [], "x": 1})), "out of bounds: {filter}");
        assert!(
            yes(json!({"tags": "urgent", "x": 1})),
            "not an array: {filter}"
        );
        assert!(yes(json!({"x": 1})), "missing: {filter}");
    }
    let everything = standardize(&json!({"not": {"nothing": 1}}), &Options::default()).unwrap();
    assert!(herald_filters::eval::eval(&everything, &json!({})));
    let n = normalize(
        &json!({"bool": {"must_not": [{"nothing": 1}]}}),
        &Options::default(),
    )
    .unwrap();
    assert!(n.canonical.is_everything());
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    // Building, cloning and dropping a 10,000-level serde_json value recurses in serde_json
    // itself: run on a big stack. Herald's own code stops at `max_depth`.
    std::thread::Builder::new()
        .stack_size(512 << 20)
        .spawn(|| {
            let mut filter = json!({"equals": {"a": 1}});
            for _ in 0..10_000 {
                filter = json!({ "not": filter });
            }
            let e = normalize(&filter, &Options::default()).unwrap_err();
            assert!(e.message.contains("nested too deeply"), "{e}");
            let mut deep_match = json!(1);
            for _ in 0..10_000 {
                deep_match = json!([deep_match]);
            }
            let e =
                normalize(&json!({"match": {"a": deep_match}}), &Options::default()).unwrap_err();
            assert!(e.message.contains("nested too deeply"), "{e}");
        })
        .unwrap()
        .join()
        .unwrap();
    // 100 levels are fine.
    let mut filter = json!({"equals": {"a": 1}});
    for _ in 0..100 {
        filter = json!({ "not": filter });
    }
    assert!(normalize(&filter, &Options::default()).is_ok());
}

/// Any JSON value.
fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        "[a-z0-9\\[\\]\"., ]{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(6, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(arb_key(), inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn arb_key() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "and",
            "or",
            "not",
            "bool",
            "must",
            "must_not",
            "should",
            "should_not",
            "equals",
            "exists",
            "missing",
            "range",
            "gt",
            "gte",
            "lt",
            "lte",
            "in",
            "ids",
            "values",
            "regexp",
            "value",
            "flags",
            "match",
            "select",
            "field",
            "index",
            "query",
            "nothing",
            "geoBoundingBox",
            "geoDistance",
            "geoDistanceRange",
            "geoPolygon",
            "points",
            "distance",
            "from",
            "to",
            "top",
            "left",
            "bottom",
            "right",
            "lat",
            "lon",
            "latLon",
            "a",
            "b.c",
        ])
        .prop_map(str::to_string),
        "[a-z]{1,3}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn random_json_never_panics(filter in arb_json()) {
        let _ = normalize(&filter, &Options::default());
    }

    #[test]
    fn random_wrapped_json_never_panics(kw in arb_key(), arg in arb_json()) {
        let filter = json!({ kw: arg });
        let _ = normalize(&filter, &Options::default());
        let nested = json!({"and": [filter.clone(), {"not": filter}]});
        let _ = normalize(&nested, &Options::default());
    }
}

#[test]
fn oversized_forms_are_refused_quickly() {
    for k in 13..=50 {
        // 2k written conditions (within the condition limit), 2^k subfilters.
        let start = Instant::now();
        let e = normalize(&or_pairs(k), &Options::default()).unwrap_err();
        assert!(e.message.contains("(max: 4096 subfilters)"), "{e}");
        assert!(
            start.elapsed() < Duration::from_millis(500),
            "{k}: {:?}",
            start.elapsed()
        );
    }
}
