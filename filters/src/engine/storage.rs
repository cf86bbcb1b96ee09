//! Storage that grows without stalling readers.
//!
//! Registration runs under the collection's write lock, so anything it does blocks matching
//! for that long. Plain vectors and hash tables occasionally grow by moving *everything*: a
//! vector reallocates and copies, a hash table rehashes every entry, and at a million filters
//! either takes milliseconds. The containers here bound the work of any single call:
//!
//! * [`Slab`] stores items in fixed-size chunks: growing allocates one new chunk and never
//!   moves an existing item; freeing an id allocates nothing.
//! * [`ShardedTable`] is a hashbrown `HashTable` that, past [`SPLIT_AT`] entries, splits into
//!   [`SHARDS`] independent tables chosen by bits of the hash, so that no table (whose
//!   allocation initializes a control byte per bucket) grows huge. Every table, before and
//!   after the split, grows *incrementally* ([`Growing`]): when it is full, a table twice as
//!   large takes the new entries and each insertion moves a few entries of the old one
//!   ([`MIGRATE_PER_INSERT`]). The split itself moves entries the same way. No call rehashes
//!   more than a few entries, whatever the size: the price is a second probe, into the old
//!   table, for lookups that miss while a move is under way.

use hashbrown::HashTable;

/// Items per slab chunk (small enough that a new chunk, whose pages are first touched when it
/// is initialized, costs a few page faults).
const CHUNK: usize = 256;

/// A slab: dense `u32` ids, freed ids reused, items never moved once stored.
///
/// Free slots form a list threaded through the slots themselves, so removing never allocates
/// (a separate list of free ids must grow, and an allocation under the write lock can be
/// where the system allocator chooses to sort its bins: milliseconds, measured). A slot costs
/// what an `Option<T>` would: the link fits beside the item's niche.
pub(crate) struct Slab<T> {
    chunks: Vec<Box<[Slot<T>]>>,
    /// Slots handed out so far (ids below this exist).
    used: usize,
    /// First free slot ([`NO_SLOT`]: none).
    free: u32,
    len: usize,
}

enum Slot<T> {
    Full(T),
    /// A free slot, and the next free one.
    Free(u32),
}

const NO_SLOT: u32 = u32::MAX;

impl<T> Default for Slab<T> {
    fn default() -> Self {
        Slab {
            chunks: Vec::new(),
            used: 0,
            free: NO_SLOT,
            len: 0,
        }
    }
}

impl<T> Slab<T> {
    pub fn insert(&mut self, item: T) -> u32 {
        let head = self.free;
        let id = match self.slot_mut(head as usize) {
            Some(slot) => {
                if let Slot::Free(next) = std::mem::replace(slot, Slot::Full(item)) {
                    self.free = next;
                }
                head
            }
            None => {
                if self.used == self.chunks.len() * CHUNK {
                    self.chunks
                        .push((0..CHUNK).map(|_| Slot::Free(NO_SLOT)).collect());
                }
                self.used += 1;
                let id = self.used - 1;
                if let Some(slot) = self.slot_mut(id) {
                    *slot = Slot::Full(item);
                }
                id as u32
            }
        };
        self.len += 1;
        id
    }

    pub fn remove(&mut self, id: u32) -> Option<T> {
        let head = self.free;
        let slot = self.slot_mut(id as usize)?;
        match std::mem::replace(slot, Slot::Free(head)) {
            Slot::Full(item) => {
                self.free = id;
                self.len -= 1;
                Some(item)
            }
            vacant => {
                *slot = vacant;
                None
            }
        }
    }

    #[inline]
    pub fn get(&self, id: u32) -> Option<&T> {
        let id = id as usize;
        match self.chunks.get(id / CHUNK)?.get(id % CHUNK)? {
            Slot::Full(item) => Some(item),
            Slot::Free(_) => None,
        }
    }

    pub fn get_mut(&mut self, id: u32) -> Option<&mut T> {
        match self.slot_mut(id as usize)? {
            Slot::Full(item) => Some(item),
            Slot::Free(_) => None,
        }
    }

    /// Asks the CPU to bring an item into cache (without reading it, so nothing waits): a
    /// caller about to visit many items at random issues all their loads at once.
    #[inline]
    pub fn prefetch(&self, id: u32) {
        let id = id as usize;
        if let Some(slot) = self.chunks.get(id / CHUNK).and_then(|c| c.get(id % CHUNK)) {
            prefetch(slot);
        }
    }

    fn slot_mut(&mut self, id: usize) -> Option<&mut Slot<T>> {
        self.chunks.get_mut(id / CHUNK)?.get_mut(id % CHUNK)
    }

    /// An upper bound of every id.
    pub fn capacity(&self) -> usize {
        self.used
    }

    pub fn len(&self) -> usize {
        self.len
    }
}

/// What a slot costs beyond an `Option<T>` (nothing, for the index's items: the link sits
/// beside the niche that marks a free slot).
#[cfg(test)]
pub(crate) fn slot_overhead<T>() -> usize {
    std::mem::size_of::<Slot<T>>() - std::mem::size_of::<Option<T>>()
}

/// Items per chunk of a [`DenseMap`].
const DENSE_CHUNK: usize = 256;

/// A map from dense `u32` keys to items, as an array of chunks: a lookup is two dependent
/// loads and no hashing, growing never moves an item, and a chunk left empty is freed. It
/// costs a slot per key below the largest one, so it suits maps holding most of their key
/// space (the root of the anchor tree holds the anchors of most literals).
pub(crate) struct DenseMap<T> {
    chunks: Vec<Option<DenseChunk<T>>>,
    len: usize,
}

/// A chunk's items and how many are there.
type DenseChunk<T> = (Box<[Option<T>]>, usize);

impl<T> Default for DenseMap<T> {
    fn default() -> Self {
        DenseMap {
            chunks: Vec::new(),
            len: 0,
        }
    }
}

impl<T> DenseMap<T> {
    #[inline]
    pub fn get(&self, key: u32) -> Option<&T> {
        let key = key as usize;
        let (items, _) = self.chunks.get(key / DENSE_CHUNK)?.as_ref()?;
        items.get(key % DENSE_CHUNK)?.as_ref()
    }

    pub fn get_mut(&mut self, key: u32) -> Option<&mut T> {
        let key = key as usize;
        let (items, _) = self.chunks.get_mut(key / DENSE_CHUNK)?.as_mut()?;
        items.get_mut(key % DENSE_CHUNK)?.as_mut()
    }

    /// Stores an item under a key; returns the item it replaces.
    pub fn insert(&mut self, key: u32, item: T) -> Option<T> {
        let key = key as usize;
        let chunk = key / DENSE_CHUNK;
        if self.chunks.len() <= chunk {
            self.chunks.resize_with(chunk + 1, || None);
        }
        let (items, used) =
            self.chunks[chunk].get_or_insert_with(|| ((0..DENSE_CHUNK).map(|_| None).collect(), 0));
        let old = items[key % DENSE_CHUNK].replace(item);
        if old.is_none() {
            *used += 1;
            self.len += 1;
        }
        old
    }

    pub fn remove(&mut self, key: u32) -> Option<T> {
        let key = key as usize;
        let chunk = key / DENSE_CHUNK;
        let (items, used) = self.chunks.get_mut(chunk)?.as_mut()?;
        let old = items.get_mut(key % DENSE_CHUNK)?.take()?;
        *used -= 1;
        self.len -= 1;
        if *used == 0 {
            self.chunks[chunk] = None;
            while self.chunks.last().is_some_and(Option::is_none) {
                self.chunks.pop();
            }
            if self.chunks.is_empty() {
                self.chunks = Vec::new();
            }
        }
        Some(old)
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn iter(&self) -> impl Iterator<Item = (u32, &T)> {
        self.chunks
            .iter()
            .enumerate()
            .filter_map(|(c, chunk)| Some((c, chunk.as_ref()?)))
            .flat_map(|(c, (items, _))| {
                items.iter().enumerate().filter_map(move |(i, item)| {
                    Some(((c * DENSE_CHUNK + i) as u32, item.as_ref()?))
                })
            })
    }
}

/// Hash of an integer key (ids, cell numbers, the bits of a float): a multiplicative mix,
/// with the product's high bits folded into its low ones (hashbrown places entries by the low
/// bits, and a float's low mantissa bits are often all zero).
#[inline]
pub(crate) fn int_hash(key: u64) -> u64 {
    let h = key.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    h ^ (h >> 29)
}

/// A map from `u32` ids for one node of the anchor tree: at the root, which holds most ids, a
/// [`DenseMap`] (two loads, no hashing); in nested nodes, which hold a few ids among many, a
/// [`ShardedTable`].
pub(crate) enum IdMap<T> {
    Dense(DenseMap<T>),
    Hashed(ShardedTable<(u32, T)>),
}

impl<T> IdMap<T> {
    pub fn dense() -> IdMap<T> {
        IdMap::Dense(DenseMap::default())
    }

    pub fn hashed() -> IdMap<T> {
        IdMap::Hashed(ShardedTable::default())
    }

    #[inline]
    pub fn get(&self, id: u32) -> Option<&T> {
        match self {
            IdMap::Dense(map) => map.get(id),
            IdMap::Hashed(table) => table
                .find(int_hash(id.into()), |(k, _)| *k == id)
                .map(|(_, v)| v),
        }
    }

    pub fn get_mut(&mut self, id: u32) -> Option<&mut T> {
        match self {
            IdMap::Dense(map) => map.get_mut(id),
            IdMap::Hashed(table) => table
                .find_mut(int_hash(id.into()), |(k, _)| *k == id)
                .map(|(_, v)| v),
        }
    }

    /// Stores a value under an id not in the map.
    pub fn insert_new(&mut self, id: u32, value: T) {
        match self {
            IdMap::Dense(map) => {
                map.insert(id, value);
            }
            IdMap::Hashed(table) => {
                table.insert_unique(int_hash(id.into()), (id, value), |(k, _)| {
                    int_hash((*k).into())
                });
            }
        }
    }

    pub fn remove(&mut self, id: u32) -> Option<T> {
        match self {
            IdMap::Dense(map) => map.remove(id),
            IdMap::Hashed(table) => table
                .remove(int_hash(id.into()), |(k, _)| *k == id)
                .map(|(_, v)| v),
        }
    }

    pub fn is_empty(&self) -> bool {
        match self {
            IdMap::Dense(map) => map.is_empty(),
            IdMap::Hashed(table) => table.is_empty(),
        }
    }

    pub fn iter(&self) -> Box<dyn Iterator<Item = (u32, &T)> + '_> {
        match self {
            IdMap::Dense(map) => Box::new(map.iter()),
            IdMap::Hashed(table) => Box::new(table.iter().map(|(k, v)| (*k, v))),
        }
    }
}

/// A hint that `item` will be read soon (no effect on other architectures).
#[inline(always)]
pub(crate) fn prefetch<T>(item: &T) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        // SAFETY: a prefetch is a hint: it never faults and reads nothing observable, and SSE
        // is part of the x86_64 baseline.
        unsafe { _mm_prefetch::<_MM_HINT_T0>((item as *const T).cast::<i8>()) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = item;
}

/// Entries at which a table splits into shards.
pub(crate) const SPLIT_AT: usize = 4096;
/// Number of shards of a split table (a power of two).
pub(crate) const SHARDS: usize = 1024;
/// Entries moved to their new table at each insertion while a table grows or splits.
pub(crate) const MIGRATE_PER_INSERT: usize = 16;
/// Tables below this many entries grow the ordinary way (rehashing them costs less than a
/// second probe would).
const GROW_INCREMENTALLY_FROM: usize = 64;

/// A hashbrown table that grows without rehashing everything at once.
///
/// Invariant: `old` is empty unless a move is under way, and then `table` has room for all of
/// `old` plus the insertions that complete the move (it was made twice as large as `old`
/// was full, and each insertion moves at least one entry), so `table` never grows the
/// ordinary way in the middle of a move.
pub(crate) struct Growing<T> {
    table: HashTable<T>,
    /// The table being emptied into `table`.
    old: HashTable<T>,
}

impl<T> Default for Growing<T> {
    fn default() -> Self {
        Growing {
            table: HashTable::new(),
            old: HashTable::new(),
        }
    }
}

impl<T> Growing<T> {
    #[inline]
    pub fn find(&self, hash: u64, mut eq: impl FnMut(&T) -> bool) -> Option<&T> {
        match self.table.find(hash, &mut eq) {
            Some(found) => Some(found),
            None if !self.old.is_empty() => self.old.find(hash, eq),
            None => None,
        }
    }

    pub fn find_mut(&mut self, hash: u64, mut eq: impl FnMut(&T) -> bool) -> Option<&mut T> {
        if self.table.find(hash, &mut eq).is_some() {
            return self.table.find_mut(hash, eq);
        }
        self.old.find_mut(hash, eq)
    }

    pub fn insert_unique(&mut self, hash: u64, value: T, hasher: &impl Fn(&T) -> u64) {
        let full = self.table.len() == self.table.capacity();
        if full && self.table.len() >= GROW_INCREMENTALLY_FROM {
            // Start a move. (Were one still under way, which the invariant rules out unless
            // removals left tombstones eating the new table's room, finish it first.)
            self.migrate(usize::MAX, hasher);
            let bigger = HashTable::with_capacity(2 * self.table.len());
            self.old = std::mem::replace(&mut self.table, bigger);
        }
        self.table.insert_unique(hash, value, hasher);
        self.migrate(MIGRATE_PER_INSERT, hasher);
    }

    /// Moves up to `n` entries of the old table.
    fn migrate(&mut self, n: usize, hasher: &impl Fn(&T) -> u64) {
        if self.old.is_empty() {
            return;
        }
        for moved in self.old.extract_if(|_| true).take(n) {
            self.table.insert_unique(hasher(&moved), moved, hasher);
        }
        if self.old.is_empty() {
            self.old = HashTable::new();
        }
    }

    /// Removes up to `n` entries (old ones first), for `found` to place elsewhere.
    fn drain_some(&mut self, n: usize, mut found: impl FnMut(T)) {
        let from_old = self.old.len().min(n);
        self.old
            .extract_if(|_| true)
            .take(from_old)
            .for_each(&mut found);
        self.table
            .extract_if(|_| true)
            .take(n - from_old)
            .for_each(found);
        if self.old.is_empty() {
            self.old = HashTable::new();
        }
        if self.table.is_empty() {
            self.table = HashTable::new();
        }
    }

    pub fn remove(&mut self, hash: u64, mut eq: impl FnMut(&T) -> bool) -> Option<T> {
        match self.table.find_entry(hash, &mut eq) {
            Ok(entry) => Some(entry.remove().0),
            Err(_) => self.old.find_entry(hash, eq).ok().map(|e| e.remove().0),
        }
    }

    pub fn len(&self) -> usize {
        self.table.len() + self.old.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.table.iter().chain(self.old.iter())
    }
}

/// A hash table whose every call touches a bounded number of entries (see the module doc).
pub(crate) struct ShardedTable<T> {
    /// The table before the split; after it, what is left to move to the shards.
    small: Growing<T>,
    /// Empty until the table splits (empty shards allocate nothing).
    shards: Vec<Growing<T>>,
    len: usize,
}

impl<T> Default for ShardedTable<T> {
    fn default() -> Self {
        ShardedTable {
            small: Growing::default(),
            shards: Vec::new(),
            len: 0,
        }
    }
}

/// The shard of a hash: middle bits, because hashbrown uses the top 7 bits as its tag and the
/// low bits as the position (sharding on either would make them equal within a shard).
#[inline]
fn shard_of(hash: u64) -> usize {
    (hash >> 32) as usize & (SHARDS - 1)
}

impl<T> ShardedTable<T> {
    #[inline]
    pub fn find(&self, hash: u64, mut eq: impl FnMut(&T) -> bool) -> Option<&T> {
        if self.shards.is_empty() {
            return self.small.find(hash, eq);
        }
        match self.shards[shard_of(hash)].find(hash, &mut eq) {
            Some(found) => Some(found),
            None if !self.small.is_empty() => self.small.find(hash, eq),
            None => None,
        }
    }

    pub fn find_mut(&mut self, hash: u64, mut eq: impl FnMut(&T) -> bool) -> Option<&mut T> {
        if self.shards.is_empty() {
            return self.small.find_mut(hash, eq);
        }
        let shard = &mut self.shards[shard_of(hash)];
        if shard.find(hash, &mut eq).is_some() {
            return shard.find_mut(hash, eq);
        }
        self.small.find_mut(hash, eq)
    }

    /// Inserts a value known to be absent. `hasher` recomputes the hash of a stored value.
    pub fn insert_unique(&mut self, hash: u64, value: T, hasher: impl Fn(&T) -> u64) {
        self.len += 1;
        if self.shards.is_empty() {
            if self.small.len() < SPLIT_AT {
                self.small.insert_unique(hash, value, &hasher);
                return;
            }
            self.shards = (0..SHARDS).map(|_| Growing::default()).collect();
        }
        self.shards[shard_of(hash)].insert_unique(hash, value, &hasher);
        // Move a few entries of the table from before the split.
        if !self.small.is_empty() {
            let shards = &mut self.shards;
            self.small.drain_some(MIGRATE_PER_INSERT, |moved| {
                let h = hasher(&moved);
                shards[shard_of(h)].insert_unique(h, moved, &hasher);
            });
        }
    }

    /// Removes and returns the value `eq` finds.
    pub fn remove(&mut self, hash: u64, mut eq: impl FnMut(&T) -> bool) -> Option<T> {
        let removed = if self.shards.is_empty() {
            self.small.remove(hash, eq)
        } else {
            match self.shards[shard_of(hash)].remove(hash, &mut eq) {
                Some(found) => Some(found),
                None => self.small.remove(hash, eq),
            }
        };
        if removed.is_some() {
            self.len -= 1;
        }
        removed
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.small
            .iter()
            .chain(self.shards.iter().flat_map(|s| s.iter()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slab_reuses_ids_and_never_moves_items() {
        let mut slab = Slab::default();
        let ids: Vec<u32> = (0..3000).map(|i| slab.insert(i)).collect();
        let first = slab.get(0).map(|r| r as *const i32);
        for i in 3000..5000 {
            slab.insert(i);
        }
        assert_eq!(slab.get(0).map(|r| r as *const i32), first);
        assert_eq!(slab.remove(ids[10]), Some(10));
        assert_eq!(slab.remove(ids[10]), None);
        assert_eq!(slab.insert(42), 10);
        assert_eq!(slab.len(), 5000);
        // Freed ids come back most recent first, then fresh ones.
        for id in [7, 4000, 2] {
            assert!(slab.remove(id).is_some());
        }
        assert_eq!(slab.len(), 4997);
        assert_eq!(slab.get(4000), None);
        assert_eq!(slab.get_mut(7), None);
        let reused: Vec<u32> = (0..4).map(|i| slab.insert(i)).collect();
        assert_eq!(reused, [2, 4000, 7, 5000]);
        assert_eq!(slab.get(4000), Some(&1));
        assert_eq!(slab.capacity(), 5001);
        assert_eq!(slab.remove(1_000_000), None);
    }

    #[test]
    fn free_slots_cost_nothing_for_items_with_a_niche() {
        assert_eq!(slot_overhead::<Box<[u32]>>(), 0);
        assert_eq!(slot_overhead::<(std::sync::Arc<str>, u64)>(), 0);
    }

    #[test]
    fn dense_map_frees_emptied_chunks() {
        let mut map = DenseMap::default();
        for k in (0..3000u32).step_by(3) {
            assert_eq!(map.insert(k, k * 2), None);
        }
        assert_eq!(map.insert(3, 7), Some(6));
        assert_eq!(map.get(3), Some(&7));
        assert_eq!(map.get(4), None);
        assert_eq!(map.get(1_000_000), None);
        *map.get_mut(6).unwrap() += 1;
        assert_eq!(map.get(6), Some(&13));
        let items: Vec<(u32, u32)> = map.iter().map(|(k, v)| (k, *v)).collect();
        assert_eq!(items.len(), 1000);
        assert_eq!(items[2], (6, 13));
        let first = map.get(0).map(|r| r as *const u32);
        map.insert(100_000, 1);
        assert_eq!(map.get(0).map(|r| r as *const u32), first, "an item moved");
        assert_eq!(map.remove(100_000), Some(1));
        assert_eq!(map.chunks.len(), 3000usize.div_ceil(DENSE_CHUNK));
        for k in (0..3000u32).step_by(3) {
            assert!(map.remove(k).is_some());
            assert_eq!(map.remove(k), None);
        }
        assert!(map.is_empty());
        assert_eq!(map.chunks.capacity(), 0);
    }

    /// No insertion rehashes more than a few entries, before, during and after the split,
    /// with removals interleaved; everything stays findable throughout.
    #[test]
    fn sharded_table_inserts_touch_few_entries() {
        use std::cell::Cell;
        let mix = |v: u64| v.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let rehashed = Cell::new(0usize);
        let hasher = |v: &u64| {
            rehashed.set(rehashed.get() + 1);
            mix(*v)
        };
        let mut table = ShardedTable::default();
        let mut present = std::collections::HashSet::new();
        let mut worst = 0;
        for v in 0..300_000u64 {
            rehashed.set(0);
            table.insert_unique(mix(v), v, hasher);
            worst = worst.max(rehashed.get());
            present.insert(v);
            // Remove every third value inserted so far, a little behind.
            let gone = v / 2;
            if v % 3 == 0 && gone % 3 == 1 {
                assert_eq!(table.remove(mix(gone), |&x| x == gone), Some(gone));
                present.remove(&gone);
            }
            if v % 4099 == 0 {
                for w in (0..=v).step_by(97) {
                    let found = table.find(mix(w), |&x| x == w).is_some();
                    assert_eq!(found, present.contains(&w), "{w} after inserting {v}");
                }
            }
        }
        // Tables below GROW_INCREMENTALLY_FROM (64) entries grow the ordinary way.
        assert!(worst <= 64, "an insertion rehashed {worst} entries");
        assert_eq!(table.iter().count(), present.len());
        assert!(table.iter().all(|v| present.contains(v)));
        assert_eq!(table.small.len(), 0, "the split completed");
    }

    #[test]
    fn sharded_table_splits_and_finds_everything() {
        let hash = |v: &u64| v.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let mut table = ShardedTable::default();
        for v in 0..20_000u64 {
            table.insert_unique(hash(&v), v, hash);
        }
        assert!(!table.shards.is_empty());
        assert_eq!(table.iter().count(), 20_000);
        for v in (0..20_000u64).step_by(7) {
            assert_eq!(table.find(hash(&v), |&x| x == v), Some(&v));
        }
        for v in 0..10_000u64 {
            assert_eq!(table.remove(hash(&v), |&x| x == v), Some(v));
        }
        assert!(table.find(hash(&5), |&x| x == 5).is_none());
        assert_eq!(table.iter().count(), 10_000);
    }
}
