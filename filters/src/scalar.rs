//! JSON scalars with JavaScript strict-equality semantics.
//!
//! `equals`, `in`, `ids` and the array-value form of `exists` compare a document value to a
//! filter value with `===`: no coercion (`1 != "1"`, `true != 1`), numbers compared as doubles
//! (`1 == 1.0`, `0 == -0`). [`Scalar`] is that comparison's value type. Its `Hash` agrees with
//! its `Eq` (negative zero hashes like zero), so it can key the equality indexes directly.

use std::hash::{Hash, Hasher};

use serde_json::Value;

/// A JSON value that is not an array or an object.
#[derive(Clone, Debug)]
pub enum Scalar {
    Null,
    Bool(bool),
    /// Always finite (JSON has no NaN or infinities); `-0.0` is stored as `0.0`.
    Number(f64),
    String(Box<str>),
}

impl Scalar {
    /// The scalar a JSON value holds, or `None` for arrays and objects.
    pub fn from_json(value: &Value) -> Option<Scalar> {
        Some(match value {
            Value::Null => Scalar::Null,
            Value::Bool(b) => Scalar::Bool(*b),
            Value::Number(n) => Scalar::number(n.as_f64()?),
            Value::String(s) => Scalar::String(s.as_str().into()),
            Value::Array(_) | Value::Object(_) => return None,
        })
    }

    /// A number scalar, with `-0` folded into `0` so that equal values have equal hashes.
    pub fn number(n: f64) -> Scalar {
        Scalar::Number(if n == 0.0 { 0.0 } else { n })
    }

    /// `value === self` in JavaScript, for a document value. Arrays and objects never equal a
    /// scalar.
    #[inline]
    pub fn strict_eq(&self, value: &Value) -> bool {
        match (self, value) {
            (Scalar::Null, Value::Null) => true,
            (Scalar::Bool(a), Value::Bool(b)) => a == b,
            (Scalar::Number(a), Value::Number(b)) => b.as_f64() == Some(*a),
            (Scalar::String(a), Value::String(b)) => **a == **b,
            _ => false,
        }
    }

    /// The JSON value of this scalar.
    pub fn to_json(&self) -> Value {
        match self {
            Scalar::Null => Value::Null,
            Scalar::Bool(b) => Value::Bool(*b),
            Scalar::Number(n) => {
                serde_json::Number::from_f64(*n).map_or(Value::Null, Value::Number)
            }
            Scalar::String(s) => Value::String(s.to_string()),
        }
    }
}

impl PartialEq for Scalar {
    fn eq(&self, other: &Scalar) -> bool {
        match (self, other) {
            (Scalar::Null, Scalar::Null) => true,
            (Scalar::Bool(a), Scalar::Bool(b)) => a == b,
            (Scalar::Number(a), Scalar::Number(b)) => a == b,
            (Scalar::String(a), Scalar::String(b)) => a == b,
            _ => false,
        }
    }
}

// Numbers are finite and `-0` is normalized, so `==` on them is an equivalence relation.
impl Eq for Scalar {}

impl Hash for Scalar {
    fn hash<H: Hasher>(&self, state: &mut H) {
        match self {
            Scalar::Null => state.write_u8(0),
            Scalar::Bool(b) => {
                state.write_u8(1);
                b.hash(state)
            }
            Scalar::Number(n) => {
                state.write_u8(2);
                // `+ 0.0` turns a stray `-0.0` into `0.0`.
                (n + 0.0).to_bits().hash(state)
            }
            Scalar::String(s) => {
                state.write_u8(3);
                s.hash(state)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn strict_equality_has_no_coercion() {
        let one = Scalar::from_json(&json!(1)).unwrap();
        assert!(one.strict_eq(&json!(1.0)));
        assert!(!one.strict_eq(&json!("1")));
        assert!(!one.strict_eq(&json!(true)));
        assert!(!one.strict_eq(&json!([1])));
        assert!(Scalar::Null.strict_eq(&json!(null)));
        assert!(!Scalar::Null.strict_eq(&json!("null")));
        assert!(Scalar::number(-0.0).strict_eq(&json!(0)));
        assert_eq!(Scalar::number(-0.0), Scalar::number(0.0));
        assert!(Scalar::from_json(&json!({})).is_none());
    }
}
