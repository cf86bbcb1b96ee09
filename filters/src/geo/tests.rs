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
                bad.push(format!(
                    "envelope not conservative: {p:?} on {:?}",
                    v["poly"]
                ));
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
    assert_no_mismatch(&bad);
}

/// Extra fixtures, for development: `HERALD_GEO_BOOST_FIXTURE=<file> cargo test -- --ignored`.
#[test]
#[ignore = "development fixture: set HERALD_GEO_BOOST_FIXTURE"]
fn boost_polygon_fixture_from_env() {
    let path = std::env::var("HERALD_GEO_BOOST_FIXTURE")
        .expect("set HERALD_GEO_BOOST_FIXTURE to a fixture file");
    let text = std::fs::read_to_string(&path).expect("readable fixture");
    let (polygons, points, bad) = check_boost_fixture(&text);
    eprintln!(
        "{path}: {polygons} polygons, {points} points, {} mismatches",
        bad.len()
    );
    assert_no_mismatch(&bad);
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
    assert_no_mismatch(&bad);
}

/// Extra fixtures, for development: `HERALD_GEO_DISTANCE_FIXTURE=<file> cargo test -- --ignored`.
#[test]
#[ignore = "development fixture: set HERALD_GEO_DISTANCE_FIXTURE"]
fn boost_distance_fixture_from_env() {
    let path = std::env::var("HERALD_GEO_DISTANCE_FIXTURE")
        .expect("set HERALD_GEO_DISTANCE_FIXTURE to a fixture file");
    let text = std::fs::read_to_string(&path).expect("readable fixture");
    let (n, bad) = check_distance_fixture(&text);
    eprintln!("{path}: {n} distances, {} mismatches", bad.len());
    assert_no_mismatch(&bad);
}

/// Decodes a number of the JavaScript fixtures (`"NaN"`, `"Infinity"`,
/// `"-Infinity"`, `"-0"` are strings there).
fn js_number(v: &Value) -> f64 {
    match v {
        Value::String(s) if s == "NaN" => f64::NAN,
        Value::String(s) if s == "Infinity" => f64::INFINITY,
        Value::String(s) if s == "-Infinity" => f64::NEG_INFINITY,
        Value::String(s) if s == "-0" => -0.0,
        _ => v.as_f64().expect("number"),
    }
}

fn same_bits(a: f64, b: f64) -> bool {
    a.to_bits() == b.to_bits()
}

/// Checks `parse_point` against Koncorde's `convertGeopoint` (see
/// `testdata/README.md`). `"throw"` (Koncorde's TypeError on
/// `{"latLon": null}`) must be no point.
fn check_point_fixture(text: &str) -> (usize, Vec<String>) {
    let mut n = 0;
    let mut bad = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let v: Value = serde_json::from_str(line).expect("fixture line is JSON");
        let expected = match &v["p"] {
            Value::Array(c) => Some(pt(js_number(&c[0]), js_number(&c[1]))),
            _ => None,
        };
        let ours = parse_point(&v["v"]);
        n += 1;
        let ok = match (ours, expected) {
            (None, None) => true,
            (Some(a), Some(b)) => same_bits(a.lat, b.lat) && same_bits(a.lon, b.lon),
            _ => false,
        };
        if !ok {
            bad.push(format!("{line}: ours {ours:?}"));
        }
    }
    (n, bad)
}

/// Checks `parse_distance` against Koncorde's `convertDistance`. Time units
/// (Koncorde converts them to minutes) must be `None`; values with letters
/// (node-units' numerizer turns number words into digits) are not compared.
fn check_distance_string_fixture(text: &str) -> (usize, usize, Vec<String>) {
    let mut n = 0;
    let mut skipped = 0;
    let mut bad = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let v: Value = serde_json::from_str(line).expect("fixture line is JSON");
        let s = v["s"].as_str().expect("s");
        let ours = parse_distance(s);
        let expected = match &v["m"] {
            Value::String(e) if e == "error" => None,
            m => Some(js_number(m)).filter(|x| x.is_finite()),
        };
        if v["words"] == json!(true) && expected.is_some() {
            skipped += 1;
            continue;
        }
        n += 1;
        let ok = if v["time"] == json!(true) {
            ours.is_none()
        } else {
            match (ours, expected) {
                (None, None) => true,
                (Some(a), Some(b)) => same_bits(a, b),
                _ => false,
            }
        };
        if !ok {
            bad.push(format!("{line}: ours {ours:?}"));
        }
    }
    (n, skipped, bad)
}

#[test]
fn koncorde_point_fixture() {
    let (n, bad) = check_point_fixture(include_str!("testdata/koncorde_points.jsonl"));
    assert!(n > 0);
    assert_no_mismatch(&bad);
}

#[test]
fn koncorde_distance_string_fixture() {
    let (n, _, bad) =
        check_distance_string_fixture(include_str!("testdata/koncorde_distances.jsonl"));
    assert!(n > 0);
    assert_no_mismatch(&bad);
}

/// Extra fixtures, for development: `HERALD_GEO_POINT_FIXTURE=<file>` and/or
/// `HERALD_GEO_DISTANCE_STRING_FIXTURE=<file>`, then `cargo test -- --ignored`.
#[test]
#[ignore = "development fixtures: set HERALD_GEO_POINT_FIXTURE / HERALD_GEO_DISTANCE_STRING_FIXTURE"]
fn koncorde_parse_fixtures_from_env() {
    assert!(
        std::env::var_os("HERALD_GEO_POINT_FIXTURE").is_some()
            || std::env::var_os("HERALD_GEO_DISTANCE_STRING_FIXTURE").is_some(),
        "set HERALD_GEO_POINT_FIXTURE or HERALD_GEO_DISTANCE_STRING_FIXTURE"
    );
    if let Ok(path) = std::env::var("HERALD_GEO_POINT_FIXTURE") {
        let text = std::fs::read_to_string(&path).expect("readable fixture");
        let (n, bad) = check_point_fixture(&text);
        eprintln!("{path}: {n} values, {} mismatches", bad.len());
        assert_no_mismatch(&bad);
    }
    if let Ok(path) = std::env::var("HERALD_GEO_DISTANCE_STRING_FIXTURE") {
        let text = std::fs::read_to_string(&path).expect("readable fixture");
        let (n, skipped, bad) = check_distance_string_fixture(&text);
        eprintln!(
            "{path}: {n} strings ({skipped} skipped), {} mismatches",
            bad.len()
        );
        assert!(
            bad.is_empty(),
            "{} mismatches, first: {:#?}",
            bad.len(),
            &bad[..bad.len().min(10)]
        );
    }
}

/// Checks boxes and polygons end to end against Koncorde 4.7.0 (register a
/// single filter, test documents `{"f": [lat, lon]}`; see
/// `testdata/README.md`). Returns (filters, documents, mismatches).
fn check_shape_fixture(text: &str) -> (usize, usize, Vec<String>) {
    let (mut filters, mut docs) = (0, 0);
    let mut bad = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let v: Value = serde_json::from_str(line).expect("fixture line is JSON");
        filters += 1;
        let filter = &v["filter"];
        let shape: Result<Shape, String> = if let Some(b) = filter.get("geoBoundingBox") {
            BoundingBox::parse(&b["f"]).map(Shape::BoundingBox)
        } else {
            let points: Option<Vec<Point>> = filter["geoPolygon"]["f"]["points"]
                .as_array()
                .expect("points")
                .iter()
                .map(parse_point)
                .collect();
            points
                .map(|p| Shape::Polygon(Polygon::new(p)))
                .ok_or_else(|| "unrecognized point format".to_string())
        };
        match (&shape, v.get("error")) {
            (Err(ours), Some(Value::String(theirs))) => {
                let theirs = theirs
                    .strip_prefix("\"geoBoundingBox.f\": ")
                    .unwrap_or(theirs);
                // TypeErrors (a null box) have no Koncorde message to match.
                let type_error = theirs.starts_with("Cannot");
                if !type_error && ours != theirs {
                    bad.push(format!("{line}: ours {ours}"));
                }
            }
            (Ok(_), None) => {}
            _ => bad.push(format!("{line}: ours {shape:?}")),
        }
        let Ok(shape) = shape else { continue };
        for d in v["docs"].as_array().into_iter().flatten() {
            docs += 1;
            let p = pt(d[0].as_f64().expect("lat"), d[1].as_f64().expect("lon"));
            let expected = d[2] == json!(1);
            if shape.contains(p) != expected {
                bad.push(format!("{filter} on {p:?}: Koncorde {expected}"));
            }
            if expected && !shape.envelope().contains(p) {
                bad.push(format!("{filter}: envelope misses {p:?}"));
            }
        }
    }
    (filters, docs, bad)
}

#[test]
fn koncorde_shape_fixture() {
    let (filters, docs, bad) = check_shape_fixture(include_str!("testdata/koncorde_shapes.jsonl"));
    assert!(filters > 0 && docs > 0);
    assert_no_mismatch(&bad);
}

/// Extra fixtures, for development: `HERALD_GEO_SHAPE_FIXTURE=<file> cargo test -- --ignored`.
#[test]
#[ignore = "development fixture: set HERALD_GEO_SHAPE_FIXTURE"]
fn koncorde_shape_fixture_from_env() {
    let path = std::env::var("HERALD_GEO_SHAPE_FIXTURE")
        .expect("set HERALD_GEO_SHAPE_FIXTURE to a fixture file");
    let text = std::fs::read_to_string(&path).expect("readable fixture");
    let (filters, docs, bad) = check_shape_fixture(&text);
    eprintln!(
        "{path}: {filters} filters, {docs} documents, {} mismatches",
        bad.len()
    );
    assert_no_mismatch(&bad);
}

// ---------------------------------------------------------------------------
// Geopoints (spec 5.1).

#[test]
fn every_spelling_of_a_point() {
    let expected = Some(pt(43.6021299, 3.8989713));
    let spellings = [
        json!([43.6021299, 3.8989713]),
        json!("43.6021299, 3.8989713"),
        json!({"lat": 43.6021299, "lon": 3.8989713}),
        json!({"latLon": [43.6021299, 3.8989713]}),
        json!({"latLon": {"lat": 43.6021299, "lon": 3.8989713}}),
        json!({"latLon": "43.6021299, 3.8989713"}),
        json!({"lat_lon": [43.6021299, 3.8989713]}),
        json!({"lat_lon": {"lat": 43.6021299, "lon": 3.8989713}}),
        json!({"lat_lon": "43.6021299, 3.8989713"}),
        json!(["43.6021299", "3.8989713"]),
        json!({"lat": "43.6021299", "lon": "3.8989713"}),
        json!([[43.6021299], ["3.8989713", 5]]),
        json!(" 43.6021299abc,3.8989713 "),
    ];
    for s in &spellings {
        assert_eq!(parse_point(s), expected, "{s}");
    }
    // The geohash is the centre of its cell, close to the point.
    for s in [
        json!("spfb09x0ud5s"),
        json!({"latLon": "spfb09x0ud5s"}),
        json!({"lat_lon": "spfb09x0ud5s"}),
    ] {
        let p = parse_point(&s).expect("geohash");
        assert!(
            (p.lat - 43.6021299).abs() < 1e-6 && (p.lon - 3.8989713).abs() < 1e-6,
            "{s}"
        );
    }
}

#[test]
fn geohash_quirks() {
    assert_eq!(
        parse_point(&json!("aaaa")),
        Some(pt(-89.912109375, -179.82421875))
    );
    assert_eq!(parse_point(&json!("aaaa")), parse_point(&json!("0000")));
    assert_eq!(parse_point(&json!("ilo0")), parse_point(&json!("0000")));
    assert!(
        parse_point(&json!("hello")).is_some(),
        "many words are geohashes"
    );
    assert_eq!(
        parse_point(&json!("SPFB")),
        None,
        "upper case is not a geohash"
    );
    assert_eq!(parse_point(&json!("spf")), None, "too short");
    assert_eq!(parse_point(&json!("spfb ")), None);
    assert_eq!(parse_point(&json!("sp-fb")), None);
}

#[test]
fn not_points() {
    for v in [
        json!(null),
        json!(false),
        json!(true),
        json!(0),
        json!(12),
        json!(""),
        json!([]),
        json!([1]),
        json!([1, 2, 3]),
        json!([true, 1]),
        json!([null, 1]),
        json!([{}, 1]),
        json!([[], 1]),
        json!([[null, 1], 1]),
        json!("1, 2, 3"),
        json!("a, 2"),
        json!("43.6 / 3.8"),
        json!({}),
        json!({"lat": 1}),
        json!({"lat": 1, "lng": 2}),
        json!({"lat": "x", "lon": 2}),
        json!({"lat": null, "lon": 2}),
        json!({"latLon": null}),
        json!({"lat_lon": null}),
        json!({"latLon": 5}),
        json!({"latLon": [1]}),
        json!({"latLon": {"lat": 1}}),
        json!({"latLon": {"lat_lon": [1, 2]}}),
        json!({"latLon": ""}),
        json!({"LatLon": [1, 2]}),
    ] {
        assert_eq!(parse_point(&v), None, "{v}");
    }
}

#[test]
fn point_object_precedence() {
    // lat and lon win over latLon.
    assert_eq!(
        parse_point(&json!({"latLon": [5, 6], "lat": 1, "lon": 2})),
        Some(pt(1.0, 2.0))
    );
    // Both spellings: the later one in key order wins.
    assert_eq!(
        parse_point(&json!({"lat_lon": [1, 2], "latLon": [3, 4]})),
        Some(pt(3.0, 4.0))
    );
    assert_eq!(
        parse_point(&json!({"latLon": [3, 4], "lat_lon": [1, 2]})),
        Some(pt(1.0, 2.0))
    );
    assert_eq!(
        parse_point(&json!({"latLon": [3, 4], "lat_lon": null})),
        None
    );
    // Other keys are ignored.
    assert_eq!(
        parse_point(&json!({"lat": 1, "lon": 2, "x": 3})),
        Some(pt(1.0, 2.0))
    );
}

#[test]
fn points_are_not_normalized() {
    assert_eq!(parse_point(&json!([100, 400])), Some(pt(100.0, 400.0)));
    assert_eq!(
        parse_point(&json!("Infinity, -Infinity")),
        Some(pt(f64::INFINITY, f64::NEG_INFINITY))
    );
    let p = parse_point(&json!([-0.0, "-0"])).expect("point");
    assert!(p.lat.is_sign_positive(), "String(-0) is \"0\"");
    assert!(p.lon.is_sign_negative(), "parseFloat(\"-0\") is -0");
}

#[test]
fn parse_float_is_javascripts() {
    let cases: &[(&str, f64)] = &[
        ("43.6abc", 43.6),
        ("1e2", 100.0),
        ("0x10", 0.0),
        (" 2", 2.0),
        ("\u{FEFF}\u{A0}\t\n 2", 2.0),
        ("1.", 1.0),
        (".5", 0.5),
        ("-.5e1x", -5.0),
        ("+3", 3.0),
        ("1e", 1.0),
        ("1e+", 1.0),
        ("1.5e-3", 0.0015),
        ("1.e5", 100000.0),
        ("Infinity", f64::INFINITY),
        ("-Infinityx", f64::NEG_INFINITY),
        ("1_0", 1.0),
        ("00012", 12.0),
        ("1e400", f64::INFINITY),
        ("1e-400", 0.0),
        ("123456789012345678901234567890", 1.2345678901234568e29),
    ];
    for &(s, x) in cases {
        assert_eq!(parse_float(s), x, "{s:?}");
    }
    for s in [
        "", " ", ".", "+", "-", "+.", "e5", "infinity", "NaN", "abc", "\u{85}1", "٣", "+-1",
    ] {
        assert!(parse_float(s).is_nan(), "{s:?}");
    }
    assert!(parse_float("-0").is_sign_negative());
}

// ---------------------------------------------------------------------------
// Distances (spec 5.2).

#[test]
fn distances() {
    let cases: &[(&str, f64)] = &[
        ("500m", 500.0),
        ("1km", 1000.0),
        ("1 km", 1000.0),
        ("1KM", 1000.0),
        ("1\u{212A}m", 1000.0),
        ("10 kilometers", 10000.0),
        ("80 kms", 80000.0),
        ("1 000 m", 1000.0),
        ("1,5 km", 1500.0),
        ("1 000,5 m", 1000.5),
        ("1.2.3km", 1200.0),
        ("-1km", 1000.0),
        ("+5m", 5.0),
        ("1 cm", 0.01),
        ("1 dam", 10.0),
        ("1 hm", 100.0),
        ("1 mum", 1e-6 * 1.0),
        ("1 megameters", 1e6),
        ("100000 ft", 100000.0 * 0.3048),
        ("2 feets", 2.0 * 0.3048),
        ("500 yd", 500.0 * 0.9144),
        ("3 yards", 3.0 * 0.9144),
        ("2 inches", 2.0 * 0.0254),
        ("1 mi", 1609.34),
        ("2 miles", 2.0 * 1609.34),
        ("1 nmi", 1e-9 * 1609.34),
        ("1 kmi", 1000.0 * 1609.34),
        ("1 min", 1e-3 * 0.0254),
        ("1 mies", 1.0),
        ("0m", 0.0),
        ("1.e3m", 1000.0),
        ("1 k m", 1000.0),
        ("1\u{A0}km", 1000.0),
    ];
    for &(s, m) in cases {
        assert_eq!(parse_distance(s), Some(m), "{s:?}");
    }
    assert_eq!(
        parse_distance("1 093,6132983377079 yd"),
        Some(1000.0000000000001)
    );
    for s in [
        "1000",
        "km",
        "",
        "1e3m",
        "x5 m",
        "a1km",
        "1 metres",
        "1 kilometres",
        "1 foot",
        "1 decameter",
        "1 ly",
        "5 h",
        "1 s",
        "1 ms",
        "1 lb",
        "1 gal",
        "1 byte",
        "1 km2",
        "1 km x",
        "1km.",
        "one.5 km",
        "Infinity km",
        "1\u{85}km",
    ] {
        assert_eq!(parse_distance(s), None, "{s:?}");
    }
    let huge = format!("1{}km", "0".repeat(400));
    assert_eq!(parse_distance(&huge), None, "infinite");
}

// ---------------------------------------------------------------------------
// Boxes (spec 5.3).

#[test]
fn box_spellings() {
    let expected = Ok(BoundingBox {
        top: 43.64,
        left: 3.84,
        bottom: 43.58,
        right: 3.93,
    });
    for v in [
        json!({"top": 43.64, "left": 3.84, "bottom": 43.58, "right": 3.93}),
        json!({"top": "43.64", "left": "3.84", "bottom": "43.58", "right": "3.93", "extra": []}),
        json!({"topLeft": [43.64, 3.84], "bottomRight": "43.58, 3.93"}),
        json!({"top_left": {"lat": 43.64, "lon": 3.84}, "bottom_right": [43.58, 3.93]}),
        json!({"top_left": {"lat_lon": [43.64, 3.84]}, "bottomRight": {"latLon": {"lat": 43.58, "lon": 3.93}}}),
        json!({"top": null, "topLeft": [43.64, 3.84], "bottomRight": [43.58, 3.93]}),
    ] {
        assert_eq!(BoundingBox::parse(&v), expected, "{v}");
    }
    let geohash =
        BoundingBox::parse(&json!({"top_left": [43.64, 3.84], "bottom_right": "spdzcmsqjft4"}))
            .expect("geohash corner");
    assert!((geohash.bottom - 43.58).abs() < 2e-3 && (geohash.right - 3.93).abs() < 2e-3);
}

#[test]
fn box_errors() {
    let err = |v: Value| BoundingBox::parse(&v).expect_err("rejected");
    assert_eq!(
        err(json!({"top": "x", "left": 1, "bottom": 0, "right": 2, "top_left": 5})),
        r#"unrecognized geoBoundingBox format: {"top":"x","left":1,"bottom":0,"right":2,"topLeft":5}"#
    );
    assert_eq!(
        err(json!({"top": 1.0, "left": 1e21, "bottom": "", "right": 2, "17": "a\"\n"})),
        r#"unrecognized geoBoundingBox format: {"17":"a\"\n","top":1,"left":1e+21,"bottom":"","right":2}"#
    );
    for v in [
        json!(null),
        json!("abc"),
        json!([1, 2]),
        json!(5),
        json!({}),
        json!({"top": 1, "left": 2, "bottom": 0}),
        json!({"top": 1, "left": 2, "bottom": 0, "right": null}),
        json!({"topLeft": [1, 2]}),
        json!({"topLeft": 0, "bottomRight": [1, 2]}),
        json!({"topLeft": [1, 2], "bottomRight": "zz"}),
        json!({"topLeft": [1, 2], "bottomRight": {"latLon": null}}),
    ] {
        assert_eq!(err(v.clone()), "unrecognized geo-point format", "{v}");
    }
    // Herald decision 3: checked here, latitude first.
    assert_eq!(
        err(json!({"top": 0, "left": 5, "bottom": 0, "right": 1})),
        "min_lat argument cannot be greater or equal max_lat"
    );
    assert_eq!(
        err(json!({"top": 1, "left": 5, "bottom": 0, "right": 5})),
        "min_lon argument cannot be greater or equal max_lon"
    );
}

#[test]
fn box_longitude_rule() {
    let b = |left: f64, right: f64| BoundingBox {
        top: 10.0,
        left,
        bottom: -10.0,
        right,
    };
    assert!(b(170.0, 190.0).contains(pt(0.0, -175.0)));
    assert!(b(170.0, 190.0).contains(pt(0.0, 180.0)));
    assert!(!b(170.0, 190.0).contains(pt(0.0, 160.0)));
    assert!(b(-10.0, 10.0).contains(pt(0.0, 360.0)));
    assert!(b(-10.0, 10.0).contains(pt(0.0, -360.0)));
    assert!(
        b(-10.0, 10.0).contains(pt(10.0, 10.0)),
        "boundaries are inside"
    );
    assert!(!b(-10.0, 10.0).contains(pt(10.000001, 0.0)));
    assert!(
        b(0.0, 400.0).contains(pt(0.0, -90.0)),
        "a 360 degree span holds everything"
    );
    assert!(b(-200.0, -170.0).contains(pt(0.0, 175.0)));
}

// ---------------------------------------------------------------------------
// The geo edge cases of spec 14, with Herald's answers (spec 15).

/// Evaluates a single geo term or its negation on a document with a
/// top-level field, following the negation table.
fn eval(filter: &Value, doc: &Value) -> bool {
    let (mut keyword, mut args) = filter
        .as_object()
        .and_then(|o| o.iter().next())
        .expect("term");
    let negated = keyword == "not";
    if negated {
        (keyword, args) = args
            .as_object()
            .and_then(|o| o.iter().next())
            .expect("term");
    }
    let args = args.as_object().expect("arguments");
    let (field, value) = args
        .iter()
        .find(|(k, _)| !["distance", "from", "to"].contains(&k.as_str()))
        .expect("field");
    let dist = |k: &str| parse_distance(args[k].as_str().expect("string")).expect("distance");
    let shape = match keyword.as_str() {
        "geoBoundingBox" => Shape::BoundingBox(BoundingBox::parse(value).expect("box")),
        "geoDistance" => Shape::Circle(Circle {
            center: parse_point(value).expect("centre"),
            radius: dist("distance"),
        }),
        "geoDistanceRange" => Shape::Annulus(Annulus {
            center: parse_point(value).expect("centre"),
            from: dist("from"),
            to: dist("to"),
        }),
        "geoPolygon" => Shape::Polygon(Polygon::new(
            value["points"]
                .as_array()
                .expect("points")
                .iter()
                .map(|p| parse_point(p).expect("vertex"))
                .collect(),
        )),
        other => panic!("not a geo keyword: {other}"),
    };
    let falsy = |v: &Value| match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        _ => false,
    };
    match doc.get(field.as_str()) {
        None => negated,
        Some(v) if falsy(v) => negated,
        Some(v) => match parse_point(v) {
            None => false,
            Some(p) => shape.contains(p) != negated,
        },
    }
}

#[test]
fn spec_14_geo_edge_cases() {
    let montpellier = r#"[[43.6021299,3.8989713],[43.6057389,3.8968173],[43.6092889,3.8970423],[43.6100359,3.9040853],[43.6069619,3.9170343],[43.6076479,3.9230133],[43.6038779,3.9239153],[43.6019189,3.9152403],[43.6036049,3.9092313]]"#;
    let bbox = r#"{"topLeft":{"lat":43.6331979,"lon":3.8433703},"bottomRight":{"lat":43.5810609,"lon":3.9282093}}"#;
    let cases: Vec<(String, &str, bool)> = vec![
        (format!(r#"{{"geoBoundingBox":{{"foo":{bbox}}}}}"#), r#"{"foo":{"latLon":["43.6073913","3.9109057"]}}"#, true),
        (format!(r#"{{"geoBoundingBox":{{"foo":{bbox}}}}}"#), r#"{"foo":{"lat":43.6331979,"lon":3.8433703}}"#, true),
        (format!(r#"{{"geoBoundingBox":{{"foo":{bbox}}}}}"#), r#"{"foo":{"lat":43.6332079,"lon":3.9}}"#, false),
        (format!(r#"{{"geoBoundingBox":{{"foo":{bbox}}}}}"#), r#"{"foo":"43.6331979 / 3.8433703"}"#, false),
        (r#"{"geoDistance":{"foo":{"lat":43.6331979,"lon":3.8433703},"distance":"1km"}}"#.into(), r#"{"foo":{"lat":43.634,"lon":3.8432}}"#, true),
        (r#"{"geoDistance":{"foo":{"lat":43.6331979,"lon":3.8433703},"distance":"1km"}}"#.into(), r#"{"foo":{"lat":43.6331979,"lon":3.9}}"#, false),
        (r#"{"geoDistanceRange":{"foo":{"lat":43.6331979,"lon":3.8433703},"from":"1km","to":"10km"}}"#.into(), r#"{"foo":{"lat":43.634,"lon":3.9}}"#, true),
        (r#"{"geoDistanceRange":{"foo":{"lat":43.6331979,"lon":3.8433703},"from":"1km","to":"10km"}}"#.into(), r#"{"foo":{"lat":43.6331979,"lon":3.8433703}}"#, false),
        (format!(r#"{{"geoPolygon":{{"foo":{{"points":{montpellier}}}}}}}"#), r#"{"foo":{"latLon":[43.6073913,3.9109057]}}"#, true),
        (format!(r#"{{"geoPolygon":{{"foo":{{"points":{montpellier}}}}}}}"#), r#"{"foo":{"latLon":[43.6021299,3.8989713]}}"#, true),
        (r#"{"not":{"geoBoundingBox":{"foo":{"bottom":43.5810609,"left":3.8433703,"right":3.9282093,"top":43.6331979}}}}"#.into(), r#"{"foo":{"lat":43.5810609,"lon":3.8433703}}"#, false),
        (r#"{"not":{"geoDistance":{"foo":{"lat":43.5764455,"lon":3.948711},"distance":"2000m"}}}"#.into(), r#"{"bar":{"lat":43.6073913,"lon":3.9109057}}"#, true),
        (r#"{"not":{"geoDistance":{"foo":{"lat":43.5764455,"lon":3.948711},"distance":"2000m"}}}"#.into(), r#"{"foo":{"lat":"foo","lon":"bar"}}"#, false),
        (r#"{"not":{"geoDistance":{"p":[0,0],"distance":"1km"}}}"#.into(), r#"{"p":0}"#, true),
        // Koncorde: false (circle envelope clipping); Herald: true (decision 9).
        (r#"{"geoDistance":{"p":[0,0],"distance":"100km"}}"#.into(), r#"{"p":[0.9,0]}"#, true),
        (r#"{"geoPolygon":{"p":{"points":[[0,0],[60,0],[60,60],[0,60]]}}}"#.into(), r#"{"p":[62,30]}"#, true),
        // Herald: {"latLon": null} is an unparsable value (both polarities false).
        (r#"{"not":{"geoDistance":{"p":[0,0],"distance":"1km"}}}"#.into(), r#"{"p":{"latLon":null}}"#, false),
        (r#"{"geoDistance":{"p":[0,0],"distance":"1km"}}"#.into(), r#"{"p":{"latLon":null}}"#, false),
    ];
    for (filter, doc, expected) in &cases {
        let filter: Value = serde_json::from_str(filter).expect("filter");
        let doc: Value = serde_json::from_str(doc).expect("doc");
        assert_eq!(eval(&filter, &doc), *expected, "{filter} on {doc}");
    }
}

#[test]
fn circle_has_no_envelope_clipping() {
    let c = Circle {
        center: pt(0.0, 0.0),
        radius: 100_000.0,
    };
    let d = distance(c.center, pt(0.9, 0.0));
    assert!(d < 100_000.0 && d > 99_000.0, "{d}");
    assert!(c.contains(pt(0.9, 0.0)));
    let zero = Circle {
        center: pt(10.0, 20.0),
        radius: 0.0,
    };
    assert!(zero.contains(pt(10.0, 20.0)));
    assert!(zero.contains(pt(10.0, 380.0)));
    assert!(!zero.contains(pt(10.0, 20.000001)));
}

#[test]
fn polygon_rules() {
    let square = Polygon::new(vec![
        pt(0.0, 0.0),
        pt(60.0, 0.0),
        pt(60.0, 60.0),
        pt(0.0, 60.0),
    ]);
    assert!(
        square.covers(pt(62.0, 30.0)),
        "the top edge bulges poleward"
    );
    assert!(square.envelope().contains(pt(62.0, 30.0)));
    assert!(square.covers(pt(30.0, 30.0)));
    assert!(square.covers(pt(0.0, 0.0)), "vertices are inside");
    assert!(square.covers(pt(0.0, 30.0)), "edges are inside");
    assert!(!square.covers(pt(-1.0, 30.0)));
    let reversed = Polygon::new(vec![
        pt(0.0, 60.0),
        pt(60.0, 60.0),
        pt(60.0, 0.0),
        pt(0.0, 0.0),
    ]);
    assert!(reversed.covers(pt(62.0, 30.0)) && reversed.covers(pt(30.0, 30.0)));
    let closed = Polygon::new(vec![
        pt(0.0, 0.0),
        pt(60.0, 0.0),
        pt(60.0, 60.0),
        pt(0.0, 60.0),
        pt(0.0, 0.0),
    ]);
    assert!(closed.covers(pt(30.0, 30.0)) && !closed.covers(pt(-1.0, 30.0)));
    assert_eq!(square.points().len(), 4);

    // Non-zero winding: both lobes of a bow-tie, the centre of a pentagram.
    let bowtie = Polygon::new(vec![pt(0.0, 0.0), pt(1.0, 1.0), pt(0.0, 1.0), pt(1.0, 0.0)]);
    assert!(bowtie.covers(pt(0.5, 0.1)) && bowtie.covers(pt(0.5, 0.9)));
    assert!(!bowtie.covers(pt(0.1, 0.5)));
    let star: Vec<Point> = (0..5)
        .map(|i| {
            let a = f64::from(i * 2) * std::f64::consts::TAU / 5.0;
            pt(a.cos(), a.sin())
        })
        .collect();
    assert!(Polygon::new(star).covers(pt(0.0, 0.0)));

    // Fewer than 3 points: nothing, no panic.
    let degenerate = Polygon::new(vec![pt(0.0, 0.0), pt(1.0, 1.0)]);
    assert!(!degenerate.covers(pt(0.0, 0.0)));
    assert!(degenerate.envelope().is_empty());
}

#[test]
fn polygon_around_a_pole() {
    let ring: Vec<Point> = (0..8)
        .map(|i| pt(80.0, -180.0 + 45.0 * f64::from(i)))
        .collect();
    let cap = Polygon::new(ring);
    assert!(cap.covers(pt(89.0, 12.0)));
    assert!(cap.covers(pt(90.0, 0.0)));
    assert!(!cap.covers(pt(70.0, 12.0)));
    let env = cap.envelope();
    assert!(env.is_full_lon() && env.max_lat == 90.0);
}

// ---------------------------------------------------------------------------
// Envelopes.

#[test]
fn envelope_basics() {
    let e = BoundingBox {
        top: 10.0,
        left: 170.0,
        bottom: -10.0,
        right: 190.0,
    }
    .envelope();
    assert!(e.contains(pt(0.0, -175.0)) && !e.contains(pt(0.0, 160.0)));
    let ranges: Vec<_> = e.lon_ranges().collect();
    assert_eq!(ranges.len(), 2);
    assert!(Envelope::EMPTY.is_empty() && !Envelope::EMPTY.contains(pt(0.0, 0.0)));
    assert_eq!(Envelope::EMPTY.lon_ranges().count(), 0);
    assert!(Envelope::EVERYTHING.is_full_lon());
    assert!(
        Envelope::EMPTY.contains(pt(91.0, 0.0)),
        "out-of-range points are never pruned"
    );
    assert!(Envelope::EMPTY.contains(pt(0.0, f64::INFINITY)));
    assert_eq!(Envelope::index_lon(-180.0), 180.0);
    assert_eq!(Envelope::index_lon(540.0), 180.0);
    assert_eq!(Envelope::index_lon(-190.0), 170.0);
    // A circle around a pole spans every longitude.
    let polar = Circle {
        center: pt(89.5, 0.0),
        radius: 100_000.0,
    }
    .envelope();
    assert!(polar.is_full_lon() && polar.max_lat == 90.0);
    // Degenerate circles.
    assert!(Circle {
        center: pt(0.0, 0.0),
        radius: f64::NAN
    }
    .envelope()
    .is_empty());
    assert!(Circle {
        center: pt(95.0, 0.0),
        radius: 1.0
    }
    .envelope()
    .is_full_lon());
    assert!(Circle {
        center: pt(0.0, 0.0),
        radius: f64::INFINITY
    }
    .envelope()
    .is_full_lon());
}

/// `env` holds `p`, and so do its longitude ranges.
fn envelope_holds(env: &Envelope, p: Point) -> bool {
    if !env.contains(p) {
        return false;
    }
    if !((-90.0..=90.0).contains(&p.lat) && p.lon.is_finite()) {
        return true;
    }
    let lon = Envelope::index_lon(p.lon);
    p.lat >= env.min_lat
        && p.lat <= env.max_lat
        && env.lon_ranges().any(|(lo, hi)| lo <= lon && lon <= hi)
}

mod props {
    use super::*;
    use proptest::prelude::*;

    fn any_f64() -> impl Strategy<Value = f64> {
        prop_oneof![
            -1000.0..1000.0f64,
            -90.0..90.0f64,
            Just(f64::NAN),
            Just(f64::INFINITY),
            Just(f64::NEG_INFINITY),
            Just(0.0),
            Just(90.0),
            Just(-90.0),
            Just(180.0),
            Just(-180.0),
            Just(1e300),
            Just(-1e300),
            any::<f64>(),
        ]
    }

    fn lat() -> impl Strategy<Value = f64> {
        prop_oneof![-90.0..=90.0f64, Just(90.0), Just(-90.0), Just(0.0)]
    }

    fn lon() -> impl Strategy<Value = f64> {
        prop_oneof![
            -180.0..=180.0f64,
            -720.0..720.0f64,
            Just(180.0),
            Just(-180.0)
        ]
    }

    fn point() -> impl Strategy<Value = Point> {
        (lat(), lon()).prop_map(|(lat, lon)| pt(lat, lon))
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<f64>().prop_map(|x| json!(x)),
            any::<i64>().prop_map(|x| json!(x)),
            ".{0,12}".prop_map(Value::String),
            "[0-9a-z ,.e+-]{0,14}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::vec(
                    (
                        prop_oneof![
                            Just("lat".to_string()),
                            Just("lon".to_string()),
                            Just("latLon".to_string()),
                            Just("lat_lon".to_string()),
                            Just("top".to_string()),
                            Just("left".to_string()),
                            Just("bottom".to_string()),
                            Just("right".to_string()),
                            Just("topLeft".to_string()),
                            Just("bottom_right".to_string()),
                            "[a-z0-9]{0,3}",
                        ],
                        inner
                    ),
                    0..5
                )
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn parsers_never_panic(v in json_value(), s in ".{0,40}") {
            let _ = parse_point(&v);
            let _ = BoundingBox::parse(&v);
            let _ = parse_float(&s);
            let _ = parse_distance(&s);
            if let Some(p) = parse_point(&v) {
                prop_assert!(!p.lat.is_nan() && !p.lon.is_nan());
            }
            if let Some(d) = parse_distance(&s) {
                prop_assert!(d.is_finite());
            }
        }

        #[test]
        fn shapes_never_panic(
            pts in prop::collection::vec((any_f64(), any_f64()), 0..7),
            q in (any_f64(), any_f64()),
            r in any_f64(),
        ) {
            let ring: Vec<Point> = pts.iter().map(|&(a, b)| pt(a, b)).collect();
            let q = pt(q.0, q.1);
            let poly = Polygon::new(ring.clone());
            let _ = poly.covers(q);
            let _ = poly.envelope().contains(q);
            let _ = poly.envelope().lon_ranges().count();
            let center = ring.first().copied().unwrap_or(q);
            let _ = distance(center, q);
            let c = Circle { center, radius: r };
            let _ = c.contains(q);
            let _ = c.envelope().contains(q);
            let b = BoundingBox { top: q.lat, left: q.lon, bottom: center.lat, right: center.lon };
            let _ = b.contains(q);
            let _ = b.envelope().lon_ranges().count();
        }

        /// A point exactly on a circle's rim (radius = its distance) is
        /// accepted, and must be in the envelope.
        #[test]
        fn circle_envelope_is_conservative(
            c in point(),
            dlat in -60.0..60.0f64,
            dlon in -200.0..200.0f64,
            scale in prop_oneof![Just(1.0), Just(1e-3), Just(1e-6), Just(1e-9)],
            q in point(),
        ) {
            let p = pt((c.lat + dlat * scale).clamp(-90.0, 90.0), c.lon + dlon * scale);
            let radius = distance(c, p);
            let circle = Circle { center: c, radius };
            prop_assert!(circle.contains(p));
            prop_assert!(envelope_holds(&circle.envelope(), p), "{:?} {:?}", circle, p);
            let annulus = Annulus { center: c, from: radius / 2.0, to: radius };
            prop_assert!(annulus.contains(p));
            prop_assert!(envelope_holds(&annulus.envelope(), p));
            // And any other point the circle accepts.
            if circle.contains(q) {
                prop_assert!(envelope_holds(&circle.envelope(), q), "{:?} {:?}", circle, q);
            }
        }

        #[test]
        fn box_envelope_is_conservative(
            bottom in lat(),
            height in 0.0..180.0f64,
            left in -1000.0..1000.0f64,
            width in prop_oneof![0.0..30.0f64, 0.0..400.0f64],
            q in point(),
            k in -2i32..=2,
            corner in 0usize..5,
        ) {
            let b = BoundingBox { top: (bottom + height).min(90.0), left, bottom, right: left + width };
            // Corners (shifted by whole turns) stress the boundaries.
            let q = match corner {
                0 => pt(b.top, b.left + 360.0 * f64::from(k)),
                1 => pt(b.bottom, b.right + 360.0 * f64::from(k)),
                _ => q,
            };
            if b.contains(q) {
                prop_assert!(envelope_holds(&b.envelope(), q), "{:?} {:?}", b, q);
            }
        }

        /// Polygons: vertices and points on edges are covered (when the
        /// envelope lets them in), and covered points are in the envelope.
        #[test]
        fn polygon_envelope_is_conservative(
            c in point(),
            r in prop_oneof![0.001..1.0f64, 1.0..30.0f64],
            angles in prop::collection::vec(0.0..std::f64::consts::TAU, 3..8),
            radii in prop::collection::vec(0.2..1.0f64, 8),
            t in 0.0..1.0f64,
            q in point(),
        ) {
            let mut angles = angles;
            angles.sort_by(f64::total_cmp);
            let ring: Vec<Point> = angles
                .iter()
                .zip(&radii)
                .map(|(a, k)| pt((c.lat + r * k * a.sin()).clamp(-90.0, 90.0), c.lon + r * k * a.cos()))
                .collect();
            let poly = Polygon::new(ring.clone());
            let env = poly.envelope();
            let a = ring[0];
            let b = ring[1];
            let on_edge = pt(a.lat + t * (b.lat - a.lat), a.lon + t * (b.lon - a.lon));
            for p in [a, b, on_edge, q, c] {
                if poly.covers(p) {
                    prop_assert!(envelope_holds(&env, p), "{:?} {:?}", ring, p);
                }
            }
        }
    }
}

fn assert_no_mismatch<T: std::fmt::Debug>(bad: &[T]) {
    assert!(
        bad.is_empty(),
        "{} mismatches, first: {:#?}",
        bad.len(),
        &bad[..bad.len().min(10)]
    );
}

/// The precomputed edge bands of [`Polygon::covers`] never change an answer: random star
/// polygons (like Koncorde's benchmark generator, plus polar, antimeridian and large ones),
/// points drawn around them, on their edges' latitudes and at the bands' limits.
#[test]
fn polygon_edge_bands_agree_with_exact_sides() {
    let mut rand = test_random(0x9E37_79B9_7F4A_7C15);
    let mut checked = 0usize;
    let mut sub_banded = 0usize;
    for round in 0..600 {
        let (center, radius, points) = super::test_star_polygon(&mut rand, round);
        let polygon = Polygon::new(points.clone());
        sub_banded += polygon.sub_banded_edges();
        let mut probe = |p: Point| {
            super::assert_covers_exactly(&polygon, &points, p);
            checked += 1;
        };
        for _ in 0..150 {
            probe(Point {
                lat: center.lat + (rand() * 2.0 - 1.0) * radius * 1.3,
                lon: center.lon + (rand() * 2.0 - 1.0) * radius * 1.3,
            });
        }
        for pair in points.windows(2) {
            for t in [0.0, 0.25, 0.5, 0.75, 1.0] {
                let lon = pair[0].lon + (pair[1].lon - pair[0].lon) * t;
                let lat = pair[0].lat + (pair[1].lat - pair[0].lat) * t;
                for dlat in [-0.2, -0.1, -0.05, -0.01, 0.0, 0.01, 0.05, 0.1, 0.2] {
                    probe(Point {
                        lat: lat + dlat,
                        lon,
                    });
                }
            }
        }
        // Along the great circle of each edge (where sub-bands cut the latitudes), just inside
        // and just outside the margins.
        for pair in points.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            let span = (b.lon - a.lon + 540.0).rem_euclid(360.0) - 180.0;
            let (t1, t2) = (a.lat.to_radians().tan(), b.lat.to_radians().tan());
            for k in 1..40 {
                let along = span * f64::from(k) / 40.0;
                let lat = ((t1 * (span - along).to_radians().sin()
                    + t2 * along.to_radians().sin())
                    / span.to_radians().sin())
                .atan()
                .to_degrees();
                for dlat in [
                    0.0, 0.003, -0.003, 0.02, -0.02, 0.049, -0.049, 0.051, -0.051, 0.3,
                ] {
                    probe(Point {
                        lat: lat + dlat,
                        lon: a.lon + along,
                    });
                }
            }
        }
        // On and around the vertices' meridians and their antimeridians (where edges are
        // skipped or not), at several latitudes.
        for v in &points {
            for base in [v.lon, v.lon + 180.0, v.lon - 180.0] {
                for dlon in [0.0, 1e-9, -1e-9, 1e-6, -1e-6, 2e-6, -2e-6, 1e-3, -1e-3] {
                    for lat in [v.lat, center.lat, v.lat + 0.5, v.lat - 0.5] {
                        probe(Point {
                            lat,
                            lon: base + dlon,
                        });
                    }
                }
            }
        }
    }
    assert!(checked > 100_000);
    assert!(sub_banded > 500, "{sub_banded} edges with sub-bands");
}
