//! Maps keyed by JSON scalars, looked up straight from a document's `&Value`.
//!
//! One table per scalar type: strings are looked up by `&str` (no allocation on the matching
//! path), numbers by their normalized bits (`-0` folded into `0`, so `1`, `1.0` and `1e0` are one
//! key), booleans and null in fixed slots. Tables are [`ShardedTable`]s: they grow without
//! rehashing everything under the index's write lock.

use std::hash::BuildHasher;

use serde_json::Value;

use super::storage::{int_hash, ShardedTable};
use crate::scalar::Scalar;

pub(crate) struct ScalarMap<V> {
    strings: ShardedTable<(Box<str>, V)>,
    numbers: ShardedTable<(u64, V)>,
    bools: [Option<V>; 2],
    null: Option<V>,
    hasher: foldhash::fast::RandomState,
}

impl<V> Default for ScalarMap<V> {
    fn default() -> Self {
        ScalarMap {
            strings: ShardedTable::default(),
            numbers: ShardedTable::default(),
            bools: [None, None],
            null: None,
            hasher: foldhash::fast::RandomState::default(),
        }
    }
}

fn number_key(n: f64) -> u64 {
    (n + 0.0).to_bits()
}

impl<V> ScalarMap<V> {
    fn string_hash(&self, s: &str) -> u64 {
        self.hasher.hash_one(s)
    }

    pub fn insert(&mut self, key: &Scalar, value: V) -> Option<V> {
        match key {
            Scalar::Null => self.null.replace(value),
            Scalar::Bool(b) => self.bools[usize::from(*b)].replace(value),
            Scalar::Number(n) => {
                let bits = number_key(*n);
                let hash = int_hash(bits);
                if let Some((_, v)) = self.numbers.find_mut(hash, |(k, _)| *k == bits) {
                    return Some(std::mem::replace(v, value));
                }
                self.numbers
                    .insert_unique(hash, (bits, value), |(k, _)| int_hash(*k));
                None
            }
            Scalar::String(s) => {
                let hash = self.string_hash(s);
                if let Some((_, v)) = self.strings.find_mut(hash, |(k, _)| **k == **s) {
                    return Some(std::mem::replace(v, value));
                }
                let hasher = &self.hasher;
                self.strings
                    .insert_unique(hash, (s.clone(), value), |(k, _)| hasher.hash_one(&**k));
                None
            }
        }
    }

    pub fn remove(&mut self, key: &Scalar) -> Option<V> {
        match key {
            Scalar::Null => self.null.take(),
            Scalar::Bool(b) => self.bools[usize::from(*b)].take(),
            Scalar::Number(n) => {
                let bits = number_key(*n);
                self.numbers
                    .remove(int_hash(bits), |(k, _)| *k == bits)
                    .map(|(_, v)| v)
            }
            Scalar::String(s) => self
                .strings
                .remove(self.string_hash(s), |(k, _)| **k == **s)
                .map(|(_, v)| v),
        }
    }

    /// The entry strictly equal to a document value (arrays and objects have none).
    #[inline]
    pub fn get(&self, value: &Value) -> Option<&V> {
        match value {
            Value::String(s) => self
                .strings
                .find(self.string_hash(s), |(k, _)| **k == **s)
                .map(|(_, v)| v),
            Value::Number(n) => {
                let bits = number_key(n.as_f64()?);
                self.numbers
                    .find(int_hash(bits), |(k, _)| *k == bits)
                    .map(|(_, v)| v)
            }
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

/// The `equals` anchors of one field: literal ids by value, without copying the values (each
/// literal's condition already holds its value; the table stores only ids and asks `value_of`
/// to compare). At a million filters on one field this saves a copy of every value string.
#[derive(Default)]
pub(crate) struct EqualsIndex {
    table: super::storage::ShardedTable<u32>,
    hasher: foldhash::fast::RandomState,
}

impl EqualsIndex {
    fn hash(&self, value: &Scalar) -> u64 {
        use std::hash::BuildHasher;
        self.hasher.hash_one(value)
    }

    /// The hash `hash` would give the scalar a document value holds.
    fn hash_json(&self, value: &Value) -> Option<u64> {
        use std::hash::{BuildHasher, Hash, Hasher};
        let mut h = self.hasher.build_hasher();
        // Must feed the hasher exactly as `impl Hash for Scalar` does.
        match value {
            Value::Null => h.write_u8(0),
            Value::Bool(b) => {
                h.write_u8(1);
                b.hash(&mut h)
            }
            Value::Number(n) => {
                h.write_u8(2);
                (n.as_f64()? + 0.0).to_bits().hash(&mut h)
            }
            Value::String(s) => {
                h.write_u8(3);
                s.as_str().hash(&mut h)
            }
            Value::Array(_) | Value::Object(_) => return None,
        }
        Some(h.finish())
    }

    pub fn insert<'a>(
        &mut self,
        value: &Scalar,
        lit: u32,
        value_of: impl Fn(u32) -> Option<&'a Scalar>,
    ) {
        let hash = self.hash(value);
        let hasher = &self.hasher;
        self.table.insert_unique(hash, lit, |&l| {
            value_of(l).map_or(0, |v| std::hash::BuildHasher::hash_one(hasher, v))
        });
    }

    pub fn remove(&mut self, value: &Scalar, lit: u32) {
        let hash = self.hash(value);
        self.table.remove(hash, |&l| l == lit);
    }

    /// The literal whose value is strictly equal to a document value.
    #[inline]
    pub fn get<'a>(
        &self,
        value: &Value,
        value_of: impl Fn(u32) -> Option<&'a Scalar>,
    ) -> Option<u32> {
        if self.table.is_empty() {
            return None;
        }
        let hash = self.hash_json(value)?;
        self.table
            .find(hash, |&l| value_of(l).is_some_and(|v| v.strict_eq(value)))
            .copied()
    }

    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }
}
