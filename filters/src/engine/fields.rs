//! Field paths: interning, and the document walk that visits only registered paths.
//!
//! Every field a registered condition reads is interned to a small integer ([`FieldId`]). A
//! document is then walked once, in JavaScript property order, building flattened keys in one
//! reusable buffer; a key is looked up only in the set of registered paths, and an object is
//! entered only when its key is a registered *prefix* (a registered path continues with `.`
//! after it). Subtrees that no filter mentions are skipped without being visited. The result is
//! exactly the flattened lookup of the spec (literal dotted keys collide with nesting, the last
//! one written wins), without building the flattened map.

use serde_json::{Map, Value};

use super::FoldMap;
use crate::document::{js_ordered, MAX_FLATTEN_DEPTH};

/// A registered field path.
pub type FieldId = u32;

#[derive(Default)]
pub(crate) struct FieldTable {
    by_path: FoldMap<Box<str>, FieldId>,
    /// Per field: its path and how many literals read it (0 = free slot).
    entries: Vec<(Box<str>, u32)>,
    free: Vec<FieldId>,
    /// `P[..i]` for each registered path `P` with `P[i] == '.'`, with reference counts.
    prefixes: FoldMap<Box<str>, u32>,
}

impl FieldTable {
    /// Interns a path (one more reference).
    pub fn acquire(&mut self, path: &str) -> FieldId {
        if let Some(&id) = self.by_path.get(path) {
            self.entries[id as usize].1 += 1;
            return id;
        }
        for (i, b) in path.bytes().enumerate() {
            if b == b'.' {
                *self.prefixes.entry(path[..i].into()).or_insert(0) += 1;
            }
        }
        let id = match self.free.pop() {
            Some(id) => {
                self.entries[id as usize] = (path.into(), 1);
                id
            }
            None => {
                self.entries.push((path.into(), 1));
                (self.entries.len() - 1) as FieldId
            }
        };
        self.by_path.insert(path.into(), id);
        id
    }

    /// Drops one reference; the path is forgotten with its last reference.
    pub fn release(&mut self, id: FieldId) {
        let Some(entry) = self.entries.get_mut(id as usize) else {
            return;
        };
        entry.1 = entry.1.saturating_sub(1);
        if entry.1 > 0 {
            return;
        }
        let path = std::mem::take(&mut entry.0);
        for (i, b) in path.bytes().enumerate() {
            if b == b'.' {
                if let Some(count) = self.prefixes.get_mut(&path[..i]) {
                    *count -= 1;
                    if *count == 0 {
                        self.prefixes.remove(&path[..i]);
                    }
                }
            }
        }
        self.by_path.remove(&path);
        self.free.push(id);
    }

    /// Number of field slots (an upper bound of every [`FieldId`]).
    pub fn capacity(&self) -> usize {
        self.entries.len()
    }

    /// Walks a document and reports `(field, value)` for every registered path present, in
    /// walk order (a later report of the same field overrides an earlier one).
    pub fn walk<'d>(
        &self,
        doc: &'d Value,
        buf: &mut String,
        report: &mut impl FnMut(FieldId, &'d Value),
    ) {
        if self.by_path.is_empty() {
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
        for (key, value) in js_ordered(map) {
            let len = buf.len();
            if len > 0 {
                buf.push('.');
            }
            buf.push_str(key);
            if let Some(&id) = self.by_path.get(buf.as_str()) {
                report(id, value);
            }
            if let Value::Object(inner) = value {
                // Children of an empty key are not prefixed, so they can reach any path.
                if buf.is_empty() || self.prefixes.contains_key(buf.as_str()) {
                    self.walk_object(inner, buf, depth + 1, report);
                }
            }
            buf.truncate(len);
        }
    }
}
