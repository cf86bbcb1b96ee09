//! Documents as the filter language sees them: flattened to dotted paths.
//!
//! Koncorde looks fields up in a *flattened* copy of the document (spec section 2): every key,
//! at every depth, becomes an entry named by its dotted path, objects appear both whole and
//! through their members, arrays are leaves. Literal dotted keys are therefore
//! indistinguishable from nesting, and when two spellings collide the one written last in
//! JavaScript's property order wins. JavaScript orders integer-like keys (`"0"`, `"17"`) first,
//! ascending, then the others in insertion order; [`js_ordered`] reproduces that, so collisions
//! resolve exactly as in Koncorde. Under an empty key (`""`) children are not prefixed.
//!
//! This module is the straightforward version used by the reference evaluator: it builds the
//! whole map. The indexed matcher walks only the paths its filters mention.

use std::collections::HashMap;

use serde_json::{Map, Value};

/// Deeper members are not flattened. JSON parsed by serde_json nests at most 128 levels, so
/// this only guards against hand-built values deep enough to overflow the stack.
pub const MAX_FLATTEN_DEPTH: usize = 512;

/// A document flattened to `dotted path -> value`.
#[derive(Debug, Default)]
pub struct Flat<'a> {
    entries: HashMap<String, &'a Value>,
}

impl<'a> Flat<'a> {
    /// Flattens a document. A document that is not an object has no fields.
    pub fn new(doc: &'a Value) -> Flat<'a> {
        let mut flat = Flat::default();
        if let Value::Object(map) = doc {
            flat.walk(map, &mut String::new(), 0);
        }
        flat
    }

    /// Flattens `{ name: value }` without building that object (`select` wraps elements so).
    pub fn wrapped(name: &str, value: &'a Value) -> Flat<'a> {
        let mut flat = Flat::default();
        flat.entries.insert(name.to_string(), value);
        if let Value::Object(map) = value {
            let mut prefix = name.to_string();
            flat.walk(map, &mut prefix, 1);
        }
        flat
    }

    fn walk(&mut self, map: &'a Map<String, Value>, prefix: &mut String, depth: usize) {
        if depth >= MAX_FLATTEN_DEPTH {
            return;
        }
        for (key, value) in js_ordered(map) {
            let len = prefix.len();
            if !prefix.is_empty() {
                prefix.push('.');
            }
            prefix.push_str(key);
            self.entries.insert(prefix.clone(), value);
            if let Value::Object(inner) = value {
                self.walk(inner, prefix, depth + 1);
            }
            prefix.truncate(len);
        }
    }

    /// The value at a flattened path.
    #[inline]
    pub fn get(&self, path: &str) -> Option<&'a Value> {
        self.entries.get(path).copied()
    }
}

/// Whether JavaScript treats the key as an array index (canonical integer below 2^32 - 1),
/// which places it first in property order.
pub fn is_array_index(key: &str) -> bool {
    let b = key.as_bytes();
    if b.is_empty() || b.len() > 10 || !b.iter().all(u8::is_ascii_digit) {
        return false;
    }
    if b.len() > 1 && b[0] == b'0' {
        return false;
    }
    key.parse::<u64>().is_ok_and(|n| n < u64::from(u32::MAX))
}

/// The members of an object in JavaScript property order.
pub fn js_ordered(map: &Map<String, Value>) -> impl Iterator<Item = (&String, &Value)> {
    let mut indexed: Vec<(u64, &String, &Value)> = Vec::new();
    if map.keys().any(|k| is_array_index(k)) {
        indexed = map
            .iter()
            .filter(|(k, _)| is_array_index(k))
            .map(|(k, v)| (k.parse::<u64>().unwrap_or(0), k, v))
            .collect();
        indexed.sort_by_key(|(n, _, _)| *n);
    }
    let has_indexed = !indexed.is_empty();
    indexed.into_iter().map(|(_, k, v)| (k, v)).chain(
        map.iter()
            .filter(move |(k, _)| !has_indexed || !is_array_index(k)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn flattening_rules() {
        let doc = json!({"a.b": 1, "a": {"b": 2}});
        assert_eq!(Flat::new(&doc).get("a.b"), Some(&json!(2)));
        let doc = json!({"a": {"b": 2}, "a.b": 1});
        assert_eq!(Flat::new(&doc).get("a.b"), Some(&json!(1)));
        let doc = json!({"": {"b": 1}, "x": {"": 2}, "arr": [{"c": 1}]});
        let flat = Flat::new(&doc);
        assert_eq!(flat.get("b"), Some(&json!(1)));
        assert_eq!(flat.get("x."), Some(&json!(2)));
        assert!(flat.get("arr.c").is_none());
        assert!(flat.get("arr").is_some());
        // Integer-like keys come first in JavaScript order, so "1.x" written later as a literal
        // key still loses to... the walk order decides: {"1": {"x": 1}} is walked before "1.x".
        let doc = json!({"1.x": "literal", "1": {"x": "nested"}});
        assert_eq!(Flat::new(&doc).get("1.x"), Some(&json!("literal")));
    }

    #[test]
    fn array_index_keys() {
        assert!(is_array_index("0"));
        assert!(is_array_index("4294967294"));
        assert!(!is_array_index("4294967295"));
        assert!(!is_array_index("01"));
        assert!(!is_array_index("-1"));
        assert!(!is_array_index(""));
    }
}
