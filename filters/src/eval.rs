//! The reference evaluator: the meaning of a filter, written as plainly as possible.
//!
//! [`eval`] walks a standardized filter (negation normal form) over a flattened document:
//! `and` is `all`, `or` is `any`, and each literal is decided by [`literal`], whose cases are
//! the keyword semantics of the spec (sections 4, 5 and 10, with Herald's decisions of section
//! 15). Nothing here is clever or fast; it is the oracle the indexed matcher is tested against,
//! so that every optimisation there has a simple definition to agree with.
//!
//! Negation is not always the complement of the positive test (spec section 10): `not regexp`
//! tests the JavaScript string form of non-string values, and a geo literal on a value that is
//! not a geopoint is false in both polarities.

use serde_json::{Map, Value};

use crate::condition::{Condition, Literal};
use crate::document::Flat;
use crate::geo;
use crate::scalar::Scalar;
use crate::transform::{is_truthy, Canonical, Nnf, Standardized};

/// Whether the document matches the filter.
pub fn eval(filter: &Standardized, document: &Value) -> bool {
    eval_nnf(filter.nnf(), &Flat::new(document))
}

/// Whether a flattened document matches a filter in negation normal form.
pub fn eval_nnf(nnf: &Nnf, doc: &Flat<'_>) -> bool {
    match nnf {
        Nnf::True => true,
        Nnf::False => false,
        Nnf::Literal(l) => literal(l, doc),
        Nnf::And(children) => children.iter().all(|c| eval_nnf(c, doc)),
        Nnf::Or(children) => children.iter().any(|c| eval_nnf(c, doc)),
    }
}

/// Whether a flattened document matches a canonical filter (some subfilter has all its
/// literals true).
pub fn eval_canonical(canonical: &Canonical, doc: &Flat<'_>) -> bool {
    canonical
        .subfilters()
        .iter()
        .any(|s| s.literals().iter().all(|l| literal(l, doc)))
}

/// Whether one literal holds.
pub fn literal(lit: &Literal, doc: &Flat<'_>) -> bool {
    let condition = lit.condition().as_ref();
    match condition {
        Condition::Match { value } => match_with(value, |key| doc.get(key)) != lit.negated(),
        _ => holds(
            condition,
            lit.negated(),
            condition.field().and_then(|f| doc.get(f)),
        ),
    }
}

/// Whether a literal on one field holds, given that field's value (`None`: missing). For
/// `match`, which reads several fields, see [`match_with`].
pub fn holds(condition: &Condition, negated: bool, value: Option<&Value>) -> bool {
    match condition {
        Condition::Equals { value: wanted, .. } => {
            value.is_some_and(|v| wanted.strict_eq(v)) != negated
        }
        Condition::Exists { value: None, .. } => value.is_some() != negated,
        Condition::Exists {
            value: Some(wanted),
            ..
        } => array_contains(value, wanted) != negated,
        Condition::Range { range, .. } => {
            value
                .and_then(Value::as_f64)
                .is_some_and(|x| range.contains(x))
                != negated
        }
        Condition::Regexp { pattern, .. } => match value {
            None => negated,
            Some(Value::String(s)) => pattern.is_match(s) != negated,
            // Positive regexps only consider strings; `not regexp` tests String(value).
            Some(other) => {
                negated && {
                    let mut s = String::new();
                    crate::jsstring::value_to_string(other, &mut s);
                    !pattern.is_match(&s)
                }
            }
        },
        Condition::Geo { shape, .. } => match value {
            Some(v) if is_truthy(v) => match geo::parse_point(v) {
                Some(point) => shape.contains(point) != negated,
                // Not a geopoint: false in both polarities.
                None => false,
            },
            // Missing or falsy: like a missing field.
            _ => negated,
        },
        Condition::Match { .. } => false,
        // `not select` is the exact complement (Herald decision 12): true when the field is
        // missing, not an array, the index out of bounds or the element not matching.
        Condition::Select { index, query, .. } => select_holds(value, *index, query) != negated,
    }
}

/// `select`: the element at `index` (from the end when negative) of an array value, wrapped as
/// `{"value": element}`, matches the query.
fn select_holds(value: Option<&Value>, index: i64, query: &Canonical) -> bool {
    let Some(Value::Array(items)) = value else {
        return false;
    };
    let position = if index < 0 {
        i64::try_from(items.len())
            .ok()
            .and_then(|len| len.checked_add(index))
    } else {
        Some(index)
    };
    let element = position
        .and_then(|p| usize::try_from(p).ok())
        .and_then(|p| items.get(p));
    element.is_some_and(|e| eval_canonical(query, &Flat::wrapped("value", e)))
}

/// `exists path[value]`: the field is an array holding an element strictly equal to `wanted`
/// (objects and arrays never compare equal).
fn array_contains(found: Option<&Value>, wanted: &Value) -> bool {
    let (Some(Value::Array(items)), Some(wanted)) = (found, Scalar::from_json(wanted)) else {
        return false;
    };
    items.iter().any(|item| wanted.strict_eq(item))
}

/// `match`: every key of the argument names a flattened field (looked up with `lookup`) that
/// matches its value.
pub fn match_with<'d>(
    arg: &Map<String, Value>,
    lookup: impl Fn(&str) -> Option<&'d Value>,
) -> bool {
    arg.iter()
        .all(|(key, wanted)| lookup(key).is_some_and(|v| match_value(wanted, v)))
}

/// The recursive partial match of `match` (spec 4.7, Herald decision 11).
pub fn match_value(wanted: &Value, found: &Value) -> bool {
    match (wanted, found) {
        (Value::Null, _) | (_, Value::Null) => wanted.is_null() && found.is_null(),
        (Value::Bool(a), Value::Bool(b)) => a == b,
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        (Value::String(a), Value::String(b)) => a == b,
        (Value::Object(w), Value::Object(f)) => w
            .iter()
            .all(|(k, wv)| f.get(k).is_some_and(|fv| match_value(wv, fv))),
        (Value::Array(w), Value::Array(f)) => multiset_included(w, f),
        _ => false,
    }
}

/// Whether each wanted element can be paired with a distinct found element that matches it:
/// a bipartite matching (Kuhn's augmenting paths), not Koncorde's greedy first fit.
fn multiset_included(wanted: &[Value], found: &[Value]) -> bool {
    if wanted.len() > found.len() {
        return false;
    }
    let edges: Vec<Vec<usize>> = wanted
        .iter()
        .map(|w| {
            (0..found.len())
                .filter(|&j| match_value(w, &found[j]))
                .collect()
        })
        .collect();
    // owner[j] = the wanted element paired with found[j].
    let mut owner: Vec<Option<usize>> = vec![None; found.len()];
    for i in 0..wanted.len() {
        let mut visited = vec![false; found.len()];
        if !augment(i, &edges, &mut owner, &mut visited) {
            return false;
        }
    }
    true
}

fn augment(
    i: usize,
    edges: &[Vec<usize>],
    owner: &mut [Option<usize>],
    visited: &mut [bool],
) -> bool {
    for &j in &edges[i] {
        if visited[j] {
            continue;
        }
        visited[j] = true;
        let free = match owner[j] {
            None => true,
            Some(other) => augment(other, edges, owner, visited),
        };
        if free {
            owner[j] = Some(i);
            return true;
        }
    }
    false
}
