//! Storage that grows without stalling readers.
//!
//! Registration runs under the collection's write lock, so anything it does blocks matching
//! for that long. Plain vectors and hash tables occasionally grow by moving *everything*: a
//! vector reallocates and copies, a hash table rehashes every entry, and at a million filters
//! either takes milliseconds. The two containers here bound that work:
//!
//! * [`Slab`] stores items in fixed-size chunks: growing allocates one new chunk and never
//!   moves an existing item.
//! * [`ShardedTable`] is a hashbrown `HashTable` that, past [`SPLIT_AT`] entries, splits into
//!   [`SHARDS`] independent tables chosen by the top bits of the hash: a resize then rehashes
//!   one shard, a thousandth of the entries. The split itself is incremental: new entries go
//!   to the shards, and each insertion moves a few entries of the old table
//!   ([`MIGRATE_PER_INSERT`]), so no single call pays for the whole move.

use hashbrown::HashTable;

/// Items per slab chunk.
const CHUNK: usize = 1024;

/// A slab: dense `u32` ids, freed ids reused, items never moved once stored.
pub(crate) struct Slab<T> {
    chunks: Vec<Box<[Option<T>]>>,
    /// Slots handed out so far (ids below this exist).
    used: usize,
    free: Vec<u32>,
}

impl<T> Default for Slab<T> {
    fn default() -> Self {
        Slab {
            chunks: Vec::new(),
            used: 0,
            free: Vec::new(),
        }
    }
}

impl<T> Slab<T> {
    pub fn insert(&mut self, item: T) -> u32 {
        let id = match self.free.pop() {
            Some(id) => id as usize,
            None => {
                if self.used == self.chunks.len() * CHUNK {
                    self.chunks.push((0..CHUNK).map(|_| None).collect());
                }
                self.used += 1;
                self.used - 1
            }
        };
        if let Some(slot) = self.slot_mut(id) {
            *slot = Some(item);
        }
        id as u32
    }

    pub fn remove(&mut self, id: u32) -> Option<T> {
        let item = self.slot_mut(id as usize)?.take();
        if item.is_some() {
            self.free.push(id);
        }
        item
    }

    #[inline]
    pub fn get(&self, id: u32) -> Option<&T> {
        let id = id as usize;
        self.chunks.get(id / CHUNK)?.get(id % CHUNK)?.as_ref()
    }

    pub fn get_mut(&mut self, id: u32) -> Option<&mut T> {
        self.slot_mut(id as usize)?.as_mut()
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

    fn slot_mut(&mut self, id: usize) -> Option<&mut Option<T>> {
        self.chunks.get_mut(id / CHUNK)?.get_mut(id % CHUNK)
    }

    /// An upper bound of every id.
    pub fn capacity(&self) -> usize {
        self.used
    }

    pub fn len(&self) -> usize {
        self.used - self.free.len()
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
/// Entries moved from the old table to the shards at each insertion while a split is under way.
pub(crate) const MIGRATE_PER_INSERT: usize = 8;

/// A hash table whose resizes touch at most a shard (see the module doc).
pub(crate) struct ShardedTable<T> {
    /// The table before the split; after it, what is left to move to the shards.
    small: HashTable<T>,
    /// Empty until the table splits (empty shards allocate nothing).
    shards: Vec<HashTable<T>>,
    len: usize,
}

impl<T> Default for ShardedTable<T> {
    fn default() -> Self {
        ShardedTable {
            small: HashTable::new(),
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
                self.small.insert_unique(hash, value, hasher);
                return;
            }
            self.shards = (0..SHARDS).map(|_| HashTable::new()).collect();
        }
        self.shards[shard_of(hash)].insert_unique(hash, value, &hasher);
        // Move a few entries of the old table.
        for _ in 0..MIGRATE_PER_INSERT {
            let Some(h) = self.small.iter().next().map(&hasher) else {
                break;
            };
            // The first entry iterated has hash `h`: find it again by identity of position.
            let Ok(entry) = self.small.find_entry(h, |v| hasher(v) == h) else {
                break;
            };
            let (moved, _) = entry.remove();
            self.shards[shard_of(h)].insert_unique(h, moved, &hasher);
        }
        if self.small.is_empty() && self.small.capacity() > 0 {
            self.small = HashTable::new();
        }
    }

    /// Removes and returns the value `eq` finds.
    pub fn remove(&mut self, hash: u64, mut eq: impl FnMut(&T) -> bool) -> Option<T> {
        let removed = if self.shards.is_empty() {
            self.small.find_entry(hash, eq).ok().map(|e| e.remove().0)
        } else {
            match self.shards[shard_of(hash)].find_entry(hash, &mut eq) {
                Ok(e) => Some(e.remove().0),
                Err(_) => self.small.find_entry(hash, eq).ok().map(|e| e.remove().0),
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
