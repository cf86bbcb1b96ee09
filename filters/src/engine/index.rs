//! The index of one collection: every registered filter, ready to match a document.
//!
//! # Model
//!
//! Filters are canonical ORs of subfilters; a subfilter is an AND of literals. Literals and
//! subfilters are stored once per collection however many filters share them (reference
//! counted), and filters point at their subfilters.
//!
//! # Anchors: candidates, then verification
//!
//! Each subfilter is indexed under **one** of its positive literals, its *anchor*: the one
//! least likely to hold for a random document (an `equals` on a field with many distinct
//! values beats `status: "active"`, a small geo shape beats a regexp). Matching a document
//! probes the per-field indexes of the fields present in it; every anchor that holds yields the
//! subfilters anchored on it as *candidates*, and only those candidates have their other
//! literals checked. Work per document is thus proportional to the document and to the
//! candidates, not to the number of filters, and a condition shared by thousands of subfilters
//! costs nothing unless it is some subfilter's anchor. Plain condition counting (Koncorde)
//! instead touches every subfilter of every condition that holds.
//!
//! Subfilters without a positive literal (only negations, or the empty filter) have no anchor:
//! they are candidates for every document (they match most documents anyway, so the answer
//! dominates the cost).
//!
//! Anchor choice uses statistics that drift as filters arrive (how many distinct `equals`
//! values a field has); each registration therefore also re-examines the anchors of a few
//! subfilters in round-robin ([`REANCHOR_PER_WRITE`]), which keeps every anchor close to the
//! best choice without ever pausing for a full rebuild.
//!
//! # Per-field indexes
//!
//! `equals` anchors: a scalar map, looked up with the document's value. `exists`: a slot.
//! Array values of `exists f[v]`: a scalar map probed with each element. `range`: a stabbing
//! structure ([`RangeIndex`]). Geo anchors: an R-tree of conservative envelopes, then the exact
//! test. `regexp` and `select` anchors: evaluated when the field is present.
//!
//! # Scratch
//!
//! Matching writes only to per-thread scratch (generation-stamped arrays, reused buffers), so
//! a document is matched without allocating, and any number of threads match concurrently
//! under a read lock.

use std::cell::RefCell;
use std::collections::HashMap;

use serde_json::Value;

use super::fields::{FieldId, FieldTable};
use super::geo_index::GeoIndex;
use super::range::RangeIndex;
use super::scalar_map::ScalarMap;
use crate::condition::{Condition, Literal, Shape};
use crate::eval;
use crate::transform::{Canonical, FilterId};

type LitId = u32;
type SubId = u32;
type Slot = u32;

/// Subfilters whose anchor is re-examined at each registration.
pub const REANCHOR_PER_WRITE: usize = 4;

/// Marks "no field" (a `match` literal reads several).
const NO_FIELD: FieldId = FieldId::MAX;

struct LitEntry {
    literal: Literal,
    field: FieldId,
    /// Fields of a `match` literal, in the argument's key order.
    match_fields: Box<[FieldId]>,
    /// Subfilters containing this literal.
    refs: u32,
    /// Subfilters anchored on this literal (positive literals only).
    anchored: Vec<SubId>,
}

struct SubEntry {
    literals: Box<[LitId]>,
    owners: Vec<Slot>,
    anchor: Option<LitId>,
    /// Position in the anchor's `anchored` list, or in `always`.
    position: u32,
}

struct FilterEntry {
    id: FilterId,
    subfilters: Box<[SubId]>,
}

/// The per-field anchor indexes.
#[derive(Default)]
struct FieldIndex {
    equals: ScalarMap<LitId>,
    exists: Option<LitId>,
    array_values: ScalarMap<LitId>,
    ranges: RangeIndex,
    geo: GeoIndex,
    /// Anchors evaluated whenever the field is present (regexp, select).
    scan: Vec<LitId>,
}

impl FieldIndex {
    fn is_empty(&self) -> bool {
        self.equals.is_empty()
            && self.exists.is_none()
            && self.array_values.is_empty()
            && self.ranges.is_empty()
            && self.geo.is_empty()
            && self.scan.is_empty()
    }
}

/// A slab: dense ids, freed ids reused.
struct Slab<T> {
    items: Vec<Option<T>>,
    free: Vec<u32>,
}

impl<T> Default for Slab<T> {
    fn default() -> Self {
        Slab {
            items: Vec::new(),
            free: Vec::new(),
        }
    }
}

impl<T> Slab<T> {
    fn insert(&mut self, item: T) -> u32 {
        match self.free.pop() {
            Some(id) => {
                self.items[id as usize] = Some(item);
                id
            }
            None => {
                self.items.push(Some(item));
                (self.items.len() - 1) as u32
            }
        }
    }
    fn remove(&mut self, id: u32) -> Option<T> {
        let item = self.items.get_mut(id as usize)?.take();
        if item.is_some() {
            self.free.push(id);
        }
        item
    }
    #[inline]
    fn get(&self, id: u32) -> Option<&T> {
        self.items.get(id as usize)?.as_ref()
    }
    fn get_mut(&mut self, id: u32) -> Option<&mut T> {
        self.items.get_mut(id as usize)?.as_mut()
    }
    fn capacity(&self) -> usize {
        self.items.len()
    }
    fn len(&self) -> usize {
        self.items.len() - self.free.len()
    }
    fn shrink(&mut self) {
        if self.len() == 0 {
            self.items = Vec::new();
            self.free = Vec::new();
        }
    }
}

/// Everything registered in one collection.
#[derive(Default)]
pub struct Index {
    fields: FieldTable,
    field_indexes: Vec<Option<Box<FieldIndex>>>,
    /// Per field: number of `equals` literals on it (how many distinct values filters test).
    equals_on_field: Vec<u32>,
    lits: Slab<LitEntry>,
    lit_by_key: HashMap<Box<str>, LitId>,
    subs: Slab<SubEntry>,
    sub_by_literals: HashMap<Box<[LitId]>, SubId>,
    filters: Slab<FilterEntry>,
    filter_by_id: HashMap<FilterId, Slot>,
    /// Subfilters without anchor: candidates for every document.
    always: Vec<SubId>,
    /// Round-robin cursor of anchor maintenance.
    sweep: u32,
}

impl Index {
    /// Number of registered filters.
    pub fn len(&self) -> usize {
        self.filters.len()
    }

    pub fn is_empty(&self) -> bool {
        self.filters.len() == 0
    }

    pub fn contains(&self, id: &FilterId) -> bool {
        self.filter_by_id.contains_key(id)
    }

    /// Registers a canonical filter under its id; a known id is not stored twice.
    pub fn register(&mut self, id: FilterId, canonical: &Canonical) {
        if self.filter_by_id.contains_key(&id) {
            return;
        }
        let slot = self.filters.insert(FilterEntry {
            id,
            subfilters: Box::new([]),
        });
        self.filter_by_id.insert(id, slot);
        let mut sub_ids = Vec::with_capacity(canonical.subfilters().len());
        for sub in canonical.subfilters() {
            let sub_id = self.acquire_subfilter(sub.literals());
            if let Some(entry) = self.subs.get_mut(sub_id) {
                entry.owners.push(slot);
            }
            sub_ids.push(sub_id);
        }
        if let Some(entry) = self.filters.get_mut(slot) {
            entry.subfilters = sub_ids.into_boxed_slice();
        }
        for _ in 0..REANCHOR_PER_WRITE {
            self.maintain_next_anchor();
        }
    }

    /// Removes a filter; returns whether it was registered. Everything only it used is freed.
    pub fn remove(&mut self, id: &FilterId) -> bool {
        let Some(slot) = self.filter_by_id.remove(id) else {
            return false;
        };
        let Some(entry) = self.filters.remove(slot) else {
            return false;
        };
        for &sub_id in entry.subfilters.iter() {
            let Some(sub) = self.subs.get_mut(sub_id) else {
                continue;
            };
            if let Some(pos) = sub.owners.iter().position(|&o| o == slot) {
                sub.owners.swap_remove(pos);
            }
            if sub.owners.is_empty() {
                self.release_subfilter(sub_id);
            }
        }
        if self.filters.len() == 0 {
            self.shrink();
        }
        true
    }

    /// Returns every structure to its empty allocation once nothing is registered.
    fn shrink(&mut self) {
        self.filters.shrink();
        self.subs.shrink();
        self.lits.shrink();
        self.filter_by_id = HashMap::new();
        self.sub_by_literals = HashMap::new();
        self.lit_by_key = HashMap::new();
        self.always = Vec::new();
        self.field_indexes = Vec::new();
        self.equals_on_field = Vec::new();
        self.fields = FieldTable::default();
        self.sweep = 0;
    }

    fn acquire_subfilter(&mut self, literals: &[Literal]) -> SubId {
        // Known literals only: a new literal means a new subfilter.
        let known: Option<Vec<LitId>> = literals
            .iter()
            .map(|l| self.lit_by_key.get(l.key()).copied())
            .collect();
        if let Some(ids) = &known {
            if let Some(&sub_id) = self.sub_by_literals.get(ids.as_slice()) {
                return sub_id;
            }
        }
        let ids: Vec<LitId> = literals.iter().map(|l| self.acquire_literal(l)).collect();
        let ids: Box<[LitId]> = ids.into_boxed_slice();
        let anchor = self.best_anchor(&ids);
        let sub_id = self.subs.insert(SubEntry {
            literals: ids.clone(),
            owners: Vec::new(),
            anchor: None,
            position: 0,
        });
        self.sub_by_literals.insert(ids, sub_id);
        self.attach(sub_id, anchor);
        sub_id
    }

    fn release_subfilter(&mut self, sub_id: SubId) {
        self.detach(sub_id);
        let Some(sub) = self.subs.remove(sub_id) else {
            return;
        };
        self.sub_by_literals.remove(&sub.literals);
        for &lit in sub.literals.iter() {
            self.release_literal(lit);
        }
    }

    fn acquire_literal(&mut self, literal: &Literal) -> LitId {
        if let Some(&id) = self.lit_by_key.get(literal.key()) {
            if let Some(entry) = self.lits.get_mut(id) {
                entry.refs += 1;
            }
            return id;
        }
        let condition = literal.condition().as_ref();
        let field = match condition.field() {
            Some(path) => self.fields.acquire(path),
            None => NO_FIELD,
        };
        let match_fields: Box<[FieldId]> = match condition {
            Condition::Match { value } => value.keys().map(|k| self.fields.acquire(k)).collect(),
            _ => Box::new([]),
        };
        let capacity = self.fields.capacity();
        if self.field_indexes.len() < capacity {
            self.field_indexes.resize_with(capacity, || None);
            self.equals_on_field.resize(capacity, 0);
        }
        if let (Condition::Equals { .. }, Some(count)) =
            (condition, self.equals_on_field.get_mut(field as usize))
        {
            *count += 1;
        }
        let id = self.lits.insert(LitEntry {
            literal: literal.clone(),
            field,
            match_fields,
            refs: 1,
            anchored: Vec::new(),
        });
        self.lit_by_key.insert(literal.key().into(), id);
        id
    }

    fn release_literal(&mut self, id: LitId) {
        let Some(entry) = self.lits.get_mut(id) else {
            return;
        };
        entry.refs -= 1;
        if entry.refs > 0 {
            return;
        }
        let Some(entry) = self.lits.remove(id) else {
            return;
        };
        self.lit_by_key.remove(entry.literal.key());
        if let (Condition::Equals { .. }, Some(count)) = (
            entry.literal.condition().as_ref(),
            self.equals_on_field.get_mut(entry.field as usize),
        ) {
            *count -= 1;
        }
        if entry.field != NO_FIELD {
            self.fields.release(entry.field);
        }
        for &f in entry.match_fields.iter() {
            self.fields.release(f);
        }
    }

    // ---- anchors ---------------------------------------------------------------------------

    /// Estimated cost of anchoring on a literal: roughly the probability that it holds for a
    /// document, plus a surcharge for anchors evaluated on every document with the field.
    /// `None`: cannot anchor (negated, or `match`, which has no single field).
    fn anchor_score(&self, lit: LitId) -> Option<f64> {
        let entry = self.lits.get(lit)?;
        if entry.literal.negated() || entry.field == NO_FIELD {
            return None;
        }
        let distinct = |f: FieldId| f64::from(self.equals_on_field.get(f as usize).copied().unwrap_or(0));
        Some(match entry.literal.condition().as_ref() {
            Condition::Equals { .. } => 1.0 / (1.0 + distinct(entry.field)),
            Condition::Exists { value: None, .. } => 0.9,
            Condition::Exists { value: Some(_), .. } => 0.3,
            Condition::Range { .. } => 0.25,
            Condition::Geo { shape, .. } => match shape {
                Shape::Polygon(_) => 0.1,
                _ => 0.05,
            },
            Condition::Select { .. } => 1.2,
            Condition::Regexp { .. } => 1.5,
            Condition::Match { .. } => return None,
        })
    }

    fn best_anchor(&self, literals: &[LitId]) -> Option<LitId> {
        let mut best: Option<(f64, LitId)> = None;
        for &lit in literals {
            if let Some(score) = self.anchor_score(lit) {
                if best.is_none_or(|(s, _)| score < s) {
                    best = Some((score, lit));
                }
            }
        }
        best.map(|(_, lit)| lit)
    }

    /// Re-examines the anchor of the next subfilter of the round-robin.
    fn maintain_next_anchor(&mut self) {
        let capacity = self.subs.capacity() as u32;
        if capacity == 0 {
            return;
        }
        self.sweep = (self.sweep + 1) % capacity;
        let sub_id = self.sweep;
        let Some(sub) = self.subs.get(sub_id) else {
            return;
        };
        let current = sub.anchor;
        let best = self.best_anchor(&sub.literals);
        let score = |l: Option<LitId>| l.and_then(|l| self.anchor_score(l)).unwrap_or(f64::MAX);
        // Move only for a clear gain, so that anchors do not flap.
        if best != current && score(best) * 2.0 < score(current) {
            self.detach(sub_id);
            self.attach(sub_id, best);
        }
    }

    /// Indexes a subfilter under `anchor` (or in `always`).
    fn attach(&mut self, sub_id: SubId, anchor: Option<LitId>) {
        let position = match anchor.and_then(|a| self.lits.get_mut(a).map(|e| (a, e))) {
            Some((a, entry)) => {
                entry.anchored.push(sub_id);
                let position = entry.anchored.len() - 1;
                if position == 0 {
                    self.index_literal(a);
                }
                position
            }
            None => {
                self.always.push(sub_id);
                self.always.len() - 1
            }
        };
        if let Some(sub) = self.subs.get_mut(sub_id) {
            sub.anchor = anchor;
            sub.position = position as u32;
        }
    }

    /// Removes a subfilter from its anchor list (or from `always`).
    fn detach(&mut self, sub_id: SubId) {
        let Some(sub) = self.subs.get(sub_id) else {
            return;
        };
        let (anchor, position) = (sub.anchor, sub.position as usize);
        let list = match anchor {
            Some(a) => match self.lits.get_mut(a) {
                Some(entry) => &mut entry.anchored,
                None => return,
            },
            None => &mut self.always,
        };
        if position >= list.len() || list[position] != sub_id {
            return;
        }
        list.swap_remove(position);
        let moved = list.get(position).copied();
        let now_empty = list.is_empty();
        if let Some(moved) = moved {
            if let Some(m) = self.subs.get_mut(moved) {
                m.position = position as u32;
            }
        }
        if let (Some(a), true) = (anchor, now_empty) {
            self.unindex_literal(a);
        }
    }

    /// Puts a literal in its field's index (it just became an anchor).
    fn index_literal(&mut self, lit: LitId) {
        let Some(entry) = self.lits.get(lit) else {
            return;
        };
        let Some(slot) = self.field_indexes.get_mut(entry.field as usize) else {
            return;
        };
        let index = slot.get_or_insert_with(Default::default);
        match entry.literal.condition().as_ref() {
            Condition::Equals { value, .. } => {
                index.equals.insert(value, lit);
            }
            Condition::Exists { value: None, .. } => index.exists = Some(lit),
            Condition::Exists { value: Some(v), .. } => {
                if let Some(s) = crate::scalar::Scalar::from_json(v) {
                    index.array_values.insert(&s, lit);
                }
            }
            Condition::Range { range, .. } => index.ranges.insert(*range, lit),
            Condition::Geo { shape, .. } => index.geo.insert(shape, lit),
            Condition::Regexp { .. } | Condition::Select { .. } | Condition::Match { .. } => {
                index.scan.push(lit)
            }
        }
    }

    fn unindex_literal(&mut self, lit: LitId) {
        let Some(entry) = self.lits.get(lit) else {
            return;
        };
        let Some(slot) = self.field_indexes.get_mut(entry.field as usize) else {
            return;
        };
        let Some(index) = slot.as_mut() else {
            return;
        };
        match entry.literal.condition().as_ref() {
            Condition::Equals { value, .. } => {
                index.equals.remove(value);
            }
            Condition::Exists { value: None, .. } => index.exists = None,
            Condition::Exists { value: Some(v), .. } => {
                if let Some(s) = crate::scalar::Scalar::from_json(v) {
                    index.array_values.remove(&s);
                }
            }
            Condition::Range { range, .. } => index.ranges.remove(range, lit),
            Condition::Geo { shape, .. } => index.geo.remove(shape, lit),
            Condition::Regexp { .. } | Condition::Select { .. } | Condition::Match { .. } => {
                index.scan.retain(|&l| l != lit)
            }
        }
        if index.is_empty() {
            *slot = None;
        }
    }

    // ---- matching --------------------------------------------------------------------------

    /// Appends to `out` the id of every registered filter the document matches (each once).
    pub fn test(&self, doc: &Value, out: &mut Vec<FilterId>) {
        if self.filters.len() == 0 {
            return;
        }
        SCRATCH.with(|cell| match cell.try_borrow_mut() {
            Ok(mut scratch) => self.test_with(doc, &mut scratch, out),
            // Unreachable (no re-entrancy), but never panic: use a fresh scratch.
            Err(_) => self.test_with(doc, &mut Scratch::default(), out),
        });
    }

    fn test_with(&self, doc: &Value, scratch: &mut Scratch, out: &mut Vec<FilterId>) {
        let gen = scratch.begin(
            self.fields.capacity(),
            self.subs.capacity(),
            self.filters.capacity(),
        );
        let Scratch {
            field_gen,
            field_pos,
            sub_gen,
            filter_gen,
            present,
            touched,
            path,
            ..
        } = scratch;
        let mut values: Vec<&Value> = recycle(std::mem::take(present));
        touched.clear();
        self.fields.walk(doc, path, &mut |field, value| {
            let f = field as usize;
            if field_gen[f] == gen {
                values[field_pos[f] as usize] = value;
            } else {
                field_gen[f] = gen;
                field_pos[f] = values.len() as u32;
                values.push(value);
                touched.push(field);
            }
        });
        let mut ctx = Ctx {
            index: self,
            gen,
            field_gen,
            field_pos,
            values: &values,
            sub_gen,
            filter_gen,
            out,
        };
        for &field in touched.iter() {
            let Some(Some(index)) = self.field_indexes.get(field as usize) else {
                continue;
            };
            let value = ctx.values[ctx.field_pos[field as usize] as usize];
            ctx.probe(index, value);
        }
        for &sub in &self.always {
            ctx.candidate(sub, None);
        }
        *present = recycle(values);
    }
}

/// Borrowed state of one `test` call.
struct Ctx<'a, 'd> {
    index: &'a Index,
    gen: u32,
    field_gen: &'a [u32],
    field_pos: &'a [u32],
    values: &'a [&'d Value],
    sub_gen: &'a mut [u32],
    filter_gen: &'a mut [u32],
    out: &'a mut Vec<FilterId>,
}

impl<'d> Ctx<'_, 'd> {
    #[inline]
    fn value(&self, field: FieldId) -> Option<&'d Value> {
        let f = field as usize;
        if self.field_gen.get(f) == Some(&self.gen) {
            self.values.get(self.field_pos[f] as usize).copied()
        } else {
            None
        }
    }

    fn probe(&mut self, index: &FieldIndex, value: &'d Value) {
        if let Some(&lit) = index.equals.get(value) {
            self.fire(lit);
        }
        if let Some(lit) = index.exists {
            self.fire(lit);
        }
        if let Value::Array(items) = value {
            if !index.array_values.is_empty() {
                for item in items {
                    if let Some(&lit) = index.array_values.get(item) {
                        self.fire(lit);
                    }
                }
            }
        }
        if let Some(x) = value.as_f64() {
            if !index.ranges.is_empty() {
                index.ranges.stab(x, |lit| self.fire(lit));
            }
        }
        if !index.geo.is_empty() && crate::transform::is_truthy(value) {
            if let Some(point) = crate::geo::parse_point(value) {
                // Envelope hits are only candidates: the exact shape test decides.
                index.geo.locate(point, |lit| {
                    if self.holds(lit) {
                        self.fire(lit)
                    }
                });
            }
        }
        for &lit in &index.scan {
            if self.holds(lit) {
                self.fire(lit);
            }
        }
    }

    /// An anchor holds: its subfilters are candidates.
    fn fire(&mut self, lit: LitId) {
        let Some(entry) = self.index.lits.get(lit) else {
            return;
        };
        for &sub in &entry.anchored {
            self.candidate(sub, Some(lit));
        }
    }

    /// Verifies a candidate subfilter (its anchor, known to hold, is skipped).
    fn candidate(&mut self, sub_id: SubId, anchor: Option<LitId>) {
        let s = sub_id as usize;
        if self.sub_gen[s] == self.gen {
            return;
        }
        self.sub_gen[s] = self.gen;
        let Some(sub) = self.index.subs.get(sub_id) else {
            return;
        };
        for &lit in sub.literals.iter() {
            if Some(lit) != anchor && !self.holds(lit) {
                return;
            }
        }
        for &owner in &sub.owners {
            let o = owner as usize;
            if self.filter_gen[o] != self.gen {
                self.filter_gen[o] = self.gen;
                if let Some(f) = self.index.filters.get(owner) {
                    self.out.push(f.id);
                }
            }
        }
    }

    fn holds(&self, lit: LitId) -> bool {
        let Some(entry) = self.index.lits.get(lit) else {
            return false;
        };
        let condition = entry.literal.condition().as_ref();
        match condition {
            Condition::Match { value } => {
                let all = value.values().zip(entry.match_fields.iter()).all(|(wanted, &f)| {
                    self.value(f).is_some_and(|v| eval::match_value(wanted, v))
                });
                all != entry.literal.negated()
            }
            _ => eval::holds(condition, entry.literal.negated(), self.value(entry.field)),
        }
    }
}

/// Reuses a vector's allocation for another lifetime (the in-place `collect` keeps the buffer
/// of an emptied vector of same-layout items).
fn recycle<'a, 'b>(mut v: Vec<&'a Value>) -> Vec<&'b Value> {
    v.clear();
    v.into_iter().map(|_| -> &'b Value { unreachable_value() }).collect()
}

// The closure above is never called (the vector is empty); this keeps it total without
// `unreachable!()` in library code.
fn unreachable_value<'b>() -> &'b Value {
    &Value::Null
}

/// Per-thread matching state. Arrays are stamped with a generation number instead of being
/// cleared, so starting a document costs nothing.
#[derive(Default)]
struct Scratch {
    gen: u32,
    field_gen: Vec<u32>,
    field_pos: Vec<u32>,
    sub_gen: Vec<u32>,
    filter_gen: Vec<u32>,
    present: Vec<&'static Value>,
    touched: Vec<FieldId>,
    path: String,
}

impl Scratch {
    fn begin(&mut self, fields: usize, subs: usize, filters: usize) -> u32 {
        self.gen = self.gen.wrapping_add(1);
        if self.gen == 0 {
            // Wrapped: old stamps could collide; clear them once every 2^32 documents.
            self.field_gen.iter_mut().for_each(|g| *g = 0);
            self.sub_gen.iter_mut().for_each(|g| *g = 0);
            self.filter_gen.iter_mut().for_each(|g| *g = 0);
            self.gen = 1;
        }
        if self.field_gen.len() < fields {
            self.field_gen.resize(fields, 0);
            self.field_pos.resize(fields, 0);
        }
        if self.sub_gen.len() < subs {
            self.sub_gen.resize(subs, 0);
        }
        if self.filter_gen.len() < filters {
            self.filter_gen.resize(filters, 0);
        }
        self.gen
    }
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}
