//! Document changes: plan in order, commit once, notify in order.
//!
//! A change is applied in three steps. *Stage*: read the document's state (or the state an
//! earlier change of the same batch left), plan the new state ([`change::plan`]) and match it
//! against the rooms. *Commit*: write every resulting state in one store transaction, so a
//! batch of a thousand documents costs one fsync, not a thousand. *Notify*: in change order,
//! scope `in` to the rooms matched now and `out` to those matched at the last notification.
//!
//! The documents of a batch stay locked (their [`DocumentLocks`] stripes, taken in ascending
//! order so that two batches cannot deadlock) from the first read to the last delivery: the
//! transitions a subscriber sees are exactly those of the committed history. A change is
//! acknowledged only once the commit is durable; if the commit fails, every change of the
//! batch fails with the store's error and nothing is notified.
//!
//! [`DocumentLocks`]: crate::store::DocumentLocks

use herald_filters::engine::CollectionName;
use serde_json::Value;

use super::bus::{Committed, Pending, Step, WireChange};
use super::change::{self, Plan, Stamp};
use super::frame::DocumentResult;
use super::{with_id, Action, Applied, ChangeError, DocumentChange, Hub, Operation, Origin};
use crate::rooms::{FoldMap, RoomId};
use crate::store::{DocKey, DocumentStore, StoreError, StoredDocument};

/// Commits tried per batch before giving up on a document that other nodes keep changing.
const MAX_ATTEMPTS: usize = 32;

impl Hub {
    /// Applies one document change and notifies; returns when the change is durable and every
    /// notification is queued.
    pub fn apply(&self, origin: &Origin, change: &DocumentChange) -> Result<Applied, ChangeError> {
        self.apply_batch(origin, std::slice::from_ref(change))
            .pop()
            .expect("one result per change")
    }

    /// The batch forms (`mCreate`, `mUpdate`, `mDelete`...): changes planned in order (a later
    /// change of a document sees the earlier one), committed in one store transaction, then
    /// notified in order; one result per change.
    pub fn apply_batch(
        &self,
        origin: &Origin,
        changes: &[DocumentChange],
    ) -> Vec<Result<Applied, ChangeError>> {
        let keys: Vec<Result<DocKey, ChangeError>> =
            changes.iter().map(|c| self.document_key(c)).collect();
        let _locked = self
            .locks
            .lock_all(keys.iter().filter_map(|k| k.as_ref().ok()));
        // Only a bus shared with other nodes reports conflicts (the locks serialize this
        // node's own writers): each retry follows a write by another node that succeeded.
        for _ in 0..MAX_ATTEMPTS {
            if let Some(results) = self.try_batch(origin, changes, &keys) {
                return results;
            }
        }
        let contended = StoreError(format!(
            "the documents kept changing concurrently ({MAX_ATTEMPTS} attempts)"
        ));
        keys.into_iter()
            .map(|k| k.and(Err(ChangeError::Store(contended.clone()))))
            .collect()
    }

    /// Reads, plans, commits and notifies a batch; `None` if the commit met a conflict.
    fn try_batch(
        &self,
        origin: &Origin,
        changes: &[DocumentChange],
        keys: &[Result<DocKey, ChangeError>],
    ) -> Option<Vec<Result<Applied, ChangeError>>> {
        let stamp = Stamp {
            author: origin.author(),
            timestamp: origin.timestamp,
        };
        let mut batch = Batch::default();
        if let Err(e) = batch.load(keys, &*self.store) {
            return Some(keys.iter().map(|k| k.clone().and(Err(e.clone()))).collect());
        }
        let staged: Vec<Result<Staged, ChangeError>> = changes
            .iter()
            .zip(keys)
            .map(|(change, key)| {
                let key = key.clone()?;
                let previous = batch.state_before(&key);
                self.stage(origin, change, key, previous, &stamp, &mut batch)
            })
            .collect();
        let started = std::time::Instant::now();
        let committed = self.bus.commit(
            &*self.store,
            &PendingBatch {
                origin,
                changes,
                staged: &staged,
                batch: &batch,
            },
        );
        self.metrics.store_commit(started.elapsed());
        let here = match committed {
            Ok(Committed::NotifyHere) => true,
            Ok(Committed::Sent) => false,
            Ok(Committed::Conflict) => return None,
            Err(e) => {
                return Some(
                    staged
                        .into_iter()
                        .map(|s| s.and(Err(ChangeError::Store(e.clone()))))
                        .collect(),
                )
            }
        };
        Some(
            staged
                .into_iter()
                .zip(changes)
                .map(|(staged, change)| {
                    Ok(self.notify_staged(origin, change, staged?, &mut batch, here))
                })
                .collect(),
        )
    }

    /// The key a change writes (an id is generated for a create without one); registers its
    /// collection on the way.
    fn document_key(&self, change: &DocumentChange) -> Result<DocKey, ChangeError> {
        let id = match (&change.id, &change.operation) {
            (Some(id), _) => id.clone(),
            (None, Operation::Create { .. }) => change::generate_id(),
            (None, _) => return Err(ChangeError::MissingId),
        };
        self.names.ensure(&change.index, &change.collection)?;
        Ok(DocKey::new(&change.index, &change.collection, &id))
    }

    /// Plans one change against `previous` and matches the result; records the new state.
    fn stage(
        &self,
        origin: &Origin,
        change: &DocumentChange,
        key: DocKey,
        mut previous: Option<StoredDocument>,
        stamp: &Stamp<'_>,
        batch: &mut Batch,
    ) -> Result<Staged, ChangeError> {
        // The rooms of the last notification (scope `out` is computed against them).
        let before: Vec<String> = previous
            .as_mut()
            .map(|p| std::mem::take(&mut p.rooms))
            .unwrap_or_default();
        let read_version = previous.as_ref().map_or(0, |p| p.version);
        let collection = CollectionName::new(&change.index, &change.collection);
        let matching = |document: &Value| {
            let mut rooms = Vec::new();
            let started = std::time::Instant::now();
            self.rooms
                .matching(&collection, &with_id(document, Some(&key.id)), &mut rooms);
            self.metrics.matching(started.elapsed());
            rooms.sort();
            rooms.dedup();
            rooms
        };
        if let Some(restriction) = &origin.restriction {
            // Under the document's lock: what the writer may see cannot change meanwhile. A
            // stored document outside the restriction does not exist for the writer, and a
            // restricted writer cannot give a new document an id of its choosing (a generated
            // `create` id is fresh), so no answer tells a foreign id from a free one.
            let visible = previous
                .as_ref()
                .is_some_and(|p| restriction.accepts(Some(&key.id), &p.document));
            let creates =
                change.id.is_none() && matches!(change.operation, Operation::Create { .. });
            if !visible && !creates {
                return Err(ChangeError::NotFound { id: key.id });
            }
        }
        let plan = change::plan(&key.id, previous, &change.operation, stamp)?;
        if let (Some(restriction), Plan::Write { document, .. }) = (&origin.restriction, &plan) {
            if !restriction.accepts(Some(&key.id), document) {
                return Err(ChangeError::OutsideRestriction { id: key.id });
            }
        }
        Ok(match plan {
            Plan::Write {
                document,
                version,
                action,
                created,
                updated_fields,
            } => {
                let now = matching(&document);
                let rooms = if origin.silent {
                    before.clone()
                } else {
                    now.iter().map(RoomId::to_hex).collect()
                };
                let state = StoredDocument {
                    document,
                    rooms,
                    version,
                };
                let slot = batch.record(key, Some(state), read_version);
                Staged {
                    slot,
                    before,
                    rooms: now,
                    kind: StagedKind::Write {
                        action,
                        created,
                        version,
                        updated_fields,
                    },
                }
            }
            Plan::Delete { previous } => {
                let matched = matching(&previous.document);
                let slot = batch.record(key, None, read_version);
                Staged {
                    slot,
                    before,
                    rooms: matched,
                    kind: StagedKind::Delete { previous },
                }
            }
        })
    }

    /// Notifies one committed change; its result.
    fn notify_staged(
        &self,
        origin: &Origin,
        change: &DocumentChange,
        staged: Staged,
        batch: &mut Batch,
        here: bool,
    ) -> Applied {
        let id = batch.id(staged.slot).to_owned();
        // Written: `in` to the rooms matched now, `out` to those it left. Deleted: `out` to
        // the rooms the deleted version matches.
        let (action, created, version, source, updated_fields, rooms_in, rooms_out) =
            match staged.kind {
                StagedKind::Write {
                    action,
                    created,
                    version,
                    updated_fields,
                } => {
                    let left = if origin.silent || !here {
                        Vec::new()
                    } else {
                        self.rooms_left(&staged.before, &staged.rooms)
                    };
                    let source = batch.take(staged.slot).map_or(Value::Null, |s| s.document);
                    (
                        action,
                        created,
                        version,
                        source,
                        updated_fields,
                        staged.rooms,
                        left,
                    )
                }
                StagedKind::Delete { previous } => (
                    Action::Delete,
                    false,
                    previous.version,
                    previous.document,
                    None,
                    Vec::new(),
                    staged.rooms,
                ),
            };
        // Not here: every node notifies its own rooms when the change comes back from the bus.
        let channels_notified = if origin.silent || !here {
            0
        } else {
            let result = DocumentResult {
                id: Some(&id),
                source: &source,
                version: Some(version),
                updated_fields: updated_fields.as_deref(),
            };
            self.notify_documents(
                origin,
                &change.index,
                &change.collection,
                action,
                result,
                &rooms_in,
                &rooms_out,
            )
        };
        Applied {
            id,
            action,
            created,
            version,
            source,
            updated_fields,
            channels_notified,
        }
    }
}

/// One change planned, waiting for the commit.
struct Staged {
    /// Where the state it leaves is recorded in the [`Batch`].
    slot: usize,
    /// Hex ids of the rooms of the document's last notification.
    before: Vec<String>,
    /// Written: the rooms the new version matches. Deleted: those the deleted version matches.
    rooms: Vec<RoomId>,
    kind: StagedKind,
}

enum StagedKind {
    Write {
        action: Action,
        created: bool,
        version: u64,
        updated_fields: Option<Vec<String>>,
    },
    Delete {
        previous: StoredDocument,
    },
}

/// The states a batch leaves, one slot per change in order (`None`: deleted).
#[derive(Default)]
struct Batch {
    slots: Vec<Slot>,
    /// The last slot of each document.
    latest: FoldMap<DocKey, usize>,
    /// The stored states of the batch's documents, read before the first change.
    stored: FoldMap<DocKey, Option<StoredDocument>>,
}

impl Batch {
    /// Reads the stored state of every document of the batch (in one read, where the store
    /// can).
    fn load(
        &mut self,
        keys: &[Result<DocKey, ChangeError>],
        store: &dyn DocumentStore,
    ) -> Result<(), ChangeError> {
        let mut wanted: Vec<&DocKey> = keys.iter().filter_map(|k| k.as_ref().ok()).collect();
        wanted.sort_unstable();
        wanted.dedup();
        let states = store.get_batch(&wanted)?;
        self.stored = wanted.into_iter().cloned().zip(states).collect();
        Ok(())
    }

    /// A document's state before the next change: what an earlier change of the batch left,
    /// or else the store's.
    fn state_before(&mut self, key: &DocKey) -> Option<StoredDocument> {
        match self.latest.get(key) {
            Some(&slot) => self.slots[slot].state.clone(),
            None => self.stored.remove(key).flatten(),
        }
    }

    /// Records the state a change leaves; `read_version` is the version its plan started
    /// from (0: absent), kept for the first change of each document.
    fn record(&mut self, key: DocKey, state: Option<StoredDocument>, read_version: u64) -> usize {
        let slot = self.slots.len();
        let expected = self
            .latest
            .insert(key.clone(), slot)
            .is_none()
            .then_some(read_version);
        self.slots.push(Slot {
            key,
            state,
            expected,
        });
        slot
    }

    /// What to commit: the last state of each document.
    fn final_states(&self) -> Vec<(&DocKey, Option<&StoredDocument>)> {
        self.latest
            .values()
            .map(|&slot| (&self.slots[slot].key, self.slots[slot].state.as_ref()))
            .collect()
    }

    fn id(&self, slot: usize) -> &str {
        &self.slots[slot].key.id
    }

    /// The state a change left, moved out (each slot is notified once, after the commit).
    fn take(&mut self, slot: usize) -> Option<StoredDocument> {
        self.slots[slot].state.take()
    }
}

/// The state one change leaves.
struct Slot {
    key: DocKey,
    /// `None`: deleted.
    state: Option<StoredDocument>,
    /// The version read before the batch, on the document's first slot (compare-and-set).
    expected: Option<u64>,
}

/// A batch between planning and commit, as the bus sees it.
struct PendingBatch<'a> {
    origin: &'a Origin,
    changes: &'a [DocumentChange],
    staged: &'a [Result<Staged, ChangeError>],
    batch: &'a Batch,
}

impl PendingBatch<'_> {
    /// The change that left `slot`, as sent to the other nodes.
    fn encode(&self, change: &DocumentChange, staged: &Staged) -> Vec<u8> {
        let slot = &self.batch.slots[staged.slot];
        let origin = self.origin;
        let (action, version, source, updated_fields) = match &staged.kind {
            StagedKind::Write {
                action,
                version,
                updated_fields,
                ..
            } => (
                *action,
                *version,
                slot.state.as_ref().map(|s| &s.document),
                updated_fields.as_deref(),
            ),
            StagedKind::Delete { previous } => (
                Action::Delete,
                previous.version,
                Some(&previous.document),
                None,
            ),
        };
        WireChange {
            v: Some(version),
            u: updated_fields,
            ..WireChange::new(
                origin,
                &change.index,
                &change.collection,
                Some(&slot.key.id),
                action,
                source.unwrap_or(&Value::Null),
            )
        }
        .encode()
    }
}

impl Pending for PendingBatch<'_> {
    fn final_states(&self) -> Vec<(&DocKey, Option<&StoredDocument>)> {
        self.batch.final_states()
    }

    fn steps(&self) -> Vec<Step<'_>> {
        let mut encoded: Vec<Option<Vec<u8>>> = vec![None; self.batch.slots.len()];
        if !self.origin.silent {
            for (change, staged) in self.changes.iter().zip(self.staged) {
                if let Ok(staged) = staged {
                    encoded[staged.slot] = Some(self.encode(change, staged));
                }
            }
        }
        self.batch
            .slots
            .iter()
            .zip(encoded)
            .map(|(slot, change)| Step {
                key: &slot.key,
                expected: slot.expected,
                state: slot.state.as_ref(),
                change,
            })
            .collect()
    }
}
