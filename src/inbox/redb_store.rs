//! Inboxes on disk: `<data dir>/inbox.redb`, next to the document store.
//!
//! A database file of its own rather than more tables in `documents.redb`: redb has one
//! writer per database, and a send must not queue behind document commits (nor document
//! writes behind a large inbox operation). Same engine and guarantees as the document store:
//! a commit is durable (fsynced) when it returns, so a notification is stored before `send`
//! answers.
//!
//! ```text
//! <data dir>/inbox.redb
//!   inbox_states:        user -> UserState (binary, see state.rs)
//!   inbox_notifications: (user, seq) -> JSON StoredNotification
//!   inbox_dedup:         (user, dedupKey) -> seq
//!   inbox_user_due:      (user, purgeAt, seq) -> ()
//!   inbox_due:           (purgeAt, user, seq) -> ()
//! ```
//!
//! Keys are tuples sorted field by field, so each user's entries are one range.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};

use super::state::UserState;
use super::store::{InboxStore, StoredNotification, Write};
use crate::store::StoreError;

/// File name of the database inside the data directory.
pub const INBOX_FILE: &str = "inbox.redb";

const STATES: TableDefinition<&str, &[u8]> = TableDefinition::new("inbox_states");
const NOTIFICATIONS: TableDefinition<(&str, u64), &[u8]> =
    TableDefinition::new("inbox_notifications");
const DEDUP: TableDefinition<(&str, &str), u64> = TableDefinition::new("inbox_dedup");
const USER_DUE: TableDefinition<(&str, u64, u64), ()> = TableDefinition::new("inbox_user_due");
const DUE: TableDefinition<(u64, &str, u64), ()> = TableDefinition::new("inbox_due");

fn err<E: Into<redb::Error>>(context: &'static str) -> impl Fn(E) -> StoreError {
    move |e| StoreError(format!("inbox {context}: {}", e.into()))
}

/// Inboxes in `<data dir>/inbox.redb`.
pub struct RedbInboxStore {
    db: Database,
    path: PathBuf,
}

impl RedbInboxStore {
    /// Opens (creating if needed) the inbox database under a data directory.
    pub fn open(data_dir: &Path) -> Result<RedbInboxStore, StoreError> {
        std::fs::create_dir_all(data_dir).map_err(|e| {
            StoreError(format!(
                "cannot create data directory {}: {e}",
                data_dir.display()
            ))
        })?;
        let path = data_dir.join(INBOX_FILE);
        let db = Database::create(&path)
            .map_err(|e| StoreError(format!("cannot open {}: {e}", path.display())))?;
        let txn = db.begin_write().map_err(err("begin"))?;
        txn.open_table(STATES).map_err(err("open table"))?;
        txn.open_table(NOTIFICATIONS).map_err(err("open table"))?;
        txn.open_table(DEDUP).map_err(err("open table"))?;
        txn.open_table(USER_DUE).map_err(err("open table"))?;
        txn.open_table(DUE).map_err(err("open table"))?;
        txn.commit().map_err(err("commit"))?;
        Ok(RedbInboxStore { db, path })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn read(&self) -> Result<redb::ReadTransaction, StoreError> {
        self.db.begin_read().map_err(err("begin read"))
    }
}

/// The tables of one write transaction.
struct Tables<'t> {
    states: redb::Table<'t, &'static str, &'static [u8]>,
    notifications: redb::Table<'t, (&'static str, u64), &'static [u8]>,
    dedup: redb::Table<'t, (&'static str, &'static str), u64>,
    user_due: redb::Table<'t, (&'static str, u64, u64), ()>,
    due: redb::Table<'t, (u64, &'static str, u64), ()>,
}

impl Tables<'_> {
    fn remove(&mut self, user: &str, seq: u64) -> Result<(), StoreError> {
        let record = match self
            .notifications
            .remove((user, seq))
            .map_err(err("delete"))?
        {
            Some(bytes) => StoredNotification::decode(bytes.value())?,
            None => return Ok(()),
        };
        if let Some(key) = record.dedup_key.as_deref() {
            let points_here = self
                .dedup
                .get((user, key))
                .map_err(err("read"))?
                .is_some_and(|v| v.value() == seq);
            if points_here {
                self.dedup.remove((user, key)).map_err(err("delete"))?;
            }
        }
        if let Some(at) = record.purge_at {
            self.user_due
                .remove((user, at, seq))
                .map_err(err("delete"))?;
            self.due.remove((at, user, seq)).map_err(err("delete"))?;
        }
        Ok(())
    }

    fn insert(
        &mut self,
        user: &str,
        seq: u64,
        record: &StoredNotification,
    ) -> Result<(), StoreError> {
        let bytes = record.encode()?;
        self.notifications
            .insert((user, seq), bytes.as_slice())
            .map_err(err("write"))?;
        if let Some(key) = record.dedup_key.as_deref() {
            self.dedup.insert((user, key), seq).map_err(err("write"))?;
        }
        if let Some(at) = record.purge_at {
            self.user_due
                .insert((user, at, seq), ())
                .map_err(err("write"))?;
            self.due.insert((at, user, seq), ()).map_err(err("write"))?;
        }
        Ok(())
    }
}

impl InboxStore for RedbInboxStore {
    fn state(&self, user: &str) -> Result<Option<UserState>, StoreError> {
        let txn = self.read()?;
        let table = txn.open_table(STATES).map_err(err("open table"))?;
        let value = table.get(user).map_err(err("read"))?;
        value
            .map(|bytes| UserState::decode(bytes.value()))
            .transpose()
    }

    fn get(&self, user: &str, seqs: &[u64]) -> Result<Vec<Option<StoredNotification>>, StoreError> {
        let txn = self.read()?;
        let table = txn.open_table(NOTIFICATIONS).map_err(err("open table"))?;
        seqs.iter()
            .map(|&seq| {
                let value = table.get((user, seq)).map_err(err("read"))?;
                value
                    .map(|bytes| StoredNotification::decode(bytes.value()))
                    .transpose()
            })
            .collect()
    }

    fn dedup(&self, user: &str, key: &str) -> Result<Option<u64>, StoreError> {
        let txn = self.read()?;
        let table = txn.open_table(DEDUP).map_err(err("open table"))?;
        let value = table.get((user, key)).map_err(err("read"))?;
        Ok(value.map(|v| v.value()))
    }

    fn due(&self, user: &str, now: u64) -> Result<(Vec<u64>, Option<u64>), StoreError> {
        let txn = self.read()?;
        let table = txn.open_table(USER_DUE).map_err(err("open table"))?;
        let mut due = Vec::new();
        let range = table
            .range((user, 0, 0)..=(user, u64::MAX, u64::MAX))
            .map_err(err("read"))?;
        for entry in range {
            let (key, _) = entry.map_err(err("read"))?;
            let (_, at, seq) = key.value();
            if at > now {
                return Ok((due, Some(at)));
            }
            due.push(seq);
        }
        Ok((due, None))
    }

    fn due_users(&self, now: u64, limit: usize) -> Result<Vec<String>, StoreError> {
        let txn = self.read()?;
        let table = txn.open_table(DUE).map_err(err("open table"))?;
        let mut users = BTreeSet::new();
        for entry in table.iter().map_err(err("read"))?.take(limit) {
            let (key, _) = entry.map_err(err("read"))?;
            let (at, user, _) = key.value();
            if at > now {
                break;
            }
            users.insert(user.to_owned());
        }
        Ok(users.into_iter().collect())
    }

    fn commit(&self, writes: &[Write<'_>]) -> Result<(), StoreError> {
        if writes.is_empty() {
            return Ok(());
        }
        let states: Vec<(&str, Vec<u8>)> = writes
            .iter()
            .filter_map(|w| match w {
                Write::State(user, state) => Some(state.encode().map(|bytes| (*user, bytes))),
                _ => None,
            })
            .collect::<Result<_, _>>()?;
        let txn = self.db.begin_write().map_err(err("begin"))?;
        {
            let mut tables = Tables {
                states: txn.open_table(STATES).map_err(err("open table"))?,
                notifications: txn.open_table(NOTIFICATIONS).map_err(err("open table"))?,
                dedup: txn.open_table(DEDUP).map_err(err("open table"))?,
                user_due: txn.open_table(USER_DUE).map_err(err("open table"))?,
                due: txn.open_table(DUE).map_err(err("open table"))?,
            };
            for write in writes {
                if let Write::Remove(user, seq) = write {
                    tables.remove(user, *seq)?;
                }
            }
            for write in writes {
                if let Write::Insert(user, seq, record) = write {
                    tables.insert(user, *seq, record)?;
                }
            }
            for (user, bytes) in &states {
                tables
                    .states
                    .insert(*user, bytes.as_slice())
                    .map_err(err("write"))?;
            }
        }
        txn.commit().map_err(err("commit"))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redb_store_behaves_like_the_memory_store_and_persists() {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let store = RedbInboxStore::open(dir.path()).expect("open");
            crate::inbox::store::tests::exercise(&store);
        }
        let store = RedbInboxStore::open(dir.path()).expect("reopen");
        assert!(store.state("alice").expect("state").is_some());
        assert_eq!(store.dedup("alice", "k").expect("dedup"), Some(3));
        assert_eq!(store.due_users(1000, 100).expect("due users"), vec!["bob"]);
    }
}
