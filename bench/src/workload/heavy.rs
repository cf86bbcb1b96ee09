//! Heavy workload, drawn like the oracle corpus `filters/tests/data/oracle/seed1`: every
//! keyword and operand, nested `and`/`or`/`not`/`bool`, geopoints in every
//! spelling, documents with mixed value types, and many broad filters.
//!
//! Why it looks this way. The realistic workload measures the common case
//! (narrow subscriptions); this one measures the worst case a matcher must
//! survive: filters full of negations (`not equals`, `missing`, `not range`,
//! `not regexp`, `not geo*`, De Morgan through `not and`/`not or`,
//! `bool.must_not`/`should_not`), `exists` on common fields and wide ranges,
//! so that every document makes thousands of conditions true and a large
//! answer has to be produced. Unlike seed1 (500 filters over tiny value sets,
//! a third of which match any document) the value pools scale with the number
//! of filters, so that 100,000 filters are 100,000 distinct filters and the
//! answer grows like a few percent of the filters, not like a third.
//!
//! Composition (share of the filters):
//!
//! * ~7% **broad** filters that match a large share of the documents on
//!   their own: a negated term, `missing` of a rare field, `exists` of a
//!   common one, a wide range, `not in`, `or` of `exists`,
//!   `bool.should_not`, `not and`, `not <geo>`;
//! * ~93% **anchored** filters: one selective positive term (an `_id`, a
//!   name from a pool of `n/20`, a zip code, `ids`, `in` of names, a narrow
//!   range, an anchored regexp, `match` on a name, a small geo shape) combined
//!   with broad and medium terms (status, colour, city, `exists tags[...]`,
//!   `select`, `match`, text regexps), in shapes `and[...]`,
//!   `and[anchor, or[...]]`, `or[and[...], and[...]]`, `bool{must,
//!   must_not, should, should_not}`, `not(or[not anchor, t])`, and decorated
//!   single terms (`and[x]`, `or[x]`, `not not x`, `bool{must: x}`).
//!
//! A document then matches a few percent of the filters: a few hundred at
//! 10,000 filters, a few thousand at 100,000 (measured with Koncorde in the
//! benchmark notes).
//!
//! Koncorde 4.7.0 accepts every filter: at most about 12 conditions and 6
//! variables per filter; a geo term is only ever a whole filter, `not <geo>`,
//! or a child of an `and` whose other children are plain conditions, or of
//! `and[geo, or[...]]` (spec 7.1 re-standardization hazard); `select` and
//! `nothing` never sit below a negation; boxes have `bottom < top` and
//! `left < right`; regexps are RE2-compatible with flags among `i m s u`.
//! Two geo fields are used, `loc` (shapes and points around cities of
//! Europe/Africa) and `geo.point` (Americas/Asia), far enough apart that no
//! point of one field ever lies in a shape of the other (Koncorde crashes on
//! that, spec 11 (1)); document geopoints are always parsable or absent
//! (spec 11 (2)). Filter values keep one JSON type per field, so Koncorde's
//! coercing pruning (spec 11 (6)) essentially never fires.

use std::collections::HashSet;

use serde_json::{json, Map, Value};

use super::common::{
    any_point_format, below, canonical_key, chance, distance_string, distinct, float_in, gen,
    int_in, pick, point_near, round2, round6, weighted, City, Gen, CITIES_APAC_AMER, CITIES_EMEA,
};
use super::Workload;

const NAMES: &[&str] = &[
    "alice", "bob", "carol", "dave", "eve", "frank", "grace", "heidi", "ivan", "judy", "mallory",
    "oscar", "peggy", "trent", "victor", "zoë",
];

const STATUSES: &[&str] = &["open", "closed", "pending", "archived"];

const COLORS: &[&str] = &[
    "red", "green", "blue", "yellow", "black", "white", "purple", "orange",
];

const TAGS: &[&str] = &[
    "red", "green", "blue", "low", "high", "urgent", "new", "sale", "hot", "cold", "1", "2",
    "true", "null", "alpha", "beta", "gamma", "delta", "x", "y", "vip", "promo", "eco", "bio",
    "fast", "slow", "big", "small", "old", "archived",
];

const TEXTS: &[&str] = &[
    "Hello World",
    "hello world",
    "tab\tsep",
    "  padded ",
    "Éclair",
    "line1\nline2",
    "x/y",
    "abc",
    "ABC",
    "foo bar",
    "bar foo",
    "a.b",
    "zoë",
    "id-42",
    "",
    "Lorem ipsum dolor",
    "quick brown fox",
    "42",
    "ÀÉÎ",
    "new offer",
    "urgent: call back",
];

const TEXT_REGEXPS: &[(&str, &str)] = &[
    ("^hello", "i"),
    ("world$", ""),
    ("^(foo|bar)", ""),
    ("\\d{2,}", ""),
    ("^\\p{Lu}", "u"),
    ("x/y", ""),
    ("^[^a-z]*$", ""),
    ("^.$", ""),
    ("^line2", "m"),
    ("line1.line2", "s"),
    ("^\\w+\\s\\w+$", ""),
    ("é", "iu"),
    ("(?i)abc", ""),
    ("urgent|offer", ""),
    ("o{2}", ""),
];

const RARE_FIELDS: &[&str] = &[
    "nope",
    "user.nope",
    "meta.extra.missing",
    "deleted",
    "archivedAt",
    "meta.list.0",
];

const COMMON_FIELDS: &[&str] = &["_id", "user", "meta", "score", "name", "big", "meta.color"];

/// Pool sizes, scaling with the number of filters.
struct Pools {
    ids: usize,
    names: usize,
    zips: usize,
}

impl Pools {
    fn new(n: usize) -> Self {
        Pools {
            ids: (n / 20).max(50),
            names: (n / 20).max(50),
            zips: (n / 50).max(20),
        }
    }
}

const BIG_MAX: i64 = 10_000_000;

fn doc_id(k: usize) -> String {
    format!("id-{k}")
}

/// Name `k` of the large pool: "alice17", "bob18", ...
fn pooled_name(k: usize) -> String {
    format!("{}{}", NAMES[k % NAMES.len()], k / NAMES.len())
}

fn zip(k: usize) -> String {
    format!("{:05}", 10_000 + k * 37 % 89_999)
}

/// Which geo field and which cities.
#[derive(Clone, Copy)]
enum GeoField {
    Loc,
    GeoPoint,
}

impl GeoField {
    fn name(self) -> &'static str {
        match self {
            GeoField::Loc => "loc",
            GeoField::GeoPoint => "geo.point",
        }
    }
    fn cities(self) -> &'static [City] {
        match self {
            GeoField::Loc => CITIES_EMEA,
            GeoField::GeoPoint => CITIES_APAC_AMER,
        }
    }
}

fn one(field: &str, v: Value) -> Value {
    let mut m = Map::new();
    m.insert(field.to_owned(), v);
    Value::Object(m)
}

fn kw(keyword: &str, arg: Value) -> Value {
    one(keyword, arg)
}

fn not(v: Value) -> Value {
    kw("not", v)
}

struct Drawer<'a> {
    g: &'a mut Gen,
    p: &'a Pools,
}

impl Drawer<'_> {
    fn name_value(&mut self) -> String {
        pooled_name(below(self.g, self.p.names))
    }

    fn id_value(&mut self) -> String {
        doc_id(below(self.g, self.p.ids))
    }

    fn big_lower(&mut self) -> i64 {
        int_in(self.g, 0, BIG_MAX)
    }

    // ------------------------------------------------------------ geo

    fn geo_term(&mut self) -> Value {
        let field = if chance(self.g, 0.5) {
            GeoField::Loc
        } else {
            GeoField::GeoPoint
        };
        let (_, clat, clon) = *pick(self.g, field.cities());
        let (lat, lon) = point_near(self.g, clat, clon, 20.0);
        let fname = field.name();
        match weighted(self.g, &[40.0, 15.0, 25.0, 20.0]) {
            0 => {
                let km = *pick(self.g, &[1.0, 2.0, 5.0, 10.0, 25.0, 50.0]);
                let mut m = Map::new();
                m.insert(fname.to_owned(), any_point_format(self.g, lat, lon));
                m.insert("distance".to_owned(), json!(distance_string(self.g, km)));
                kw("geoDistance", Value::Object(m))
            }
            1 => {
                let to = *pick(self.g, &[5.0, 10.0, 25.0, 50.0]);
                let from = to * *pick(self.g, &[0.1, 0.25, 0.5]);
                let mut m = Map::new();
                m.insert(fname.to_owned(), any_point_format(self.g, lat, lon));
                m.insert("from".to_owned(), json!(distance_string(self.g, from)));
                m.insert("to".to_owned(), json!(distance_string(self.g, to)));
                kw("geoDistanceRange", Value::Object(m))
            }
            2 => {
                let h = *pick(self.g, &[0.02, 0.05, 0.1, 0.2, 0.4]);
                let w = h * float_in(self.g, 1.0, 2.0);
                let (top, bottom) = (round6(lat + h), round6(lat - h));
                let (left, right) = (round6(lon - w), round6(lon + w));
                let bx = match below(self.g, 3) {
                    0 => json!({"top": top, "left": left, "bottom": bottom, "right": right}),
                    1 => {
                        json!({"topLeft": [top, left], "bottomRight": format!("{bottom}, {right}")})
                    }
                    _ => json!({
                        "top_left": {"lat": top, "lon": left},
                        "bottom_right": {"lat": bottom, "lon": right},
                    }),
                };
                kw("geoBoundingBox", one(fname, bx))
            }
            _ => {
                // A star-shaped polygon around the point, 4 to 7 vertices.
                let k = 4 + below(self.g, 4);
                let radius_km = *pick(self.g, &[3.0, 8.0, 15.0, 30.0]);
                let mut pts = Vec::with_capacity(k);
                for i in 0..k {
                    let a =
                        (i as f64 + float_in(self.g, 0.0, 0.8)) / k as f64 * std::f64::consts::TAU;
                    let r = radius_km * float_in(self.g, 0.4, 1.0);
                    let (plat, plon) = super::common::offset(lat, lon, r * a.cos(), r * a.sin());
                    pts.push(any_point_format(self.g, plat, plon));
                }
                kw("geoPolygon", one(fname, json!({"points": pts})))
            }
        }
    }

    // ------------------------------------------------------------ anchors

    /// A selective positive term. `plain`: must standardize to a single
    /// condition (no multi-valued `in`/`ids`). `geo`: may be a geo term.
    fn anchor(&mut self, plain: bool, geo: bool) -> Value {
        let w = [
            14.0,
            if plain { 0.0 } else { 8.0 },
            16.0,
            if plain { 0.0 } else { 8.0 },
            8.0,
            10.0,
            5.0,
            6.0,
            if geo { 20.0 } else { 0.0 },
        ];
        match weighted(self.g, &w) {
            0 => kw("equals", json!({"_id": self.id_value()})),
            1 => {
                let k = 1 + below(self.g, 3);
                let v: Vec<String> = distinct(self.g, self.p.ids, k, false)
                    .into_iter()
                    .map(doc_id)
                    .collect();
                kw("ids", json!({"values": v}))
            }
            2 => {
                let f = *pick(self.g, &["name", "user.name"]);
                let v = self.name_value();
                kw("equals", one(f, json!(v)))
            }
            3 => {
                let f = *pick(self.g, &["name", "user.name"]);
                let k = 2 + below(self.g, 3);
                let v: Vec<String> = distinct(self.g, self.p.names, k, false)
                    .into_iter()
                    .map(pooled_name)
                    .collect();
                kw("in", one(f, json!(v)))
            }
            4 => kw(
                "equals",
                json!({"user.address.zip": zip(below(self.g, self.p.zips))}),
            ),
            5 => {
                let lo = self.big_lower();
                let width = BIG_MAX / (self.p.ids as i64).max(1);
                let hi = lo + width.max(1);
                match below(self.g, 3) {
                    0 => kw("range", json!({"big": {"gte": lo, "lt": hi}})),
                    1 => kw("range", json!({"big": {"gt": lo, "lte": hi}})),
                    _ => kw("range", json!({"big": {"gte": lo, "lte": hi}})),
                }
            }
            6 => {
                let k = below(self.g, self.p.names);
                let base = NAMES[k % NAMES.len()];
                let pat = format!("^{base}{}$", k / NAMES.len());
                kw("regexp", json!({"name": {"value": pat, "flags": "i"}}))
            }
            7 => {
                let v = self.name_value();
                if chance(self.g, 0.5) {
                    kw("match", json!({"user": {"name": v}}))
                } else {
                    kw(
                        "match",
                        json!({"name": v, "status": pick(self.g, STATUSES)}),
                    )
                }
            }
            _ => self.geo_term(),
        }
    }

    // ------------------------------------------------------------ medium

    /// A term matching a few percent to a third of the documents.
    /// `select`: may be a `select` (positive positions only).
    fn medium(&mut self, plain: bool, select: bool) -> Value {
        let w = [
            12.0,
            12.0,
            8.0,
            if plain { 0.0 } else { 8.0 },
            10.0,
            10.0,
            8.0,
            if select { 8.0 } else { 0.0 },
            8.0,
            5.0,
            6.0,
        ];
        match weighted(self.g, &w) {
            0 => {
                let s = if chance(self.g, 0.15) {
                    Value::Null
                } else {
                    json!(pick(self.g, STATUSES))
                };
                kw("equals", json!({"status": s}))
            }
            1 => {
                if chance(self.g, 0.6) {
                    kw("equals", json!({"meta.color": pick(self.g, COLORS)}))
                } else {
                    kw("equals", json!({"meta.size": int_in(self.g, 1, 5)}))
                }
            }
            2 => {
                let (city, _, _) = *pick(self.g, CITIES_EMEA);
                kw("equals", json!({"user.address.city": city}))
            }
            3 => {
                if chance(self.g, 0.5) {
                    let v: Vec<&str> = distinct(self.g, STATUSES.len(), 2, false)
                        .into_iter()
                        .map(|i| STATUSES[i])
                        .collect();
                    kw("in", json!({"status": v}))
                } else {
                    let k = 2 + below(self.g, 2);
                    let v: Vec<&str> = distinct(self.g, COLORS.len(), k, false)
                        .into_iter()
                        .map(|i| COLORS[i])
                        .collect();
                    kw("in", json!({"meta.color": v}))
                }
            }
            4 => {
                let a = int_in(self.g, 0, 90);
                let b = a + int_in(self.g, 5, 30);
                kw("range", json!({"age": {"gte": a, "lt": b}}))
            }
            5 => kw(
                "exists",
                json!(format!("tags[{}]", json!(pick(self.g, TAGS)))),
            ),
            6 => match below(self.g, 3) {
                0 => kw("match", json!({"meta": {"color": pick(self.g, COLORS)}})),
                1 => kw("match", json!({"tags": [pick(self.g, TAGS)]})),
                _ => kw("match", json!({"active": chance(self.g, 0.5)})),
            },
            7 => {
                let index = *pick(self.g, &[0, 1, -1, 2]);
                let query = if chance(self.g, 0.6) {
                    json!({"equals": {"value": pick(self.g, TAGS)}})
                } else {
                    let k = 2 + below(self.g, 3);
                    let v: Vec<&str> = distinct(self.g, TAGS.len(), k, false)
                        .into_iter()
                        .map(|i| TAGS[i])
                        .collect();
                    json!({"in": {"value": v}})
                };
                kw(
                    "select",
                    json!({"field": "tags", "index": index, "query": query}),
                )
            }
            8 => {
                let (pat, flags) = *pick(self.g, TEXT_REGEXPS);
                if flags.is_empty() {
                    if chance(self.g, 0.5) {
                        kw("regexp", json!({"text": pat}))
                    } else {
                        kw("regexp", json!({"text": {"value": pat}}))
                    }
                } else {
                    kw("regexp", json!({"text": {"value": pat, "flags": flags}}))
                }
            }
            9 => kw("equals", json!({"active": chance(self.g, 0.5)})),
            _ => {
                let a = round2(float_in(self.g, -10.0, 90.0));
                kw(
                    "range",
                    json!({"score": {"gte": a, "lte": round2(a + 15.0)}}),
                )
            }
        }
    }

    // ------------------------------------------------------------ broad

    /// A term matching most documents. `plain`: a single (possibly negated)
    /// condition.
    fn broad(&mut self, plain: bool) -> Value {
        let w = [
            20.0,
            10.0,
            12.0,
            12.0,
            8.0,
            6.0,
            6.0,
            if plain { 0.0 } else { 6.0 },
            if plain { 0.0 } else { 5.0 },
            if plain { 0.0 } else { 5.0 },
            if plain { 0.0 } else { 5.0 },
        ];
        match weighted(self.g, &w) {
            0 => {
                let t = match below(self.g, 5) {
                    0 => kw("equals", json!({"name": self.name_value()})),
                    1 => kw("equals", json!({"_id": self.id_value()})),
                    2 => kw("equals", json!({"user.name": self.name_value()})),
                    3 => kw("equals", json!({"text": pick(self.g, TEXTS)})),
                    _ => kw("equals", json!({"meta.color": pick(self.g, COLORS)})),
                };
                not(t)
            }
            1 => {
                let f = *pick(self.g, RARE_FIELDS);
                if chance(self.g, 0.5) {
                    kw("missing", json!(f))
                } else {
                    kw("missing", json!({"field": f}))
                }
            }
            2 => {
                let f = *pick(self.g, COMMON_FIELDS);
                if chance(self.g, 0.7) {
                    kw("exists", json!(f))
                } else {
                    kw("exists", json!({"field": f}))
                }
            }
            3 => match below(self.g, 3) {
                0 => kw("range", json!({"score": {"gte": int_in(self.g, -10, 20)}})),
                1 => kw(
                    "range",
                    json!({"big": {"lt": int_in(self.g, 5_000_000, BIG_MAX)}}),
                ),
                _ => kw("range", json!({"age": {"gte": int_in(self.g, 0, 15)}})),
            },
            4 => {
                let lo = self.big_lower();
                let width = int_in(self.g, 1, 500_000);
                not(kw("range", json!({"big": {"gte": lo, "lt": lo + width}})))
            }
            5 => {
                let k = below(self.g, self.p.names);
                let pat = format!("^{}{}", NAMES[k % NAMES.len()], k / NAMES.len());
                not(kw("regexp", json!({"name": {"value": pat}})))
            }
            6 => {
                if chance(self.g, 0.5) {
                    kw("regexp", json!({"name": {"value": "^[a-z]", "flags": "i"}}))
                } else {
                    // On meta.list, not tags: Koncorde prunes a subfilter
                    // holding both `exists p[a]` and `not exists p[b]`
                    // (spec 7.2 step 6), and medium terms test tags[...].
                    not(kw(
                        "exists",
                        json!(format!(
                            "meta.list[{}]",
                            json!(pick(self.g, &["x", "y", "z"]))
                        )),
                    ))
                }
            }
            7 => {
                let k = 2 + below(self.g, 3);
                let v: Vec<String> = distinct(self.g, self.p.names, k, false)
                    .into_iter()
                    .map(pooled_name)
                    .collect();
                not(kw("in", json!({"name": v})))
            }
            8 => {
                let a = *pick(self.g, COMMON_FIELDS);
                let b = *pick(self.g, RARE_FIELDS);
                kw("or", json!([{"exists": a}, {"exists": b}]))
            }
            9 => {
                let a = self.medium(true, false);
                let b = self.medium(true, false);
                kw("bool", json!({"should_not": [a, b]}))
            }
            _ => {
                let a = self.medium(true, false);
                let b = self.medium(false, false);
                not(kw("and", json!([a, b])))
            }
        }
    }

    /// An extra condition of an anchored filter: broad or medium, sometimes
    /// negated. `plain`: single condition; `positive`: not below a negation
    /// (so `select` is allowed).
    fn extra(&mut self, plain: bool, positive: bool) -> Value {
        if chance(self.g, 0.55) {
            self.broad(plain)
        } else if chance(self.g, 0.25) {
            not(self.medium(plain, false))
        } else {
            self.medium(plain, positive)
        }
    }

    // ------------------------------------------------------------ filters

    fn broad_filter(&mut self) -> Value {
        match weighted(self.g, &[40.0, 15.0, 15.0, 15.0, 15.0]) {
            0 => self.broad(false),
            1 => {
                let a = self.broad(true);
                let b = self.medium(false, true);
                kw("or", json!([a, b]))
            }
            2 => {
                let a = self.broad(true);
                let b = self.broad(false);
                kw("and", json!([a, b]))
            }
            3 => not(self.geo_term()),
            _ => {
                let a = self.anchor(false, false);
                let b = self.medium(false, false);
                // = not a and not b: both negations are broad.
                not(kw("or", json!([a, b])))
            }
        }
    }

    fn decorate(&mut self, t: Value) -> Value {
        match below(self.g, 6) {
            0 => kw("and", json!([t])),
            1 => kw("or", json!([t])),
            2 => kw("bool", json!({"must": t})),
            _ => t,
        }
    }

    fn anchored_filter(&mut self) -> Value {
        match weighted(self.g, &[20.0, 30.0, 12.0, 12.0, 12.0, 8.0, 6.0]) {
            0 => {
                let a = self.anchor(false, true);
                if a.get("geoDistance").is_some()
                    || a.get("geoDistanceRange").is_some()
                    || a.get("geoBoundingBox").is_some()
                    || a.get("geoPolygon").is_some()
                {
                    // A lone geo term, or in a one-child and/or (no mixing).
                    match below(self.g, 4) {
                        0 => kw("and", json!([a])),
                        1 => kw("or", json!([a])),
                        _ => a,
                    }
                } else if chance(self.g, 0.15) {
                    not(not(a))
                } else {
                    self.decorate(a)
                }
            }
            1 => {
                // and[anchor, extras...]: a geo anchor only with plain extras.
                let geo = chance(self.g, 0.25);
                let a = if geo {
                    self.geo_term()
                } else {
                    self.anchor(false, false)
                };
                let k = 1 + below(self.g, 2);
                let mut items = vec![a];
                for _ in 0..k {
                    items.push(self.extra(geo, true));
                }
                let i = below(self.g, items.len());
                items.swap(0, i);
                kw("and", Value::Array(items))
            }
            2 => {
                // and[anchor, or[...]] (a geo anchor is then the only plain child).
                let geo = chance(self.g, 0.3);
                let a = if geo {
                    self.geo_term()
                } else {
                    self.anchor(false, false)
                };
                let k = 2 + below(self.g, 2);
                let ors: Vec<Value> = (0..k).map(|_| self.extra(true, true)).collect();
                kw("and", json!([a, {"or": ors}]))
            }
            3 => {
                let branch = |d: &mut Self| {
                    let a = d.anchor(false, false);
                    let e = d.extra(true, true);
                    kw("and", json!([a, e]))
                };
                let b1 = branch(self);
                let b2 = branch(self);
                kw("or", json!([b1, b2]))
            }
            4 => {
                let mut m = Map::new();
                let mut must = vec![self.anchor(false, false)];
                if chance(self.g, 0.5) {
                    must.push(self.medium(true, true));
                }
                m.insert("must".to_owned(), Value::Array(must));
                if chance(self.g, 0.7) {
                    let k = 1 + below(self.g, 2);
                    let v: Vec<Value> = (0..k).map(|_| self.medium(true, false)).collect();
                    m.insert("must_not".to_owned(), Value::Array(v));
                }
                if chance(self.g, 0.5) {
                    let v = vec![self.extra(true, true), self.extra(true, true)];
                    m.insert("should".to_owned(), Value::Array(v));
                }
                if chance(self.g, 0.4) {
                    let v = vec![self.medium(true, false), self.medium(true, false)];
                    m.insert("should_not".to_owned(), Value::Array(v));
                }
                kw("bool", Value::Object(m))
            }
            5 => {
                // not(or[not anchor, t]) = anchor and not t (De Morgan).
                let a = self.anchor(true, false);
                let t = self.medium(true, false);
                not(kw("or", json!([not(a), t])))
            }
            _ => {
                // The seed1 habit of an `exists`/`missing` guard next to an
                // anchor, with the array-value syntax.
                let a = self.anchor(false, false);
                let f = "nums";
                let v = int_in(self.g, 0, 5);
                let guard = if chance(self.g, 0.5) {
                    kw("exists", json!(format!("{f}[{v}]")))
                } else {
                    kw("missing", json!({"field": format!("{f}[{v}]")}))
                };
                kw("and", json!([guard, a]))
            }
        }
    }

    fn filter(&mut self) -> Value {
        let r = float_in(self.g, 0.0, 1.0);
        if r < 0.0005 {
            json!({"nothing": true})
        } else if r < 0.0010 {
            json!({})
        } else if r < 0.07 {
            self.broad_filter()
        } else {
            self.anchored_filter()
        }
    }
}

// ---------------------------------------------------------------- documents

fn maybe(g: &mut Gen, p: f64, m: &mut Map<String, Value>, k: &str, v: Value) {
    if chance(g, p) {
        m.insert(k.to_owned(), v);
    }
}

fn document(g: &mut Gen, p: &Pools) -> Value {
    let mut m = Map::new();
    let id = json!(doc_id(below(g, p.ids)));
    maybe(g, 0.92, &mut m, "_id", id);
    let name = if chance(g, 0.25) {
        let base = *pick(g, NAMES);
        json!(match below(g, 3) {
            0 => base.to_owned(),
            1 => base.to_uppercase(),
            _ => {
                let mut c = base.chars();
                c.next()
                    .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
                    .unwrap_or_default()
            }
        })
    } else {
        json!(pooled_name(below(g, p.names)))
    };
    maybe(g, 0.85, &mut m, "name", name);
    let age = match weighted(g, &[80.0, 8.0, 8.0, 4.0]) {
        0 => json!(int_in(g, 0, 99)),
        1 => json!(int_in(g, 0, 99) as f64 + 0.5),
        2 => json!(int_in(g, 0, 99).to_string()),
        _ => Value::Null,
    };
    maybe(g, 0.9, &mut m, "age", age);
    let score = json!(round2(float_in(g, -10.0, 100.0)));
    maybe(g, 0.8, &mut m, "score", score);
    let big = json!(int_in(g, -100_000, BIG_MAX));
    maybe(g, 0.75, &mut m, "big", big);
    let active = json!(chance(g, 0.5));
    maybe(g, 0.7, &mut m, "active", active);
    let status = if chance(g, 0.1) {
        Value::Null
    } else {
        json!(pick(g, STATUSES))
    };
    maybe(g, 0.85, &mut m, "status", status);
    let flag = match below(g, 6) {
        0 => json!(1),
        1 => json!(42),
        2 => json!("42"),
        3 => json!(false),
        4 => json!(true),
        _ => json!(""),
    };
    maybe(g, 0.5, &mut m, "flag", flag);
    let tags = if chance(g, 0.9) {
        let k = 1 + below(g, 4);
        json!((0..k).map(|_| *pick(g, TAGS)).collect::<Vec<_>>())
    } else if chance(g, 0.5) {
        json!(pick(g, TAGS))
    } else {
        json!(42)
    };
    maybe(g, 0.8, &mut m, "tags", tags);
    let nums = if chance(g, 0.8) {
        let k = 1 + below(g, 4);
        json!((0..k).map(|_| int_in(g, 0, 5)).collect::<Vec<_>>())
    } else {
        json!(int_in(g, 0, 5))
    };
    maybe(g, 0.6, &mut m, "nums", nums);
    let mut user = Map::new();
    let user_name = json!(pooled_name(below(g, p.names)));
    maybe(g, 0.75, &mut user, "name", user_name);
    let mut address = Map::new();
    let (city, _, _) = *pick(g, CITIES_EMEA);
    let city = if chance(g, 0.1) {
        json!(city.to_lowercase())
    } else {
        json!(city)
    };
    maybe(g, 0.7, &mut address, "city", city);
    let z = zip(below(g, p.zips));
    maybe(g, 0.65, &mut address, "zip", json!(z));
    if !address.is_empty() || chance(g, 0.3) {
        user.insert("address".to_owned(), Value::Object(address));
    }
    maybe(g, 0.9, &mut m, "user", Value::Object(user));
    let text = if chance(g, 0.5) {
        json!(pick(g, TEXTS))
    } else {
        let k = 1 + below(g, 5);
        json!((0..k).map(|_| *pick(g, TAGS)).collect::<Vec<_>>().join(" "))
    };
    maybe(g, 0.8, &mut m, "text", text);
    let list: Vec<Value> = (0..below(g, 4))
        .map(|_| {
            if chance(g, 0.5) {
                json!(int_in(g, 0, 5))
            } else {
                json!(pick(g, &["x", "y", "z"]))
            }
        })
        .collect();
    let meta = json!({
        "color": pick(g, COLORS),
        "size": int_in(g, 1, 5),
        "extra": {"deep": pick(g, &["yes", "no"])},
        "list": list,
    });
    maybe(g, 0.8, &mut m, "meta", meta);
    let items: Vec<Value> = (0..below(g, 3))
        .map(|_| {
            let mut it = json!({"sku": pick(g, &["a", "b", "c", "d"]), "qty": int_in(g, 1, 5)});
            if chance(g, 0.3) {
                it["tags"] = json!([pick(g, TAGS)]);
            }
            it
        })
        .collect();
    maybe(g, 0.5, &mut m, "items", Value::Array(items));
    if chance(g, 0.88) {
        let (_, lat, lon) = *pick(g, CITIES_EMEA);
        let (lat, lon) = point_near(g, lat, lon, 30.0);
        let v = any_point_format(g, lat, lon);
        m.insert("loc".to_owned(), v);
    }
    if chance(g, 0.8) {
        let (_, lat, lon) = *pick(g, CITIES_APAC_AMER);
        let (lat, lon) = point_near(g, lat, lon, 30.0);
        let v = any_point_format(g, lat, lon);
        m.insert("geo".to_owned(), json!({"point": v}));
    }
    if chance(g, 0.3) {
        let route: Vec<Value> = (0..below(g, 3))
            .map(|_| {
                let (_, lat, lon) = *pick(g, CITIES_APAC_AMER);
                json!([lat, lon])
            })
            .collect();
        m.insert("route".to_owned(), Value::Array(route));
    }
    Value::Object(m)
}

/// The heavy workload: `n_filters` distinct filters and `n_docs` documents
/// (see the module documentation).
pub fn heavy(n_filters: usize, n_docs: usize, seed: u64) -> Workload {
    let p = Pools::new(n_filters);
    let mut g = gen(seed, 0x4845_4156);
    let mut seen: HashSet<String> = HashSet::with_capacity(n_filters);
    let mut filters = Vec::with_capacity(n_filters);
    {
        let mut d = Drawer { g: &mut g, p: &p };
        while filters.len() < n_filters {
            let mut f = Value::Null;
            for _ in 0..32 {
                f = d.filter();
                if seen.insert(canonical_key(&f)) {
                    break;
                }
            }
            filters.push(f);
        }
    }
    let mut dg = gen(seed, 0x4845_4156_444F);
    let docs = (0..n_docs).map(|_| document(&mut dg, &p)).collect();
    Workload { filters, docs }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_counted() {
        let a = heavy(3000, 50, 9);
        let b = heavy(3000, 50, 9);
        assert_eq!(a.filters, b.filters);
        assert_eq!(a.docs, b.docs);
        assert_eq!(a.filters.len(), 3000);
        assert_eq!(a.docs.len(), 50);
        assert_ne!(a.filters, heavy(3000, 50, 10).filters);
    }

    #[test]
    fn uses_every_keyword() {
        let w = heavy(5000, 0, 1);
        let text: String = w.filters.iter().map(|f| f.to_string()).collect();
        for k in [
            "and",
            "or",
            "not",
            "bool",
            "equals",
            "exists",
            "missing",
            "range",
            "ids",
            "in",
            "regexp",
            "match",
            "select",
            "nothing",
            "geoBoundingBox",
            "geoDistance",
            "geoDistanceRange",
            "geoPolygon",
            "must_not",
            "should_not",
        ] {
            assert!(text.contains(&format!("\"{k}\":")), "{k} missing");
        }
        let set: HashSet<String> = w.filters.iter().map(Value::to_string).collect();
        assert!(set.len() >= 4990);
    }

    #[test]
    fn documents_match_a_few_percent() {
        let n = 10_000;
        let w = heavy(n, 100, 3);
        let total: usize = super::super::matches_per_doc(&w).iter().sum();
        let mean = total as f64 / w.docs.len() as f64;
        assert!(mean > 0.01 * n as f64, "mean {mean}");
        assert!(mean < 0.15 * n as f64, "mean {mean}");
    }
}
