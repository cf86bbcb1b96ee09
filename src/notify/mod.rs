//! The engine: subscriptions, document changes and publishes in; notifications out.
//!
//! [`Hub`] ties the pieces together: [`Rooms`] (who listens to what, and
//! the matcher), a [`DocumentStore`] (what each document is, and which rooms it was in), and a
//! [`Delivery`] (where frames go). It is synchronous and knows nothing of sockets: the server
//! calls it from its connection tasks and drains the queues.
//!
//! # A document change, step by step
//!
//! 1. Lock the documents' stripes ([`DocumentLocks`]; a single change is a batch of one):
//!    changes of one document are applied one at a time, from the read to the last delivery,
//!    so no transition is lost or doubled and every subscriber sees a document's notifications
//!    in the order of its versions. Other documents proceed in parallel.
//! 2. Read the stored state, compute the new document (`update` merges a partial body into the
//!    stored one; `_kuzzle_info` is maintained).
//! 3. Match the full new document, with its `_id` (for a delete: the document as it was) —
//!    the rooms it is in now.
//! 4. Store the new states with those rooms (or remove them, for deletes) in one commit per
//!    batch: durable before anything is notified or acknowledged (`apply.rs`).
//! 5. Notify: scope `in` to the rooms matched now (entered or stayed), scope `out` to the rooms
//!    remembered from the last notification that no longer match (rooms that do not exist any
//!    more are skipped); a delete notifies `delete`/`out` to the rooms it matched. Each
//!    notification is serialized once per channel whose scope accepts it, and the shared frame
//!    goes to every connection of the channel.
//!
//! Publishes are matched the same way with no store and no `out`. Presence notifications
//! (`user: in/out`) follow protocol section 6.4: `in` to the *other* members whose channel asks
//! for it (the recommended behaviour: a newcomer never gets its own `in`), `out` to the
//! remaining members; both before the call returns (so before the server's response).

mod apply;
mod bus;
mod change;
mod events;
mod frame;
mod inbox;
mod resume;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use herald_filters::engine::CollectionName;
use herald_filters::{FilterError, Options};
use serde_json::{Map, Value};

use crate::delivery::{ConnectionId, ConnectionIds, Delivery, Frame};
use crate::history::{EntryKind, History};
use crate::identity::{AuthConfig, Identities, Restriction};
use crate::inbox::{Inbox, InboxConfig, MemoryInboxStore};
use crate::rooms::{
    ChannelOptions, NotificationScope, PresenceEvent, Room, RoomError, RoomId, RoomList, Rooms,
    UserId,
};
use crate::store::{DocKey, DocumentLocks, DocumentStore, Names, StoreError, StoredDocument};

pub use bus::{Bus, Committed, HubHandle, LocalBus, Pending, Step};
pub use change::{Action, Applied, ChangeError, DocumentChange, Operation};
pub use events::{Event, EventTarget};
use frame::{DocumentNotification, DocumentResult, Prepared, UserCount, UserNotification};
pub use inbox::InboxPush;
pub use resume::Resumed;

/// Engine settings.
#[derive(Clone, Debug)]
pub struct HubConfig {
    /// This node's id, in every notification's `node`.
    pub node: String,
    /// Maximum number of rooms (0 = unlimited; Kuzzle's default is 1 000 000).
    pub max_rooms: usize,
    /// Maximum number of rooms one connection may be in (0 = unlimited).
    pub max_subscriptions_per_connection: usize,
    /// Maximum number of rooms the connections of one user may be in together (0 =
    /// unlimited). Anonymous connections have no user: the per-address connection limit
    /// bounds them.
    pub max_subscriptions_per_user: usize,
    /// Filter limits.
    pub filters: Options,
    /// Number of per-document lock stripes.
    pub lock_stripes: usize,
    /// Token verification and anonymous access.
    pub auth: AuthConfig,
    /// Inbox retention and sweeping (the store is given with [`Hub::with_inbox_store`]).
    pub inbox: InboxConfig,
}

impl HubConfig {
    /// Far above what an application subscribes per client (Centrifugo allows 128 channels);
    /// far below the room limit, so that no single client can fill it.
    pub const DEFAULT_MAX_SUBSCRIPTIONS_PER_CONNECTION: usize = 1_000;
    /// Ten connections' worth.
    pub const DEFAULT_MAX_SUBSCRIPTIONS_PER_USER: usize = 10_000;
}

impl Default for HubConfig {
    fn default() -> HubConfig {
        HubConfig {
            node: "herald".into(),
            max_rooms: 1_000_000,
            max_subscriptions_per_connection: HubConfig::DEFAULT_MAX_SUBSCRIPTIONS_PER_CONNECTION,
            max_subscriptions_per_user: HubConfig::DEFAULT_MAX_SUBSCRIPTIONS_PER_USER,
            filters: Options::default(),
            lock_stripes: 1024,
            auth: AuthConfig::default(),
            inbox: InboxConfig::default(),
        }
    }
}

/// The request a subscription, change or publish comes from: what notifications repeat of it.
#[derive(Clone, Debug)]
pub struct Origin {
    /// The originating request's id (`requestId` of document notifications).
    pub request_id: Option<String>,
    /// The request's `volatile`, copied verbatim into notifications (`null` if none).
    pub volatile: Value,
    /// Reception time, epoch milliseconds.
    pub timestamp: u64,
    /// `websocket`, `http`...
    pub protocol: Option<String>,
    /// The API controller: `document`, `bulk`, `realtime`.
    pub controller: String,
    /// The writer (for `_kuzzle_info.author`); anonymous (`-1`) if none.
    pub user: Option<UserId>,
    /// `silent: true`: apply the change, notify nobody (the remembered rooms stay as they were,
    /// as in Kuzzle).
    pub silent: bool,
    /// The caller's restriction on the collection it acts on, if any: its writes must keep
    /// documents inside it (and see those outside as missing), its publishes must be inside
    /// it, and the rooms it subscribes to redact what leaves it (see [`Restriction`]).
    pub restriction: Option<Arc<Restriction>>,
}

impl Origin {
    /// An origin stamped now, with no request id, `volatile: null`, protocol `websocket`.
    pub fn new(controller: &str) -> Origin {
        Origin {
            request_id: None,
            volatile: Value::Null,
            timestamp: now_ms(),
            protocol: Some("websocket".into()),
            controller: controller.into(),
            user: None,
            silent: false,
            restriction: None,
        }
    }

    pub fn with_request_id(mut self, id: &str) -> Origin {
        self.request_id = Some(id.into());
        self
    }

    pub fn with_volatile(mut self, volatile: Value) -> Origin {
        self.volatile = volatile;
        self
    }

    fn author(&self) -> &str {
        self.user.as_ref().map_or("-1", UserId::as_str)
    }
}

/// Milliseconds since the epoch (0 if the clock is before 1970).
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// What a subscription is to: a filter on a collection, in the channel of `options`.
#[derive(Clone, Copy, Debug)]
pub struct Subscribed<'a> {
    pub index: &'a str,
    pub collection: &'a str,
    pub filter: &'a Value,
    pub options: ChannelOptions,
}

/// The answer to subscribe and join; serializes as the protocol's `{roomId, channel}`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Subscription {
    /// `roomId`: 64 hex digits.
    pub room_id: String,
    /// `channel`: `<roomId>-<digits>`, the `room` of this subscription's notifications.
    pub channel: String,
}

/// Why a subscription was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SubscribeError {
    /// The filter is invalid (Kuzzle: 400 `api.assert.koncorde_dsl_error`).
    Filter(FilterError),
    Room(RoomError),
}

impl std::fmt::Display for SubscribeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SubscribeError::Filter(e) => e.fmt(f),
            SubscribeError::Room(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for SubscribeError {}

impl From<RoomError> for SubscribeError {
    fn from(e: RoomError) -> SubscribeError {
        SubscribeError::Room(e)
    }
}

/// A publish refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PublishError {
    /// The message is not a JSON object.
    NotAnObject,
    /// The bus could not send it (cluster: Redis unreachable).
    Bus(StoreError),
}

impl std::fmt::Display for PublishError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PublishError::NotAnObject => f.write_str("the message must be an object"),
            PublishError::Bus(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for PublishError {}

/// Counters, for tests and metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Frames serialized (one per notified channel).
    pub frames: u64,
    /// Frames handed to connections (one per connection per frame).
    pub deliveries: u64,
}

/// The room engine.
pub struct Hub {
    config: HubConfig,
    rooms: Rooms,
    store: Arc<dyn DocumentStore>,
    bus: Arc<dyn Bus>,
    names: Names,
    delivery: Arc<dyn Delivery>,
    connection_ids: ConnectionIds,
    identities: Identities,
    locks: DocumentLocks,
    inbox: Inbox,
    /// The rooms' recent notifications, if history is on ([`Hub::with_history`]).
    history: Option<Arc<dyn History>>,
    frames: AtomicU64,
    deliveries: AtomicU64,
    metrics: Arc<crate::metrics::Metrics>,
}

impl Hub {
    pub fn new(
        config: HubConfig,
        store: Arc<dyn DocumentStore>,
        delivery: Arc<dyn Delivery>,
    ) -> Hub {
        Hub {
            rooms: Rooms::with_limits(
                config.max_rooms,
                config.max_subscriptions_per_connection,
                config.max_subscriptions_per_user,
            ),
            locks: DocumentLocks::new(config.lock_stripes),
            identities: Identities::new(config.auth.clone(), config.filters.clone()),
            inbox: Inbox::new(Arc::new(MemoryInboxStore::new()), config.inbox.clone()),
            history: None,
            config,
            names: Names::new(Arc::clone(&store)),
            store,
            bus: Arc::new(LocalBus),
            delivery,
            connection_ids: ConnectionIds::default(),
            frames: AtomicU64::new(0),
            deliveries: AtomicU64::new(0),
            metrics: Arc::default(),
        }
    }

    pub fn config(&self) -> &HubConfig {
        &self.config
    }

    /// Sends committed changes and publishes through `bus` instead of notifying only this
    /// node's rooms (a cluster: `crate::cluster`). Chosen once, before serving.
    pub fn with_bus(mut self, bus: Arc<dyn Bus>) -> Hub {
        self.bus = bus;
        self
    }

    /// Where committed changes and publishes go.
    pub fn bus(&self) -> &Arc<dyn Bus> {
        &self.bus
    }

    /// The registry of rooms (counts, matcher).
    pub fn rooms(&self) -> &Rooms {
        &self.rooms
    }

    pub fn store(&self) -> &Arc<dyn DocumentStore> {
        &self.store
    }

    /// The registered index and collection names (`index:*` and `collection:*` actions).
    pub fn names(&self) -> &Names {
        &self.names
    }

    /// Token verification, connection bindings and event listeners.
    pub fn identities(&self) -> &Identities {
        &self.identities
    }

    /// Operational metrics (`GET /metrics`).
    pub fn metrics(&self) -> &Arc<crate::metrics::Metrics> {
        &self.metrics
    }

    pub fn stats(&self) -> Stats {
        Stats {
            frames: self.frames.load(Ordering::Relaxed),
            deliveries: self.deliveries.load(Ordering::Relaxed),
        }
    }

    // ---- connections ----

    /// A new connection, with an optional user identity.
    pub fn connect(&self, user: Option<UserId>) -> ConnectionId {
        let id = self.connection_ids.next();
        self.rooms.connect(id, user);
        id
    }

    /// Sets or clears the user of a connection (login, logout); false if unknown.
    pub fn set_user(&self, connection: ConnectionId, user: Option<UserId>) -> bool {
        self.rooms.set_user(connection, user)
    }

    /// Drops a connection: it leaves every room (presence `out` to the others, empty rooms leave
    /// the matcher), and the delivery is told. Returns the number of rooms it was in.
    pub fn disconnect(&self, connection: ConnectionId) -> usize {
        let timestamp = now_ms();
        let n = self.rooms.disconnect(connection, |event| {
            self.presence(event, "unsubscribe", timestamp, None)
        });
        self.identities.forget(connection);
        self.delivery.closed(connection);
        n
    }

    /// Server shutdown: every connection and room is dropped silently (Kuzzle sends no
    /// `user:"out"` then), and the delivery is told about each connection.
    pub fn shutdown(&self) {
        for connection in self.rooms.clear() {
            self.delivery.closed(connection);
        }
    }

    // ---- realtime controller ----

    /// `realtime:subscribe`: puts the connection in the room of `filter` on the collection, in
    /// the channel of `options`. The origin's volatile is the one remembered for `user:"out"`.
    pub fn subscribe(
        &self,
        connection: ConnectionId,
        origin: &Origin,
        index: &str,
        collection: &str,
        filter: &Value,
        options: ChannelOptions,
    ) -> Result<Subscription, SubscribeError> {
        let at = Subscribed {
            index,
            collection,
            filter,
            options,
        };
        self.subscribe_from(connection, origin, &at, None)
            .map(|(subscription, _)| subscription)
    }

    /// `realtime:join`: like subscribe, into an existing room named by its id.
    pub fn join(
        &self,
        connection: ConnectionId,
        origin: &Origin,
        room_id: &str,
        options: ChannelOptions,
    ) -> Result<Subscription, SubscribeError> {
        self.join_from(connection, origin, room_id, options, None)
            .map(|(subscription, _)| subscription)
    }

    /// `realtime:unsubscribe`: the connection leaves the room (every channel of it). Returns the
    /// room id.
    pub fn unsubscribe(
        &self,
        connection: ConnectionId,
        room_id: &str,
    ) -> Result<String, RoomError> {
        let timestamp = now_ms();
        self.rooms
            .unsubscribe(connection, room_id, |event| {
                self.presence(event, "unsubscribe", timestamp, None)
            })
            .map(|id| id.to_hex())
    }

    /// `realtime:count`: connections in a room (0 if unknown).
    pub fn count(&self, room_id: &str) -> usize {
        self.rooms.count(room_id)
    }

    /// `realtime:list`: rooms and counts per index and collection.
    pub fn list(&self) -> RoomList {
        self.rooms.list()
    }

    /// `realtime:publish`: notifies the matching rooms (`publish`/`in` to channels with scope
    /// all or in). Nothing is stored. Returns the number of channels notified.
    pub fn publish(
        &self,
        origin: &Origin,
        index: &str,
        collection: &str,
        id: Option<&str>,
        message: &Value,
    ) -> Result<usize, PublishError> {
        let Value::Object(map) = message else {
            return Err(PublishError::NotAnObject);
        };
        let mut source = map.clone();
        source.insert(
            "_kuzzle_info".into(),
            serde_json::json!({"author": origin.author(), "createdAt": origin.timestamp}),
        );
        let source = Value::Object(source);
        let name = CollectionName::new(index, collection);
        let encode = || {
            bus::WireChange::new(origin, index, collection, id, Action::Publish, &source).encode()
        };
        if self
            .bus
            .publish(&name, &encode)
            .map_err(PublishError::Bus)?
            != Committed::NotifyHere
        {
            return Ok(0);
        }
        let mut rooms = Vec::new();
        let started = std::time::Instant::now();
        self.rooms
            .matching(&name, &with_id(&source, id), &mut rooms);
        self.metrics.matching(started.elapsed());
        let result = DocumentResult {
            id,
            source: &source,
            version: None,
            updated_fields: None,
        };
        Ok(self.notify_documents(
            origin,
            index,
            collection,
            Action::Publish,
            result,
            &rooms,
            &[],
        ))
    }

    // ---- documents ----

    /// The stored state of a document.
    pub fn get(
        &self,
        index: &str,
        collection: &str,
        id: &str,
    ) -> Result<Option<StoredDocument>, ChangeError> {
        Ok(self.store.get(&DocKey::new(index, collection, id))?)
    }

    /// Rooms remembered for a document that it no longer matches and that still exist.
    fn rooms_left(&self, before: &[String], now: &[RoomId]) -> Vec<RoomId> {
        if before.is_empty() {
            return Vec::new();
        }
        let state = self.rooms.read();
        let mut left: Vec<RoomId> = before
            .iter()
            .filter_map(|name| state.room_by_name(name).map(|r| r.id()))
            .filter(|id| now.binary_search(id).is_err())
            .collect();
        left.sort();
        left.dedup();
        left
    }

    /// Sends a document notification: scope `in` to the channels of `rooms_in`, scope `out` to
    /// those of `rooms_out`, each channel filtered by its scope option. Returns the number of
    /// channels notified.
    #[allow(clippy::too_many_arguments)]
    fn notify_documents(
        &self,
        origin: &Origin,
        index: &str,
        collection: &str,
        action: Action,
        result: DocumentResult<'_>,
        rooms_in: &[RoomId],
        rooms_out: &[RoomId],
    ) -> usize {
        if rooms_in.is_empty() && rooms_out.is_empty() {
            return 0;
        }
        let mut notification = DocumentNotification {
            kind: "document",
            status: 200,
            action: action.as_str(),
            scope: "in",
            event: action.event(),
            result,
            controller: &origin.controller,
            index,
            collection,
            request_id: origin.request_id.as_deref(),
            timestamp: origin.timestamp,
            volatile: &origin.volatile,
            protocol: origin.protocol.as_deref(),
            node: &self.config.node,
        };
        let state = self.rooms.read();
        let mut notified = 0;
        // What a restricted room sees of a document that left it and its restriction too.
        let empty = Value::Object(Map::new());
        let mut redacted: Option<Option<Prepared>> = None;
        for (scope, rooms) in [
            (NotificationScope::In, rooms_in),
            (NotificationScope::Out, rooms_out),
        ] {
            if rooms.is_empty() {
                continue;
            }
            notification.scope = scope.as_str();
            let kind = EntryKind::Document(scope);
            let mut prepared: Option<Prepared> = None;
            for room in rooms.iter().filter_map(|id| state.room(id)) {
                // A room with a history records the notification even if no channel wants it.
                let wanted = self.history.is_some()
                    || room
                        .channels()
                        .iter()
                        .any(|c| kind.accepted_by(c.options()));
                if !wanted {
                    continue;
                }
                let hidden = scope == NotificationScope::Out
                    && room.restriction().is_some_and(|r| {
                        !r.accepts(notification.result.id, notification.result.source)
                    });
                let prepared = if hidden {
                    redacted.get_or_insert_with(|| {
                        let mut shown = notification.clone();
                        shown.result = DocumentResult {
                            id: notification.result.id,
                            source: &empty,
                            version: notification.result.version,
                            updated_fields: None,
                        };
                        Prepared::new(&shown)
                    })
                } else {
                    if prepared.is_none() {
                        prepared = Prepared::new(&notification);
                    }
                    &prepared
                };
                let Some(prepared) = prepared else {
                    continue;
                };
                notified += self.to_room(room, kind, prepared, None);
            }
        }
        notified
    }

    /// Sends a presence notification to the channels of the event's room that ask for it,
    /// never to the connection the event is about.
    fn presence(
        &self,
        event: &PresenceEvent<'_>,
        action: &'static str,
        timestamp: u64,
        protocol: Option<&str>,
    ) {
        let room = event.room;
        let kind = EntryKind::Presence(event.presence);
        let wanted = self.history.is_some()
            || room.channels().iter().any(|c| {
                kind.accepted_by(c.options())
                    && c.connections().any(|conn| conn != event.connection)
            });
        if !wanted {
            return;
        }
        let join = action == "join";
        let notification = UserNotification {
            kind: "user",
            status: 200,
            user: event.presence.as_str(),
            result: UserCount { count: event.count },
            controller: "realtime",
            action,
            index: (!join).then_some(&*room.collection().index),
            collection: (!join).then_some(&*room.collection().collection),
            volatile: event.volatile,
            protocol,
            timestamp,
            node: &self.config.node,
        };
        if let Some(prepared) = Prepared::new(&notification) {
            self.to_room(room, kind, &prepared, Some(event.connection));
        }
    }

    /// Sends a notification to the channels of a room that accept it (never to `except`),
    /// first appending it to the room's history if there is one: the frames then carry its
    /// position, and are queued while the room's stream is locked (in offset order). Returns
    /// the number of channels notified.
    fn to_room(
        &self,
        room: &Room,
        kind: EntryKind,
        prepared: &Prepared,
        except: Option<ConnectionId>,
    ) -> usize {
        let mut notified = 0;
        let mut send = |position| {
            for channel in room.channels() {
                let others = || channel.connections().any(|c| Some(c) != except);
                if !kind.accepted_by(channel.options()) || !others() {
                    continue;
                }
                let frame = prepared.frame_at(channel.name(), position, &self.frames);
                notified += 1;
                self.send(channel.connections(), except, &frame);
            }
        };
        match &self.history {
            Some(history) => {
                history.append(room.id(), kind, prepared.head(), now_ms(), &mut |p| {
                    send(Some(p))
                });
            }
            None => send(None),
        }
        notified
    }

    fn send(
        &self,
        connections: impl Iterator<Item = ConnectionId>,
        except: Option<ConnectionId>,
        frame: &Frame,
    ) {
        let mut recipients = connections.filter(|&c| Some(c) != except);
        let n = self.delivery.deliver_all(&mut recipients, frame);
        self.deliveries.fetch_add(n as u64, Ordering::Relaxed);
    }
}

/// The object filters are tested on: the document with its `_id` (Kuzzle adds it, so filters
/// can use `ids` and `_id`).
fn with_id(document: &Value, id: Option<&str>) -> Value {
    match (document, id) {
        (Value::Object(map), Some(id)) => {
            let mut map: Map<String, Value> = map.clone();
            map.insert("_id".into(), Value::String(id.into()));
            Value::Object(map)
        }
        _ => document.clone(),
    }
}
