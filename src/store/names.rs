//! The registered index and collection names, with a cache in front of the store.
//!
//! Every document write registers its collection (Herald creates collections on first write,
//! where Kuzzle answers 412 `unknown_collection`), so the check must cost a hash lookup, not a
//! transaction: the names known to be registered are cached, and only a name seen for the
//! first time reaches the store.
//!
//! Deleting a collection while documents are being written to it may leave a document whose
//! collection is no longer registered; the next write to it registers the collection again.

use std::collections::HashSet;
use std::sync::Arc;

use parking_lot::RwLock;

use super::{Catalog, DocumentStore, StoreError};
use crate::rooms::FoldMap;

type FoldSet<T> = HashSet<T, foldhash::fast::RandomState>;

/// Index → collections known to be registered in the store.
pub struct Names {
    store: Arc<dyn DocumentStore>,
    known: RwLock<FoldMap<String, FoldSet<String>>>,
}

impl Names {
    pub fn new(store: Arc<dyn DocumentStore>) -> Names {
        Names {
            store,
            known: RwLock::new(FoldMap::default()),
        }
    }

    /// Makes sure a collection (and its index) is registered.
    pub fn ensure(&self, index: &str, collection: &str) -> Result<(), StoreError> {
        let cached = self
            .known
            .read()
            .get(index)
            .is_some_and(|c| c.contains(collection));
        if !cached {
            self.create(index, Some(collection))?;
        }
        Ok(())
    }

    /// Registers an index, or a collection and its index; returns whether it was new.
    pub fn create(&self, index: &str, collection: Option<&str>) -> Result<bool, StoreError> {
        let new = self.store.create(index, collection)?;
        let mut known = self.known.write();
        let collections = known.entry(index.to_owned()).or_default();
        if let Some(collection) = collection {
            collections.insert(collection.to_owned());
        }
        Ok(new)
    }

    /// Every registered index with its collections.
    pub fn catalog(&self) -> Result<Catalog, StoreError> {
        self.store.catalog()
    }

    /// Whether an index (or a collection of it) is registered.
    pub fn exists(&self, index: &str, collection: Option<&str>) -> Result<bool, StoreError> {
        let catalog = self.store.catalog()?;
        Ok(catalog
            .get(index)
            .is_some_and(|c| collection.is_none_or(|name| c.contains(name))))
    }

    /// Deletes a collection (or a whole index) with its documents; returns whether it was
    /// registered.
    pub fn delete(&self, index: &str, collection: Option<&str>) -> Result<bool, StoreError> {
        // Forget first: a write racing with the deletion registers the name again.
        {
            let mut known = self.known.write();
            match collection {
                None => {
                    known.remove(index);
                }
                Some(c) => {
                    if let Some(collections) = known.get_mut(index) {
                        collections.remove(c);
                    }
                }
            }
        }
        self.store.delete(index, collection)
    }

    /// Removes the documents of a collection; returns how many.
    pub fn truncate(&self, index: &str, collection: &str) -> Result<u64, StoreError> {
        self.store.truncate(index, collection)
    }
}
