use super::boost_envelope::ring_envelope;
use super::ellipsoid::box_covers;
use super::winding::{geographic_side, point_in_ring};
use super::*;
use serde_json::json;

fn pt(lat: f64, lon: f64) -> Point {
    Point { lat, lon }
}

// ---------------------------------------------------------------------------
// Differential fixtures computed with Boost.Geometry 1.87 itself.

/// Checks one fixture file of Boost answers (see `testdata/README.md`).
/// Returns (polygons, points, mismatches as text).
fn check_boost_fixture(text: &str) -> (usize, usize, Vec<String>) {
    let mut polygons = 0;
    let mut points = 0;
    let mut bad = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let v: Value = serde_json::from_str(line).expect("fixture line is JSON");
        let ring: Vec<Point> = v["poly"]
            .as_array()
            .expect("poly")
            .iter()
            .map(|p| pt(p[0].as_f64().expect("lat"), p[1].as_f64().expect("lon")))
            .collect();
        let env: Vec<f64> = v["env"]
            .as_array()
            .expect("env")
            .iter()
            .map(|x| x.as_f64().unwrap_or(f64::NAN))
            .collect();
        let ours = ring_envelope(&ring).expect("3 points or more");
        let same = |a: f64, b: f64| a == b || (a.is_nan() && b.is_nan());
        if !(same(ours.lon_min, env[0])
            && same(ours.lat_min, env[1])
            && same(ours.lon_max, env[2])
            && same(ours.lat_max, env[3]))
        {
            bad.push(format!("envelope of {line}: ours {ours:?}"));
        }
        polygons += 1;
        let poly = Polygon::new(ring.clone());
        let penv = poly.envelope();
        for q in v["pts"].as_array().expect("pts") {
            let p = pt(q[0].as_f64().expect("lat"), q[1].as_f64().expect("lon"));
            let covered = q[2].as_i64() == Some(1);
            let in_env = q[3].as_i64() == Some(1);
            points += 1;
            let our_covered = point_in_ring(p, &ring, &geographic_side) >= 0;
            let our_in_env = box_covers(env[0], env[1], env[2], env[3], p.lon, p.lat);
            if our_covered != covered || our_in_env != in_env {
                bad.push(format!(
                    "{p:?} in {:?}: boost covered_by {covered} envelope {in_env}, ours {our_covered} {our_in_env}",
                    v["poly"]
                ));
            }
            if poly.covers(p) != (covered && in_env) {
                bad.push(format!("Polygon::covers({p:?}) on {:?}", v["poly"]));
            }
            if poly.covers(p) && !penv.contains(p) {
                bad.push(format!("envelope not conservative: {p:?} on {:?}", v["poly"]));
            }
        }
    }
    (polygons, points, bad)
}

#[test]
fn boost_polygon_fixture() {
    let text = include_str!("testdata/boost_polygons.jsonl");
    let (polygons, points, bad) = check_boost_fixture(text);
    assert!(polygons > 0 && points > 0);
    assert!(bad.is_empty(), "{} mismatches, first: {:#?}", bad.len(), &bad[..bad.len().min(10)]);
}

/// Extra fixtures, for development: `HERALD_GEO_BOOST_FIXTURE=<file>`.
#[test]
fn boost_polygon_fixture_from_env() {
    let Ok(path) = std::env::var("HERALD_GEO_BOOST_FIXTURE") else {
        return;
    };
    let text = std::fs::read_to_string(&path).expect("readable fixture");
    let (polygons, points, bad) = check_boost_fixture(&text);
    eprintln!("{path}: {polygons} polygons, {points} points, {} mismatches", bad.len());
    assert!(bad.is_empty(), "{} mismatches, first: {:#?}", bad.len(), &bad[..bad.len().min(10)]);
}

/// Checks distances against Boost's `bg::distance` (see `testdata/README.md`).
fn check_distance_fixture(text: &str) -> (usize, Vec<String>) {
    let mut n = 0;
    let mut bad = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let v: Value = serde_json::from_str(line).expect("fixture line is JSON");
        let get = |k: &str, i: usize| v[k][i].as_f64().expect("coordinate");
        let a = pt(get("a", 0), get("a", 1));
        let b = pt(get("b", 0), get("b", 1));
        let expected = v["d"].as_f64().expect("distance");
        let ours = distance(a, b);
        n += 1;
        if ours != expected {
            bad.push(format!("{line}: ours {ours:?}"));
        }
    }
    (n, bad)
}

#[test]
fn boost_distance_fixture() {
    let (n, bad) = check_distance_fixture(include_str!("testdata/boost_distances.jsonl"));
    assert!(n > 0);
    assert!(bad.is_empty(), "{} mismatches, first: {:#?}", bad.len(), &bad[..bad.len().min(10)]);
}

/// Extra fixtures, for development: `HERALD_GEO_DISTANCE_FIXTURE=<file>`.
#[test]
fn boost_distance_fixture_from_env() {
    let Ok(path) = std::env::var("HERALD_GEO_DISTANCE_FIXTURE") else {
        return;
    };
    let text = std::fs::read_to_string(&path).expect("readable fixture");
    let (n, bad) = check_distance_fixture(&text);
    eprintln!("{path}: {n} distances, {} mismatches", bad.len());
    assert!(bad.is_empty(), "{} mismatches, first: {:#?}", bad.len(), &bad[..bad.len().min(10)]);
}
