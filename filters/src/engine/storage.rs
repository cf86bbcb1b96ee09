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
