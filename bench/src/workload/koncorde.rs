//! Koncorde's own benchmark (spec 12.1), one scenario per keyword.
//!
//! Koncorde's `benchmark.js` registers 10,000 filters of a single keyword and
//! times `test()` on one fixed document. The generators are reproduced here:
//!
//! | scenario | filter | document |
//! |---|---|---|
//! | `equals` | `{"equals":{"str":<rand20>}}` | `{"str":<rand20>}` |
//! | `exists` | `{"exists":{"field":<rand20>}}` (legacy object form) | `{<rand20>:true}` |
//! | `geoBoundingBox` | `{"geoBoundingBox":{"point":{"bottom":lat-0.5,"left":lon,"right":lon+0.5,"top":lat}}}` | `{"point":[0,0]}` |
//! | `geoDistance` | `{"geoDistance":{"distance":"500m","point":[lat,lon]}}` | `{"point":[0,0]}` |
//! | `geoDistanceRange` | `{"geoDistanceRange":{"from":"500m","point":[lat,lon],"to":"1km"}}` | `{"point":[0,0]}` |
//! | `geoPolygon` | random star polygon, 5 vertices + closing duplicate, `[lat,lon]` | `{"point":[0,0]}` |
//! | `in` | `{"in":{"str":[5 x <rand20>]}}` | `{"str":<rand20>}` |
//! | `range` | `b = int()`; `{"range":{"integer":{"gte":b,"lte":b+100}}}` | `{"integer":int()}` |
//!
//! `<rand20>` is random-js's `string(engine, 20)`: 20 characters from
//! `[a-zA-Z0-9_-]`; `int()` is an integer in `[-10000, 10000]`. Positions are
//! geojson-random's `position()`: longitude in `[-180, 180)`, latitude in
//! `[-90, 90)`. The polygon is geojson-random's `polygon(1, 5)`: 6 angles
//! `a_i` drawn uniformly, accumulated, scaled to `[0, 2π]`, vertex `i` at
//! radius `r_i · 10°` (`r_i` uniform) and offset `(r sin a, r cos a)` added
//! to `[lon, lat]` of a random centre; the sixth vertex is replaced by the
//! first (closing duplicate); coordinates are then swapped to `[lat, lon]` as
//! the benchmark does. Like upstream, a polygon near a pole may have a
//! latitude beyond ±90 (Koncorde does not validate polygon coordinates).
//!
//! Upstream draws its randomness from Mersenne Twister / `Math.random`; here
//! everything comes from a seeded [`StdRng`](rand::rngs::StdRng), so both
//! engines can be fed the very same files. Coordinates are rounded to 6
//! decimals (the shapes are the same up to 10 cm).
//!
//! Documents: the workload holds [`SCENARIO_DOCS`] documents, all drawn the
//! way upstream draws its single document, **before** the filters. The first
//! one is "the" scenario document; the others let a benchmark loop round-robin
//! over a few documents (for the geo scenarios they are all `{"point":[0,0]}`).
//! Upstream's behaviour is reproduced by using only the first line.

use rand::Rng;
use serde_json::{json, Value};

use super::common::{below, float_in, gen, int_in, round6, Gen};
use super::Workload;

/// The keywords of Koncorde's benchmark, in its order.
pub const KONCORDE_KEYWORDS: &[&str] = &[
    "equals",
    "exists",
    "geoBoundingBox",
    "geoDistance",
    "geoDistanceRange",
    "geoPolygon",
    "in",
    "range",
];

/// Number of documents of a scenario workload (the first is upstream's).
pub const SCENARIO_DOCS: usize = 8;

/// random-js's default string pool.
const POOL: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-";

fn rand20(g: &mut Gen) -> String {
    (0..20)
        .map(|_| char::from(POOL[below(g, POOL.len())]))
        .collect()
}

fn rand_int(g: &mut Gen) -> i64 {
    int_in(g, -10_000, 10_000)
}

/// geojson-random's `position()`: `[lon, lat]`.
fn position(g: &mut Gen) -> (f64, f64) {
    let lon = float_in(g, -180.0, 180.0);
    let lat = float_in(g, -90.0, 90.0);
    (lon, lat)
}

/// geojson-random's `polygon(1, 5)` ring, swapped to `[lat, lon]`.
fn star_polygon(g: &mut Gen) -> Value {
    const VERTICES: usize = 5;
    const MAX_RADIAL: f64 = 10.0;
    let mut offsets: Vec<f64> = (0..=VERTICES).map(|_| g.gen::<f64>()).collect();
    for i in 1..offsets.len() {
        offsets[i] += offsets[i - 1];
    }
    let total = offsets.last().copied().unwrap_or(1.0);
    let mut ring: Vec<(f64, f64)> = offsets
        .iter()
        .map(|o| {
            let angle = o * 2.0 * std::f64::consts::PI / total;
            let radial = g.gen::<f64>();
            (
                radial * MAX_RADIAL * angle.sin(),
                radial * MAX_RADIAL * angle.cos(),
            )
        })
        .collect();
    if let Some(first) = ring.first().copied() {
        if let Some(last) = ring.last_mut() {
            *last = first;
        }
    }
    let (clon, clat) = position(g);
    let points: Vec<Value> = ring
        .into_iter()
        .map(|(dx, dy)| json!([round6(dy + clat), round6(dx + clon)]))
        .collect();
    json!({"geoPolygon": {"point": {"points": points}}})
}

fn filter(g: &mut Gen, keyword: &str) -> Option<Value> {
    Some(match keyword {
        "equals" => json!({"equals": {"str": rand20(g)}}),
        "exists" => json!({"exists": {"field": rand20(g)}}),
        "geoBoundingBox" => {
            let (lon, lat) = position(g);
            let (lon, lat) = (round6(lon), round6(lat));
            json!({"geoBoundingBox": {"point": {
                "bottom": round6(lat - 0.5),
                "left": lon,
                "right": round6(lon + 0.5),
                "top": lat,
            }}})
        }
        "geoDistance" => {
            let (lon, lat) = position(g);
            json!({"geoDistance": {"distance": "500m", "point": [round6(lat), round6(lon)]}})
        }
        "geoDistanceRange" => {
            let (lon, lat) = position(g);
            json!({"geoDistanceRange": {
                "from": "500m",
                "point": [round6(lat), round6(lon)],
                "to": "1km",
            }})
        }
        "geoPolygon" => star_polygon(g),
        "in" => {
            let values: Vec<String> = (0..5).map(|_| rand20(g)).collect();
            json!({"in": {"str": values}})
        }
        "range" => {
            let b = rand_int(g);
            json!({"range": {"integer": {"gte": b, "lte": b + 100}}})
        }
        _ => return None,
    })
}

fn document(g: &mut Gen, keyword: &str) -> Option<Value> {
    Some(match keyword {
        "equals" | "in" => json!({"str": rand20(g)}),
        "exists" => {
            let mut m = serde_json::Map::new();
            m.insert(rand20(g), Value::Bool(true));
            Value::Object(m)
        }
        "geoBoundingBox" | "geoDistance" | "geoDistanceRange" | "geoPolygon" => {
            json!({"point": [0, 0]})
        }
        "range" => json!({"integer": rand_int(g)}),
        _ => return None,
    })
}

/// Koncorde's benchmark scenario for `keyword` (one of [`KONCORDE_KEYWORDS`]):
/// `n` filters (upstream uses 10,000) and [`SCENARIO_DOCS`] documents, the
/// first being the scenario's test document. `None` for an unknown keyword.
pub fn koncorde_scenario(keyword: &str, n: usize, seed: u64) -> Option<Workload> {
    let salt = KONCORDE_KEYWORDS.iter().position(|k| *k == keyword)? as u64;
    let mut g = gen(seed, 0x4B4F_4E43_0000 + salt);
    // Upstream draws the document before the filters.
    let docs = (0..SCENARIO_DOCS)
        .map(|_| document(&mut g, keyword))
        .collect::<Option<Vec<_>>>()?;
    let filters = (0..n)
        .map(|_| filter(&mut g, keyword))
        .collect::<Option<Vec<_>>>()?;
    Some(Workload { filters, docs })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_keyword_generates() {
        for kw in KONCORDE_KEYWORDS {
            let w = koncorde_scenario(kw, 100, 1).expect("known keyword");
            assert_eq!(w.filters.len(), 100);
            assert_eq!(w.docs.len(), SCENARIO_DOCS);
            for f in &w.filters {
                let obj = f.as_object().expect("object");
                assert_eq!(obj.len(), 1);
                assert_eq!(obj.keys().next().map(String::as_str), Some(*kw));
            }
        }
        assert!(koncorde_scenario("nope", 10, 1).is_none());
    }

    #[test]
    fn generators_follow_upstream_shapes() {
        let w = koncorde_scenario("equals", 10, 3).unwrap_or_else(|| unreachable!());
        let s = w.filters[0]["equals"]["str"].as_str().unwrap_or_default();
        assert_eq!(s.len(), 20);
        assert!(s
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'));

        let w = koncorde_scenario("geoPolygon", 50, 3).unwrap_or_else(|| unreachable!());
        for f in &w.filters {
            let pts = f["geoPolygon"]["point"]["points"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            assert_eq!(pts.len(), 6);
            assert_eq!(pts[0], pts[5]);
        }

        let w = koncorde_scenario("geoBoundingBox", 50, 3).unwrap_or_else(|| unreachable!());
        for f in &w.filters {
            let b = &f["geoBoundingBox"]["point"];
            let f64_of = |k: &str| b[k].as_f64().unwrap_or(f64::NAN);
            assert!(f64_of("bottom") < f64_of("top"));
            assert!(f64_of("left") < f64_of("right"));
        }

        let w = koncorde_scenario("range", 50, 3).unwrap_or_else(|| unreachable!());
        for f in &w.filters {
            let r = &f["range"]["integer"];
            let lo = r["gte"].as_i64().unwrap_or(i64::MAX);
            assert!((-10_000..=10_000).contains(&lo));
            assert_eq!(r["lte"].as_i64(), Some(lo + 100));
        }
    }
}
