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
//! canonical keys) happens before, in `transform`, outside any lock.

mod fields;
mod geo_index;
mod index;
mod range;
mod scalar_map;

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::RwLock;
use serde_json::Value;

pub use index::Index;

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
    collections: RwLock<HashMap<CollectionName, Arc<RwLock<Index>>>>,
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
        let index = self.collection_or_create(collection);
        index.write().register(id, canonical);
        id
    }

    /// Removes a filter from a collection; returns whether it was there. A collection left
    /// empty is dropped.
    pub fn remove(&self, collection: &CollectionName, id: &FilterId) -> bool {
        let Some(index) = self.collection(collection) else {
            return false;
        };
        let (removed, empty) = {
            let mut guard = index.write();
            (guard.remove(id), guard.is_empty())
        };
        if empty {
            let mut collections = self.collections.write();
            // Re-check under the map's lock: a registration may have raced in.
            if collections
                .get(collection)
                .is_some_and(|c| Arc::ptr_eq(c, &index) && c.read().is_empty())
            {
                collections.remove(collection);
            }
        }
        removed
    }

    /// Appends to `out` the ids of the collection's filters that the document matches (each
    /// once, in no particular order). An unknown collection matches nothing.
    pub fn test(&self, collection: &CollectionName, document: &Value, out: &mut Vec<FilterId>) {
        if let Some(index) = self.collection(collection) {
            index.read().test(document, out);
        }
    }

    /// Whether the collection holds the filter.
    pub fn contains(&self, collection: &CollectionName, id: &FilterId) -> bool {
        self.collection(collection)
            .is_some_and(|index| index.read().contains(id))
    }

    /// Number of filters registered in a collection.
    pub fn len(&self, collection: &CollectionName) -> usize {
        self.collection(collection)
            .map_or(0, |index| index.read().len())
    }

    /// A human-readable summary of a collection's index (see [`Index::summary`]).
    pub fn summary(&self, collection: &CollectionName) -> Option<String> {
        self.collection(collection)
            .map(|index| index.read().summary())
    }

    /// The collections holding at least one filter.
    pub fn collections(&self) -> Vec<CollectionName> {
        let mut names: Vec<CollectionName> = self.collections.read().keys().cloned().collect();
        names.sort();
        names
    }

    fn collection(&self, name: &CollectionName) -> Option<Arc<RwLock<Index>>> {
        self.collections.read().get(name).cloned()
    }

    fn collection_or_create(&self, name: &CollectionName) -> Arc<RwLock<Index>> {
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
