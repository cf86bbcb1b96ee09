//! The inbox engine: per-user locking and cached states, retention, expiry, and the pushes
//! of every change (module docs of [`crate::inbox`] for the invariants).

use std::sync::Arc;

use parking_lot::{Mutex, MutexGuard};
use roaring::RoaringTreemap;
use serde_json::{json, Map, Value};

use super::state::UserState;
use super::store::{InboxStore, StoredNotification, Write};
use super::{
    format_id, Archived, Counts, Draft, InboxConfig, ListQuery, Op, Page, Priority, Selector, Sent,
    Updated, CACHED_USERS, MAX_PAGE, MAX_SCANNED,
};
use crate::rooms::{FoldMap, UserId};
use crate::store::StoreError;

/// Users whose due notifications one sweep round removes, at most (index entries read).
const SWEEP_BATCH: usize = 1_000;
/// Rounds of one sweep, at most (the rest waits for the next sweep).
const SWEEP_ROUNDS: usize = 100;
/// Records fetched at once by a filtered `list`.
const SCAN_CHUNK: usize = 100;

/// Where the changes of an inbox are pushed (the engine's connections, in the server).
pub trait Sink {
    /// Whether some connection of the user listens (nothing is built for a user who does not).
    fn listening(&self, user: &UserId) -> bool;

    /// Delivers a change to the user's listeners; `action` names what caused it.
    fn push(&self, user: &UserId, action: &'static str, result: &Value);
}

/// Pushes nothing.
pub struct NoSink;

impl Sink for NoSink {
    fn listening(&self, _user: &UserId) -> bool {
        false
    }

    fn push(&self, _user: &UserId, _action: &'static str, _result: &Value) {}
}

/// A user's state as cached.
struct Loaded {
    state: UserState,
    /// No notification of the user is due before this time (`None`: none is due ever). May
    /// be earlier than the truth, never later.
    next_due: Option<u64>,
}

/// The lock of one user; `None` until the state is read from the store.
#[derive(Default)]
struct Slot {
    loaded: Option<Loaded>,
}

/// What one operation changes for one user, committed together.
#[derive(Default)]
struct Changes {
    inserts: Vec<(u64, StoredNotification)>,
    removes: Vec<u64>,
    /// Notifications removed as a side effect (expired, pushed out by retention).
    removed: Vec<u64>,
    dirty: bool,
}

/// Persistent inboxes over an [`InboxStore`].
pub struct Inbox {
    store: Arc<dyn InboxStore>,
    config: InboxConfig,
    slots: Mutex<FoldMap<UserId, Arc<Mutex<Slot>>>>,
}

impl Inbox {
    pub fn new(store: Arc<dyn InboxStore>, mut config: InboxConfig) -> Inbox {
        config.max_per_user = config.max_per_user.max(1);
        Inbox {
            store,
            config,
            slots: Mutex::new(FoldMap::default()),
        }
    }

    pub fn config(&self) -> &InboxConfig {
        &self.config
    }

    /// The lock of a user. The cache is pruned of unlocked users when full: a user whose lock
    /// is held or awaited keeps its slot, so there is never more than one state per user.
    fn slot(&self, user: &UserId) -> Arc<Mutex<Slot>> {
        let mut slots = self.slots.lock();
        if let Some(slot) = slots.get(user) {
            return Arc::clone(slot);
        }
        if slots.len() >= CACHED_USERS {
            slots.retain(|_, slot| Arc::strong_count(slot) > 1);
        }
        let slot = Arc::new(Mutex::new(Slot::default()));
        slots.insert(user.clone(), Arc::clone(&slot));
        slot
    }

    /// The user's state, read from the store on first use.
    fn load<'s>(&self, user: &UserId, slot: &'s mut Slot) -> Result<&'s mut Loaded, StoreError> {
        if slot.loaded.is_none() {
            let state = self.store.state(user.as_str())?.unwrap_or_default();
            slot.loaded = Some(Loaded {
                state,
                next_due: Some(0),
            });
        }
        slot.loaded
            .as_mut()
            .ok_or_else(|| StoreError("inbox state not loaded".into()))
    }

    /// Removes what is due by `now` (first step of every operation).
    fn purge(
        &self,
        user: &UserId,
        loaded: &mut Loaded,
        now: u64,
        changes: &mut Changes,
    ) -> Result<(), StoreError> {
        if loaded.next_due.is_none_or(|at| at > now) {
            return Ok(());
        }
        let (due, next) = self.store.due(user.as_str(), now)?;
        for seq in due {
            if loaded.state.remove(seq) {
                changes.removed.push(seq);
            }
            changes.removes.push(seq);
            changes.dirty = true;
        }
        loaded.next_due = next;
        Ok(())
    }

    /// The writes of one user's changes.
    fn writes<'a>(
        user: &'a UserId,
        loaded: &'a Loaded,
        changes: &'a Changes,
        out: &mut Vec<Write<'a>>,
    ) {
        let user = user.as_str();
        out.extend(changes.removes.iter().map(|&seq| Write::Remove(user, seq)));
        out.extend(
            changes
                .inserts
                .iter()
                .map(|(seq, record)| Write::Insert(user, *seq, record)),
        );
        out.push(Write::State(user, &loaded.state));
    }

    /// Runs `op` on one user: lock, load, purge, op, commit, push. `op` returns its answer and
    /// the push of its own change (`None`: it changed nothing).
    fn with_user<R>(
        &self,
        user: &UserId,
        now: u64,
        sink: &dyn Sink,
        op: impl FnOnce(&mut UserState, &mut Changes) -> Result<(R, Option<Push<'static>>), StoreError>,
    ) -> Result<R, StoreError> {
        let slot = self.slot(user);
        let mut guard = slot.lock();
        let loaded = self.load(user, &mut guard)?;
        let mut changes = Changes::default();
        self.purge(user, loaded, now, &mut changes)?;
        let (answer, push) = match op(&mut loaded.state, &mut changes) {
            Ok(done) => done,
            Err(e) => {
                guard.loaded = None;
                return Err(e);
            }
        };
        if changes.dirty {
            loaded.state.optimize();
            let mut writes = Vec::new();
            Self::writes(user, loaded, &changes, &mut writes);
            if let Err(e) = self.store.commit(&writes) {
                guard.loaded = None;
                return Err(e);
            }
        }
        let push = push.or_else(|| (!changes.removed.is_empty()).then_some(Push::Expired));
        if let Some(push) = push {
            if sink.listening(user) {
                let (action, result) = push.render(&loaded.state, &changes.removed);
                sink.push(user, action, &result);
            }
        }
        Ok(answer)
    }

    // ---- sending ----

    /// Stores a notification in the inbox of each user (duplicates ignored), in one commit,
    /// and pushes it to each recipient's listeners.
    pub fn send(
        &self,
        users: &[UserId],
        draft: &Draft,
        now: u64,
        sink: &dyn Sink,
    ) -> Result<Vec<Sent>, StoreError> {
        let mut users: Vec<&UserId> = users.iter().collect();
        users.sort_by(|a, b| a.as_str().cmp(b.as_str()));
        users.dedup();
        let record = draft.record(now, &self.config);
        // Locks in id order (see the module docs).
        let slots: Vec<Arc<Mutex<Slot>>> = users.iter().map(|u| self.slot(u)).collect();
        let mut guards: Vec<MutexGuard<'_, Slot>> = slots.iter().map(|s| s.lock()).collect();
        let mut all: Vec<(Changes, Sent)> = Vec::with_capacity(users.len());
        let outcome = (|| {
            for (user, guard) in users.iter().zip(guards.iter_mut()) {
                let loaded = self.load(user, guard)?;
                let mut changes = Changes::default();
                self.purge(user, loaded, now, &mut changes)?;
                let replaced = match &record.dedup_key {
                    Some(key) => self
                        .store
                        .dedup(user.as_str(), key)?
                        .filter(|&seq| loaded.state.contains(seq)),
                    None => None,
                };
                if let Some(old) = replaced {
                    loaded.state.remove(old);
                    changes.removes.push(old);
                }
                let seq = loaded.state.add();
                changes.inserts.push((seq, record.clone()));
                while loaded.state.stored() > self.config.max_per_user {
                    let Some(oldest) = loaded.state.oldest() else {
                        break;
                    };
                    loaded.state.remove(oldest);
                    changes.removes.push(oldest);
                    changes.removed.push(oldest);
                }
                if let Some(at) = record.purge_at {
                    loaded.next_due = Some(loaded.next_due.map_or(at, |next| next.min(at)));
                }
                changes.dirty = true;
                loaded.state.optimize();
                let sent = Sent {
                    user: user.as_str().to_owned(),
                    id: seq,
                    replaced,
                };
                all.push((changes, sent));
            }
            let mut writes = Vec::new();
            for ((user, guard), (changes, _)) in users.iter().zip(guards.iter()).zip(&all) {
                if let Some(loaded) = &guard.loaded {
                    Self::writes(user, loaded, changes, &mut writes);
                }
            }
            self.store.commit(&writes)
        })();
        if let Err(e) = outcome {
            for guard in &mut guards {
                guard.loaded = None;
            }
            return Err(e);
        }
        let mut sent = Vec::with_capacity(all.len());
        for ((user, guard), (changes, done)) in users.iter().zip(guards.iter()).zip(all) {
            if let Some(loaded) = &guard.loaded {
                if sink.listening(user) {
                    let push = Push::Created {
                        seq: done.id,
                        record: &record,
                        replaced: done.replaced,
                    };
                    let (action, result) = push.render(&loaded.state, &changes.removed);
                    sink.push(user, action, &result);
                }
            }
            sent.push(done);
        }
        Ok(sent)
    }

    // ---- the owner's operations ----

    /// The counts of a user's inbox.
    pub fn counts(&self, user: &UserId, now: u64, sink: &dyn Sink) -> Result<Counts, StoreError> {
        self.with_user(user, now, sink, |state, _| Ok((state.counts(), None)))
    }

    /// A page of a user's notifications, newest first.
    pub fn list(
        &self,
        user: &UserId,
        query: &ListQuery,
        now: u64,
        sink: &dyn Sink,
    ) -> Result<Page, StoreError> {
        self.with_user(user, now, sink, |state, _| {
            let page = self.page(user, state, query)?;
            Ok((page, None))
        })
    }

    fn page(
        &self,
        user: &UserId,
        state: &UserState,
        query: &ListQuery,
    ) -> Result<Page, StoreError> {
        let union;
        let candidates: &RoaringTreemap = match (query.archived, query.unread_only) {
            // Archived notifications are read.
            (Archived::Only, true) => {
                union = RoaringTreemap::new();
                &union
            }
            (_, true) => &state.unread,
            (Archived::No, false) => &state.inbox,
            (Archived::Only, false) => &state.archived,
            (Archived::Any, false) => {
                union = &state.inbox | &state.archived;
                &union
            }
        };
        let size = query.size.clamp(1, MAX_PAGE);
        let filtered = !query.types.is_empty() || !query.priorities.is_empty();
        let mut iter = candidates.iter();
        match query.cursor {
            Some(0) | Some(1) => {
                return Ok(Page {
                    hits: Vec::new(),
                    cursor: None,
                    counts: state.counts(),
                })
            }
            Some(cursor) => iter.advance_back_to(cursor - 1),
            None => {}
        }
        let mut hits = Vec::with_capacity(size);
        let mut scanned = 0;
        let mut last = None;
        'scan: loop {
            let chunk = if filtered {
                SCAN_CHUNK
            } else {
                size - hits.len()
            };
            let seqs: Vec<u64> = (0..chunk).map_while(|_| iter.next_back()).collect();
            if seqs.is_empty() {
                break;
            }
            let records = self.store.get(user.as_str(), &seqs)?;
            for (seq, record) in seqs.into_iter().zip(records) {
                scanned += 1;
                last = Some(seq);
                let Some(record) = record else {
                    tracing::warn!(
                        user = user.as_str(),
                        seq,
                        "inbox: a listed notification has no record"
                    );
                    continue;
                };
                let selected = (query.types.is_empty() || query.types.contains(&record.kind))
                    && (query.priorities.is_empty() || query.priorities.contains(&record.priority));
                if selected {
                    hits.push(view(seq, &record, state));
                }
                if hits.len() >= size || (filtered && scanned >= MAX_SCANNED) {
                    break 'scan;
                }
            }
        }
        // More below the last number examined?
        let cursor = last.filter(|&seq| seq > 1 && candidates.rank(seq - 1) > 0);
        Ok(Page {
            hits,
            cursor,
            counts: state.counts(),
        })
    }

    /// Changes the state of some of a user's notifications.
    pub fn update(
        &self,
        user: &UserId,
        op: Op,
        selector: &Selector,
        now: u64,
        sink: &dyn Sink,
    ) -> Result<Updated, StoreError> {
        self.with_user(user, now, sink, |state, changes| {
            let changed = match selector {
                Selector::Ids(ids) => {
                    let mut changed = Vec::new();
                    for &seq in ids {
                        if apply(state, op, seq) {
                            changed.push(seq);
                            if op == Op::Delete {
                                changes.removes.push(seq);
                            }
                        }
                    }
                    changed.sort_unstable();
                    changed.dedup();
                    Some(changed)
                }
                Selector::UpTo(_) | Selector::All => None,
            };
            let count = match (&changed, selector) {
                (Some(ids), _) => ids.len() as u64,
                (None, Selector::UpTo(upto)) => bulk(state, op, Some(*upto), changes),
                (None, _) => bulk(state, op, None, changes),
            };
            if count == 0 {
                return Ok((
                    Updated {
                        changed: 0,
                        counts: state.counts(),
                    },
                    None,
                ));
            }
            changes.dirty = true;
            let push = Push::Updated {
                op,
                ids: changed,
                selector: selector.clone(),
            };
            Ok((
                Updated {
                    changed: count,
                    counts: state.counts(),
                },
                Some(push),
            ))
        })
    }

    // ---- expiry ----

    /// Removes every notification due by `now`, for every user (a bounded amount per call:
    /// what is left waits for the next one). Returns the number removed.
    pub fn sweep(&self, now: u64, sink: &dyn Sink) -> Result<usize, StoreError> {
        let mut total = 0;
        for _ in 0..SWEEP_ROUNDS {
            let users = self.store.due_users(now, SWEEP_BATCH)?;
            if users.is_empty() {
                break;
            }
            let mut removed = 0;
            for user in users {
                let user = UserId::new(&user);
                // The index says something is due: look, whatever the cached time says.
                if let Some(loaded) = self.slot(&user).lock().loaded.as_mut() {
                    loaded.next_due = Some(0);
                }
                removed += self.with_user(&user, now, sink, |_, changes| {
                    Ok((changes.removes.len(), None))
                })?;
            }
            total += removed;
            if removed == 0 {
                // Index entries without a record: nothing more this time.
                break;
            }
        }
        Ok(total)
    }
}

/// Applies `op` to one notification; whether its state changed.
fn apply(state: &mut UserState, op: Op, seq: u64) -> bool {
    match op {
        Op::Read => state.unread.remove(seq),
        Op::Seen => state.unseen.remove(seq),
        // Archived notifications stay read.
        Op::Unread => state.inbox.contains(seq) && state.unread.insert(seq),
        Op::Archive => {
            if state.inbox.remove(seq) {
                state.unread.remove(seq);
                state.unseen.remove(seq);
                state.archived.insert(seq);
                true
            } else {
                false
            }
        }
        Op::Unarchive => state.archived.remove(seq) && state.inbox.insert(seq),
        Op::Delete => state.remove(seq),
    }
}

/// Applies `op` to every notification of its view up to `upto` (all: `None`); returns how
/// many changed. Set operations: the cost is per container, not per notification (but for
/// deletes, which remove each record).
fn bulk(state: &mut UserState, op: Op, upto: Option<u64>, changes: &mut Changes) -> u64 {
    let range = ..=upto.unwrap_or(u64::MAX);
    let within = |set: &RoaringTreemap| {
        let mut part = set.clone();
        if let Some(upto) = upto.filter(|&u| u < u64::MAX) {
            part.remove_range(upto + 1..);
        }
        part
    };
    match op {
        Op::Read => state.unread.remove_range(range),
        Op::Seen => state.unseen.remove_range(range),
        Op::Unread => {
            let targets = within(&state.inbox) - &state.unread;
            state.unread |= &targets;
            targets.len()
        }
        Op::Archive => {
            let targets = within(&state.inbox);
            state.inbox -= &targets;
            state.unread -= &targets;
            state.unseen -= &targets;
            state.archived |= &targets;
            targets.len()
        }
        Op::Unarchive => {
            let targets = within(&state.archived);
            state.archived -= &targets;
            state.inbox |= &targets;
            targets.len()
        }
        Op::Delete => {
            let targets = within(&state.inbox);
            for seq in &targets {
                state.remove(seq);
                changes.removes.push(seq);
            }
            targets.len()
        }
    }
}

/// A notification as clients see it: the record, its id and flags.
fn view(seq: u64, record: &StoredNotification, state: &UserState) -> Value {
    let mut map = Map::new();
    fill_view(&mut map, seq, record, state);
    Value::Object(map)
}

fn fill_view(
    map: &mut Map<String, Value>,
    seq: u64,
    record: &StoredNotification,
    state: &UserState,
) {
    map.insert("_id".into(), format_id(seq).into());
    map.insert("type".into(), record.kind.clone().into());
    map.insert("priority".into(), record.priority.as_str().into());
    map.insert(
        "critical".into(),
        (record.priority == Priority::Critical).into(),
    );
    map.insert("subject".into(), record.subject.clone().into());
    map.insert("payload".into(), record.payload.clone());
    map.insert(
        "link".into(),
        record.link.as_ref().map_or(
            Value::Null,
            |l| json!({"index": l.index, "collection": l.collection, "id": l.id}),
        ),
    );
    map.insert("from".into(), record.from.clone().into());
    map.insert("createdAt".into(), record.created_at.into());
    map.insert("expiresAt".into(), record.expires_at.into());
    map.insert("dedupKey".into(), record.dedup_key.clone().into());
    map.insert("read".into(), (!state.unread.contains(seq)).into());
    map.insert("seen".into(), (!state.unseen.contains(seq)).into());
    map.insert("archived".into(), state.archived.contains(seq).into());
}

/// What a push says, before it is rendered.
enum Push<'a> {
    Created {
        seq: u64,
        record: &'a StoredNotification,
        replaced: Option<u64>,
    },
    Updated {
        op: Op,
        /// The ids that changed (`None`: a bulk change, named by its selector).
        ids: Option<Vec<u64>>,
        selector: Selector,
    },
    /// Only removals by expiry.
    Expired,
}

impl Push<'_> {
    /// The action and `result` of the frame: `{event, ...what changed, removed?, counts}`.
    fn render(&self, state: &UserState, removed: &[u64]) -> (&'static str, Value) {
        let mut map = Map::new();
        let action = match self {
            Push::Created {
                seq,
                record,
                replaced,
            } => {
                map.insert("event".into(), "created".into());
                fill_view(&mut map, *seq, record, state);
                if let Some(old) = replaced {
                    map.insert("replaced".into(), format_id(*old).into());
                }
                "send"
            }
            Push::Updated { op, ids, selector } => {
                map.insert("event".into(), op.event().into());
                match (ids, selector) {
                    (Some(ids), _) => {
                        let ids: Vec<Value> = ids.iter().map(|&s| format_id(s).into()).collect();
                        map.insert("ids".into(), ids.into());
                    }
                    (None, Selector::UpTo(upto)) => {
                        map.insert("upTo".into(), format_id(*upto).into());
                    }
                    (None, _) => {
                        map.insert("all".into(), true.into());
                    }
                }
                op.action()
            }
            Push::Expired => {
                map.insert("event".into(), "expired".into());
                "expire"
            }
        };
        if !removed.is_empty() {
            let ids: Vec<Value> = removed.iter().map(|&s| format_id(s).into()).collect();
            map.insert("removed".into(), ids.into());
        }
        let counts = serde_json::to_value(state.counts()).unwrap_or(Value::Null);
        map.insert("counts".into(), counts);
        (action, Value::Object(map))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inbox::MemoryInboxStore;
    use std::cell::RefCell;

    /// Records pushes.
    #[derive(Default)]
    struct Recorder {
        pushes: RefCell<Vec<(String, &'static str, Value)>>,
    }

    impl Sink for Recorder {
        fn listening(&self, _user: &UserId) -> bool {
            true
        }

        fn push(&self, user: &UserId, action: &'static str, result: &Value) {
            self.pushes
                .borrow_mut()
                .push((user.as_str().to_owned(), action, result.clone()));
        }
    }

    fn draft(kind: &str) -> Draft {
        Draft {
            kind: kind.into(),
            priority: Priority::Normal,
            subject: Some("s".into()),
            payload: json!({"n": 1}),
            link: None,
            from: "erp".into(),
            expires_at: None,
            dedup_key: None,
        }
    }

    fn inbox(max_per_user: u64) -> Inbox {
        let config = InboxConfig {
            max_per_user,
            max_age: None,
            ..InboxConfig::default()
        };
        Inbox::new(Arc::new(MemoryInboxStore::new()), config)
    }

    fn ids(page: &Page) -> Vec<&str> {
        page.hits.iter().filter_map(|h| h["_id"].as_str()).collect()
    }

    #[test]
    fn counts_and_lists_follow_every_change() {
        let inbox = inbox(100);
        let alice = UserId::new("alice");
        let sink = Recorder::default();
        for kind in ["A", "B", "A", "C", "A"] {
            inbox
                .send(&[alice.clone(), alice.clone()], &draft(kind), 10, &sink)
                .expect("send");
        }
        assert_eq!(
            sink.pushes.borrow().len(),
            5,
            "one push per send, duplicates ignored"
        );
        let counts = inbox.counts(&alice, 10, &NoSink).expect("counts");
        assert_eq!((counts.unread, counts.unseen, counts.total), (5, 5, 5));
        let page = inbox
            .list(
                &alice,
                &ListQuery {
                    size: 2,
                    ..ListQuery::default()
                },
                10,
                &NoSink,
            )
            .expect("list");
        assert_eq!(ids(&page), vec!["5", "4"]);
        assert_eq!(page.cursor, Some(4));
        let next = ListQuery {
            size: 2,
            cursor: page.cursor,
            ..ListQuery::default()
        };
        let page = inbox.list(&alice, &next, 10, &NoSink).expect("list");
        assert_eq!(ids(&page), vec!["3", "2"]);
        let last = ListQuery {
            size: 2,
            cursor: page.cursor,
            ..ListQuery::default()
        };
        let page = inbox.list(&alice, &last, 10, &NoSink).expect("list");
        assert_eq!((ids(&page), page.cursor), (vec!["1"], None));
        let only_a = ListQuery {
            types: vec!["A".into()],
            ..ListQuery::default()
        };
        assert_eq!(
            ids(&inbox.list(&alice, &only_a, 10, &NoSink).expect("list")),
            vec!["5", "3", "1"]
        );

        let read = inbox
            .update(
                &alice,
                Op::Read,
                &Selector::Ids(vec![2, 2, 9, 4]),
                10,
                &sink,
            )
            .expect("read");
        assert_eq!((read.changed, read.counts.unread), (2, 3));
        let last_push = sink.pushes.borrow().last().cloned().expect("push");
        assert_eq!(last_push.1, "markRead");
        assert_eq!(last_push.2["ids"], json!(["2", "4"]));
        assert_eq!(last_push.2["counts"]["unread"], 3);
        // Nothing changes: no push.
        let before = sink.pushes.borrow().len();
        inbox
            .update(&alice, Op::Read, &Selector::Ids(vec![2]), 10, &sink)
            .expect("read");
        assert_eq!(sink.pushes.borrow().len(), before);

        let seen = inbox
            .update(&alice, Op::Seen, &Selector::UpTo(3), 10, &sink)
            .expect("seen");
        assert_eq!((seen.changed, seen.counts.unseen), (3, 2));
        let unread_only = ListQuery {
            unread_only: true,
            ..ListQuery::default()
        };
        assert_eq!(
            ids(&inbox.list(&alice, &unread_only, 10, &NoSink).expect("list")),
            vec!["5", "3", "1"]
        );

        let archived = inbox
            .update(&alice, Op::Archive, &Selector::Ids(vec![5, 1]), 10, &sink)
            .expect("archive");
        assert_eq!(
            archived.counts,
            Counts {
                unread: 1,
                unseen: 1,
                total: 3,
                archived: 2
            }
        );
        let archive = ListQuery {
            archived: Archived::Only,
            ..ListQuery::default()
        };
        let page = inbox.list(&alice, &archive, 10, &NoSink).expect("list");
        assert_eq!(ids(&page), vec!["5", "1"]);
        assert_eq!(page.hits[0]["read"], true);
        // Archived notifications are read: markUnread leaves them alone.
        let unread = inbox
            .update(&alice, Op::Unread, &Selector::All, 10, &sink)
            .expect("unread");
        assert_eq!((unread.changed, unread.counts.unread), (2, 3));
        let unarchived = inbox
            .update(&alice, Op::Unarchive, &Selector::All, 10, &sink)
            .expect("unarchive");
        assert_eq!(
            unarchived.counts,
            Counts {
                unread: 3,
                unseen: 1,
                total: 5,
                archived: 0
            }
        );
        let all = inbox
            .update(&alice, Op::Read, &Selector::All, 10, &sink)
            .expect("read all");
        assert_eq!((all.changed, all.counts.unread), (3, 0));
        let deleted = inbox
            .update(&alice, Op::Delete, &Selector::UpTo(4), 10, &sink)
            .expect("delete");
        assert_eq!((deleted.changed, deleted.counts.total), (4, 1));
        let any = ListQuery {
            archived: Archived::Any,
            ..ListQuery::default()
        };
        assert_eq!(
            ids(&inbox.list(&alice, &any, 10, &NoSink).expect("list")),
            vec!["5"]
        );
    }

    #[test]
    fn dedup_retention_and_expiry() {
        let inbox = inbox(3);
        let bob = UserId::new("bob");
        let sink = Recorder::default();
        let mut keyed = draft("MAIL");
        keyed.dedup_key = Some("thread-1".into());
        let first = inbox
            .send(std::slice::from_ref(&bob), &keyed, 10, &sink)
            .expect("send");
        let second = inbox
            .send(std::slice::from_ref(&bob), &keyed, 11, &sink)
            .expect("send");
        assert_eq!(second[0].replaced, Some(first[0].id));
        assert_eq!(inbox.counts(&bob, 11, &NoSink).expect("counts").total, 1);
        assert_eq!(
            sink.pushes.borrow()[1].2["replaced"],
            json!(first[0].id.to_string())
        );
        for _ in 0..3 {
            inbox
                .send(std::slice::from_ref(&bob), &draft("X"), 12, &sink)
                .expect("send");
        }
        let counts = inbox.counts(&bob, 12, &NoSink).expect("counts");
        assert_eq!(counts.total, 3, "retention keeps the newest three");
        assert_eq!(
            sink.pushes.borrow().last().expect("push").2["removed"],
            json!(["2"])
        );
        // The dedup key left with the notification it named: a new one is added.
        let third = inbox
            .send(std::slice::from_ref(&bob), &keyed, 13, &sink)
            .expect("send");
        assert_eq!(third[0].replaced, None);

        let mut short = draft("TEMP");
        short.expires_at = Some(100);
        inbox
            .send(std::slice::from_ref(&bob), &short, 20, &sink)
            .expect("send");
        assert_eq!(inbox.counts(&bob, 99, &NoSink).expect("counts").total, 3);
        let before = sink.pushes.borrow().len();
        let counts = inbox.counts(&bob, 100, &sink).expect("counts");
        assert_eq!(counts.total, 2, "expired on access");
        let pushes = sink.pushes.borrow();
        assert_eq!(pushes.len(), before + 1);
        assert_eq!(pushes[before].1, "expire");
        assert_eq!(pushes[before].2["event"], "expired");
    }

    #[test]
    fn the_sweep_removes_what_is_due_for_users_nobody_reads() {
        let inbox = inbox(100);
        let sink = Recorder::default();
        let mut short = draft("TEMP");
        short.expires_at = Some(50);
        let users: Vec<UserId> = (0..3).map(|i| UserId::new(&format!("u{i}"))).collect();
        inbox.send(&users, &short, 10, &NoSink).expect("send");
        inbox
            .send(&users[..1], &draft("KEEP"), 10, &NoSink)
            .expect("send");
        assert_eq!(inbox.sweep(49, &sink).expect("sweep"), 0);
        assert_eq!(inbox.sweep(50, &sink).expect("sweep"), 3);
        assert_eq!(sink.pushes.borrow().len(), 3);
        assert_eq!(inbox.sweep(60, &sink).expect("sweep"), 0);
        assert_eq!(
            inbox.counts(&users[0], 60, &NoSink).expect("counts").total,
            1
        );
    }

    #[test]
    fn age_limit_and_cursor_edges() {
        let config = InboxConfig {
            max_age: Some(std::time::Duration::from_millis(1_000)),
            ..InboxConfig::default()
        };
        let inbox = Inbox::new(Arc::new(MemoryInboxStore::new()), config);
        let carol = UserId::new("carol");
        inbox
            .send(std::slice::from_ref(&carol), &draft("OLD"), 0, &NoSink)
            .expect("send");
        inbox
            .send(std::slice::from_ref(&carol), &draft("NEW"), 500, &NoSink)
            .expect("send");
        assert_eq!(
            inbox.counts(&carol, 1_000, &NoSink).expect("counts").total,
            1
        );
        let page = inbox
            .list(
                &carol,
                &ListQuery {
                    cursor: Some(1),
                    ..ListQuery::default()
                },
                1_000,
                &NoSink,
            )
            .expect("list");
        assert!(page.hits.is_empty() && page.cursor.is_none());
        let page = inbox
            .list(
                &carol,
                &ListQuery {
                    cursor: Some(u64::MAX),
                    ..ListQuery::default()
                },
                1_000,
                &NoSink,
            )
            .expect("list");
        assert_eq!(ids(&page), vec!["2"]);
    }
}
