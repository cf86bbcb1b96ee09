//! Per-document serialization: striped locks keyed by `(index, collection, _id)`.
//!
//! A change reads the document's state, computes the new state and the notifications, writes
//! and delivers; two changes of the same document interleaving there would lose a transition
//! (both read "was in", one writes "out"...). Each change therefore holds the lock of its
//! document's stripe from the read to the last delivery. Stripes are chosen by a fixed-seed hash
//! of the key, so different documents almost always take different locks and proceed in
//! parallel; a collision only serializes two unrelated changes. Nothing deadlocks: a batch of
//! changes takes its stripes in ascending order (a single change is a batch of one).

use std::hash::BuildHasher;

use parking_lot::{Mutex, MutexGuard};

use super::DocKey;

/// A fixed number of mutexes, one per stripe of the key space.
pub struct DocumentLocks {
    stripes: Box<[Mutex<()>]>,
    hasher: foldhash::fast::FixedState,
}

impl DocumentLocks {
    /// `stripes` locks (rounded up to a power of two, at least 1).
    pub fn new(stripes: usize) -> DocumentLocks {
        let n = stripes.max(1).next_power_of_two();
        DocumentLocks {
            stripes: (0..n).map(|_| Mutex::new(())).collect(),
            hasher: foldhash::fast::FixedState::with_seed(0x6865_7261_6c64),
        }
    }

    /// Locks the stripes of several documents (each once, in ascending order) until the
    /// guards are dropped.
    pub fn lock_all<'k>(&self, keys: impl Iterator<Item = &'k DocKey>) -> Vec<MutexGuard<'_, ()>> {
        let mut stripes: Vec<usize> = keys.map(|k| self.stripe(k)).collect();
        stripes.sort_unstable();
        stripes.dedup();
        stripes
            .into_iter()
            .map(|i| self.stripes[i].lock())
            .collect()
    }

    fn stripe(&self, key: &DocKey) -> usize {
        (self.hasher.hash_one(key) as usize) & (self.stripes.len() - 1)
    }
}

impl Default for DocumentLocks {
    fn default() -> DocumentLocks {
        DocumentLocks::new(1024)
    }
}
