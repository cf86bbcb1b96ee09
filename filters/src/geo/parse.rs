//! Geopoint and distance parsing (spec 5.1, 5.2), reproducing the JavaScript
//! Koncorde runs: `Number.parseFloat`, `String(value)`, `ngeohash.decode`,
//! the cleanup of `convertDistance` and `node-units`' unit resolution.

use serde_json::{Map, Value};

use super::Point;

/// JavaScript's `StrWhiteSpaceChar` (WhiteSpace and LineTerminator), the set
/// `parseFloat` skips and the regexp class `\s` matches. Differs from
/// `char::is_whitespace` (JavaScript includes U+FEFF, excludes U+0085).
pub(crate) fn is_js_whitespace(c: char) -> bool {
    matches!(
        c,
        '\u{9}' | '\u{A}' | '\u{B}' | '\u{C}' | '\u{D}' | ' ' | '\u{A0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200A}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202F}'
                | '\u{205F}'
                | '\u{3000}'
                | '\u{FEFF}'
    )
}

/// JavaScript `parseFloat(s)`: skips leading whitespace, then reads the
/// longest prefix that is a `StrDecimalLiteral` (sign, digits, optional
/// fraction, optional exponent, or `Infinity`); NaN if there is none.
/// `"43.6abc"` is 43.6, `"1e2"` 100, `"0x10"` 0, `"1."` 1, `".5"` 0.5,
/// `"-0"` is -0.
pub fn parse_float(s: &str) -> f64 {
    let t = s.trim_start_matches(is_js_whitespace);
    let b = t.as_bytes();
    let mut i = 0;
    let mut negative = false;
    if let Some(&c) = b.first() {
        if c == b'+' || c == b'-' {
            negative = c == b'-';
            i = 1;
        }
    }
    if t[i..].starts_with("Infinity") {
        return if negative {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        };
    }
    let digits = |from: usize| b[from..].iter().take_while(|c| c.is_ascii_digit()).count();
    let int_digits = digits(i);
    let mut end = i + int_digits;
    let mut frac_digits = 0;
    if b.get(end) == Some(&b'.') {
        frac_digits = digits(end + 1);
        if int_digits > 0 || frac_digits > 0 {
            end += 1 + frac_digits;
        }
    }
    if int_digits == 0 && frac_digits == 0 {
        return f64::NAN;
    }
    if matches!(b.get(end), Some(b'e') | Some(b'E')) {
        let mut j = end + 1;
        if matches!(b.get(j), Some(b'+') | Some(b'-')) {
            j += 1;
        }
        let exp_digits = digits(j);
        if exp_digits > 0 {
            end = j + exp_digits;
        }
    }
    // The prefix is ASCII and follows Rust's float grammar ("1.", ".5",
    // signs and exponents included); parsing is correctly rounded, as in JS.
    t[..end].parse::<f64>().unwrap_or(f64::NAN)
}

/// `parseFloat(value)` on any JSON value, which converts it with
/// `String(value)` first: numbers round-trip (except -0, printed `"0"`),
/// `null`/booleans/objects give NaN, and an array gives the parse of its
/// first element's string (what follows is after a comma, which ends any
/// numeric literal; a `null` first element prints as the empty string).
pub(crate) fn parse_float_value(value: &Value) -> f64 {
    let mut v = value;
    loop {
        return match v {
            // `String(-0)` is "0": adding +0 turns -0 into +0, nothing else.
            Value::Number(n) => n.as_f64().map_or(f64::NAN, |x| x + 0.0),
            Value::String(s) => parse_float(s),
            Value::Array(items) => match items.first() {
                None | Some(Value::Null) => f64::NAN,
                Some(first) => {
                    v = first;
                    continue;
                }
            },
            Value::Null | Value::Bool(_) | Value::Object(_) => f64::NAN,
        };
    }
}

/// The keys `geoLocationToCamelCase` renames, and what to.
const CAMEL_KEYS: [(&str, &str); 3] = [
    ("lat_lon", "latLon"),
    ("top_left", "topLeft"),
    ("bottom_right", "bottomRight"),
];

fn camel_case(key: &str) -> &str {
    CAMEL_KEYS
        .iter()
        .find(|(snake, _)| *snake == key)
        .map_or(key, |(_, camel)| camel)
}

/// Whether `key` is a JavaScript array index (`"0"`, `"17"`, not `"017"`,
/// below 2^32 - 1): such keys come first, in numeric order, in
/// `Object.keys`.
fn is_array_index(key: &str) -> bool {
    if key.is_empty() || key.len() > 10 || !key.bytes().all(|c| c.is_ascii_digit()) {
        return false;
    }
    if key.len() > 1 && key.starts_with('0') {
        return false;
    }
    key.parse::<u64>().is_ok_and(|n| n < u64::from(u32::MAX))
}

/// The keys of `obj` in JavaScript property order.
fn js_keys(obj: &Map<String, Value>) -> Vec<(&str, &Value)> {
    let mut index_keys: Vec<(u64, &str, &Value)> = Vec::new();
    let mut other: Vec<(&str, &Value)> = Vec::new();
    for (k, v) in obj {
        if is_array_index(k) {
            index_keys.push((k.parse::<u64>().unwrap_or(0), k, v));
        } else {
            other.push((k, v));
        }
    }
    index_keys.sort_by_key(|(n, _, _)| *n);
    index_keys
        .into_iter()
        .map(|(_, k, v)| (k, v))
        .chain(other)
        .collect()
}

/// `geoLocationToCamelCase(obj)`: the object with `lat_lon`, `top_left`,
/// `bottom_right` renamed; when both spellings exist the value of the later
/// one (in property order) wins, at the position of the earlier one.
pub(crate) fn camel_cased(obj: &Map<String, Value>) -> Vec<(&str, &Value)> {
    let mut out: Vec<(&str, &Value)> = Vec::with_capacity(obj.len());
    for (k, v) in js_keys(obj) {
        let k = camel_case(k);
        if let Some(slot) = out.iter_mut().find(|(name, _)| *name == k) {
            slot.1 = v;
        } else {
            out.push((k, v));
        }
    }
    out
}

pub(crate) fn lookup<'a>(entries: &[(&str, &'a Value)], key: &str) -> Option<&'a Value> {
    entries.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
}

fn to_coordinate(lat: f64, lon: f64) -> Option<Point> {
    if lat.is_nan() || lon.is_nan() {
        None
    } else {
        Some(Point { lat, lon })
    }
}

/// Spec 5.1: `convertGeopoint`. See [`super::parse_point`].
pub(crate) fn parse_point(value: &Value) -> Option<Point> {
    match value {
        Value::String(s) => from_string(s),
        Value::Array(items) => pair(items),
        Value::Object(obj) => {
            let camel = camel_cased(obj);
            if let (Some(lat), Some(lon)) = (lookup(&camel, "lat"), lookup(&camel, "lon")) {
                return to_coordinate(parse_float_value(lat), parse_float_value(lon));
            }
            match lookup(&camel, "latLon")? {
                Value::Array(items) => pair(items),
                Value::Object(inner) => match (inner.get("lat"), inner.get("lon")) {
                    (Some(lat), Some(lon)) => {
                        to_coordinate(parse_float_value(lat), parse_float_value(lon))
                    }
                    _ => None,
                },
                Value::String(s) => from_string(s),
                // `{"latLon": null}` makes Koncorde throw; Herald: no point.
                _ => None,
            }
        }
        // Falsy values, numbers and booleans.
        Value::Null | Value::Bool(_) | Value::Number(_) => None,
    }
}

fn pair(items: &[Value]) -> Option<Point> {
    match items {
        [lat, lon] => to_coordinate(parse_float_value(lat), parse_float_value(lon)),
        _ => None,
    }
}

/// `fromString`: `"lat, lon"` (exactly one comma), else a geohash
/// (`^[0-9a-z]{4,}$`), else nothing.
fn from_string(s: &str) -> Option<Point> {
    let mut parts = s.split(',');
    if let (Some(lat), Some(lon), None) = (parts.next(), parts.next(), parts.next()) {
        return to_coordinate(parse_float(lat), parse_float(lon));
    }
    if s.len() >= 4
        && s.bytes()
            .all(|c| c.is_ascii_digit() || c.is_ascii_lowercase())
    {
        let (lat, lon) = geohash_decode(s.as_bytes());
        return to_coordinate(lat, lon);
    }
    None
}

const BASE32: &[u8; 32] = b"0123456789bcdefghjkmnpqrstuvwxyz";

/// `ngeohash.decode`: centre of the cell. Characters outside the alphabet
/// (`a i l o`, which the acceptance regex lets through) decode as 0.
fn geohash_decode(hash: &[u8]) -> (f64, f64) {
    let (mut min_lat, mut max_lat) = (-90.0f64, 90.0f64);
    let (mut min_lon, mut max_lon) = (-180.0f64, 180.0f64);
    let mut is_lon = true;
    for &c in hash {
        let value = BASE32.iter().position(|&x| x == c).unwrap_or(0);
        for bit_index in (0..5).rev() {
            let bit = (value >> bit_index) & 1;
            if is_lon {
                let mid = (max_lon + min_lon) / 2.0;
                if bit == 1 {
                    min_lon = mid;
                } else {
                    max_lon = mid;
                }
            } else {
                let mid = (max_lat + min_lat) / 2.0;
                if bit == 1 {
                    min_lat = mid;
                } else {
                    max_lat = mid;
                }
            }
            is_lon = !is_lon;
        }
    }
    ((min_lat + max_lat) / 2.0, (min_lon + max_lon) / 2.0)
}

/// Length units of node-units 0.1.7 (`distance:` section): name -> meters.
fn length_unit(name: &str) -> Option<f64> {
    Some(match name {
        "meter" | "m" => 1.0,
        "feet" | "ft" => 0.3048,
        "inch" | "in" => 0.0254,
        "yard" | "yd" => 0.9144,
        "mile" | "mi" => 1609.34,
        _ => return None,
    })
}

/// node-units' short SI prefixes, in its order. The upper-case ones (`M`,
/// `G`, ...) are left out: they can never match a lower-cased unit.
const SHORT_PREFIXES: &[(&str, f64)] = &[
    ("da", 10.0),
    ("mu", 1e-6),
    ("m", 1e-3),
    ("h", 100.0),
    ("k", 1000.0),
    ("n", 1e-9),
    ("p", 1e-12),
    ("c", 1e-2),
    ("d", 1e-1),
    ("f", 1e-15),
    ("a", 1e-18),
    ("z", 1e-21),
    ("y", 1e-24),
];

/// node-units' long SI prefixes, in its order (case-insensitive there; the
/// unit is lower case here anyway).
const LONG_PREFIXES: &[(&str, f64)] = &[
    ("milli", 1e-3),
    ("micro", 1e-6),
    ("nano", 1e-9),
    ("pico", 1e-12),
    ("centi", 1e-2),
    ("deci", 1e-1),
    ("femto", 1e-15),
    ("atto", 1e-18),
    ("zepto", 1e-21),
    ("yocto", 1e-24),
    ("deka", 10.0),
    ("hecto", 100.0),
    ("kilo", 1000.0),
    ("mega", 1e6),
    ("giga", 1e9),
    ("tera", 1e12),
    ("peta", 1e15),
    ("exa", 1e18),
    ("zeta", 1e21),
    ("yotta", 1e24),
];

/// node-units `get_modifier`: strips the first matching SI prefix (long
/// prefixes for names longer than 3 letters, short ones otherwise).
fn strip_prefix(unit: &str) -> (&str, f64) {
    let prefixes = if unit.len() > 3 {
        LONG_PREFIXES
    } else {
        SHORT_PREFIXES
    };
    for &(prefix, modifier) in prefixes {
        if let Some(rest) = unit.strip_prefix(prefix) {
            return (rest, modifier);
        }
    }
    (unit, 1.0)
}

/// Resolves a unit name (lower-case ASCII letters) to `(prefix modifier,
/// meters per unit)` as node-units does for a conversion to `m`: every
/// spelling variation (the name, then without a final `s`, `es`, `ies`;
/// none for 2-letter names) is looked up as is, else with its SI prefix
/// stripped; among the length matches the last one wins (a time unit would
/// convert to minutes: not supported, `None`).
fn resolve_unit(unit: &str) -> Option<(f64, f64)> {
    let mut variations = vec![unit];
    if unit.len() != 2 {
        for suffix in ["s", "es", "ies"] {
            if let Some(stem) = unit.strip_suffix(suffix) {
                variations.push(stem);
            }
        }
    }
    let mut found = None;
    for v in variations {
        if let Some(factor) = length_unit(v) {
            found = Some((1.0, factor));
        } else {
            let (rest, modifier) = strip_prefix(v);
            if let Some(factor) = length_unit(rest) {
                found = Some((modifier, factor));
            }
        }
    }
    found
}

/// Spec 5.2. See [`super::parse_distance`].
pub(crate) fn parse_distance(s: &str) -> Option<f64> {
    let cleaned: String = s
        .chars()
        .filter(|&c| c != '-' && !is_js_whitespace(c))
        .map(|c| if c == ',' { '.' } else { c })
        .collect::<String>()
        .to_lowercase();
    let b = cleaned.as_bytes();
    let boundary = b
        .windows(2)
        .position(|w| w[0].is_ascii_digit() && w[1].is_ascii_lowercase())?;
    let (value, unit) = cleaned.split_at(boundary + 1);
    if !unit.bytes().all(|c| c.is_ascii_lowercase()) {
        return None;
    }
    let (modifier, factor) = resolve_unit(unit)?;
    let meters = parse_float(value) * modifier * factor;
    if meters.is_finite() {
        Some(meters)
    } else {
        None
    }
}

/// `JSON.stringify`, JavaScript flavour: numbers printed as JavaScript
/// prints them, object keys in JavaScript property order. Used for error
/// messages that quote the input. Nesting deeper than 256 levels is elided
/// as `"…"` rather than risking the stack.
fn write_js_json(value: &Value, out: &mut String, depth: usize) {
    if depth > 256 {
        out.push_str("\"…\"");
        return;
    }
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => match n.as_f64() {
            Some(x) if x.is_finite() => out.push_str(ryu_js::Buffer::new().format_finite(x)),
            _ => out.push_str("null"),
        },
        Value::String(s) => write_js_string(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_js_json(item, out, depth + 1);
            }
            out.push(']');
        }
        Value::Object(obj) => write_js_object(&js_keys(obj), out, depth),
    }
}

pub(crate) fn write_js_object(entries: &[(&str, &Value)], out: &mut String, depth: usize) {
    out.push('{');
    for (i, (k, v)) in entries.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_js_string(k, out);
        out.push(':');
        write_js_json(v, out, depth + 1);
    }
    out.push('}');
}

fn write_js_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{C}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}
