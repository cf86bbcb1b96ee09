//! In-memory document state: for tests and `herald serve --ephemeral`. Lost at exit.

use parking_lot::RwLock;

use super::{DocKey, DocumentStore, StoreError, StoredDocument};
use crate::rooms::FoldMap;

/// A hash map of documents. Values are kept decoded (no serialization cost).
#[derive(Default)]
pub struct MemoryStore {
    documents: RwLock<FoldMap<DocKey, StoredDocument>>,
}

impl MemoryStore {
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }
}

impl DocumentStore for MemoryStore {
    fn get(&self, key: &DocKey) -> Result<Option<StoredDocument>, StoreError> {
        Ok(self.documents.read().get(key).cloned())
    }

    fn put(&self, key: &DocKey, value: &StoredDocument) -> Result<(), StoreError> {
        self.documents.write().insert(key.clone(), value.clone());
        Ok(())
    }

    fn remove(&self, key: &DocKey) -> Result<bool, StoreError> {
        Ok(self.documents.write().remove(key).is_some())
    }

    fn len(&self) -> Result<u64, StoreError> {
        Ok(self.documents.read().len() as u64)
    }
}
