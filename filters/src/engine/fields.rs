//! Field paths: interning, and the document walk that visits only registered paths.
//!
//! Every field a registered condition reads is interned to a small integer ([`FieldId`]). A
//! document is then walked once, in JavaScript property order, and each member's flattened key
//! is looked up in one table that holds both the registered paths and their *prefixes* (`P[..i]`
//! for a registered `P` with `P[i] == '.'`): one probe tells whether the key is a field to
//! report and whether an object under it can lead to one. Subtrees that no filter mentions are
//! skipped without being visited. The result is exactly the flattened lookup of the spec
//! (literal dotted keys collide with nesting, the last one written wins), without building the
//! flattened map.
//!
//! Top-level keys (by far the most common, and all there is in most documents) are looked up as
//! they are, without copying them into the key buffer; nested keys are built in one reusable
//! buffer. Keys are compared inline (8 bytes at a time) rather than through `memcmp`, whose call
//! cost dominated the comparison of short keys in profiles.

use std::hash::BuildHasher;

use serde_json::{Map, Value};

use super::storage::{Growing, Slab};
use crate::document::{is_array_index, js_ordered, MAX_FLATTEN_DEPTH};

/// A registered field path.
pub type FieldId = u32;

/// Marks a key that is only a prefix.
const NOT_A_FIELD: FieldId = FieldId::MAX;

/// A registered path, a prefix of registered paths, or both.
struct KeyEntry {
    key: Box<str>,
    /// The field this key is ([`NOT_A_FIELD`] when only a prefix).
    field: FieldId,
    /// Registered paths (counted with their references) this key is a prefix of.
    prefix_refs: u32,
}

/// Both tables grow without rehashing or moving everything at once ([`Growing`], [`Slab`]):
/// writes hold the index's lock, and a workload with a field per user (`exists` on
/// `users.<id>`) registers hundreds of thousands of paths. The keys are not sharded (as the
/// index's large tables are): every document key is looked up here, and a shard is one more
/// dependent load; the price is allocating (and clearing the control bytes of) one table
/// twice as large at each doubling of the number of paths.
#[derive(Default)]
pub(crate) struct FieldTable {
    keys: Growing<KeyEntry>,
    hasher: foldhash::fast::RandomState,
    /// By field id: its path and how many literals read it.
    entries: Slab<(Box<str>, u32)>,
}

/// Byte equality without a `memcmp` call (keys are short).
#[inline]
fn bytes_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let (mut ca, mut cb) = (a.chunks_exact(8), b.chunks_exact(8));
    for (x, y) in (&mut ca).zip(&mut cb) {
        let (Ok(x), Ok(y)) = (<[u8; 8]>::try_from(x), <[u8; 8]>::try_from(y)) else {
            return false;
        };
        if u64::from_ne_bytes(x) != u64::from_ne_bytes(y) {
            return false;
        }
    }
    ca.remainder()
        .iter()
        .zip(cb.remainder())
        .all(|(x, y)| x == y)
}

impl FieldTable {
    #[inline]
    fn hash(&self, key: &str) -> u64 {
        self.hasher.hash_one(key)
    }

    #[inline]
    fn lookup(&self, key: &str) -> Option<&KeyEntry> {
        self.keys.find(self.hash(key), |e| {
            bytes_eq(e.key.as_bytes(), key.as_bytes())
        })
    }

    /// The entry of `key`, created (neither a field nor a prefix yet) if absent.
    fn entry_mut(&mut self, key: &str) -> Option<&mut KeyEntry> {
        let hash = self.hash(key);
        if self.keys.find(hash, |e| *e.key == *key).is_none() {
            let hasher = &self.hasher;
            let entry = KeyEntry {
                key: key.into(),
                field: NOT_A_FIELD,
                prefix_refs: 0,
            };
            self.keys
                .insert_unique(hash, entry, &|e: &KeyEntry| hasher.hash_one(&*e.key));
        }
        self.keys.find_mut(hash, |e| *e.key == *key)
    }

    /// Forgets `key` if it is neither a field nor a prefix any more.
    fn prune(&mut self, key: &str) {
        let hash = self.hash(key);
        let unused = |e: &KeyEntry| *e.key == *key && e.field == NOT_A_FIELD && e.prefix_refs == 0;
        self.keys.remove(hash, unused);
    }

    /// Interns a path (one more reference).
    pub fn acquire(&mut self, path: &str) -> FieldId {
        let known = self.entry_mut(path).map_or(NOT_A_FIELD, |e| e.field);
        if known != NOT_A_FIELD {
            if let Some(entry) = self.entries.get_mut(known) {
                entry.1 += 1;
            }
            return known;
        }
        for (i, b) in path.bytes().enumerate() {
            if b == b'.' {
                if let Some(prefix) = self.entry_mut(&path[..i]) {
                    prefix.prefix_refs += 1;
                }
            }
        }
        let id = self.entries.insert((path.into(), 1));
        if let Some(entry) = self.entry_mut(path) {
            entry.field = id;
        }
        id
    }

    /// Drops one reference; the path is forgotten with its last reference.
    pub fn release(&mut self, id: FieldId) {
        let Some(entry) = self.entries.get_mut(id) else {
            return;
        };
        entry.1 = entry.1.saturating_sub(1);
        if entry.1 > 0 {
            return;
        }
        let Some((path, _)) = self.entries.remove(id) else {
            return;
        };
        for (i, b) in path.bytes().enumerate() {
            if b == b'.' {
                if let Some(prefix) = self.entry_mut(&path[..i]) {
                    prefix.prefix_refs = prefix.prefix_refs.saturating_sub(1);
                }
                self.prune(&path[..i]);
            }
        }
        if let Some(entry) = self.entry_mut(&path) {
            entry.field = NOT_A_FIELD;
        }
        self.prune(&path);
    }

    /// Number of field slots (an upper bound of every [`FieldId`]).
    pub fn capacity(&self) -> usize {
        self.entries.capacity()
    }

    /// Walks a document and reports `(field, value)` for every registered path present, in
    /// walk order (a later report of the same field overrides an earlier one).
    #[inline]
    pub fn walk<'d>(
        &self,
        doc: &'d Value,
        buf: &mut String,
        report: &mut impl FnMut(FieldId, &'d Value),
    ) {
        if self.entries.len() == 0 {
            return;
        }
        if let Value::Object(map) = doc {
            buf.clear();
            self.walk_object(map, buf, 0, report);
        }
    }

    fn walk_object<'d>(
        &self,
        map: &'d Map<String, Value>,
        buf: &mut String,
        depth: usize,
        report: &mut impl FnMut(FieldId, &'d Value),
    ) {
        if depth >= MAX_FLATTEN_DEPTH {
            return;
        }
        // JavaScript order puts array-index keys (canonical integers below 2^32 - 1) first;
        // without one it is the map's order, and the reordering iterator (a costly call in
        // profiles) is not needed.
        if map.keys().any(|k| is_array_index(k)) {
            for (key, value) in js_ordered(map) {
                self.visit(key, value, buf, depth, report);
            }
        } else {
            for (key, value) in map {
                self.visit(key, value, buf, depth, report);
            }
        }
    }

    /// One member of an object being walked (`buf`: the flattened key of the object).
    #[inline]
    fn visit<'d>(
        &self,
        key: &str,
        value: &'d Value,
        buf: &mut String,
        depth: usize,
        report: &mut impl FnMut(FieldId, &'d Value),
    ) {
        let len = buf.len();
        // The flattened key: `key` under an empty prefix (top level, or below an empty key,
        // whose children are not prefixed), else `prefix.key`.
        let entry = if len == 0 {
            self.lookup(key)
        } else {
            buf.push('.');
            buf.push_str(key);
            self.lookup(buf)
        };
        if let Some(e) = entry {
            if e.field != NOT_A_FIELD {
                report(e.field, value);
            }
        }
        if let Value::Object(inner) = value {
            let flattened_empty = len == 0 && key.is_empty();
            if flattened_empty || entry.is_some_and(|e| e.prefix_refs > 0) {
                if len == 0 {
                    buf.push_str(key);
                }
                self.walk_object(inner, buf, depth + 1, report);
            }
        }
        buf.truncate(len);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields(table: &FieldTable, doc: &Value) -> Vec<(FieldId, Value)> {
        let mut seen = Vec::new();
        table.walk(doc, &mut String::new(), &mut |f, v| {
            seen.push((f, v.clone()))
        });
        seen
    }

    #[test]
    fn walk_reports_registered_paths_only() {
        let mut table = FieldTable::default();
        let ab = table.acquire("a.b");
        let c = table.acquire("c");
        let empty_child = table.acquire("x.");
        let doc = json!({"a": {"b": 1, "z": 2}, "c": 3, "d": {"c": 4}, "x": {"": 5}, "": {"c": 6}});
        assert_eq!(
            fields(&table, &doc),
            vec![
                (ab, json!(1)),
                (c, json!(3)),
                (empty_child, json!(5)),
                (c, json!(6))
            ]
        );
        // A literal dotted key and nesting collide; a prefix alone is not a field.
        assert_eq!(
            fields(&table, &json!({"a.b": 7, "a": 8})),
            vec![(ab, json!(7))]
        );
    }

    #[test]
    fn release_forgets_paths_and_prefixes() {
        let mut table = FieldTable::default();
        let ab = table.acquire("a.b");
        let a = table.acquire("a");
        assert_eq!(table.acquire("a.b"), ab);
        table.release(ab);
        assert_eq!(
            fields(&table, &json!({"a": {"b": 1}})),
            vec![(a, json!({"b": 1})), (ab, json!(1))]
        );
        table.release(ab);
        // "a" is a field still, but no longer a prefix: its object is not entered.
        assert_eq!(
            fields(&table, &json!({"a": {"b": 1}})),
            vec![(a, json!({"b": 1}))]
        );
        table.release(a);
        assert!(table.keys.is_empty());
        assert!(fields(&table, &json!({"a": {"b": 1}})).is_empty());
        // Freed ids are reused.
        let q = table.acquire("q");
        assert!(q == ab || q == a);
    }

    /// Tens of thousands of paths under one prefix (a field per user): the tables grow past
    /// their incremental thresholds, ids are reused, and the walk stays exact.
    #[test]
    fn many_paths_come_and_go() {
        let mut table = FieldTable::default();
        let ids: Vec<FieldId> = (0..20_000)
            .map(|i| table.acquire(&format!("u.{i}")))
            .collect();
        let doc = serde_json::json!({"u": {"7": 1, "19999": 2, "x": 3}, "7": 4});
        assert_eq!(
            fields(&table, &doc),
            vec![
                (ids[7], serde_json::json!(1)),
                (ids[19_999], serde_json::json!(2))
            ]
        );
        for (i, &id) in ids.iter().enumerate() {
            if i % 2 == 1 {
                table.release(id);
            }
        }
        assert_eq!(fields(&table, &doc), vec![]);
        assert_eq!(table.capacity(), 20_000);
        // Freed ids are reused before new ones are made.
        let again = table.acquire("u.19999");
        assert!(again < 20_000 && again % 2 == 1, "{again}");
        assert_eq!(fields(&table, &doc), vec![(again, serde_json::json!(2))]);
        table.release(again);
        for (i, &id) in ids.iter().enumerate() {
            if i % 2 == 0 {
                table.release(id);
            }
        }
        assert!(table.keys.is_empty());
        assert!(fields(&table, &doc).is_empty());
    }

    #[test]
    fn bytes_eq_matches_slice_equality() {
        let words = [
            "",
            "a",
            "ab",
            "abcdefgh",
            "abcdefghi",
            "abcdefgh1",
            "abcdefgi",
        ];
        for x in words {
            for y in words {
                assert_eq!(bytes_eq(x.as_bytes(), y.as_bytes()), x == y, "{x} {y}");
            }
        }
    }
}
