//! The geo part of the differential oracle (spec section 13): every filter of
//! `tests/data/oracle/seed1/filters.jsonl` that is a single geo term, or the
//! negation of one, is evaluated here with `herald_filters::geo` alone on
//! every document, and the matching documents must be exactly those that
//! `expected-intended.jsonl` lists for that filter.

use std::collections::BTreeSet;
use std::path::PathBuf;

use herald_filters::geo::{
    parse_distance, parse_point, Annulus, BoundingBox, Circle, Point, Polygon, Shape,
};
use serde_json::{Map, Value};

mod support;

fn corpus_dir() -> PathBuf {
    support::oracle_dir().join("seed1")
}

fn read_jsonl(name: &str) -> Vec<Value> {
    let path = corpus_dir().join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("valid JSON line"))
        .collect()
}

/// A geo condition: field, shape, negated.
struct GeoTerm {
    field: String,
    shape: Shape,
    negated: bool,
}

/// The only key of a single-key object.
fn single(v: &Value) -> Option<(&String, &Value)> {
    let obj = v.as_object()?;
    if obj.len() == 1 {
        obj.iter().next()
    } else {
        None
    }
}

/// The field of a geo term: the one key that is not an argument name.
fn field_of<'a>(
    args: &'a Map<String, Value>,
    reserved: &[&str],
) -> Option<(&'a String, &'a Value)> {
    let mut fields = args.iter().filter(|(k, _)| !reserved.contains(&k.as_str()));
    let field = fields.next()?;
    if fields.next().is_some() {
        return None;
    }
    Some(field)
}

/// Parses `{"geoX": ...}` or `{"not": {"geoX": ...}}`; `None` for any other
/// filter. Panics on a geo term Herald would reject: the corpus only holds
/// filters Koncorde accepts, and every geo one must be accepted by Herald.
fn geo_term(filter: &Value) -> Option<GeoTerm> {
    let (mut keyword, mut args) = single(filter)?;
    let mut negated = false;
    if keyword == "not" {
        (keyword, args) = single(args)?;
        negated = true;
    }
    let args = args.as_object()?;
    let (field, shape) = match keyword.as_str() {
        "geoBoundingBox" => {
            let (field, value) = field_of(args, &[])?;
            let b = BoundingBox::parse(value).unwrap_or_else(|e| panic!("{filter}: {e}"));
            (field, Shape::BoundingBox(b))
        }
        "geoDistance" => {
            let (field, value) = field_of(args, &["distance"])?;
            let center = parse_point(value).unwrap_or_else(|| panic!("{filter}: point"));
            let radius = args["distance"]
                .as_str()
                .and_then(parse_distance)
                .unwrap_or_else(|| panic!("{filter}: distance"));
            (field, Shape::Circle(Circle { center, radius }))
        }
        "geoDistanceRange" => {
            let (field, value) = field_of(args, &["from", "to"])?;
            let center = parse_point(value).unwrap_or_else(|| panic!("{filter}: point"));
            let dist = |k: &str| {
                args[k]
                    .as_str()
                    .and_then(parse_distance)
                    .unwrap_or_else(|| panic!("{filter}: {k}"))
            };
            let (from, to) = (dist("from"), dist("to"));
            assert!(from < to, "{filter}: from >= to");
            (field, Shape::Annulus(Annulus { center, from, to }))
        }
        "geoPolygon" => {
            let (field, value) = field_of(args, &[])?;
            let points: Vec<Point> = value["points"]
                .as_array()
                .unwrap_or_else(|| panic!("{filter}: points"))
                .iter()
                .map(|p| parse_point(p).unwrap_or_else(|| panic!("{filter}: point {p}")))
                .collect();
            assert!(points.len() >= 3, "{filter}: fewer than 3 points");
            (field, Shape::Polygon(Polygon::new(points)))
        }
        _ => return None,
    };
    Some(GeoTerm {
        field: field.clone(),
        shape,
        negated,
    })
}

/// The document's value at a dotted path: nested objects first, else a
/// literal top-level key equal to the whole path.
fn lookup<'a>(doc: &'a Value, path: &str) -> Option<&'a Value> {
    let mut v = doc;
    let mut nested = true;
    for part in path.split('.') {
        match v.get(part) {
            Some(next) if v.is_object() => v = next,
            _ => {
                nested = false;
                break;
            }
        }
    }
    if nested {
        Some(v)
    } else {
        doc.get(path)
    }
}

fn is_falsy(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(_) | Value::Object(_) => false,
    }
}

/// The negation table (spec 10 and 15): missing or falsy value, positive
/// false and negated true; unparsable truthy value, both false; otherwise
/// the shape test and its complement.
fn matches(term: &GeoTerm, doc: &Value) -> bool {
    let value = match lookup(doc, &term.field) {
        Some(v) if !is_falsy(v) => v,
        _ => return term.negated,
    };
    match parse_point(value) {
        None => false,
        Some(p) => term.shape.contains(p) != term.negated,
    }
}

#[test]
fn geo_filters_agree_with_the_oracle() {
    let filters = read_jsonl("filters.jsonl");
    let docs = read_jsonl("docs.jsonl");
    let expected = read_jsonl("expected-intended.jsonl");
    assert_eq!(docs.len(), expected.len());

    let mut expected_sets: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); filters.len()];
    for (d, line) in expected.iter().enumerate() {
        for f in line.as_array().expect("array of filter indexes") {
            let f = f.as_u64().expect("filter index") as usize;
            expected_sets[f].insert(d);
        }
    }

    let mut checked = 0;
    let mut pairs = 0;
    let mut matched = 0;
    let mut failures = Vec::new();
    for (f, filter) in filters.iter().enumerate() {
        let Some(term) = geo_term(filter) else {
            continue;
        };
        checked += 1;
        let ours: BTreeSet<usize> = docs
            .iter()
            .enumerate()
            .filter(|(_, doc)| matches(&term, doc))
            .map(|(d, _)| d)
            .collect();
        pairs += docs.len();
        matched += ours.len();
        let theirs = &expected_sets[f];
        if &ours != theirs {
            let extra: Vec<_> = ours.difference(theirs).take(5).collect();
            let missing: Vec<_> = theirs.difference(&ours).take(5).collect();
            failures.push(format!(
                "filter {f} {filter}: extra docs {extra:?}, missing docs {missing:?}"
            ));
        }
    }
    eprintln!(
        "geo oracle: {checked} filters, {pairs} (filter, document) pairs, {matched} matches, {} disagreeing filters",
        failures.len()
    );
    assert!(checked >= 20, "too few geo filters found: {checked}");
    assert!(failures.is_empty(), "{failures:#?}");
}
