//! Persistent document state in an embedded redb database.
//!
//! # Why redb
//!
//! * Embedded and pure Rust: no server to run, no C toolchain (RocksDB, LMDB and SQLite all
//!   bring C code and build scripts), builds wherever the workspace builds.
//! * ACID transactions with a durable commit by default (copy-on-write B-trees, checksummed;
//!   `Durability::Immediate`: `commit` returns once the data is fsynced): a change acknowledged
//!   by Herald survives a crash. sled, the other pure
//!   Rust candidate, is unmaintained beta with weaker guarantees.
//! * A tiny API (tables, read and write transactions) that maps one-to-one onto the store
//!   trait; a single file per database.
//!
//! The cost: redb has one writer at a time and each commit fsyncs, so document writes are
//! serialized at commit (matching and delivery still run in parallel). Group commit (several
//! documents per transaction) is the lever if write throughput ever matters more than latency.
//!
//! # Data directory layout
//!
//! ```text
//! <data dir>/
//!   documents.redb    table "documents": (index, collection, _id) -> JSON {document, rooms, version}
//!                     table "catalog":   (index, collection) -> ()  ("" = the index itself)
//! ```
//!
//! The directory is created if missing. redb opens the file in its default `ExclusiveWriter`
//! mode, which locks it: a second process on the same data directory fails to start.

use std::path::{Path, PathBuf};

use redb::{Database, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition};

use super::{decode, encode, Catalog, DocKey, DocumentStore, StoreError, StoredDocument};

/// File name of the database inside the data directory.
pub const DATABASE_FILE: &str = "documents.redb";

const DOCUMENTS: TableDefinition<(&str, &str, &str), &[u8]> = TableDefinition::new("documents");
/// Registered names; an index is registered as `(index, "")` (names are never empty).
const CATALOG: TableDefinition<(&str, &str), ()> = TableDefinition::new("catalog");

/// Document state in `<data dir>/documents.redb`.
pub struct RedbStore {
    db: Database,
    path: PathBuf,
}

fn err(context: &str) -> impl Fn(redb::Error) -> StoreError + '_ {
    move |e| StoreError(format!("{context}: {e}"))
}

impl RedbStore {
    /// Opens (creating if needed) the store under a data directory.
    pub fn open(data_dir: &Path) -> Result<RedbStore, StoreError> {
        std::fs::create_dir_all(data_dir).map_err(|e| {
            StoreError(format!(
                "cannot create data directory {}: {e}",
                data_dir.display()
            ))
        })?;
        let path = data_dir.join(DATABASE_FILE);
        let db = Database::create(&path)
            .map_err(|e| StoreError(format!("cannot open {}: {e}", path.display())))?;
        // Create the table up front so reads never meet a missing table.
        let txn = db.begin_write().map_err(|e| err("begin")(e.into()))?;
        txn.open_table(DOCUMENTS)
            .map_err(|e| err("open table")(e.into()))?;
        txn.open_table(CATALOG)
            .map_err(|e| err("open table")(e.into()))?;
        txn.commit().map_err(|e| err("commit")(e.into()))?;
        Ok(RedbStore { db, path })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// The table key of a document.
fn table_key(key: &DocKey) -> (&str, &str, &str) {
    (key.index.as_str(), key.collection.as_str(), key.id.as_str())
}

impl RedbStore {
    /// Runs `op` on the documents table in a read transaction.
    fn read<R>(
        &self,
        op: impl FnOnce(&redb::ReadOnlyTable<(&str, &str, &str), &[u8]>) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        self.read_table(DOCUMENTS, op)
    }

    /// Runs `op` on one table in a read transaction.
    fn read_table<K: redb::Key + 'static, V: redb::Value + 'static, R>(
        &self,
        definition: TableDefinition<K, V>,
        op: impl FnOnce(&redb::ReadOnlyTable<K, V>) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        let txn = self
            .db
            .begin_read()
            .map_err(|e| err("begin read")(e.into()))?;
        let table = txn
            .open_table(definition)
            .map_err(|e| err("open table")(e.into()))?;
        op(&table)
    }

    /// Runs `op` on the documents table in a write transaction, committed (durably) after.
    fn write<R>(
        &self,
        op: impl FnOnce(&mut redb::Table<(&str, &str, &str), &[u8]>) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        self.write_all(|documents, _| op(documents))
    }

    /// One write transaction over both tables, committed (fsynced) before returning.
    fn write_all<R>(
        &self,
        op: impl FnOnce(
            &mut redb::Table<(&str, &str, &str), &[u8]>,
            &mut redb::Table<(&str, &str), ()>,
        ) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        let txn = self.db.begin_write().map_err(|e| err("begin")(e.into()))?;
        let result = {
            let mut documents = txn
                .open_table(DOCUMENTS)
                .map_err(|e| err("open table")(e.into()))?;
            let mut catalog = txn
                .open_table(CATALOG)
                .map_err(|e| err("open table")(e.into()))?;
            op(&mut documents, &mut catalog)?
        };
        txn.commit().map_err(|e| err("commit")(e.into()))?;
        Ok(result)
    }
}

/// Removes the documents of a collection (or of every collection of an index); returns how
/// many. Keys are sorted by (index, collection, id), so they form one range.
fn remove_documents(
    documents: &mut redb::Table<(&str, &str, &str), &[u8]>,
    index: &str,
    collection: Option<&str>,
) -> Result<u64, StoreError> {
    let doomed: Vec<(String, String, String)> = {
        let mut doomed = Vec::new();
        let range = documents
            .range((index, collection.unwrap_or(""), "")..)
            .map_err(|e| err("read")(e.into()))?;
        for entry in range {
            let (key, _) = entry.map_err(|e| err("read")(e.into()))?;
            let (i, c, id) = key.value();
            if i != index || collection.is_some_and(|wanted| c != wanted) {
                break;
            }
            doomed.push((i.to_owned(), c.to_owned(), id.to_owned()));
        }
        doomed
    };
    for (i, c, id) in &doomed {
        documents
            .remove((i.as_str(), c.as_str(), id.as_str()))
            .map_err(|e| err("delete")(e.into()))?;
    }
    Ok(doomed.len() as u64)
}

impl DocumentStore for RedbStore {
    fn get(&self, key: &DocKey) -> Result<Option<StoredDocument>, StoreError> {
        self.read(|table| {
            let value = table
                .get(table_key(key))
                .map_err(|e| err("read")(e.into()))?;
            match value {
                Some(bytes) => decode(bytes.value()).map(Some),
                None => Ok(None),
            }
        })
    }

    fn put(&self, key: &DocKey, value: &StoredDocument) -> Result<(), StoreError> {
        let bytes = encode(value)?;
        self.write(|table| {
            table
                .insert(table_key(key), bytes.as_slice())
                .map_err(|e| err("write")(e.into()))?;
            Ok(())
        })
    }

    fn remove(&self, key: &DocKey) -> Result<bool, StoreError> {
        self.write(|table| {
            let removed = table
                .remove(table_key(key))
                .map_err(|e| err("delete")(e.into()))?;
            Ok(removed.is_some())
        })
    }

    fn get_batch(&self, keys: &[&DocKey]) -> Result<Vec<Option<StoredDocument>>, StoreError> {
        self.read(|table| {
            keys.iter()
                .map(|key| {
                    let value = table
                        .get(table_key(key))
                        .map_err(|e| err("read")(e.into()))?;
                    value.map(|bytes| decode(bytes.value())).transpose()
                })
                .collect()
        })
    }

    fn write_batch(&self, writes: &[(&DocKey, Option<&StoredDocument>)]) -> Result<(), StoreError> {
        if writes.is_empty() {
            return Ok(());
        }
        let encoded: Vec<Option<Vec<u8>>> = writes
            .iter()
            .map(|(_, state)| state.map(encode).transpose())
            .collect::<Result<_, _>>()?;
        self.write(|table| {
            for ((key, _), bytes) in writes.iter().zip(&encoded) {
                match bytes {
                    Some(bytes) => {
                        table
                            .insert(table_key(key), bytes.as_slice())
                            .map_err(|e| err("write")(e.into()))?;
                    }
                    None => {
                        table
                            .remove(table_key(key))
                            .map_err(|e| err("delete")(e.into()))?;
                    }
                }
            }
            Ok(())
        })
    }

    fn len(&self) -> Result<u64, StoreError> {
        self.read(|table| table.len().map_err(|e| err("count")(e.into())))
    }

    fn create(&self, index: &str, collection: Option<&str>) -> Result<bool, StoreError> {
        self.write_all(|_, catalog| {
            let mut new = false;
            for name in [Some(""), collection].into_iter().flatten() {
                new |= catalog
                    .insert((index, name), ())
                    .map_err(|e| err("write")(e.into()))?
                    .is_none();
            }
            Ok(new)
        })
    }

    fn catalog(&self) -> Result<Catalog, StoreError> {
        self.read_table(CATALOG, |table| {
            let mut catalog = Catalog::new();
            for entry in table.iter().map_err(|e| err("read")(e.into()))? {
                let (key, _) = entry.map_err(|e| err("read")(e.into()))?;
                let (index, collection) = key.value();
                let collections = catalog.entry(index.to_owned()).or_default();
                if !collection.is_empty() {
                    collections.insert(collection.to_owned());
                }
            }
            Ok(catalog)
        })
    }

    fn delete(&self, index: &str, collection: Option<&str>) -> Result<bool, StoreError> {
        self.write_all(|documents, catalog| {
            remove_documents(documents, index, collection)?;
            let names: Vec<String> = match collection {
                Some(c) => vec![c.to_owned()],
                None => {
                    let mut names = Vec::new();
                    let range = catalog
                        .range((index, "")..)
                        .map_err(|e| err("read")(e.into()))?;
                    for entry in range {
                        let (key, _) = entry.map_err(|e| err("read")(e.into()))?;
                        let (i, c) = key.value();
                        if i != index {
                            break;
                        }
                        names.push(c.to_owned());
                    }
                    names
                }
            };
            let mut existed = false;
            for name in &names {
                existed |= catalog
                    .remove((index, name.as_str()))
                    .map_err(|e| err("delete")(e.into()))?
                    .is_some();
            }
            Ok(existed)
        })
    }

    fn truncate(&self, index: &str, collection: &str) -> Result<u64, StoreError> {
        self.write(|documents| remove_documents(documents, index, Some(collection)))
    }
}
