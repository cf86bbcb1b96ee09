//! The matcher: every registered filter of every collection, indexed for matching.
//!
//! An [`Engine`] holds collections, each named by `(index, collection)` as in Kuzzle, and each
//! with its own [`Index`] (see `index.rs` for how matching works). Filters are registered in
//! canonical form under their [`FilterId`]; registering a known filter is a no-op, and removing
//! the last filter of a collection drops the collection.
//!
//! # Concurrency
//!
//! Matching takes a read lock on one collection and writes only to thread-local scratch, so any
//! number of threads match at once. Registration and removal take the collection's write lock
//! for the time of a few map updates only: everything costly (validation, regexp compilation,
//! canonical keys) happens before, in `transform`, outside any lock. The locks are
//! [`ReadMostly`]: a read executes no atomic read-modify-write (a plain lock's two cost a
//! quarter of matching a document against a small index), and writers pay instead. Nothing a
//! write does grows with the index: storage grows by chunks and incremental moves
//! (`storage.rs`), emptied parts are freed after the lock is released, and [`tune_allocator`]
//! keeps glibc from batching its own work into a write.
//!
//! # Modules
//!
//! * `index.rs`: one collection's index, the anchor tree and matching;
//! * `fields.rs`: field paths and the document walk; `scalar_map.rs`, `range.rs`,
//!   `geo_index.rs`, `gram_index.rs`: the per-field indexes of `equals`/`exists`, ranges,
//!   geo shapes and regexps;
//! * `storage.rs`: slabs, dense maps and hash tables whose every call does bounded work;
//! * `read_mostly.rs`: the lock; `allocator.rs`: the allocator's configuration.

mod allocator;
mod fields;
mod geo_cover;
mod geo_index;
mod gram_index;
mod index;
mod range;
mod read_mostly;
mod scalar_map;
mod storage;

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;

pub use allocator::tune_allocator;
pub use index::Index;
pub use read_mostly::ReadMostly;

/// Hash maps of the matcher: foldhash is several times faster than the default SipHash on
/// short keys and, randomly seeded per process, keeps resistance to crafted collisions.
pub(crate) type FoldMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

use crate::transform::{Canonical, FilterId};

/// A collection's name: Kuzzle's `(index, collection)` pair.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CollectionName {
    pub index: Box<str>,
    pub collection: Box<str>,
}

impl CollectionName {
    pub fn new(index: &str, collection: &str) -> CollectionName {
        CollectionName {
            index: index.into(),
            collection: collection.into(),
        }
    }
}

/// All collections and their indexes.
#[derive(Default)]
pub struct Engine {
    collections: ReadMostly<FoldMap<CollectionName, Collection>>,
}

/// A handle on one collection's index. Holding it saves the name lookup on every document
/// (a server resolves the collection once per request, then matches).
#[derive(Clone, Default)]
pub struct Collection {
    index: Arc<ReadMostly<Index>>,
}

impl Collection {
    /// Appends to `out` the ids of the collection's filters that the document matches (each
    /// once, in no particular order).
    #[inline]
    pub fn test(&self, document: &Value, out: &mut Vec<FilterId>) {
        self.index.read().test(document, out);
    }

    /// Number of filters registered.
    pub fn len(&self) -> usize {
        self.index.read().len()
    }

    pub fn is_empty(&self) -> bool {
        self.index.read().is_empty()
    }
}

impl Engine {
    pub fn new() -> Engine {
        Engine::default()
    }

    /// Registers a canonical filter in a collection and returns its id. Registering a filter
    /// the collection already holds returns the same id and stores nothing.
    pub fn register(
        &self,
        collection: &CollectionName,
        id: FilterId,
        canonical: &Canonical,
    ) -> FilterId {
        let handle = self.collection_or_create(collection);
        let garbage = {
            let mut guard = handle.index.write();
            guard.register(id, canonical);
            guard.take_garbage()
        };
        // Freed after the lock is released: readers do not wait for it.
        drop(garbage);
        id
    }

    /// Removes a filter from a collection; returns whether it was there. A collection left
    /// empty is dropped.
    pub fn remove(&self, collection: &CollectionName, id: &FilterId) -> bool {
        let Some(handle) = self.collection(collection) else {
            return false;
        };
        let (removed, empty, emptied) = {
            let mut guard = handle.index.write();
            let removed = guard.remove(id);
            // An emptied index still holds the (empty) tables of its peak size: swap it for a
            // fresh one and free the old one after the lock is released.
            let empty = guard.is_empty();
            let emptied = (removed && empty).then(|| std::mem::take(&mut *guard));
            (removed, empty, (emptied, guard.take_garbage()))
        };
        drop(emptied);
        if empty {
            let mut collections = self.collections.write();
            // Re-check under the map's lock: a registration may have raced in.
            if collections
                .get(collection)
                .is_some_and(|c| Arc::ptr_eq(&c.index, &handle.index) && c.is_empty())
            {
                collections.remove(collection);
            }
        }
        removed
    }

    /// Appends to `out` the ids of the collection's filters that the document matches (each
    /// once, in no particular order). An unknown collection matches nothing.
    pub fn test(&self, collection: &CollectionName, document: &Value, out: &mut Vec<FilterId>) {
        // Under the table's read lock rather than through a cloned handle: no reference count
        // to touch per document.
        if let Some(handle) = self.collections.read().get(collection) {
            handle.test(document, out);
        }
    }

    /// Whether the collection holds the filter.
    pub fn contains(&self, collection: &CollectionName, id: &FilterId) -> bool {
        self.collection(collection)
            .is_some_and(|handle| handle.index.read().contains(id))
    }

    /// Number of filters registered in a collection.
    pub fn len(&self, collection: &CollectionName) -> usize {
        self.collection(collection).map_or(0, |handle| handle.len())
    }

    /// A human-readable summary of a collection's index (see [`Index::summary`]).
    pub fn summary(&self, collection: &CollectionName) -> Option<String> {
        self.collection(collection)
            .map(|handle| handle.index.read().summary())
    }

    /// The collections holding at least one filter.
    pub fn collections(&self) -> Vec<CollectionName> {
        let mut names: Vec<CollectionName> = self.collections.read().keys().cloned().collect();
        names.sort();
        names
    }

    /// A handle on a collection, to match many documents without looking its name up again.
    /// `None` when the collection holds no filter. A handle outliving the collection's removal
    /// keeps matching its (then empty) index.
    pub fn collection(&self, name: &CollectionName) -> Option<Collection> {
        self.collections.read().get(name).cloned()
    }

    fn collection_or_create(&self, name: &CollectionName) -> Collection {
        if let Some(index) = self.collection(name) {
            return index;
        }
        self.collections
            .write()
            .entry(name.clone())
            .or_default()
            .clone()
    }
}
