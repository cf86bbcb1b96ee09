//! Geo workload: standalone location subscriptions crowding around the places where the
//! documents are.
//!
//! Why it looks this way. Location features subscribe with a shape and nothing else: a
//! delivery app's courier watches its zone, a map client watches its viewport, a "near me"
//! alert watches a circle around a user. Users live in cities, and cities are not equally
//! popular, so thousands of shapes of every size overlap around the same few hundred centres,
//! and so do the documents (orders, vehicles, posts): a point in a busy city lies inside or
//! near a great many shapes. A matcher that lists shapes by coarse cells gives every point of
//! a busy city every shape of that city as a candidate and tests each one exactly; the work
//! should instead follow the shapes that actually hold the point.
//!
//! Centres: the 44 real cities of `common` and, around each, three to five satellite towns
//! 15–80 km away (about 200 centres). Popularity is Zipf-like: centre of rank r has weight
//! 1/r, for filters and documents alike (with independent draws).
//!
//! Mix of filters (share of all filters):
//!
//! * 40 % "near me" alerts: `geoDistance` around a point within 8 km of a centre, radius
//!   log-uniform in 500 m – 50 km;
//! * 25 % map viewports: `geoBoundingBox` around a point within 10 km of a centre, height
//!   log-uniform in 0.01° – 0.5° (street to region zoom), width 1.6 × height / cos(lat);
//! * 15 % delivery zones: `geoPolygon` of 5–12 vertices, star-shaped around a point within
//!   10 km of a centre, radius 1–10 km;
//! * 10 % delivery pricing bands: `geoDistanceRange` around a centre (`from` 1–10 km, `to`
//!   `from` + 2–20 km);
//! * 10 % category-scoped alerts: `and` of `equals kind` (one of 6 kinds) and a
//!   `geoDistance` as above (the only non-geo condition, to show the anchor choice).
//!
//! Documents: a `location` within 12 km of a centre (half `[lat, lon]`, half `{lat, lon}`),
//! a `kind`, an `_id`-like `ref`.
//!
//! Every filter is accepted by Koncorde 4.7.0 (geo terms only at top level or in an `and` of
//! plain conditions).

use serde_json::{json, Value};

use super::common::{
    below, float_in, gen, offset, pick, point_near, round6, weighted, Gen, CITIES_APAC_AMER,
    CITIES_EMEA,
};
use super::Workload;

const KINDS: &[&str] = &["food", "grocery", "parcel", "ride", "event", "sale"];

/// The centres: real cities and their satellite towns, by decreasing popularity.
fn centres() -> Vec<(f64, f64)> {
    let mut g = gen(7, 0x6e0c);
    let mut out: Vec<(f64, f64)> = Vec::new();
    let cities: Vec<_> = CITIES_EMEA.iter().chain(CITIES_APAC_AMER).collect();
    for &&(_, lat, lon) in &cities {
        out.push((lat, lon));
    }
    for &&(_, lat, lon) in &cities {
        for _ in 0..3 + below(&mut g, 3) {
            let distance = float_in(&mut g, 15.0, 80.0);
            let angle = float_in(&mut g, 0.0, std::f64::consts::TAU);
            out.push(offset(
                lat,
                lon,
                distance * angle.cos(),
                distance * angle.sin(),
            ));
        }
    }
    out
}

/// A centre drawn with Zipf weights (rank r has weight 1/r).
fn centre(g: &mut Gen, centres: &[(f64, f64)], weights: &[f64]) -> (f64, f64) {
    centres[weighted(g, weights)]
}

fn log_uniform(g: &mut Gen, lo: f64, hi: f64) -> f64 {
    (float_in(g, lo.ln(), hi.ln())).exp()
}

fn circle(g: &mut Gen, (lat, lon): (f64, f64)) -> Value {
    let (plat, plon) = point_near(g, lat, lon, 8.0);
    let meters = log_uniform(g, 500.0, 50_000.0).round();
    json!({"geoDistance": {"location": {"lat": plat, "lon": plon}, "distance": format!("{meters}m")}})
}

fn viewport(g: &mut Gen, (lat, lon): (f64, f64)) -> Value {
    let (clat, clon) = point_near(g, lat, lon, 10.0);
    let height = log_uniform(g, 0.01, 0.5);
    let width = 1.6 * height / clat.to_radians().cos().max(0.2);
    json!({"geoBoundingBox": {"location": {
        "top": round6(clat + height / 2.0), "bottom": round6(clat - height / 2.0),
        "left": round6(clon - width / 2.0), "right": round6(clon + width / 2.0)}}})
}

fn zone(g: &mut Gen, (lat, lon): (f64, f64)) -> Value {
    let (clat, clon) = point_near(g, lat, lon, 10.0);
    let radius = float_in(g, 1.0, 10.0);
    let n = 5 + below(g, 8);
    let points: Vec<Value> = (0..n)
        .map(|i| {
            let angle = std::f64::consts::TAU * i as f64 / n as f64;
            let r = radius * float_in(g, 0.5, 1.0);
            let (plat, plon) = offset(clat, clon, r * angle.cos(), r * angle.sin());
            json!([plat, plon])
        })
        .collect();
    json!({"geoPolygon": {"location": {"points": points}}})
}

fn band(g: &mut Gen, (lat, lon): (f64, f64)) -> Value {
    let from = float_in(g, 1.0, 10.0).round();
    let to = from + float_in(g, 2.0, 20.0).round();
    json!({"geoDistanceRange": {"location": [lat, lon], "from": format!("{from}km"), "to": format!("{to}km")}})
}

/// `n_filters` filters and `n_docs` documents (see the module docs).
pub fn geo(n_filters: usize, n_docs: usize, seed: u64) -> Workload {
    let centres = centres();
    let weights: Vec<f64> = (1..=centres.len()).map(|r| 1.0 / r as f64).collect();
    let mut g = gen(seed, 0x6e01);
    let mut seen = std::collections::HashSet::new();
    let mut filters = Vec::with_capacity(n_filters);
    while filters.len() < n_filters {
        let at = centre(&mut g, &centres, &weights);
        let filter = match weighted(&mut g, &[40.0, 25.0, 15.0, 10.0, 10.0]) {
            0 => circle(&mut g, at),
            1 => viewport(&mut g, at),
            2 => zone(&mut g, at),
            3 => band(&mut g, at),
            _ => json!({"and": [{"equals": {"kind": pick(&mut g, KINDS)}}, circle(&mut g, at)]}),
        };
        if seen.insert(filter.to_string()) {
            filters.push(filter);
        }
    }
    let mut g = gen(seed, 0x6e02);
    let docs = (0..n_docs)
        .map(|i| {
            let (lat, lon) = centre(&mut g, &centres, &weights);
            let (plat, plon) = point_near(&mut g, lat, lon, 12.0);
            let location = if i % 2 == 0 {
                json!([plat, plon])
            } else {
                json!({"lat": plat, "lon": plon})
            };
            json!({"ref": format!("d-{i}"), "kind": pick(&mut g, KINDS), "location": location})
        })
        .collect();
    Workload { filters, docs }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::matches_per_doc;

    #[test]
    fn deterministic_distinct_and_dense() {
        let a = geo(2_000, 200, 1);
        assert_eq!(a, geo(2_000, 200, 1));
        assert_eq!(a.filters.len(), 2_000);
        let distinct: std::collections::HashSet<String> =
            a.filters.iter().map(Value::to_string).collect();
        assert_eq!(distinct.len(), a.filters.len());
        // Dense: a document lies in many shapes (the point of the workload), but far from all.
        let matches = matches_per_doc(&a);
        let mean = matches.iter().sum::<usize>() as f64 / matches.len() as f64;
        assert!(mean > 5.0 && mean < 400.0, "{mean} matches per document");
        // Every filter is valid.
        for f in &a.filters {
            herald_filters::normalize(f, &herald_filters::Options::default()).expect("valid");
        }
    }
}
