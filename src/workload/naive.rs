//! A naive, filter-by-filter evaluator used by the tests to measure the
//! selectivity of the generated workloads. It follows Koncorde's semantics for
//! the keywords the generators use, with these approximations: geo distances
//! use haversine on a sphere (1% tolerance); polygons are tested by their
//! bounding box; `regexp` is not evaluated but resolved so that the enclosing
//! filter matches whenever it could (true in a positive position, false under
//! a negation): counts are upper bounds.

use serde_json::Value;

use super::common::haversine_km;

fn lookup<'a>(doc: &'a Value, path: &str) -> Option<&'a Value> {
    if let Some(v) = doc.get(path) {
        return Some(v);
    }
    let mut cur = doc;
    for seg in path.split('.') {
        cur = cur.as_object()?.get(seg)?;
    }
    Some(cur)
}

fn strict_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(_), _) | (Value::Object(_), _) => false,
        _ => a == b,
    }
}

fn parse_f(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn geohash_decode(s: &str) -> Option<(f64, f64)> {
    const A: &[u8] = b"0123456789bcdefghjkmnpqrstuvwxyz";
    let (mut la, mut lb, mut oa, mut ob) = (-90.0, 90.0, -180.0, 180.0);
    let mut even = true;
    for c in s.bytes() {
        let idx = A.iter().position(|x| *x == c)?;
        for bit in (0..5).rev() {
            let on = (idx >> bit) & 1 == 1;
            if even {
                let m = (oa + ob) / 2.0;
                if on {
                    oa = m
                } else {
                    ob = m
                }
            } else {
                let m = (la + lb) / 2.0;
                if on {
                    la = m
                } else {
                    lb = m
                }
            }
            even = !even;
        }
    }
    Some(((la + lb) / 2.0, (oa + ob) / 2.0))
}

fn point(v: &Value) -> Option<(f64, f64)> {
    match v {
        Value::Array(a) if a.len() == 2 => Some((parse_f(&a[0])?, parse_f(&a[1])?)),
        Value::String(s) => {
            let parts: Vec<&str> = s.split(',').collect();
            if parts.len() == 2 {
                Some((parts[0].trim().parse().ok()?, parts[1].trim().parse().ok()?))
            } else {
                geohash_decode(s)
            }
        }
        Value::Object(o) => {
            if let (Some(a), Some(b)) = (o.get("lat"), o.get("lon")) {
                return Some((parse_f(a)?, parse_f(b)?));
            }
            o.get("latLon").or_else(|| o.get("lat_lon")).and_then(point)
        }
        _ => None,
    }
}

fn meters(s: &str) -> Option<f64> {
    let t: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    let split = t.find(|c: char| c.is_ascii_alphabetic())?;
    let (num, unit) = t.split_at(split);
    let x: f64 = num.parse().ok()?;
    let f = match unit {
        "m" | "meters" => 1.0,
        "km" | "kms" | "kilometers" => 1000.0,
        "ft" => 0.3048,
        "yd" => 0.9144,
        "mi" => 1609.34,
        _ => return None,
    };
    Some(x * f)
}

fn split_geo_args<'a>(
    args: &'a serde_json::Map<String, Value>,
    own: &[&str],
) -> Option<(&'a str, &'a Value)> {
    args.iter()
        .find(|(k, _)| !own.contains(&k.as_str()))
        .map(|(k, v)| (k.as_str(), v))
}

fn field_of(arg: &Value) -> Option<(&str, &Value)> {
    arg.as_object()?.iter().next().map(|(k, v)| (k.as_str(), v))
}

fn exists(doc: &Value, spec: &str) -> bool {
    if spec.ends_with(']') {
        if let Some(open) = spec.find('[').filter(|i| *i > 0) {
            let path = &spec[..open];
            let inner = &spec[open + 1..spec.len() - 1];
            if let Ok(want) = serde_json::from_str::<Value>(inner) {
                return match lookup(doc, path) {
                    Some(Value::Array(a)) => a.iter().any(|x| strict_eq(x, &want)),
                    _ => false,
                };
            }
        }
    }
    lookup(doc, spec).is_some()
}

fn exists_arg(arg: &Value) -> Option<&str> {
    match arg {
        Value::String(s) => Some(s),
        Value::Object(o) => o.get("field").and_then(Value::as_str),
        _ => None,
    }
}

fn geo(kw: &str, arg: &Value, doc: &Value) -> Option<bool> {
    let args = arg.as_object()?;
    let (field, shape) = match kw {
        "geoDistance" => split_geo_args(args, &["distance"])?,
        "geoDistanceRange" => split_geo_args(args, &["from", "to"])?,
        _ => field_of(arg)?,
    };
    let Some(v) = lookup(doc, field) else {
        return Some(false);
    };
    let (lat, lon) = point(v)?;
    Some(match kw {
        "geoDistance" => {
            let (clat, clon) = point(shape)?;
            let r = meters(args.get("distance")?.as_str()?)?;
            haversine_km(lat, lon, clat, clon) * 1000.0 <= r * 1.01
        }
        "geoDistanceRange" => {
            let (clat, clon) = point(shape)?;
            let from = meters(args.get("from")?.as_str()?)?;
            let to = meters(args.get("to")?.as_str()?)?;
            let d = haversine_km(lat, lon, clat, clon) * 1000.0;
            d >= from * 0.99 && d <= to * 1.01
        }
        "geoBoundingBox" => {
            let b = shape.as_object()?;
            let get = |k: &str| b.get(k).and_then(parse_f);
            let (top, left, bottom, right) =
                match (get("top"), get("left"), get("bottom"), get("right")) {
                    (Some(t), Some(l), Some(b), Some(r)) => (t, l, b, r),
                    _ => {
                        let tl = point(b.get("topLeft").or_else(|| b.get("top_left"))?)?;
                        let br = point(b.get("bottomRight").or_else(|| b.get("bottom_right"))?)?;
                        (tl.0, tl.1, br.0, br.1)
                    }
                };
            (bottom..=top).contains(&lat) && (left..=right).contains(&lon)
        }
        "geoPolygon" => {
            let pts: Vec<(f64, f64)> = shape
                .get("points")?
                .as_array()?
                .iter()
                .filter_map(point)
                .collect();
            let (mut a, mut b, mut c, mut d) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
            for (la, lo) in pts {
                a = a.min(la);
                b = b.max(la);
                c = c.min(lo);
                d = d.max(lo);
            }
            (a..=b).contains(&lat) && (c..=d).contains(&lon)
        }
        _ => return None,
    })
}

/// Koncorde's `match` relation (spec 4.7), with a correct assignment for
/// arrays (the generators only use scalar arrays, where both agree).
fn match_value(want: &Value, got: &Value) -> bool {
    match (want, got) {
        (Value::Object(w), Value::Object(g)) => w
            .iter()
            .all(|(k, v)| g.get(k).is_some_and(|x| match_value(v, x))),
        (Value::Array(w), Value::Array(g)) => {
            let mut used = vec![false; g.len()];
            w.iter().all(|v| {
                let hit = g
                    .iter()
                    .enumerate()
                    .find(|(i, x)| !used[*i] && match_value(v, x));
                hit.map(|(i, _)| used[i] = true).is_some()
            })
        }
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        (Value::Object(_) | Value::Array(_), _) | (_, Value::Object(_) | Value::Array(_)) => false,
        _ => want == got,
    }
}

/// Whether `doc` matches `filter` (see the module documentation).
pub(crate) fn matches(filter: &Value, doc: &Value) -> bool {
    eval(filter, doc, false)
}

fn eval(filter: &Value, doc: &Value, negated: bool) -> bool {
    let Some((kw, arg)) = filter.as_object().and_then(|o| o.iter().next()) else {
        return true;
    };
    match kw.as_str() {
        "and" => arg
            .as_array()
            .is_some_and(|a| a.iter().all(|c| eval(c, doc, negated))),
        "or" => arg
            .as_array()
            .is_some_and(|a| a.iter().any(|c| eval(c, doc, negated))),
        "not" => !eval(arg, doc, !negated),
        "bool" => {
            let list = |k: &str| -> Vec<Value> {
                match arg.get(k) {
                    Some(Value::Array(a)) => a.clone(),
                    Some(v @ Value::Object(_)) => vec![v.clone()],
                    _ => Vec::new(),
                }
            };
            let must = list("must");
            let must_not = list("must_not");
            let should = list("should");
            let should_not = list("should_not");
            must.iter().all(|c| eval(c, doc, negated))
                && !must_not.iter().any(|c| eval(c, doc, !negated))
                && (should.is_empty() || should.iter().any(|c| eval(c, doc, negated)))
                && (should_not.is_empty() || !should_not.iter().all(|c| eval(c, doc, !negated)))
        }
        "equals" => {
            field_of(arg).is_some_and(|(f, v)| lookup(doc, f).is_some_and(|d| strict_eq(d, v)))
        }
        "in" => field_of(arg).is_some_and(|(f, vs)| {
            lookup(doc, f).is_some_and(|d| {
                vs.as_array()
                    .is_some_and(|a| a.iter().any(|v| strict_eq(d, v)))
            })
        }),
        "ids" => lookup(doc, "_id").is_some_and(|d| {
            arg.get("values")
                .and_then(Value::as_array)
                .is_some_and(|a| a.iter().any(|v| strict_eq(d, v)))
        }),
        "range" => field_of(arg).is_some_and(|(f, b)| {
            let Some(x) = lookup(doc, f).and_then(Value::as_f64) else {
                return false;
            };
            let bound = |k: &str| b.get(k).and_then(Value::as_f64);
            bound("gt").map_or(true, |v| x > v)
                && bound("gte").map_or(true, |v| x >= v)
                && bound("lt").map_or(true, |v| x < v)
                && bound("lte").map_or(true, |v| x <= v)
        }),
        "exists" => exists_arg(arg).is_some_and(|s| exists(doc, s)),
        "missing" => exists_arg(arg).is_some_and(|s| !exists(doc, s)),
        "geoDistance" | "geoDistanceRange" | "geoBoundingBox" | "geoPolygon" => {
            // An unparsable point matches neither the term nor its negation.
            geo(kw, arg, doc).unwrap_or(negated)
        }
        "match" => arg.as_object().is_some_and(|o| {
            o.iter()
                .all(|(k, v)| lookup(doc, k).is_some_and(|d| match_value(v, d)))
        }),
        "select" => {
            let field = arg.get("field").and_then(Value::as_str).unwrap_or("");
            let index = arg.get("index").and_then(Value::as_i64).unwrap_or(0);
            let Some(Value::Array(a)) = lookup(doc, field) else {
                return false;
            };
            let i = if index < 0 {
                a.len() as i64 + index
            } else {
                index
            };
            usize::try_from(i)
                .ok()
                .and_then(|i| a.get(i))
                .is_some_and(|el| {
                    let wrapped = serde_json::json!({ "value": el });
                    arg.get("query").is_some_and(|q| eval(q, &wrapped, negated))
                })
        }
        "nothing" => false,
        // regexp: unknown, resolved towards a match (upper bound).
        _ => !negated,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn evaluator_basics() {
        let doc = json!({"a": {"b": 1}, "t": ["x"], "p": [43.6, 3.9], "s": "active"});
        assert!(matches(&json!({"equals": {"a.b": 1}}), &doc));
        assert!(matches(&json!({"not": {"equals": {"a.c": 1}}}), &doc));
        assert!(matches(&json!({"exists": "t[\"x\"]"}), &doc));
        assert!(matches(&json!({"missing": "t[\"y\"]"}), &doc));
        assert!(matches(
            &json!({"geoDistance": {"p": {"lat": 43.6, "lon": 3.91}, "distance": "2km"}}),
            &doc
        ));
        assert!(!matches(
            &json!({"bool": {"must": [{"equals": {"s": "active"}}], "must_not": [{"range": {"a.b": {"gte": 0}}}]}}),
            &doc
        ));
        assert!(matches(&json!({}), &doc));
    }
}
