//! Conditions and literals: the leaves of a canonical filter.
//!
//! After standardization every filter is a boolean combination of *literals*: a [`Condition`]
//! (one keyword on one field, with its argument fully parsed: numbers, meters, compiled regexp,
//! geometry) and a polarity. Each literal carries its *canonical key*, a deterministic JSON
//! rendering of the condition and its polarity. The key is what makes Herald's identity
//! semantic and stable:
//!
//! * two conditions are the same iff their keys are equal, whatever spelling the user chose
//!   (`{"exists":"a"}` / `{"exists":{"field":"a"}}`, every geopoint format, `"1km"` / `"1000m"`,
//!   regexp flag order, range bound order, `match` object key order...);
//! * literals are sorted by key inside a subfilter, subfilters by their keys, so the canonical
//!   form does not depend on how operands were ordered;
//! * the key uses JavaScript's number formatting and JSON string escaping, so it is the same
//!   bytes on every machine and version; the filter id hashes these bytes (see `transform::id`).

use std::fmt::Write as _;
use std::sync::Arc;

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

pub use crate::geo::Shape;
use crate::geo::{Annulus, Circle, Point};
use crate::regexp::Pattern;
use crate::scalar::Scalar;
use crate::transform::Canonical;

/// One end of a numeric range.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bound {
    pub value: f64,
    /// `gte`/`lte` when true, `gt`/`lt` when false.
    pub inclusive: bool,
}

/// A numeric interval; at least one side is present. Bounds are exact (Herald decision 7).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Range {
    pub lower: Option<Bound>,
    pub upper: Option<Bound>,
}

impl Range {
    /// Whether `x` lies in the interval.
    #[inline]
    pub fn contains(&self, x: f64) -> bool {
        let above = match self.lower {
            None => true,
            Some(b) if b.inclusive => x >= b.value,
            Some(b) => x > b.value,
        };
        let below = match self.upper {
            None => true,
            Some(b) if b.inclusive => x <= b.value,
            Some(b) => x < b.value,
        };
        above && below
    }
}

/// The argument of the array-value form of `exists` (`tags["red"]`).
pub type ArrayValue = Box<Value>;

/// One keyword applied to one field, with its argument parsed and validated.
#[derive(Clone, Debug)]
pub enum Condition {
    /// The field's value is this scalar (strict equality).
    Equals { field: Box<str>, value: Scalar },
    /// The field is present (`value: None`), or its value is an array holding `value`.
    /// A compound `value` (object/array) is accepted but never matches (Koncorde's rule).
    Exists {
        field: Box<str>,
        value: Option<ArrayValue>,
    },
    /// The field's value is a number within the range.
    Range { field: Box<str>, range: Range },
    /// The field's value is a string in which the pattern is found.
    Regexp {
        field: Box<str>,
        pattern: Box<Pattern>,
    },
    /// The field's value is a geopoint accepted by the shape.
    Geo { field: Box<str>, shape: Box<Shape> },
    /// The flattened document matches this object (recursive partial match, see `eval`).
    Match { value: Box<Map<String, Value>> },
    /// The element at `index` of the array at `field`, wrapped as `{"value": element}`,
    /// matches `query`.
    Select {
        field: Box<str>,
        index: i64,
        query: Arc<Canonical>,
    },
}

impl Condition {
    /// The keyword under which the condition is written in canonical keys.
    pub fn keyword(&self) -> &'static str {
        match self {
            Condition::Equals { .. } => "equals",
            Condition::Exists { .. } => "exists",
            Condition::Range { .. } => "range",
            Condition::Regexp { .. } => "regexp",
            Condition::Geo { shape, .. } => match shape.as_ref() {
                Shape::BoundingBox(_) => "geoBoundingBox",
                Shape::Circle(_) => "geoDistance",
                Shape::Annulus(_) => "geoDistanceRange",
                Shape::Polygon(_) => "geoPolygon",
            },
            Condition::Match { .. } => "match",
            Condition::Select { .. } => "select",
        }
    }

    /// The document field the condition reads, if it reads exactly one (`match` reads several).
    pub fn field(&self) -> Option<&str> {
        match self {
            Condition::Equals { field, .. }
            | Condition::Exists { field, .. }
            | Condition::Range { field, .. }
            | Condition::Regexp { field, .. }
            | Condition::Geo { field, .. }
            | Condition::Select { field, .. } => Some(field),
            Condition::Match { .. } => None,
        }
    }

    /// Writes the canonical JSON of the condition's argument (without polarity).
    fn write_canonical(&self, out: &mut String) {
        out.push_str("{\"");
        out.push_str(self.keyword());
        out.push_str("\":");
        match self {
            Condition::Equals { field, value } => {
                open_field(field, out);
                write_scalar(value, out);
                out.push('}');
            }
            Condition::Exists { field, value } => {
                out.push_str("{\"path\":");
                write_str(field, out);
                if let Some(v) = value {
                    out.push_str(",\"value\":");
                    write_canonical_value(v, out);
                }
                out.push('}');
            }
            Condition::Range { field, range } => {
                open_field(field, out);
                out.push('{');
                let mut first = true;
                for (bound, strict, wide) in
                    [(range.lower, "gt", "gte"), (range.upper, "lt", "lte")]
                {
                    if let Some(b) = bound {
                        if !first {
                            out.push(',');
                        }
                        first = false;
                        out.push('"');
                        out.push_str(if b.inclusive { wide } else { strict });
                        out.push_str("\":");
                        write_number(b.value, out);
                    }
                }
                out.push_str("}}");
            }
            Condition::Regexp { field, pattern } => {
                open_field(field, out);
                out.push_str("{\"flags\":");
                write_str(pattern.flags(), out);
                out.push_str(",\"value\":");
                write_str(pattern.pattern(), out);
                out.push_str("}}");
            }
            Condition::Geo { field, shape } => {
                open_field(field, out);
                match shape.as_ref() {
                    Shape::BoundingBox(b) => {
                        out.push_str("{\"bottom\":");
                        write_number(b.bottom, out);
                        out.push_str(",\"left\":");
                        write_number(b.left, out);
                        out.push_str(",\"right\":");
                        write_number(b.right, out);
                        out.push_str(",\"top\":");
                        write_number(b.top, out);
                        out.push('}');
                    }
                    Shape::Circle(Circle { center, radius }) => {
                        out.push_str("{\"distance\":");
                        write_number(*radius, out);
                        write_center(*center, out);
                        out.push('}');
                    }
                    Shape::Annulus(Annulus { center, from, to }) => {
                        out.push_str("{\"from\":");
                        write_number(*from, out);
                        write_center(*center, out);
                        out.push_str(",\"to\":");
                        write_number(*to, out);
                        out.push('}');
                    }
                    Shape::Polygon(poly) => {
                        out.push('[');
                        for (i, p) in poly.points().iter().enumerate() {
                            if i > 0 {
                                out.push(',');
                            }
                            out.push('[');
                            write_number(p.lat, out);
                            out.push(',');
                            write_number(p.lon, out);
                            out.push(']');
                        }
                        out.push(']');
                    }
                }
                out.push('}');
            }
            Condition::Match { value } => {
                write_canonical_object(value, out);
            }
            Condition::Select {
                field,
                index,
                query,
            } => {
                out.push_str("{\"field\":");
                write_str(field, out);
                let _ = write!(out, ",\"index\":{index},\"query\":");
                query.write_canonical(out);
                out.push('}');
            }
        }
        out.push('}');
    }
}

/// A condition with a polarity: the unit of a canonical subfilter.
#[derive(Clone, Debug)]
pub struct Literal {
    condition: Arc<Condition>,
    negated: bool,
    /// Shared: expanding a filter copies each literal into many subfilters.
    key: Arc<str>,
    /// 128 bits of SHA-256 of `key`, the literal's identity in an index. Computed here, while
    /// a filter is normalized, so that registering it (under the index's write lock) does not.
    digest: u128,
}

impl Literal {
    pub fn new(condition: Arc<Condition>, negated: bool) -> Literal {
        let mut key = String::with_capacity(64);
        condition.write_canonical(&mut key);
        key.pop(); // the condition object's closing brace: polarity goes inside it
        key.push_str(if negated {
            ",\"not\":true}"
        } else {
            ",\"not\":false}"
        });
        let digest = Sha256::digest(key.as_bytes());
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&digest[..16]);
        Literal {
            condition,
            negated,
            key: key.into(),
            digest: u128::from_le_bytes(bytes),
        }
    }

    pub fn condition(&self) -> &Arc<Condition> {
        &self.condition
    }

    pub fn negated(&self) -> bool {
        self.negated
    }

    /// The canonical JSON of this literal: equal keys mean equal literals.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The literal's identity in an index: 128 bits of SHA-256 of [`Literal::key`].
    pub fn digest(&self) -> u128 {
        self.digest
    }

    /// A prefix of the key identifying the condition without its polarity: a literal and its
    /// negation share it, and no other condition has it.
    pub fn condition_key(&self) -> &str {
        // The key ends with `,"not":true}` (12 bytes) or `,"not":false}` (13 bytes).
        let end = self.key.len() - if self.negated { 12 } else { 13 };
        &self.key[..end]
    }

    /// The same condition with the opposite polarity.
    pub fn negate(&self) -> Literal {
        Literal::new(self.condition.clone(), !self.negated)
    }
}

impl PartialEq for Literal {
    fn eq(&self, other: &Literal) -> bool {
        self.key == other.key
    }
}
impl Eq for Literal {}
impl PartialOrd for Literal {
    fn partial_cmp(&self, other: &Literal) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Literal {
    fn cmp(&self, other: &Literal) -> std::cmp::Ordering {
        self.key.cmp(&other.key)
    }
}
impl std::hash::Hash for Literal {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.key.hash(state)
    }
}

fn open_field(field: &str, out: &mut String) {
    out.push('{');
    write_str(field, out);
    out.push(':');
}

fn write_center(center: Point, out: &mut String) {
    out.push_str(",\"lat\":");
    write_number(center.lat, out);
    out.push_str(",\"lon\":");
    write_number(center.lon, out);
}

/// JavaScript's shortest round-trip number formatting (`1e+21`, `0.1`, `-0` -> `0`).
pub(crate) fn write_number(n: f64, out: &mut String) {
    if n == 0.0 {
        out.push('0');
    } else if n.is_finite() {
        out.push_str(ryu_js::Buffer::new().format_finite(n));
    } else {
        // Never produced by parsing (JSON has no NaN/Infinity); kept total for safety.
        out.push_str("null");
    }
}

pub(crate) fn write_str(s: &str, out: &mut String) {
    // serde_json's escaping is deterministic and never fails for a &str.
    match serde_json::to_string(s) {
        Ok(quoted) => out.push_str(&quoted),
        Err(_) => out.push_str("\"\""),
    }
}

fn write_scalar(s: &Scalar, out: &mut String) {
    match s {
        Scalar::Null => out.push_str("null"),
        Scalar::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Scalar::Number(n) => write_number(*n, out),
        Scalar::String(s) => write_str(s, out),
    }
}

/// Canonical JSON of any value: object keys sorted, numbers in JavaScript form.
pub(crate) fn write_canonical_value(v: &Value, out: &mut String) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => write_number(n.as_f64().unwrap_or(0.0), out),
        Value::String(s) => write_str(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical_value(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => write_canonical_object(map, out),
    }
}

fn write_canonical_object(map: &Map<String, Value>, out: &mut String) {
    let mut keys: Vec<&String> = map.keys().collect();
    keys.sort();
    out.push('{');
    for (i, k) in keys.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_str(k, out);
        out.push(':');
        if let Some(v) = map.get(k) {
            write_canonical_value(v, out);
        }
    }
    out.push('}');
}

/// The canonical JSON of a value as a string.
pub(crate) fn canonical_string(v: &Value) -> String {
    let mut s = String::new();
    write_canonical_value(v, &mut s);
    s
}
