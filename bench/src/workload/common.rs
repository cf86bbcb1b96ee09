//! Portable random helpers and shared vocabulary (cities, geohash, distances).
//!
//! Everything here is deterministic *across machines*: the generator is
//! [`StdRng`] (ChaCha12 in rand 0.8, pinned by `Cargo.lock`), integers are
//! always drawn as `u64` (never `usize`, whose sampling differs between 32- and
//! 64-bit targets), and floating-point coordinates that go through `sin`/`cos`
//! are rounded to 6 decimals (about 10 cm), so a last-bit difference between
//! two math libraries cannot show in the output.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

/// The generator used by every workload.
pub(crate) type Gen = StdRng;

/// A generator for `seed`, salted with a per-workload constant so that two
/// workloads drawn with the same seed do not share their random streams.
pub(crate) fn gen(seed: u64, salt: u64) -> Gen {
    StdRng::seed_from_u64(seed ^ salt.wrapping_mul(0x9E37_79B9_7F4A_7C15))
}

/// Uniform integer in `0..n` (0 when `n` is 0), portable across targets.
pub(crate) fn below(g: &mut Gen, n: usize) -> usize {
    if n <= 1 {
        return 0;
    }
    // `usize` -> `u64` never truncates on supported targets; the result is < n.
    usize::try_from(g.gen_range(0..n as u64)).unwrap_or(0)
}

/// Uniform integer in `lo..=hi`.
pub(crate) fn int_in(g: &mut Gen, lo: i64, hi: i64) -> i64 {
    if hi <= lo {
        return lo;
    }
    g.gen_range(lo..=hi)
}

/// Uniform float in `[lo, hi)`.
pub(crate) fn float_in(g: &mut Gen, lo: f64, hi: f64) -> f64 {
    lo + g.gen::<f64>() * (hi - lo)
}

/// True with probability `p`.
pub(crate) fn chance(g: &mut Gen, p: f64) -> bool {
    g.gen::<f64>() < p
}

/// One element of a non-empty slice (the first one if the slice is empty is
/// impossible: callers only pass constant, non-empty tables).
pub(crate) fn pick<'a, T>(g: &mut Gen, items: &'a [T]) -> &'a T {
    &items[below(g, items.len()).min(items.len().saturating_sub(1))]
}

/// Index drawn from `weights` (non-negative), proportionally.
pub(crate) fn weighted(g: &mut Gen, weights: &[f64]) -> usize {
    let total: f64 = weights.iter().sum();
    let mut x = g.gen::<f64>() * total;
    for (i, w) in weights.iter().enumerate() {
        if x < *w {
            return i;
        }
        x -= w;
    }
    weights.len().saturating_sub(1)
}

/// Skewed index in `0..n` (`n · u^1.5`, density proportional to `x^(-1/3)`):
/// low ids are popular (the first 1% of a pool gets about 4.6% of the draws),
/// like rooms, sellers or devices in a real application.
pub(crate) fn skewed(g: &mut Gen, n: usize) -> usize {
    let u = g.gen::<f64>();
    let x = (u * u.sqrt() * n as f64) as usize;
    x.min(n.saturating_sub(1))
}

/// `k` distinct indexes in `0..n` (fewer if `n < k`), in draw order.
pub(crate) fn distinct(g: &mut Gen, n: usize, k: usize, skew: bool) -> Vec<usize> {
    let k = k.min(n);
    let mut out: Vec<usize> = Vec::with_capacity(k);
    let mut tries = 0;
    while out.len() < k && tries < 16 * k + 16 {
        tries += 1;
        let i = if skew { skewed(g, n) } else { below(g, n) };
        if !out.contains(&i) {
            out.push(i);
        }
    }
    out
}

/// Round to 6 decimals (about 11 cm of latitude).
pub(crate) fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

/// Round to 2 decimals (prices, sensor values).
pub(crate) fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// SplitMix64: a stateless hash used to derive fixed attributes of pooled
/// entities (the site and position of device 42 are the same in every document
/// and every filter).
pub(crate) fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A float in `[0, 1)` derived from a hash.
pub(crate) fn unit(h: u64) -> f64 {
    (h >> 11) as f64 / (1u64 << 53) as f64
}

/// A real city: name, latitude, longitude.
pub(crate) type City = (&'static str, f64, f64);

/// Cities of Europe, Africa and the Middle East.
pub(crate) const CITIES_EMEA: &[City] = &[
    ("Paris", 48.8566, 2.3522),
    ("London", 51.5074, -0.1278),
    ("Berlin", 52.52, 13.405),
    ("Madrid", 40.4168, -3.7038),
    ("Rome", 41.9028, 12.4964),
    ("Lyon", 45.764, 4.8357),
    ("Montpellier", 43.6108, 3.8767),
    ("Amsterdam", 52.3676, 4.9041),
    ("Brussels", 50.8503, 4.3517),
    ("Vienna", 48.2082, 16.3738),
    ("Warsaw", 52.2297, 21.0122),
    ("Stockholm", 59.3293, 18.0686),
    ("Lisbon", 38.7223, -9.1393),
    ("Athens", 37.9838, 23.7275),
    ("Istanbul", 41.0082, 28.9784),
    ("Moscow", 55.7558, 37.6173),
    ("Cairo", 30.0444, 31.2357),
    ("Lagos", 6.5244, 3.3792),
    ("Nairobi", -1.2921, 36.8219),
    ("Johannesburg", -26.2041, 28.0473),
    ("Dubai", 25.2048, 55.2708),
    ("Casablanca", 33.5731, -7.5898),
];

/// Cities of the Americas, Asia and Oceania.
pub(crate) const CITIES_APAC_AMER: &[City] = &[
    ("New York", 40.7128, -74.006),
    ("Los Angeles", 34.0522, -118.2437),
    ("Chicago", 41.8781, -87.6298),
    ("Toronto", 43.6532, -79.3832),
    ("Mexico City", 19.4326, -99.1332),
    ("Sao Paulo", -23.5505, -46.6333),
    ("Buenos Aires", -34.6037, -58.3816),
    ("Bogota", 4.711, -74.0721),
    ("San Francisco", 37.7749, -122.4194),
    ("Montreal", 45.5017, -73.5673),
    ("Tokyo", 35.6762, 139.6503),
    ("Seoul", 37.5665, 126.978),
    ("Shanghai", 31.2304, 121.4737),
    ("Singapore", 1.3521, 103.8198),
    ("Mumbai", 19.076, 72.8777),
    ("Delhi", 28.7041, 77.1025),
    ("Bangkok", 13.7563, 100.5018),
    ("Jakarta", -6.2088, 106.8456),
    ("Sydney", -33.8688, 151.2093),
    ("Melbourne", -37.8136, 144.9631),
    ("Auckland", -36.8485, 174.7633),
    ("Manila", 14.5995, 120.9842),
];

/// A point at most `radius_km` from `(lat, lon)` (uniform in the disc,
/// flat-earth approximation, rounded to 6 decimals).
pub(crate) fn point_near(g: &mut Gen, lat: f64, lon: f64, radius_km: f64) -> (f64, f64) {
    let r = radius_km * g.gen::<f64>().sqrt();
    let theta = g.gen::<f64>() * std::f64::consts::TAU;
    offset(lat, lon, r * theta.cos(), r * theta.sin())
}

/// `(lat, lon)` moved `north_km` north and `east_km` east (flat approximation).
pub(crate) fn offset(lat: f64, lon: f64, north_km: f64, east_km: f64) -> (f64, f64) {
    let dlat = north_km / 111.32;
    let coslat = lat.to_radians().cos().max(0.05);
    let dlon = east_km / (111.32 * coslat);
    (round6(lat + dlat), round6(lon + dlon))
}

const GEOHASH_ALPHABET: &[u8] = b"0123456789bcdefghjkmnpqrstuvwxyz";

/// Standard geohash of a point (longitude bit first), `precision` characters.
pub(crate) fn geohash(lat: f64, lon: f64, precision: usize) -> String {
    let (mut lat_lo, mut lat_hi) = (-90.0_f64, 90.0_f64);
    let (mut lon_lo, mut lon_hi) = (-180.0_f64, 180.0_f64);
    let mut out = String::with_capacity(precision);
    let mut even = true;
    let mut bits = 0u8;
    let mut ch = 0usize;
    while out.len() < precision {
        if even {
            let mid = (lon_lo + lon_hi) / 2.0;
            if lon >= mid {
                ch = (ch << 1) | 1;
                lon_lo = mid;
            } else {
                ch <<= 1;
                lon_hi = mid;
            }
        } else {
            let mid = (lat_lo + lat_hi) / 2.0;
            if lat >= mid {
                ch = (ch << 1) | 1;
                lat_lo = mid;
            } else {
                ch <<= 1;
                lat_hi = mid;
            }
        }
        even = !even;
        bits += 1;
        if bits == 5 {
            out.push(char::from(GEOHASH_ALPHABET[ch & 31]));
            bits = 0;
            ch = 0;
        }
    }
    out
}

/// A geopoint written in one of the spellings Koncorde accepts (spec 5.1),
/// chosen at random: array, "lat, lon" string, {lat, lon}, {latLon: [..]},
/// {lat_lon: "lat,lon"}, {latLon: {lat, lon}}, or a geohash.
pub(crate) fn any_point_format(g: &mut Gen, lat: f64, lon: f64) -> Value {
    match below(g, 8) {
        0 | 1 => json!([lat, lon]),
        2 => json!(format!("{lat}, {lon}")),
        3 => json!({"lat": lat, "lon": lon}),
        4 => json!({"latLon": [lat, lon]}),
        5 => json!({"lat_lon": format!("{lat},{lon}")}),
        6 => json!({"latLon": {"lat": lat, "lon": lon}}),
        _ => json!(geohash(lat, lon, 10)),
    }
}

/// A distance string for `km` kilometres in one of the units Koncorde
/// understands (spec 5.2): "m", "km", "kms", "kilometers", "meters", "ft",
/// "yd", "mi". Never a bare number (a unit is mandatory).
pub(crate) fn distance_string(g: &mut Gen, km: f64) -> String {
    let m = km * 1000.0;
    match below(g, 8) {
        0 => format!("{}m", m.round()),
        1 => format!("{km}km"),
        2 => format!("{km} kms"),
        3 => format!("{km} kilometers"),
        4 => format!("{} meters", m.round()),
        5 => format!("{}ft", (m / 0.3048).round()),
        6 => format!("{} yd", (m / 0.9144).round()),
        _ => format!("{}mi", round2(m / 1609.34)),
    }
}

/// A light canonical key of a filter, used to keep the filters of a workload
/// distinct *as filters*, not only as texts: the rewritings that Koncorde
/// (spec 7.3) and Herald give the same id are undone: one-child `and`/`or`,
/// `bool` with a single `must`, double `not`, `missing` (= `not exists`), the
/// legacy `{"field": f}` form, one-value `in`/`ids` (= `equals`), and a
/// regexp without flags written as an object.
pub(crate) fn canonical_key(f: &Value) -> String {
    canon(f).to_string()
}

fn canon(f: &Value) -> Value {
    let Some((k, arg)) = f
        .as_object()
        .filter(|o| o.len() == 1)
        .and_then(|o| o.iter().next())
    else {
        return f.clone();
    };
    let wrap = |k: &str, v: Value| {
        let mut m = serde_json::Map::new();
        m.insert(k.to_owned(), v);
        Value::Object(m)
    };
    let field_form = |a: &Value| match a.get("field") {
        Some(v) => v.clone(),
        None => a.clone(),
    };
    match k.as_str() {
        "and" | "or" => match arg.as_array() {
            Some(a) if a.len() == 1 => canon(&a[0]),
            Some(a) => wrap(k, Value::Array(a.iter().map(canon).collect())),
            None => f.clone(),
        },
        "not" => match canon(arg) {
            Value::Object(o) if o.len() == 1 && o.contains_key("not") => {
                o.get("not").cloned().unwrap_or(Value::Null)
            }
            c => wrap("not", c),
        },
        "bool" => match arg.as_object() {
            Some(o) if o.len() == 1 => match o.get("must") {
                Some(Value::Array(a)) if a.len() == 1 => canon(&a[0]),
                Some(m @ Value::Object(_)) => canon(m),
                _ => f.clone(),
            },
            _ => f.clone(),
        },
        "exists" => wrap("exists", field_form(arg)),
        "missing" => wrap("not", wrap("exists", field_form(arg))),
        "in" => match arg.as_object().and_then(|o| o.iter().next()) {
            Some((field, Value::Array(a))) if a.len() == 1 => {
                wrap("equals", wrap(field, a[0].clone()))
            }
            _ => f.clone(),
        },
        "ids" => match arg.get("values").and_then(Value::as_array) {
            Some(a) if a.len() == 1 => wrap("equals", wrap("_id", a[0].clone())),
            _ => f.clone(),
        },
        "regexp" => match arg.as_object().and_then(|o| o.iter().next()) {
            Some((field, r @ Value::Object(_))) => {
                let flags = r.get("flags").and_then(Value::as_str).unwrap_or("");
                match (flags.is_empty(), r.get("value")) {
                    (true, Some(v)) => wrap("regexp", wrap(field, v.clone())),
                    _ => f.clone(),
                }
            }
            _ => f.clone(),
        },
        _ => f.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geohash_known_value() {
        // Spec 5.1: "spfb09x0ud5s" is (43.6021299, 3.8989713).
        assert_eq!(geohash(43.6021299, 3.8989713, 12), "spfb09x0ud5s");
    }

    #[test]
    fn helpers_stay_in_bounds() {
        let mut g = gen(7, 1);
        for _ in 0..1000 {
            assert!(below(&mut g, 10) < 10);
            assert!(skewed(&mut g, 10) < 10);
            let v = int_in(&mut g, -3, 3);
            assert!((-3..=3).contains(&v));
            assert!(weighted(&mut g, &[1.0, 0.0, 2.0]) != 1);
        }
        assert_eq!(below(&mut g, 0), 0);
        assert_eq!(distinct(&mut g, 3, 5, false).len(), 3);
    }

    #[test]
    fn canonical_key_undoes_trivial_rewritings() {
        let same = [
            json!({"equals": {"a": "x"}}),
            json!({"and": [{"equals": {"a": "x"}}]}),
            json!({"or": [{"in": {"a": ["x"]}}]}),
            json!({"not": {"not": {"equals": {"a": "x"}}}}),
            json!({"bool": {"must": {"equals": {"a": "x"}}}}),
            json!({"bool": {"must": [{"equals": {"a": "x"}}]}}),
        ];
        for f in &same {
            assert_eq!(canonical_key(f), canonical_key(&same[0]), "{f}");
        }
        assert_eq!(
            canonical_key(&json!({"missing": {"field": "b"}})),
            canonical_key(&json!({"not": {"exists": "b"}}))
        );
        assert_eq!(
            canonical_key(&json!({"ids": {"values": ["i"]}})),
            canonical_key(&json!({"equals": {"_id": "i"}}))
        );
        assert_ne!(
            canonical_key(&json!({"in": {"a": ["x", "y"]}})),
            canonical_key(&json!({"equals": {"a": "x"}}))
        );
    }
}
