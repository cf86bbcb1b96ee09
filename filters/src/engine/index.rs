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
//! Each subfilter is reached through **one** of its positive literals, its *anchor*: the one
//! least likely to hold for a random document (an `equals` on a field with many distinct
//! values beats `status: "active"`, a small geo circle beats a wide price range, anything beats
//! a regexp). Matching a document probes the per-field indexes of the fields present in it;
//! every anchor that holds yields the subfilters anchored on it as *candidates*, and only those
//! have their other literals checked. Work per document is thus proportional to the document
//! and to the candidates, not to the number of filters: a condition shared by thousands of
//! subfilters costs nothing unless it is their anchor. Plain condition counting (Koncorde)
//! touches every subfilter of every condition that holds.
//!
//! # The anchor tree
//!
//! When many subfilters share their best anchor (`category: "books"` with a thousand
//! different price ranges), the bucket of that anchor becomes a node of its own
//! ([`NEST_AT`]): its members are indexed again on their next best literal, and so on, a few
//! levels deep ([`MAX_NEST`]). A document reaches the nested node only when the anchor holds,
//! and then pays for the second-level probe instead of a thousand verifications. This is the
//! decision-tree idea of Quamina and of most production pub/sub matchers, built lazily where
//! the workload needs it.
//!
//! Subfilters without a positive literal left to anchor on (only negations, or the empty
//! filter) sit in the `always` list of their node: candidates whenever the node is reached
//! (at the root: for every document; they match most documents anyway, so the answer dominates
//! the cost).
//!
//! Anchor choice uses statistics that drift as filters arrive (how many distinct `equals`
//! values a field has, the spread of range bounds); each registration therefore also
//! re-examines the root anchors of a few subfilters in round-robin ([`REANCHOR_PER_WRITE`]),
//! which keeps anchors close to the best choice without ever pausing for a rebuild.
//!
//! # Per-field indexes (one set per node)
//!
//! `equals` anchors: a scalar map, looked up with the document's value. `exists`: a slot.
//! Array values of `exists f[v]`: a scalar map probed with each element. `range`: a stabbing
//! structure ([`RangeIndex`]). Geo anchors: grids of one-degree and thirty-degree cells and an
//! R-tree of conservative envelopes ([`GeoIndex`]), then the exact test on the parsed point.
//! `regexp`, `select` and `match` anchors: evaluated when the node is reached.
//!
//! # Candidates are verified in a batch
//!
//! Probing the tree only *collects* candidate subfilters; they are verified afterwards, in
//! one pass whose memory loads are issued a few candidates ahead (prefetch). A candidate is a
//! chain of dependent loads (its subfilter, then its filter) scattered over the index: verified
//! as its anchor fired, each waited for its cache misses in turn; batched, the misses overlap.
//! The root's buckets sit in an array indexed by literal id, so a fired anchor finds its
//! bucket without hashing.
//!
//! # Scratch
//!
//! Matching writes only to per-thread scratch (generation-stamped arrays, reused buffers), so
//! a document is matched without allocating, and any number of threads match concurrently
//! under a read lock.

use std::cell::{Cell, RefCell};
use std::hash::BuildHasher;
use std::sync::Arc;

use smallvec::SmallVec;

use serde_json::Value;

use super::fields::{FieldId, FieldTable};
use super::geo_index::GeoIndex;
use super::gram_index::GramIndex;
use super::range::RangeIndex;
use super::scalar_map::{EqualsIndex, ScalarMap};
use super::storage::{DenseMap, IdMap, ShardedTable, Slab};
use crate::condition::{Condition, Literal};
use crate::eval;
use crate::transform::{Canonical, FilterId};

type LitId = u32;
type SubId = u32;
type Slot = u32;

/// Subfilters whose anchor is re-examined at each registration.
pub const REANCHOR_PER_WRITE: usize = 2;

/// Marks "no field" (a `match` literal reads several).
const NO_FIELD: FieldId = FieldId::MAX;

struct LitEntry {
    condition: Arc<Condition>,
    negated: bool,
    /// Identity: the first 128 bits of SHA-256 of the literal's canonical key. The key itself
    /// is not kept (it would double the memory of small filters); a collision would need
    /// 2^64 work.
    digest: u128,
    field: FieldId,
    /// Fields of a `match` literal, in the argument's key order.
    match_fields: Box<[FieldId]>,
    /// Subfilters containing this literal.
    refs: u32,
    /// For geo literals: the share of the globe their envelope covers (computing an envelope
    /// is too slow to redo at every anchor decision).
    geo_area: f32,
}

impl LitEntry {
    /// The grams a positive regexp anchor is filed under in a field's gram index; `None` for
    /// anything else (other keywords, negations, patterns without grams: scanned).
    fn indexed_grams(&self) -> Option<&[u64]> {
        match self.condition.as_ref() {
            Condition::Regexp { pattern, .. } if !self.negated => pattern.grams(),
            _ => None,
        }
    }
}

struct SubEntry {
    literals: SmallVec<[LitId; 2]>,
    owners: SmallVec<[Slot; 1]>,
    /// Anchors followed from the root to the subfilter's place (all hold when it is reached).
    path: Path,
    /// In the `always` list of the node `path` leads to (else in the flat bucket of the last
    /// literal of `path`).
    in_always: bool,
    /// Position in that list.
    position: u32,
}

/// A node of the anchor tree.
struct Node {
    /// Per-field indexes by field id.
    fields: IdMap<Box<FieldIndex>>,
    /// Buckets by anchor literal.
    buckets: IdMap<Bucket>,
    /// Subfilters with no positive literal left to anchor on.
    always: Vec<SubId>,
}

/// The default node is the root: it holds most literals and fields, so its maps are dense
/// arrays (see [`IdMap`]); nested nodes are made by [`Node::nested`].
impl Default for Node {
    fn default() -> Self {
        Node {
            fields: IdMap::dense(),
            buckets: IdMap::dense(),
            always: Vec::new(),
        }
    }
}

impl Node {
    fn nested() -> Node {
        Node {
            fields: IdMap::hashed(),
            buckets: IdMap::hashed(),
            always: Vec::new(),
        }
    }

    fn is_empty(&self) -> bool {
        self.buckets.is_empty() && self.always.is_empty()
    }

    /// The index of a field, created if absent (`None` for [`NO_FIELD`], never a real field:
    /// a `match` literal reads several and never anchors, and a dense map would allocate up
    /// to it).
    fn field_index(&mut self, field: FieldId) -> Option<&mut FieldIndex> {
        if field == NO_FIELD {
            return None;
        }
        if self.fields.get(field).is_none() {
            self.fields.insert_new(field, Box::default());
        }
        self.fields.get_mut(field).map(|index| &mut **index)
    }
}

/// The subfilters anchored on one literal in one node.
enum Bucket {
    Flat(SmallVec<[SubId; 2]>),
    Nested(Box<Node>),
}

/// A flat bucket larger than this becomes a node of its own.
pub const NEST_AT: usize = 24;
/// Maximum depth of the anchor tree.
pub const MAX_NEST: usize = 4;

/// Per-field statistics driving anchor choice.
#[derive(Clone, Copy)]
struct FieldStats {
    /// Number of `equals` literals on the field (distinct values filters test).
    equals: u32,
    /// Smallest and largest finite range bound registered on the field.
    range_lo: f64,
    range_hi: f64,
}

impl Default for FieldStats {
    fn default() -> Self {
        FieldStats {
            equals: 0,
            range_lo: f64::INFINITY,
            range_hi: f64::NEG_INFINITY,
        }
    }
}

struct FilterEntry {
    id: FilterId,
    subfilters: SmallVec<[SubId; 1]>,
}

/// The anchors leading to a subfilter, inline (the tree is at most [`MAX_NEST`] deep).
#[derive(Clone, Copy, Default)]
struct Path {
    lits: [LitId; MAX_NEST],
    len: u8,
}

impl Path {
    fn new(lits: &[LitId]) -> Path {
        let mut path = Path::default();
        for (slot, &lit) in path.lits.iter_mut().zip(lits) {
            *slot = lit;
            path.len += 1;
        }
        path
    }

    #[inline]
    fn as_slice(&self) -> &[LitId] {
        &self.lits[..usize::from(self.len)]
    }
}

/// The per-field anchor indexes. The rarer ones are boxed and allocated with their first
/// anchor: a field index exists per field per node of the tree, and inline they made it
/// 816 bytes (a nested node holding one field cost 3 KB in its hash map).
#[derive(Default)]
struct FieldIndex {
    /// Which of the indexes below hold anything ([`Kinds`]): a probe tests one byte instead
    /// of visiting six structures spread over several cache lines.
    kinds: u8,
    equals: EqualsIndex,
    exists: Option<LitId>,
    array_values: Option<Box<ScalarMap<LitId>>>,
    ranges: Option<Box<RangeIndex>>,
    geo: Option<Box<GeoIndex>>,
    /// Regexps filed under the grams their matches contain.
    regexps: Option<Box<GramIndex>>,
    /// Anchors evaluated whenever the field is present (`select`, regexps without grams).
    scan: Vec<LitId>,
}

/// Bits of [`FieldIndex::kinds`].
struct Kinds;

impl Kinds {
    const EQUALS: u8 = 1;
    const EXISTS: u8 = 2;
    const ARRAY_VALUES: u8 = 4;
    const RANGES: u8 = 8;
    const GEO: u8 = 16;
    const SCAN: u8 = 32;
    const REGEXPS: u8 = 64;
}

impl FieldIndex {
    fn is_empty(&self) -> bool {
        self.kinds == 0
    }

    /// Recomputes [`FieldIndex::kinds`] (after every change), and frees the boxed indexes
    /// left empty.
    fn update_kinds(&mut self) {
        if self.array_values.as_ref().is_some_and(|m| m.is_empty()) {
            self.array_values = None;
        }
        if self.ranges.as_ref().is_some_and(|r| r.is_empty()) {
            self.ranges = None;
        }
        if self.geo.as_ref().is_some_and(|g| g.is_empty()) {
            self.geo = None;
        }
        if self.regexps.as_ref().is_some_and(|r| r.is_empty()) {
            self.regexps = None;
        }
        let bit = |present: bool, kind: u8| if present { kind } else { 0 };
        self.kinds = bit(!self.equals.is_empty(), Kinds::EQUALS)
            | bit(self.exists.is_some(), Kinds::EXISTS)
            | bit(self.array_values.is_some(), Kinds::ARRAY_VALUES)
            | bit(self.ranges.is_some(), Kinds::RANGES)
            | bit(self.geo.is_some(), Kinds::GEO)
            | bit(self.regexps.is_some(), Kinds::REGEXPS)
            | bit(!self.scan.is_empty(), Kinds::SCAN);
    }
}

/// Everything registered in one collection.
#[derive(Default)]
pub struct Index {
    fields: FieldTable,
    /// By field id (a dense map: growing never copies the statistics of every field).
    stats: DenseMap<FieldStats>,
    lits: Slab<LitEntry>,
    /// Literal ids by digest (the table stores ids only; keys live in the slabs).
    lit_by_digest: ShardedTable<LitId>,
    subs: Slab<SubEntry>,
    /// Subfilter ids by their literal ids.
    sub_by_literals: ShardedTable<SubId>,
    filters: Slab<FilterEntry>,
    /// Filter slots by filter id.
    filter_by_id: ShardedTable<Slot>,
    hasher: foldhash::fast::RandomState,
    root: Node,
    /// Round-robin cursor of anchor maintenance.
    sweep: u32,
    /// Emptied parts of the tree (nested nodes, per-field indexes) waiting to be freed by
    /// [`Index::take_garbage`]'s caller once the write lock is released: freeing a large one
    /// (a thousand table shards) takes milliseconds that readers need not wait for.
    garbage: Garbage,
}

/// Parts of the index to free outside the write lock.
#[derive(Default)]
pub struct Garbage(Vec<Box<dyn Send + Sync>>);

impl Garbage {
    fn push(&mut self, part: impl Send + Sync + 'static) {
        self.0.push(Box::new(part));
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The tables anchor-tree operations read (split from the tree so both can be borrowed).
struct Tables<'a> {
    lits: &'a Slab<LitEntry>,
    subs: &'a mut Slab<SubEntry>,
    stats: &'a DenseMap<FieldStats>,
    garbage: &'a mut Garbage,
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
        self.find_filter(id).is_some()
    }

    fn find_filter(&self, id: &FilterId) -> Option<Slot> {
        let filters = &self.filters;
        self.filter_by_id
            .find(filter_hash(id), |&slot| {
                filters.get(slot).is_some_and(|f| f.id == *id)
            })
            .copied()
    }

    /// Registers a canonical filter under its id; a known id is not stored twice.
    pub fn register(&mut self, id: FilterId, canonical: &Canonical) {
        self.drop_untaken_garbage();
        if self.contains(&id) {
            return;
        }
        let slot = self.filters.insert(FilterEntry {
            id,
            subfilters: SmallVec::new(),
        });
        let filters = &self.filters;
        self.filter_by_id
            .insert_unique(filter_hash(&id), slot, |&s| {
                filters.get(s).map_or(0, |f| filter_hash(&f.id))
            });
        let mut sub_ids = SmallVec::with_capacity(canonical.subfilters().len());
        for sub in canonical.subfilters() {
            let sub_id = self.acquire_subfilter(sub.literals());
            if let Some(entry) = self.subs.get_mut(sub_id) {
                entry.owners.push(slot);
            }
            sub_ids.push(sub_id);
        }
        if let Some(entry) = self.filters.get_mut(slot) {
            entry.subfilters = sub_ids;
        }
        for _ in 0..REANCHOR_PER_WRITE {
            self.maintain_next_anchor();
        }
    }

    /// Takes the parts of the index emptied by the last write, for the caller to drop once it
    /// has released the write lock ([`Engine`](super::Engine) does).
    pub fn take_garbage(&mut self) -> Garbage {
        std::mem::take(&mut self.garbage)
    }

    /// A caller that does not take the garbage gets it freed at its next write, so that it
    /// never accumulates.
    fn drop_untaken_garbage(&mut self) {
        if !self.garbage.is_empty() {
            self.garbage = Garbage::default();
        }
    }

    /// Removes a filter; returns whether it was registered. Everything only it used is freed
    /// (the largest parts through [`Index::take_garbage`]).
    pub fn remove(&mut self, id: &FilterId) -> bool {
        self.drop_untaken_garbage();
        let filters = &self.filters;
        let Some(slot) = self.filter_by_id.remove(filter_hash(id), |&slot| {
            filters.get(slot).is_some_and(|f| f.id == *id)
        }) else {
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
        true
    }

    fn acquire_subfilter(&mut self, literals: &[Literal]) -> SubId {
        let digests: SmallVec<[u128; 4]> = literals.iter().map(Literal::digest).collect();
        // Known literals only: a new literal means a new subfilter.
        let known: Option<SmallVec<[LitId; 2]>> =
            digests.iter().map(|&d| self.find_literal(d)).collect();
        if let Some(ids) = &known {
            if let Some(sub_id) = self.find_subfilter(ids) {
                return sub_id;
            }
        }
        let ids: SmallVec<[LitId; 2]> = literals
            .iter()
            .zip(&digests)
            .map(|(l, &d)| self.acquire_literal(l, d))
            .collect();
        let hash = self.hasher.hash_one(ids.as_slice());
        let sub_id = self.subs.insert(SubEntry {
            literals: ids,
            owners: SmallVec::new(),
            path: Path::default(),
            in_always: true,
            position: 0,
        });
        let (subs, hasher) = (&self.subs, &self.hasher);
        self.sub_by_literals.insert_unique(hash, sub_id, |&s| {
            subs.get(s)
                .map_or(0, |e| hasher.hash_one(e.literals.as_slice()))
        });
        self.attach(sub_id);
        sub_id
    }

    fn find_subfilter(&self, ids: &[LitId]) -> Option<SubId> {
        let subs = &self.subs;
        self.sub_by_literals
            .find(self.hasher.hash_one(ids), |&s| {
                subs.get(s).is_some_and(|e| e.literals.as_slice() == ids)
            })
            .copied()
    }

    fn release_subfilter(&mut self, sub_id: SubId) {
        self.detach(sub_id);
        let Some(sub) = self.subs.get(sub_id) else {
            return;
        };
        let hash = self.hasher.hash_one(sub.literals.as_slice());
        self.sub_by_literals.remove(hash, |&s| s == sub_id);
        let Some(sub) = self.subs.remove(sub_id) else {
            return;
        };
        for &lit in sub.literals.iter() {
            self.release_literal(lit);
        }
    }

    fn find_literal(&self, digest: u128) -> Option<LitId> {
        let lits = &self.lits;
        self.lit_by_digest
            .find(digest as u64, |&id| {
                lits.get(id).is_some_and(|l| l.digest == digest)
            })
            .copied()
    }

    fn acquire_literal(&mut self, literal: &Literal, digest: u128) -> LitId {
        let lits = &self.lits;
        if let Some(&id) = self.lit_by_digest.find(digest as u64, |&id| {
            lits.get(id).is_some_and(|l| l.digest == digest)
        }) {
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
        if field != NO_FIELD && self.stats.get(field).is_none() {
            self.stats.insert(field, FieldStats::default());
        }
        if let Some(stats) = self.stats.get_mut(field) {
            match condition {
                Condition::Equals { .. } => stats.equals += 1,
                Condition::Range { range, .. } => {
                    for bound in [range.lower, range.upper].into_iter().flatten() {
                        stats.range_lo = stats.range_lo.min(bound.value);
                        stats.range_hi = stats.range_hi.max(bound.value);
                    }
                }
                _ => {}
            }
        }
        let geo_area = match condition {
            Condition::Geo { shape, .. } => {
                let e = shape.envelope();
                if e.is_empty() {
                    0.0
                } else {
                    ((e.max_lat - e.min_lat) / 180.0 * ((e.max_lon - e.min_lon) / 360.0)) as f32
                }
            }
            _ => 0.0,
        };
        let id = self.lits.insert(LitEntry {
            condition: literal.condition().clone(),
            negated: literal.negated(),
            digest,
            field,
            match_fields,
            refs: 1,
            geo_area,
        });
        let lits = &self.lits;
        self.lit_by_digest.insert_unique(digest as u64, id, |&l| {
            lits.get(l).map_or(0, |e| e.digest as u64)
        });
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
        self.lit_by_digest.remove(entry.digest as u64, |&l| l == id);
        if let (Condition::Equals { .. }, Some(stats)) =
            (entry.condition.as_ref(), self.stats.get_mut(entry.field))
        {
            stats.equals -= 1;
        }
        if entry.field != NO_FIELD {
            self.fields.release(entry.field);
        }
        for &f in entry.match_fields.iter() {
            self.fields.release(f);
        }
    }

    // ---- anchors ---------------------------------------------------------------------------

    fn tables(&mut self) -> (&mut Node, Tables<'_>) {
        (
            &mut self.root,
            Tables {
                lits: &self.lits,
                subs: &mut self.subs,
                stats: &self.stats,
                garbage: &mut self.garbage,
            },
        )
    }

    /// Places a new subfilter in the anchor tree.
    fn attach(&mut self, sub_id: SubId) {
        let (root, mut tables) = self.tables();
        attach_at(root, &mut Vec::new(), sub_id, &mut tables);
    }

    /// Takes a subfilter out of the anchor tree.
    fn detach(&mut self, sub_id: SubId) {
        let Some(sub) = self.subs.get(sub_id) else {
            return;
        };
        let (path, in_always, position) = (sub.path, sub.in_always, sub.position);
        let (root, mut tables) = self.tables();
        detach_at(
            root,
            path.as_slice(),
            in_always,
            position,
            sub_id,
            &mut tables,
        );
    }

    /// Re-examines the root anchor of the next subfilter of the round-robin.
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
        let tables = Tables {
            lits: &self.lits,
            subs: &mut Slab::default(),
            stats: &self.stats,
            garbage: &mut Garbage::default(),
        };
        let current = sub.path.as_slice().first().copied();
        let best = tables.best_anchor(&sub.literals, &[]);
        let score = |l: Option<LitId>| l.and_then(|l| tables.anchor_score(l)).unwrap_or(f64::MAX);
        // Move only for a clear gain, so that anchors do not flap.
        if best != current && score(best) * 2.0 < score(current) {
            self.detach(sub_id);
            self.attach(sub_id);
        }
    }

    /// A human-readable summary of the index: sizes, anchors by keyword, and the largest flat
    /// buckets (where candidates come from). For sizing and diagnosing workloads.
    pub fn summary(&self) -> String {
        let mut nodes = 0usize;
        let mut always = 0usize;
        let mut buckets: Vec<(usize, LitId, usize)> = Vec::new();
        let mut stack = vec![(&self.root, 0usize)];
        while let Some((node, depth)) = stack.pop() {
            nodes += 1;
            always += node.always.len();
            for (lit, bucket) in node.buckets.iter() {
                match bucket {
                    Bucket::Flat(subs) => buckets.push((subs.len(), lit, depth)),
                    Bucket::Nested(child) => stack.push((child, depth + 1)),
                }
            }
        }
        buckets.sort_unstable_by_key(|b| std::cmp::Reverse(b.0));
        let mut s = format!(
            "filters {} subfilters {} literals {} fields {} anchor nodes {} flat buckets {} unanchored {} (root {})",
            self.filters.len(),
            self.subs.len(),
            self.lits.len(),
            self.fields.capacity(),
            nodes,
            buckets.len(),
            always,
            self.root.always.len(),
        );
        s.push_str("\nlargest flat buckets (size, depth, anchor):");
        for (n, lit, depth) in buckets.iter().take(8) {
            let key = self.lits.get(*lit).map_or(String::from("?"), |l| {
                Literal::new(l.condition.clone(), l.negated)
                    .key()
                    .to_string()
            });
            s.push_str(&format!("\n  {n:>7} {depth} {key}"));
        }
        s
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
            Err(_) => self.test_with(doc, &mut Scratch::new(), out),
        });
    }

    fn test_with(&self, doc: &Value, scratch: &mut Scratch, out: &mut Vec<FilterId>) {
        let gen = scratch.begin(
            self.fields.capacity(),
            self.filters.capacity(),
            self.lits.capacity(),
        );
        let Scratch {
            field_gen,
            field_pos,
            filter_gen,
            lit_cache,
            present,
            touched,
            path,
            pending,
            owners,
            gram_hits,
            gram_seen,
            ..
        } = scratch;
        let mut values: Vec<&Value> = recycle(std::mem::take(present));
        touched.clear();
        pending.clear();
        owners.clear();
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
        if touched.is_empty() && self.root.always.is_empty() {
            // The document has no field any anchor reads: nothing can match.
            *present = recycle(values);
            return;
        }
        let mut ctx = Ctx {
            index: self,
            gen,
            field_gen,
            field_pos,
            values: &values,
            touched,
            filter_gen,
            lit_cache,
            pending,
            owners,
            gram_hits,
            gram_seen,
            out,
        };
        ctx.probe_node(&self.root);
        ctx.verify_pending();
        *present = recycle(values);
    }
}

impl Tables<'_> {
    /// Estimated cost of anchoring on a literal: roughly the probability that it holds for a
    /// document, plus a surcharge for anchors evaluated whenever their node is reached.
    /// `None`: cannot anchor (negated, or `match`, which has no single field).
    fn anchor_score(&self, lit: LitId) -> Option<f64> {
        let entry = self.lits.get(lit)?;
        if entry.negated || entry.field == NO_FIELD {
            return None;
        }
        let stats = self.stats.get(entry.field).copied().unwrap_or_default();
        Some(match entry.condition.as_ref() {
            Condition::Equals { .. } => 1.0 / (1.0 + f64::from(stats.equals)),
            Condition::Exists { value: None, .. } => 0.9,
            Condition::Exists { value: Some(_), .. } => 0.3,
            Condition::Range { range, .. } => {
                // Share of the field's registered bounds the range covers. Document values are
                // rarely spread evenly, so the estimate has a floor: an equality on a diverse
                // field stays preferred, and the range is indexed in its nested node.
                let span = stats.range_hi - stats.range_lo;
                let lo = range.lower.map_or(stats.range_lo, |b| b.value);
                let hi = range.upper.map_or(stats.range_hi, |b| b.value);
                if span > 0.0 && span.is_finite() {
                    ((hi - lo) / span).clamp(0.05, 1.0)
                } else {
                    0.5
                }
            }
            // Documents and subscriptions cluster where people are (many circles around the
            // same cities): area alone says little, so the estimate has the same floor as
            // ranges, and an equality on a diverse field is preferred.
            Condition::Geo { .. } => (f64::from(entry.geo_area) * 50.0).clamp(0.05, 0.8),
            Condition::Select { .. } => 1.2,
            // Filed under its grams, a regexp is a candidate only for strings containing one;
            // otherwise it runs on every document that has the field.
            Condition::Regexp { .. } if entry.indexed_grams().is_some() => 0.2,
            Condition::Regexp { .. } => 1.5,
            Condition::Match { .. } => return None,
        })
    }

    /// The best anchor among `literals`, leaving out those already on the path.
    fn best_anchor(&self, literals: &[LitId], path: &[LitId]) -> Option<LitId> {
        let mut best: Option<(f64, LitId)> = None;
        for &lit in literals {
            if path.contains(&lit) {
                continue;
            }
            if let Some(score) = self.anchor_score(lit) {
                if best.is_none_or(|(s, _)| score < s) {
                    best = Some((score, lit));
                }
            }
        }
        best.map(|(_, lit)| lit)
    }

    fn place(&mut self, sub_id: SubId, path: &[LitId], in_always: bool, position: usize) {
        if let Some(sub) = self.subs.get_mut(sub_id) {
            sub.path = Path::new(path);
            sub.in_always = in_always;
            sub.position = position as u32;
        }
    }

    fn set_position(&mut self, sub_id: SubId, position: usize) {
        if let Some(sub) = self.subs.get_mut(sub_id) {
            sub.position = position as u32;
        }
    }
}

/// Places a subfilter in `node` (reached through `path`): under its best remaining anchor, or
/// in the node's `always` list.
fn attach_at(node: &mut Node, path: &mut Vec<LitId>, sub_id: SubId, tables: &mut Tables<'_>) {
    let Some(literals) = tables.subs.get(sub_id).map(|s| s.literals.clone()) else {
        return;
    };
    let Some(anchor) = tables.best_anchor(&literals, path) else {
        node.always.push(sub_id);
        tables.place(sub_id, path, true, node.always.len() - 1);
        return;
    };
    if node.buckets.get(anchor).is_none() {
        index_literal(node, anchor, tables.lits);
        node.buckets
            .insert_new(anchor, Bucket::Flat(SmallVec::new()));
    }
    path.push(anchor);
    if let Some(bucket) = node.buckets.get_mut(anchor) {
        match bucket {
            Bucket::Flat(members) => {
                members.push(sub_id);
                tables.place(sub_id, path, false, members.len() - 1);
                if members.len() > NEST_AT && path.len() < MAX_NEST {
                    let members = std::mem::take(members);
                    let mut child = Node::nested();
                    for member in members {
                        attach_at(&mut child, path, member, tables);
                    }
                    *bucket = Bucket::Nested(Box::new(child));
                }
            }
            Bucket::Nested(child) => attach_at(child, path, sub_id, tables),
        }
    }
    path.pop();
}

/// Removes a subfilter from the tree below `node`; returns whether `node` is left empty.
fn detach_at(
    node: &mut Node,
    path: &[LitId],
    in_always: bool,
    position: u32,
    sub_id: SubId,
    tables: &mut Tables<'_>,
) -> bool {
    let position = position as usize;
    match path {
        [] => {
            if node.always.get(position) == Some(&sub_id) {
                node.always.swap_remove(position);
                if let Some(&moved) = node.always.get(position) {
                    tables.set_position(moved, position);
                }
            }
        }
        [anchor, rest @ ..] => {
            let emptied = match node.buckets.get_mut(*anchor) {
                Some(Bucket::Flat(members)) if rest.is_empty() && !in_always => {
                    if members.get(position) == Some(&sub_id) {
                        members.swap_remove(position);
                        if let Some(&moved) = members.get(position) {
                            tables.set_position(moved, position);
                        }
                    }
                    members.is_empty()
                }
                Some(Bucket::Nested(child)) => {
                    detach_at(child, rest, in_always, position as u32, sub_id, tables)
                }
                _ => false,
            };
            if emptied {
                if let Some(Bucket::Nested(child)) = node.buckets.remove(*anchor) {
                    tables.garbage.push(child);
                }
                unindex_literal(node, *anchor, tables);
            }
        }
    }
    node.is_empty()
}

/// Puts a literal in its node's field index (it just became an anchor there).
fn index_literal(node: &mut Node, lit: LitId, lits: &Slab<LitEntry>) {
    let Some(entry) = lits.get(lit) else {
        return;
    };
    let Some(index) = node.field_index(entry.field) else {
        return;
    };
    // Positive regexps with grams go to the gram index (first arm), other regexps are scanned.
    match (entry.condition.as_ref(), entry.indexed_grams()) {
        (_, Some(grams)) => index.regexps.get_or_insert_default().insert(grams, lit),
        (Condition::Equals { value, .. }, _) => {
            index.equals.insert(value, lit, |l| equals_value(lits, l));
        }
        (Condition::Exists { value: None, .. }, _) => index.exists = Some(lit),
        (Condition::Exists { value: Some(v), .. }, _) => {
            if let Some(s) = crate::scalar::Scalar::from_json(v) {
                index.array_values.get_or_insert_default().insert(&s, lit);
            }
        }
        (Condition::Range { range, .. }, _) => {
            index.ranges.get_or_insert_default().insert(*range, lit)
        }
        (Condition::Geo { shape, .. }, _) => index.geo.get_or_insert_default().insert(shape, lit),
        (Condition::Regexp { .. } | Condition::Select { .. } | Condition::Match { .. }, _) => {
            index.scan.push(lit)
        }
    }
    index.update_kinds();
}

fn unindex_literal(node: &mut Node, lit: LitId, tables: &mut Tables<'_>) {
    let Some(entry) = tables.lits.get(lit) else {
        return;
    };
    let Some(index) = node.fields.get_mut(entry.field).map(|index| &mut **index) else {
        return;
    };
    // Positive regexps with grams go to the gram index (first arm), other regexps are scanned.
    match (entry.condition.as_ref(), entry.indexed_grams()) {
        (_, Some(grams)) => {
            if let Some(regexps) = index.regexps.as_mut() {
                regexps.remove(grams, lit);
            }
        }
        (Condition::Equals { value, .. }, _) => {
            index.equals.remove(value, lit);
        }
        (Condition::Exists { value: None, .. }, _) => index.exists = None,
        (Condition::Exists { value: Some(v), .. }, _) => {
            if let Some(s) = crate::scalar::Scalar::from_json(v) {
                if let Some(values) = index.array_values.as_mut() {
                    values.remove(&s);
                }
            }
        }
        (Condition::Range { range, .. }, _) => {
            if let Some(ranges) = index.ranges.as_mut() {
                ranges.remove(range, lit);
            }
        }
        (Condition::Geo { shape, .. }, _) => {
            if let Some(geo) = index.geo.as_mut() {
                geo.remove(shape, lit);
            }
        }
        (Condition::Regexp { .. } | Condition::Select { .. } | Condition::Match { .. }, _) => {
            index.scan.retain(|&l| l != lit)
        }
    }
    index.update_kinds();
    if index.is_empty() {
        if let Some(index) = node.fields.remove(entry.field) {
            tables.garbage.push(index);
        }
    }
}

/// Borrowed state of one `test` call.
struct Ctx<'a, 'd> {
    index: &'a Index,
    gen: u32,
    field_gen: &'a [u32],
    field_pos: &'a [u32],
    values: &'a [&'d Value],
    touched: &'a [FieldId],
    filter_gen: &'a mut [u32],
    /// Per literal: `gen << 1 | result` when evaluated for this document.
    lit_cache: &'a [Cell<u32>],
    /// Candidate subfilters, verified once the tree is probed (see [`Ctx::verify_pending`]).
    pending: &'a mut Vec<SubId>,
    /// Slots of the matched filters, their ids output last.
    owners: &'a mut Vec<Slot>,
    /// Regexp anchors found by gram, per probe: a stack, since firing an anchor can probe a
    /// nested node, which pushes its own above and pops them before returning.
    gram_hits: &'a mut Vec<LitId>,
    gram_seen: &'a mut GramStamps,
    out: &'a mut Vec<FilterId>,
}

/// How many items ahead of the one being processed a batch prefetches: enough to cover a
/// cache miss with the work of the items in between, few enough to stay in the L1 cache.
const PREFETCH_AHEAD: usize = 8;

impl<'a, 'd> Ctx<'a, 'd> {
    #[inline]
    fn value(&self, field: FieldId) -> Option<&'d Value> {
        let f = field as usize;
        if self.field_gen.get(f) == Some(&self.gen) {
            self.values.get(self.field_pos[f] as usize).copied()
        } else {
            None
        }
    }

    /// Probes a node: its field indexes against the document, then its `always` list.
    fn probe_node(&mut self, node: &'a Node) {
        match &node.fields {
            // A nested node indexing fewer fields than the document has: visit its fields.
            IdMap::Hashed(table) if table.len() <= self.touched.len() => {
                for (field, index) in table.iter() {
                    if let Some(value) = self.value(*field) {
                        self.probe(node, index, value);
                    }
                }
            }
            fields => {
                for i in 0..self.touched.len() {
                    let field = self.touched[i];
                    if let (Some(index), Some(value)) = (fields.get(field), self.value(field)) {
                        self.probe(node, index, value);
                    }
                }
            }
        }
        self.pending.extend_from_slice(&node.always);
    }

    fn probe(&mut self, node: &'a Node, index: &'a FieldIndex, value: &'d Value) {
        let kinds = index.kinds;
        if kinds & Kinds::EQUALS != 0 {
            let lits = &self.index.lits;
            if let Some(lit) = index.equals.get(value, |l| equals_value(lits, l)) {
                self.fire(node, lit);
            }
        }
        if kinds & Kinds::EXISTS != 0 {
            if let Some(lit) = index.exists {
                self.fire(node, lit);
            }
        }
        // The boxed indexes exist only while they hold anchors.
        if let Some(values) = &index.array_values {
            if let Value::Array(items) = value {
                for item in items {
                    if let Some(&lit) = values.get(item) {
                        self.fire(node, lit);
                    }
                }
            }
        }
        if let Some(ranges) = &index.ranges {
            if let Some(x) = value.as_f64() {
                ranges.stab(x, |lit| self.fire(node, lit));
            }
        }
        if let Some(geo) = &index.geo {
            if crate::transform::is_truthy(value) {
                if let Some(point) = crate::geo::parse_point(value) {
                    // Candidates are decided by the exact shape test, unless their covering
                    // puts the point deep inside the shape.
                    geo.locate(point, |lit, inside| {
                        if inside || self.holds_at(lit, point) {
                            self.fire(node, lit)
                        }
                    });
                }
            }
        }
        if let (Some(regexps), Value::String(text)) = (&index.regexps, value) {
            // Each candidate once, however often its grams occur: stamped with this probe's
            // serial number as it is collected.
            let serial = self.gram_seen.next_serial();
            let start = self.gram_hits.len();
            let (seen, hits) = (&mut self.gram_seen.stamps, &mut *self.gram_hits);
            regexps.for_each_candidate(text, |lit| {
                if let Some(stamp) = seen.get_mut(lit as usize) {
                    if *stamp != serial {
                        *stamp = serial;
                        hits.push(lit);
                    }
                }
            });
            for i in start..self.gram_hits.len() {
                let lit = self.gram_hits[i];
                if self.holds(lit) {
                    self.fire(node, lit);
                }
            }
            self.gram_hits.truncate(start);
        }
        if kinds & Kinds::SCAN != 0 {
            for &lit in &index.scan {
                if self.holds(lit) {
                    self.fire(node, lit);
                }
            }
        }
    }

    /// An anchor holds: its subfilters are candidates, or its nested node is probed.
    fn fire(&mut self, node: &'a Node, lit: LitId) {
        match node.buckets.get(lit) {
            // One member is the usual case: a push, not a `memcpy` call.
            Some(Bucket::Flat(members)) => match members.as_slice() {
                [one] => self.pending.push(*one),
                many => self.pending.extend_from_slice(many),
            },
            Some(Bucket::Nested(child)) => self.probe_node(child),
            None => {}
        }
    }

    /// Verifies the candidates, then outputs the matched filters' ids.
    ///
    /// Candidates are scattered in memory, and each costs a chain of dependent loads (the
    /// subfilter, then its filter): visited one by one as anchors fire, every match waited for
    /// a cache miss or two. Collected first, they are visited in batches whose loads are
    /// issued ahead ([`PREFETCH_AHEAD`]), so the misses overlap.
    fn verify_pending(&mut self) {
        let pending = std::mem::take(self.pending);
        let subs = &self.index.subs;
        for &sub in pending.iter().take(PREFETCH_AHEAD) {
            subs.prefetch(sub);
        }
        for (i, &sub) in pending.iter().enumerate() {
            if let Some(&ahead) = pending.get(i + PREFETCH_AHEAD) {
                subs.prefetch(ahead);
            }
            self.candidate(sub);
        }
        *self.pending = pending;
        let filters = &self.index.filters;
        for (i, &owner) in self.owners.iter().enumerate() {
            if let Some(&ahead) = self.owners.get(i + PREFETCH_AHEAD) {
                filters.prefetch(ahead);
            }
            if let Some(f) = filters.get(owner) {
                self.out.push(f.id);
            }
        }
    }

    /// Verifies a candidate subfilter (the anchors on its path, known to hold, are skipped).
    ///
    /// A subfilter sits in exactly one place of the tree, so it is a candidate once per
    /// document (twice only when an anchor fires twice: a duplicated array element, a shape
    /// whose envelope wraps the antimeridian): no per-subfilter stamp is needed, which saves a
    /// random memory access per candidate. Filters are deduplicated on output.
    fn candidate(&mut self, sub_id: SubId) {
        let Some(sub) = self.index.subs.get(sub_id) else {
            return;
        };
        for &lit in sub.literals.iter() {
            if !sub.path.as_slice().contains(&lit) && !self.holds(lit) {
                return;
            }
        }
        for &owner in &sub.owners {
            let o = owner as usize;
            if self.filter_gen[o] != self.gen {
                self.filter_gen[o] = self.gen;
                self.owners.push(owner);
            }
        }
    }

    /// Whether a literal holds for the document. Results are cached per document: literals
    /// shared by many candidates (`status == "active"`, `not country == "FR"`) are evaluated
    /// once, and a cache hit touches one small array instead of the literal, its condition and
    /// its value.
    fn holds(&self, lit: LitId) -> bool {
        self.cached(lit, || self.evaluate(lit))
    }

    /// [`Ctx::holds`] for a geo literal on the field whose value is the (truthy) geopoint
    /// `point`: the same answer as `eval::holds`, without parsing the point again for every
    /// candidate shape.
    fn holds_at(&self, lit: LitId, point: crate::geo::Point) -> bool {
        self.cached(lit, || match self.index.lits.get(lit) {
            Some(LitEntry {
                condition, negated, ..
            }) => match condition.as_ref() {
                Condition::Geo { shape, .. } => shape.contains(point) != *negated,
                _ => self.evaluate(lit),
            },
            None => false,
        })
    }

    /// The literal's result for this document from the cache, or `compute`d and cached.
    #[inline]
    fn cached(&self, lit: LitId, compute: impl FnOnce() -> bool) -> bool {
        let Some(cached) = self.lit_cache.get(lit as usize) else {
            return false;
        };
        let stamp = cached.get();
        if stamp >> 1 == self.gen {
            return stamp & 1 == 1;
        }
        let result = compute();
        cached.set(self.gen << 1 | u32::from(result));
        result
    }

    fn evaluate(&self, lit: LitId) -> bool {
        let Some(entry) = self.index.lits.get(lit) else {
            return false;
        };
        let condition = entry.condition.as_ref();
        match condition {
            Condition::Match { value } => {
                let all = value
                    .values()
                    .zip(entry.match_fields.iter())
                    .all(|(wanted, &f)| {
                        self.value(f).is_some_and(|v| eval::match_value(wanted, v))
                    });
                all != entry.negated
            }
            _ => eval::holds(condition, entry.negated, self.value(entry.field)),
        }
    }
}

/// Reuses a vector's allocation for another lifetime (the in-place `collect` keeps the buffer
/// of an emptied vector of same-layout items).
fn recycle<'a, 'b>(mut v: Vec<&'a Value>) -> Vec<&'b Value> {
    v.clear();
    v.into_iter()
        .map(|_| -> &'b Value { &Value::Null })
        .collect()
}

/// Per-thread matching state. Arrays are stamped with a generation number instead of being
/// cleared, so starting a document costs nothing.
struct Scratch {
    gen: u32,
    /// The `(fields, filters, literals)` capacities the arrays were last fitted to: while they
    /// do not change, starting a document skips the fitting.
    fitted: (usize, usize, usize),
    field_gen: Vec<u32>,
    field_pos: Vec<u32>,
    filter_gen: Vec<u32>,
    lit_cache: Vec<Cell<u32>>,
    present: Vec<&'static Value>,
    touched: Vec<FieldId>,
    path: String,
    pending: Vec<SubId>,
    owners: Vec<Slot>,
    gram_hits: Vec<LitId>,
    gram_seen: GramStamps,
}

/// Per literal, the serial number of the last gram-index probe that collected it. Unlike the
/// per-document generation, the serial changes at every probe: a document probes a field's
/// gram index once per node of the tree that indexes regexps on that field.
struct GramStamps {
    serial: u32,
    stamps: Vec<u32>,
}

impl GramStamps {
    #[inline]
    fn next_serial(&mut self) -> u32 {
        self.serial = self.serial.wrapping_add(1);
        if self.serial == 0 {
            // Once every 2^32 probes: old stamps could collide.
            self.stamps.iter_mut().for_each(|s| *s = 0);
            self.serial = 1;
        }
        self.serial
    }
}

impl Scratch {
    const fn new() -> Scratch {
        Scratch {
            gen: 0,
            fitted: (0, 0, 0),
            field_gen: Vec::new(),
            field_pos: Vec::new(),
            filter_gen: Vec::new(),
            lit_cache: Vec::new(),
            present: Vec::new(),
            touched: Vec::new(),
            path: String::new(),
            pending: Vec::new(),
            owners: Vec::new(),
            gram_hits: Vec::new(),
            gram_seen: GramStamps {
                serial: 0,
                stamps: Vec::new(),
            },
        }
    }

    #[inline]
    fn begin(&mut self, fields: usize, filters: usize, lits: usize) -> u32 {
        self.gen += 1;
        // Stamps hold 31 bits of generation (the literal cache keeps a result bit beside it).
        if self.gen >= 1 << 31 {
            self.wrap();
        }
        if self.fitted != (fields, filters, lits) {
            self.fit(fields, filters, lits);
        }
        self.gen
    }

    /// The generation wrapped: old stamps could collide; clear them (once every 2^31
    /// documents).
    #[cold]
    fn wrap(&mut self) {
        self.lit_cache.iter().for_each(|c| c.set(0));
        self.field_gen.iter_mut().for_each(|g| *g = 0);
        self.filter_gen.iter_mut().for_each(|g| *g = 0);
        self.gen = 1;
    }

    /// Fits the arrays to the index being matched.
    #[cold]
    fn fit(&mut self, fields: usize, filters: usize, lits: usize) {
        self.fitted = (fields, filters, lits);
        fit(&mut self.field_gen, fields);
        fit(&mut self.field_pos, fields);
        fit(&mut self.filter_gen, filters);
        fit(&mut self.gram_seen.stamps, lits);
        if self.lit_cache.len() < lits {
            self.lit_cache.resize_with(lits, || Cell::new(0));
        } else if self.lit_cache.len() > 4 * lits.max(1024) {
            self.lit_cache.truncate(lits);
            self.lit_cache.shrink_to_fit();
        }
    }
}

/// Grows a stamp array to `len`, or gives memory back when it is far larger than needed (the
/// collections this thread matches have shrunk).
fn fit(stamps: &mut Vec<u32>, len: usize) {
    if stamps.len() < len {
        stamps.resize(len, 0);
    } else if stamps.len() > 4 * len.max(1024) {
        stamps.truncate(len);
        stamps.shrink_to_fit();
    }
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = const { RefCell::new(Scratch::new()) };
}

/// Hash of a filter id for the slot table (ids are SHA-256 already: any 8 bytes will do).
fn filter_hash(id: &FilterId) -> u64 {
    let bytes = id.as_bytes();
    u64::from_le_bytes([
        bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
    ])
}

/// The value of an `equals` literal.
#[inline]
fn equals_value(lits: &Slab<LitEntry>, lit: LitId) -> Option<&crate::scalar::Scalar> {
    match lits.get(lit)?.condition.as_ref() {
        Condition::Equals { value, .. } => Some(value),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The slabs' free list must not cost memory per entry (the memory target is per filter).
    #[test]
    fn slab_entries_have_no_free_slot_overhead() {
        use super::super::storage::slot_overhead;
        assert_eq!(slot_overhead::<LitEntry>(), 0);
        assert_eq!(slot_overhead::<SubEntry>(), 0);
        assert_eq!(slot_overhead::<FilterEntry>(), 0);
    }

    /// Emptied nested nodes and field indexes are handed over as garbage (to be freed outside
    /// the write lock), and the index keeps answering right meanwhile.
    #[test]
    fn emptied_parts_become_garbage() {
        use serde_json::json;
        let normalize =
            |f: Value| crate::normalize(&f, &crate::Options::default()).expect("a valid filter");
        // More than NEST_AT subfilters anchored on `cat == "x"`: a nested node.
        let nested: Vec<_> = (0..2 * NEST_AT)
            .map(|i| {
                normalize(json!({"and": [{"equals": {"cat": "x"}}, {"exists": format!("f{i}")}]}))
            })
            .collect();
        let plain = normalize(json!({"equals": {"id": 7}}));
        let mut index = Index::default();
        for n in nested.iter().chain([&plain]) {
            index.register(n.id, &n.canonical);
        }
        assert!(index.take_garbage().is_empty());
        let doc = json!({"cat": "x", "f3": 1, "id": 7});
        let matched = |index: &Index| {
            let mut out = Vec::new();
            index.test(&doc, &mut out);
            out.sort();
            out
        };
        let mut both = vec![nested[3].id, plain.id];
        both.sort();
        assert_eq!(matched(&index), both);
        for n in &nested {
            assert!(index.remove(&n.id));
        }
        let garbage = index.take_garbage();
        // The nested node, and the field indexes of `cat` and of the `f{i}` fields.
        assert!(garbage.0.len() >= 2, "{} parts", garbage.0.len());
        drop(garbage);
        assert!(index.take_garbage().is_empty());
        assert_eq!(matched(&index), vec![plain.id]);
        assert!(index.remove(&plain.id));
        assert!(matched(&index).is_empty());
    }
}
