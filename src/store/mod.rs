//! Document state: per document, the latest full document and the rooms it matched at its last
//! notification.
//!
//! Scope `out` needs memory: a document leaves a room only if it was in it, and an update
//! carries only part of the document, so the filters need the rest. This module keeps, per
//! `(index, collection, _id)`, a [`StoredDocument`] — the full document, the ids of the rooms it
//! matched when it was last notified, and a version counter — behind one trait,
//! [`DocumentStore`], with two implementations:
//!
//! * [`RedbStore`]: embedded and persistent, the default of `herald serve` (see its docs for the
//!   choice of redb and the data directory layout);
//! * [`MemoryStore`]: a hash map, for tests and `--ephemeral`.
//!
//! # Invariants
//!
//! * The store holds live documents only: a delete removes the entry, so nothing grows without
//!   bound but the data itself. Unlike Kuzzle's 72 h cache of room ids, entries do not expire:
//!   they *are* the documents.
//! * `put` and `remove` are durable when they return (redb: a committed, fsynced transaction).
//!   The engine acknowledges a change only after that.
//! * Stores are not responsible for ordering: the engine applies the changes of one document one
//!   at a time under [`DocumentLocks`], and different documents in parallel.
//! * Index and collection names are registered too ([`Catalog`]): by `index:create` and
//!   `collection:create`, and implicitly by the first document written to a collection.
//!   Dropping a collection or an index removes its documents with it.
//! * Room ids are stored as their hex names: a room that no longer exists (or does not exist
//!   yet after a restart) is skipped when its `out` is computed, and gets it again once it is
//!   subscribed again, since room ids are the same on every process.

mod locks;
mod memory;
mod names;
mod redb_store;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use locks::DocumentLocks;
pub use memory::MemoryStore;
pub use names::Names;
pub use redb_store::RedbStore;

/// Names one document.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DocKey {
    pub index: String,
    pub collection: String,
    pub id: String,
}

impl DocKey {
    pub fn new(index: &str, collection: &str, id: &str) -> DocKey {
        DocKey {
            index: index.to_owned(),
            collection: collection.to_owned(),
            id: id.to_owned(),
        }
    }
}

/// Registered names: index → its collections (both sorted).
pub type Catalog = BTreeMap<String, BTreeSet<String>>;

/// What the store keeps per document (serialized as JSON `{document, rooms, version}`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoredDocument {
    /// The full document (its `_source`, `_kuzzle_info` included).
    pub document: Value,
    /// Hex ids of the rooms the document matched at its last notification.
    pub rooms: Vec<String>,
    /// 1 at creation, +1 at each change.
    pub version: u64,
}

/// A storage failure (I/O, corruption, undecodable entry).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreError(pub String);

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "document store: {}", self.0)
    }
}

impl std::error::Error for StoreError {}

impl StoreError {
    /// What an unreachable store's errors start with.
    const UNAVAILABLE: &'static str = "unavailable: ";

    /// The store could not be reached (a network store: Redis down, a timeout): nothing was
    /// done, and the client is told to try again (503).
    pub fn unavailable(reason: impl fmt::Display) -> StoreError {
        StoreError(format!("{}{reason}", StoreError::UNAVAILABLE))
    }

    /// Whether this error says the store could not be reached.
    pub fn is_unavailable(&self) -> bool {
        self.0.starts_with(StoreError::UNAVAILABLE)
    }
}

/// Where document state lives.
pub trait DocumentStore: Send + Sync {
    /// The state of a document, if it exists.
    fn get(&self, key: &DocKey) -> Result<Option<StoredDocument>, StoreError>;

    /// The states of several documents, in order. Stores with transactions override it to
    /// read them all in one.
    fn get_batch(&self, keys: &[&DocKey]) -> Result<Vec<Option<StoredDocument>>, StoreError> {
        keys.iter().map(|key| self.get(key)).collect()
    }

    /// Creates or overwrites a document's state; durable on return.
    fn put(&self, key: &DocKey, value: &StoredDocument) -> Result<(), StoreError>;

    /// Removes a document's state; returns whether it existed. Durable on return.
    fn remove(&self, key: &DocKey) -> Result<bool, StoreError>;

    /// Writes several states at once (`None` removes), durable on return. Stores with
    /// transactions override it to commit once for the whole batch.
    fn write_batch(&self, writes: &[(&DocKey, Option<&StoredDocument>)]) -> Result<(), StoreError> {
        for (key, state) in writes {
            match state {
                Some(state) => self.put(key, state)?,
                None => {
                    self.remove(key)?;
                }
            }
        }
        Ok(())
    }

    /// Number of documents held.
    fn len(&self) -> Result<u64, StoreError>;

    /// Registers an index, and a collection in it unless `collection` is `None`. Returns
    /// whether anything was new. Durable on return.
    fn create(&self, index: &str, collection: Option<&str>) -> Result<bool, StoreError>;

    /// Every registered index with its collections.
    fn catalog(&self) -> Result<Catalog, StoreError>;

    /// Removes a collection (or, with `None`, a whole index) and every document in it;
    /// returns whether it was registered. Durable on return.
    fn delete(&self, index: &str, collection: Option<&str>) -> Result<bool, StoreError>;

    /// Removes the documents of a collection and keeps the collection; returns how many
    /// were removed. Durable on return.
    fn truncate(&self, index: &str, collection: &str) -> Result<u64, StoreError>;

    fn is_empty(&self) -> Result<bool, StoreError> {
        Ok(self.len()? == 0)
    }
}

pub(crate) fn encode(value: &StoredDocument) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(|e| StoreError(format!("cannot encode a document: {e}")))
}

pub(crate) fn decode(bytes: &[u8]) -> Result<StoredDocument, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError(format!("corrupt document entry: {e}")))
}
