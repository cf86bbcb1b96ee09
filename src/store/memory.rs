//! In-memory document state: for tests and `herald serve --ephemeral`. Lost at exit.

use parking_lot::RwLock;

use super::{Catalog, DocKey, DocumentStore, StoreError, StoredDocument};
use crate::rooms::FoldMap;

/// A hash map of documents. Values are kept decoded (no serialization cost).
#[derive(Default)]
pub struct MemoryStore {
    documents: RwLock<FoldMap<DocKey, StoredDocument>>,
    catalog: RwLock<Catalog>,
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

    fn write_batch(&self, writes: &[(&DocKey, Option<&StoredDocument>)]) -> Result<(), StoreError> {
        let mut documents = self.documents.write();
        for (key, state) in writes {
            match state {
                Some(state) => {
                    documents.insert((*key).clone(), (*state).clone());
                }
                None => {
                    documents.remove(*key);
                }
            }
        }
        Ok(())
    }

    fn len(&self) -> Result<u64, StoreError> {
        Ok(self.documents.read().len() as u64)
    }

    fn create(&self, index: &str, collection: Option<&str>) -> Result<bool, StoreError> {
        let mut catalog = self.catalog.write();
        let mut new = false;
        let collections = catalog.entry(index.to_owned()).or_insert_with(|| {
            new = true;
            Default::default()
        });
        if let Some(collection) = collection {
            new |= collections.insert(collection.to_owned());
        }
        Ok(new)
    }

    fn catalog(&self) -> Result<Catalog, StoreError> {
        Ok(self.catalog.read().clone())
    }

    fn delete(&self, index: &str, collection: Option<&str>) -> Result<bool, StoreError> {
        let mut catalog = self.catalog.write();
        let existed = match collection {
            None => catalog.remove(index).is_some(),
            Some(c) => catalog.get_mut(index).is_some_and(|cs| cs.remove(c)),
        };
        self.documents
            .write()
            .retain(|k, _| !(k.index == index && collection.is_none_or(|c| k.collection == c)));
        Ok(existed)
    }

    fn truncate(&self, index: &str, collection: &str) -> Result<u64, StoreError> {
        let mut documents = self.documents.write();
        let before = documents.len();
        documents.retain(|k, _| !(k.index == index && k.collection == collection));
        Ok((before - documents.len()) as u64)
    }
}
