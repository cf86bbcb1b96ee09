//! A map keyed by JSON scalars, looked up straight from a document's `&Value`.
//!
//! One map per scalar type: strings are looked up by `&str` (no allocation on the matching
//! path), numbers by their normalized bits (`-0` folded into `0`, so `1`, `1.0` and `1e0` are one
//! key), booleans and null in fixed slots.

use std::collections::HashMap;

use serde_json::Value;

use crate::scalar::Scalar;

pub(crate) struct ScalarMap<V> {
    strings: HashMap<Box<str>, V>,
    numbers: HashMap<u64, V>,
    bools: [Option<V>; 2],
    null: Option<V>,
}

impl<V> Default for ScalarMap<V> {
    fn default() -> Self {
        ScalarMap {
            strings: HashMap::new(),
            numbers: HashMap::new(),
            bools: [None, None],
            null: None,
        }
    }
}

fn number_key(n: f64) -> u64 {
    (n + 0.0).to_bits()
}

impl<V> ScalarMap<V> {
    pub fn insert(&mut self, key: &Scalar, value: V) -> Option<V> {
        match key {
            Scalar::Null => self.null.replace(value),
            Scalar::Bool(b) => self.bools[usize::from(*b)].replace(value),
            Scalar::Number(n) => self.numbers.insert(number_key(*n), value),
            Scalar::String(s) => self.strings.insert(s.clone(), value),
        }
    }

    pub fn remove(&mut self, key: &Scalar) -> Option<V> {
        match key {
            Scalar::Null => self.null.take(),
            Scalar::Bool(b) => self.bools[usize::from(*b)].take(),
            Scalar::Number(n) => self.numbers.remove(&number_key(*n)),
            Scalar::String(s) => self.strings.remove(&**s),
        }
    }

    /// The entry strictly equal to a document value (arrays and objects have none).
    #[inline]
    pub fn get(&self, value: &Value) -> Option<&V> {
        match value {
            Value::String(s) => self.strings.get(s.as_str()),
            Value::Number(n) => n.as_f64().and_then(|f| self.numbers.get(&number_key(f))),
            Value::Bool(b) => self.bools[usize::from(*b)].as_ref(),
            Value::Null => self.null.as_ref(),
            Value::Array(_) | Value::Object(_) => None,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.strings.is_empty()
            && self.numbers.is_empty()
            && self.bools.iter().all(Option::is_none)
            && self.null.is_none()
    }
}
