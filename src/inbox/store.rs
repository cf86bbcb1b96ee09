//! Where inboxes live: the [`InboxStore`] trait, the stored notification record, and the
//! in-memory store of tests and `--ephemeral`.
//!
//! Everything is keyed by user first, so what one user holds is one contiguous range and no
//! operation on one user reads another's keys:
//!
//! * the user's state ([`UserState`]: counter and sets), one entry per user;
//! * the notifications, by `(user, seq)`, each written once and never updated (its read,
//!   seen and archived flags are in the state's sets);
//! * the dedup index, `(user, dedupKey) -> seq`;
//! * the removal index per user, `(user, purgeAt, seq)`, for removals on access;
//! * one global removal index, `(purgeAt, user, seq)`, for the periodic sweep, which thus
//!   finds what is due without visiting users that have nothing due.
//!
//! The indexes are derived from the records by the store itself ([`Write::Insert`] and
//! [`Write::Remove`]), in the same atomic commit, so they cannot disagree with them.

use std::collections::{BTreeMap, BTreeSet};

use parking_lot::RwLock;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::state::UserState;
use super::Priority;
use crate::rooms::FoldMap;
use crate::store::StoreError;

/// A document a notification points to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    pub index: String,
    pub collection: String,
    pub id: String,
}

/// A notification as stored (JSON): written once, never updated.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredNotification {
    /// The type code (`CM_REMINDER`, `MAIL`, `SHUTDOWN`...).
    #[serde(rename = "type")]
    pub kind: String,
    pub priority: Priority,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub payload: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<Link>,
    /// The sender's user id (`-1`: anonymous).
    pub from: String,
    /// Epoch milliseconds.
    pub created_at: u64,
    /// The expiry the sender asked for, epoch milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<u64>,
    /// When the notification is removed: the earlier of `expires_at` and the age limit in
    /// force when it was sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purge_at: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dedup_key: Option<String>,
}

impl StoredNotification {
    pub fn encode(&self) -> Result<Vec<u8>, StoreError> {
        serde_json::to_vec(self)
            .map_err(|e| StoreError(format!("cannot encode a notification: {e}")))
    }

    pub fn decode(bytes: &[u8]) -> Result<StoredNotification, StoreError> {
        serde_json::from_slice(bytes)
            .map_err(|e| StoreError(format!("corrupt notification entry: {e}")))
    }
}

/// One change of a commit.
#[derive(Clone, Copy, Debug)]
pub enum Write<'a> {
    /// Creates or replaces a user's state.
    State(&'a str, &'a UserState),
    /// Stores a new notification, with its dedup key and removal time indexed. Removals of
    /// the same commit are applied first.
    Insert(&'a str, u64, &'a StoredNotification),
    /// Removes a notification with its index entries (nothing if it is not stored).
    Remove(&'a str, u64),
}

/// Where inboxes live. Every method is about one user except [`InboxStore::due_users`]; the
/// engine serializes the changes of one user (see `Inbox`), the store only has to apply a
/// commit atomically.
pub trait InboxStore: Send + Sync {
    /// A user's state, if the user ever had a notification.
    fn state(&self, user: &str) -> Result<Option<UserState>, StoreError>;

    /// Notifications of a user by number, in order (`None`: not stored).
    fn get(&self, user: &str, seqs: &[u64]) -> Result<Vec<Option<StoredNotification>>, StoreError>;

    /// The notification of a user holding a dedup key.
    fn dedup(&self, user: &str, key: &str) -> Result<Option<u64>, StoreError>;

    /// The user's notifications due for removal by `now`, and the next removal time after
    /// them (if any).
    fn due(&self, user: &str, now: u64) -> Result<(Vec<u64>, Option<u64>), StoreError>;

    /// Users with notifications due for removal by `now`, looking at `limit` index entries
    /// at most (oldest first).
    fn due_users(&self, now: u64, limit: usize) -> Result<Vec<String>, StoreError>;

    /// Applies the writes atomically; durable on return.
    fn commit(&self, writes: &[Write<'_>]) -> Result<(), StoreError>;
}

/// One user in memory.
#[derive(Default)]
struct MemoryUser {
    state: Option<UserState>,
    notifications: BTreeMap<u64, StoredNotification>,
    dedup: FoldMap<String, u64>,
    /// (purgeAt, seq)
    due: BTreeSet<(u64, u64)>,
}

#[derive(Default)]
struct Memory {
    users: FoldMap<String, MemoryUser>,
    /// (purgeAt, user, seq)
    due: BTreeSet<(u64, String, u64)>,
}

impl Memory {
    fn remove(&mut self, user: &str, seq: u64) {
        let Some(entry) = self.users.get_mut(user) else {
            return;
        };
        let Some(record) = entry.notifications.remove(&seq) else {
            return;
        };
        if let Some(key) = &record.dedup_key {
            if entry.dedup.get(key) == Some(&seq) {
                entry.dedup.remove(key);
            }
        }
        if let Some(at) = record.purge_at {
            entry.due.remove(&(at, seq));
            self.due.remove(&(at, user.to_owned(), seq));
        }
    }

    fn insert(&mut self, user: &str, seq: u64, record: &StoredNotification) {
        let entry = self.users.entry(user.to_owned()).or_default();
        if let Some(key) = &record.dedup_key {
            entry.dedup.insert(key.clone(), seq);
        }
        if let Some(at) = record.purge_at {
            entry.due.insert((at, seq));
            self.due.insert((at, user.to_owned(), seq));
        }
        entry.notifications.insert(seq, record.clone());
    }
}

/// Inboxes in memory: for tests and `herald serve --ephemeral`. Lost at exit.
#[derive(Default)]
pub struct MemoryInboxStore {
    inner: RwLock<Memory>,
}

impl MemoryInboxStore {
    pub fn new() -> MemoryInboxStore {
        MemoryInboxStore::default()
    }
}

impl InboxStore for MemoryInboxStore {
    fn state(&self, user: &str) -> Result<Option<UserState>, StoreError> {
        Ok(self
            .inner
            .read()
            .users
            .get(user)
            .and_then(|u| u.state.clone()))
    }

    fn get(&self, user: &str, seqs: &[u64]) -> Result<Vec<Option<StoredNotification>>, StoreError> {
        let inner = self.inner.read();
        let entry = inner.users.get(user);
        Ok(seqs
            .iter()
            .map(|seq| entry.and_then(|u| u.notifications.get(seq).cloned()))
            .collect())
    }

    fn dedup(&self, user: &str, key: &str) -> Result<Option<u64>, StoreError> {
        Ok(self
            .inner
            .read()
            .users
            .get(user)
            .and_then(|u| u.dedup.get(key).copied()))
    }

    fn due(&self, user: &str, now: u64) -> Result<(Vec<u64>, Option<u64>), StoreError> {
        let inner = self.inner.read();
        let Some(entry) = inner.users.get(user) else {
            return Ok((Vec::new(), None));
        };
        let due = entry
            .due
            .range(..=(now, u64::MAX))
            .map(|&(_, seq)| seq)
            .collect();
        let next = entry
            .due
            .range((now.saturating_add(1), 0)..)
            .next()
            .map(|&(at, _)| at);
        Ok((due, next))
    }

    fn due_users(&self, now: u64, limit: usize) -> Result<Vec<String>, StoreError> {
        let inner = self.inner.read();
        let mut users = BTreeSet::new();
        for (at, user, _) in inner.due.iter().take(limit) {
            if *at > now {
                break;
            }
            users.insert(user.clone());
        }
        Ok(users.into_iter().collect())
    }

    fn commit(&self, writes: &[Write<'_>]) -> Result<(), StoreError> {
        let mut inner = self.inner.write();
        for write in writes {
            if let Write::Remove(user, seq) = write {
                inner.remove(user, *seq);
            }
        }
        for write in writes {
            match write {
                Write::Insert(user, seq, record) => inner.insert(user, *seq, record),
                Write::State(user, state) => {
                    inner.users.entry((*user).to_owned()).or_default().state =
                        Some((*state).clone());
                }
                Write::Remove(..) => {}
            }
        }
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn record(
        kind: &str,
        purge_at: Option<u64>,
        dedup: Option<&str>,
    ) -> StoredNotification {
        StoredNotification {
            kind: kind.into(),
            priority: Priority::Normal,
            subject: None,
            payload: Value::Null,
            link: None,
            from: "erp".into(),
            created_at: 1,
            expires_at: None,
            purge_at,
            dedup_key: dedup.map(str::to_owned),
        }
    }

    /// The behaviour every store must have.
    pub(crate) fn exercise(store: &dyn InboxStore) {
        assert_eq!(store.state("alice").expect("state"), None);
        let mut state = UserState::default();
        let (a, b) = (state.add(), state.add());
        let first = record("MAIL", Some(100), Some("k"));
        let second = record("VOIP", Some(50), None);
        store
            .commit(&[
                Write::Insert("alice", a, &first),
                Write::Insert("alice", b, &second),
                Write::State("alice", &state),
                Write::Insert("bob", 1, &record("X", Some(10), Some("k"))),
            ])
            .expect("commit");
        assert_eq!(store.state("alice").expect("state"), Some(state.clone()));
        assert_eq!(
            store.get("alice", &[b, a, 9]).expect("get"),
            vec![Some(second.clone()), Some(first.clone()), None]
        );
        assert_eq!(store.dedup("alice", "k").expect("dedup"), Some(a));
        assert_eq!(store.dedup("bob", "k").expect("dedup"), Some(1));
        assert_eq!(store.due("alice", 49).expect("due"), (vec![], Some(50)));
        assert_eq!(store.due("alice", 60).expect("due"), (vec![b], Some(100)));
        assert_eq!(store.due("alice", 100).expect("due"), (vec![b, a], None));
        assert_eq!(
            store.due_users(9, 100).expect("due users"),
            Vec::<String>::new()
        );
        assert_eq!(
            store.due_users(50, 100).expect("due users"),
            vec!["alice", "bob"]
        );
        assert_eq!(store.due_users(50, 1).expect("due users"), vec!["bob"]);
        // A replacement in one commit: the removal first, then the insert takes the key.
        let third = record("MAIL", None, Some("k"));
        store
            .commit(&[Write::Insert("alice", 3, &third), Write::Remove("alice", a)])
            .expect("commit");
        assert_eq!(store.dedup("alice", "k").expect("dedup"), Some(3));
        assert_eq!(store.get("alice", &[a]).expect("get"), vec![None]);
        assert_eq!(store.due("alice", 1000).expect("due"), (vec![b], None));
        store
            .commit(&[Write::Remove("alice", b), Write::Remove("alice", 77)])
            .expect("commit");
        assert_eq!(store.due_users(1000, 100).expect("due users"), vec!["bob"]);
        assert_eq!(store.dedup("bob", "k").expect("dedup"), Some(1));
    }

    #[test]
    fn memory_store() {
        exercise(&MemoryInboxStore::new());
    }
}
