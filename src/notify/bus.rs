//! The bus seam: how a committed change reaches the subscribers of every node.
//!
//! The engine plans and matches a batch of changes, then hands it to a [`Bus`]:
//!
//! * [`LocalBus`] (one node): writes the batch to the store, and the engine notifies its own
//!   rooms at once, from the rooms remembered in the store (the single-node path, unchanged).
//! * the Redis bus (`crate::cluster`): commits the batch with a compare-and-set on each
//!   document's version and publishes each change in the same atomic step, so that Redis
//!   orders the writes and the messages alike; every node holding rooms on the collection
//!   (this one included) gets the change in commit order and notifies its own rooms
//!   ([`Hub::receive`]). A conflict (another node wrote one of the documents since it was read)
//!   writes nothing, and the engine reads and plans the batch again.
//!
//! A change travels as a [`WireChange`] (what its notifications say) followed by the document's
//! stored state *before* the change, added by Redis inside the commit. A receiving node knows only
//! its own rooms, so scope `out` is computed there by matching that previous version: the rooms
//! it matches and the new version does not. That is the rooms remembered at the last
//! notification whenever the room existed then; a room created since gets `out` too when the
//! document leaves it (docs/cluster.md).

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use herald_filters::engine::CollectionName;

use super::frame::DocumentResult;
use super::{with_id, Action, Hub, Origin};
use crate::rooms::RoomId;
use crate::store::{DocKey, DocumentStore, StoreError, StoredDocument};

/// What became of a commit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Committed {
    /// Durable; this node notifies the changes now (single node).
    NotifyHere,
    /// Durable and sent: every node notifies them when they come back from the bus.
    Sent,
    /// Nothing written: a document changed since it was read. Read and plan again.
    Conflict,
}

/// One step of a batch, in change order.
pub struct Step<'a> {
    pub key: &'a DocKey,
    /// The version read before the batch (0: absent), on the first step of each document;
    /// `None` on later steps of the same document.
    pub expected: Option<u64>,
    /// The state the step leaves (`None`: deleted).
    pub state: Option<&'a StoredDocument>,
    /// The change as sent to the other nodes (`None`: silent, nobody is notified).
    pub change: Option<Vec<u8>>,
}

/// A batch planned and matched, waiting to be committed.
pub trait Pending {
    /// The last state of each document (what a store writes).
    fn final_states(&self) -> Vec<(&DocKey, Option<&StoredDocument>)>;
    /// Every step in order, with its change encoded (only a bus that sends them asks).
    fn steps(&self) -> Vec<Step<'_>>;
}

/// Where committed changes and publishes go.
pub trait Bus: Send + Sync {
    /// Commits a batch (durable on return unless [`Committed::Conflict`]).
    fn commit(
        &self,
        store: &dyn DocumentStore,
        pending: &dyn Pending,
    ) -> Result<Committed, StoreError>;

    /// Sends a `realtime:publish` message (`encode` gives its [`WireChange`]).
    fn publish(
        &self,
        collection: &CollectionName,
        encode: &dyn Fn() -> Vec<u8>,
    ) -> Result<Committed, StoreError>;

    /// The node holds rooms on `collection` (called after each subscription): from now on it
    /// must receive the collection's changes. Returns once they are flowing, or gives up after
    /// a short bound (the bus keeps trying).
    fn watch(&self, collection: &CollectionName);

    /// Starts delivering what comes from the other nodes to `hub` (called once, inside the
    /// server's runtime). One node: nothing comes.
    fn attach(&self, _hub: Arc<dyn HubHandle>) {}
}

/// A running engine, as the bus's receiving task holds it.
pub trait HubHandle: Send + Sync + 'static {
    fn hub(&self) -> &Hub;
}

impl HubHandle for Hub {
    fn hub(&self) -> &Hub {
        self
    }
}

/// One node: the store is written, the engine notifies at once.
#[derive(Clone, Copy, Debug, Default)]
pub struct LocalBus;

impl Bus for LocalBus {
    fn commit(
        &self,
        store: &dyn DocumentStore,
        pending: &dyn Pending,
    ) -> Result<Committed, StoreError> {
        store.write_batch(&pending.final_states())?;
        Ok(Committed::NotifyHere)
    }

    fn publish(
        &self,
        _collection: &CollectionName,
        _encode: &dyn Fn() -> Vec<u8>,
    ) -> Result<Committed, StoreError> {
        Ok(Committed::NotifyHere)
    }

    fn watch(&self, _collection: &CollectionName) {}
}

/// A change as it travels between nodes: what its notifications say.
#[derive(Serialize)]
pub(crate) struct WireChange<'a> {
    pub i: &'a str,
    pub c: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<&'a str>,
    pub a: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub v: Option<u64>,
    pub s: &'a Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub u: Option<&'a [String]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rq: Option<&'a str>,
    pub vo: &'a Value,
    pub t: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p: Option<&'a str>,
    pub ct: &'a str,
}

impl<'a> WireChange<'a> {
    /// A change as `origin` caused it (no version or updated fields: set them after).
    pub(crate) fn new(
        origin: &'a Origin,
        index: &'a str,
        collection: &'a str,
        id: Option<&'a str>,
        action: Action,
        source: &'a Value,
    ) -> WireChange<'a> {
        WireChange {
            i: index,
            c: collection,
            id,
            a: action.as_str(),
            v: None,
            s: source,
            u: None,
            rq: origin.request_id.as_deref(),
            vo: &origin.volatile,
            t: origin.timestamp,
            p: origin.protocol.as_deref(),
            ct: &origin.controller,
        }
    }

    pub(crate) fn encode(&self) -> Vec<u8> {
        // Plain data: serializing it cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }
}

/// The decoded form of [`WireChange`].
#[derive(Deserialize)]
struct Received {
    i: String,
    c: String,
    id: Option<String>,
    a: String,
    v: Option<u64>,
    s: Value,
    u: Option<Vec<String>>,
    rq: Option<String>,
    #[serde(default)]
    vo: Value,
    t: u64,
    p: Option<String>,
    ct: String,
}

fn action(name: &str) -> Option<Action> {
    Some(match name {
        "create" => Action::Create,
        "replace" => Action::Replace,
        "update" => Action::Update,
        "delete" => Action::Delete,
        "publish" => Action::Publish,
        _ => return None,
    })
}

impl Hub {
    /// A change or publish from the bus (any node, this one included): notifies this node's
    /// rooms. `message` is a [`WireChange`], then `\n` and the document's stored state before
    /// the change (empty if none). A message that does not decode is logged and dropped.
    pub fn receive(&self, message: &[u8]) {
        let (head, previous) = match message.iter().position(|&b| b == b'\n') {
            Some(at) => (&message[..at], &message[at + 1..]),
            None => (message, &[][..]),
        };
        let change: Received = match serde_json::from_slice(head) {
            Ok(change) => change,
            Err(e) => {
                tracing::warn!(error = %e, "undecodable change from the bus: dropped");
                return;
            }
        };
        let Some(action) = action(&change.a) else {
            tracing::warn!(action = %change.a, "unknown action from the bus: dropped");
            return;
        };
        let previous: Option<StoredDocument> = if previous.is_empty() {
            None
        } else {
            serde_json::from_slice(previous).ok()
        };
        let collection = CollectionName::new(&change.i, &change.c);
        let id = change.id.as_deref();
        let matching = |document: &Value| {
            let mut rooms: Vec<RoomId> = Vec::new();
            let started = std::time::Instant::now();
            self.rooms
                .matching(&collection, &with_id(document, id), &mut rooms);
            self.metrics.matching(started.elapsed());
            rooms.sort();
            rooms.dedup();
            rooms
        };
        let (rooms_in, rooms_out) = match action {
            Action::Delete => (Vec::new(), matching(&change.s)),
            Action::Publish => (matching(&change.s), Vec::new()),
            Action::Create | Action::Replace | Action::Update => {
                let now = matching(&change.s);
                let before = previous.map(|p| matching(&p.document)).unwrap_or_default();
                let left = before
                    .into_iter()
                    .filter(|room| now.binary_search(room).is_err())
                    .collect();
                (now, left)
            }
        };
        let origin = Origin {
            request_id: change.rq,
            volatile: change.vo,
            timestamp: change.t,
            protocol: change.p,
            controller: change.ct,
            user: None,
            silent: false,
            restriction: None,
        };
        let result = DocumentResult {
            id,
            source: &change.s,
            version: change.v,
            updated_fields: change.u.as_deref(),
        };
        self.notify_documents(
            &origin, &change.i, &change.c, action, result, &rooms_in, &rooms_out,
        );
    }
}
