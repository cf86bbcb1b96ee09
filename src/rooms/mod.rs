//! Rooms, channels, subscriptions and presence counts: who listens to what.
//!
//! * A **room** is `(index, collection, canonical filter)`, named by a [`RoomId`] that every
//!   process derives identically. Identical filters (same canonical form) on the same collection
//!   share one room, and the room's filter is registered once in the matcher, under the room id
//!   itself, so a matcher hit names the room without a lookup table.
//! * A **channel** is a room plus [`ChannelOptions`] (scope, users). Notifications are produced
//!   per channel: a connection in a channel gets each frame of that channel once.
//! * **Membership is per room**: a connection is in a room once, however many times it
//!   subscribed (with however many option sets); counts count connections. The subscribe-time
//!   `volatile` is kept per (connection, room) for the eventual `user:"out"`.
//!
//! # Invariants (all kept under one lock, `state`)
//!
//! * A room exists iff it has at least one member, or it *lingers*: its last member left less
//!   than the linger time ago ([`Rooms::set_linger`]; off unless history is on). A lingering
//!   room stays matched so that its history records what its subscribers miss while they
//!   reconnect; it has no channel, is not listed, counts 0, and becomes a plain room again
//!   when someone subscribes. Its filter is in the matcher iff it exists.
//! * A connection is in a room's `members` iff it is in at least one of the room's channels,
//!   iff the room is in the connection's own room set.
//! * Channels with no connection are dropped (Kuzzle keeps them until the room dies: nothing
//!   observable depends on it).
//!
//! Presence events are reported to the caller *while the lock is held*, through a callback:
//! delivery never blocks (a frame is queued, never awaited), and reporting under the lock keeps the
//! presence notifications of a room in the order of the membership changes (counts never go
//! backwards on the wire).
//!
//! A connection carries an optional user identity ([`UserId`]), kept in step with the
//! bindings of [`crate::identity::Identities`] by the engine.

mod ids;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use herald_filters::engine::{CollectionName, Engine};
use herald_filters::{Canonical, FilterId, Normalized};
use parking_lot::{RwLock, RwLockReadGuard};
use serde_json::Value;

use crate::delivery::ConnectionId;
use crate::identity::Restriction;

pub use ids::{
    ChannelOptions, InvalidOption, NotificationScope, Presence, RoomId, Scope, UsersOption,
};

/// Hash maps of the engine (foldhash: fast on small keys, randomly seeded per process).
pub(crate) type FoldMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;
pub(crate) type FoldSet<K> = HashSet<K, foldhash::fast::RandomState>;

/// The authenticated user behind a connection (Kuzzle's `kuid`). Anonymous connections have
/// none.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct UserId(Arc<str>);

impl UserId {
    pub fn new(id: &str) -> UserId {
        UserId(id.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The id as a shared string (a key that costs no copy).
    pub fn as_arc(&self) -> &Arc<str> {
        &self.0
    }
}

/// Why a room operation was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RoomError {
    /// The connection is unknown (never connected, or already disconnected).
    UnknownConnection,
    /// `join` of a room that does not exist (Kuzzle: 404 `core.realtime.room_not_found`).
    RoomNotFound,
    /// `unsubscribe` from a room the connection is not in (412 `core.realtime.not_subscribed`).
    NotSubscribed,
    /// The room limit is reached (413 `core.realtime.too_many_rooms`).
    TooManyRooms,
    /// The connection is in as many rooms as it may be.
    TooManySubscriptions { max: usize },
    /// The connections of the user are in as many rooms, together, as they may be.
    TooManyUserSubscriptions { max: usize },
}

impl fmt::Display for RoomError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RoomError::UnknownConnection => "unknown connection",
            RoomError::RoomNotFound => "the room does not exist",
            RoomError::NotSubscribed => "not subscribed to this room",
            RoomError::TooManyRooms => "too many rooms",
            RoomError::TooManySubscriptions { .. } => "too many subscriptions on this connection",
            RoomError::TooManyUserSubscriptions { .. } => "too many subscriptions for this user",
        })
    }
}

impl std::error::Error for RoomError {}

/// What a subscription targets: a filter (normalized) on a collection, or an existing room.
pub enum Target<'a> {
    Filter {
        collection: CollectionName,
        filter: &'a Normalized,
        /// The subscriber's restriction on the collection (already ANDed into `filter`).
        restriction: Option<Arc<Restriction>>,
    },
    Room(&'a str),
}

/// The outcome of a successful subscribe or join.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Joined {
    pub room: RoomId,
    /// The room id as clients see it (64 hex digits).
    pub room_name: Arc<str>,
    /// The channel name (`<roomId>-<digits>`).
    pub channel: Arc<str>,
    /// Whether the connection entered the room (false: it was already a member).
    pub entered: bool,
    /// Members after the operation.
    pub count: usize,
}

/// A presence change, reported while the room state is locked.
pub struct PresenceEvent<'a> {
    pub room: &'a Room,
    pub presence: Presence,
    /// Members after the change.
    pub count: usize,
    /// For `in`: the newcomer's subscribe volatile; for `out`: the volatile stored when the
    /// leaver subscribed.
    pub volatile: &'a Value,
    /// The connection that entered or left (never a recipient of its own event).
    pub connection: ConnectionId,
}

/// One channel of a room.
pub struct Channel {
    options: ChannelOptions,
    name: Arc<str>,
    connections: FoldSet<ConnectionId>,
}

impl Channel {
    pub fn options(&self) -> ChannelOptions {
        self.options
    }

    pub fn name(&self) -> &Arc<str> {
        &self.name
    }

    pub fn connections(&self) -> impl Iterator<Item = ConnectionId> + '_ {
        self.connections.iter().copied()
    }

    pub fn len(&self) -> usize {
        self.connections.len()
    }

    pub fn is_empty(&self) -> bool {
        self.connections.is_empty()
    }
}

/// A room: its identity, members and channels.
pub struct Room {
    id: RoomId,
    name: Arc<str>,
    collection: CollectionName,
    /// The canonical filter the id derives from (shown by the admin dashboard).
    canonical: Arc<Canonical>,
    /// Member -> volatile given when it entered.
    members: FoldMap<ConnectionId, Value>,
    channels: Vec<Channel>,
    /// The restriction of the restricted subscriptions that made or entered the room, if any:
    /// a document leaving the room is shown to it only if still inside.
    restriction: Option<Arc<Restriction>>,
    /// When its last member left, if it lingers.
    emptied_at: Option<Instant>,
}

impl Room {
    /// See the field: what its subscribers may see of a document that left it.
    pub fn restriction(&self) -> Option<&Arc<Restriction>> {
        self.restriction.as_ref()
    }

    pub fn id(&self) -> RoomId {
        self.id
    }

    pub fn name(&self) -> &Arc<str> {
        &self.name
    }

    pub fn collection(&self) -> &CollectionName {
        &self.collection
    }

    pub fn canonical(&self) -> &Arc<Canonical> {
        &self.canonical
    }

    pub fn count(&self) -> usize {
        self.members.len()
    }

    pub fn channels(&self) -> &[Channel] {
        &self.channels
    }

    /// Whether the room has no member and is only kept matched for its history.
    pub fn is_lingering(&self) -> bool {
        self.emptied_at.is_some()
    }

    fn leave(&mut self, connection: ConnectionId) -> Option<Value> {
        let volatile = self.members.remove(&connection)?;
        for channel in &mut self.channels {
            channel.connections.remove(&connection);
        }
        self.channels.retain(|c| !c.connections.is_empty());
        Some(volatile)
    }
}

/// Per-connection state.
struct ConnectionEntry {
    user: Option<UserId>,
    rooms: FoldSet<RoomId>,
}

/// Everything guarded by the registry's lock.
#[derive(Default)]
pub struct State {
    rooms: FoldMap<RoomId, Room>,
    by_name: FoldMap<Arc<str>, RoomId>,
    connections: FoldMap<ConnectionId, ConnectionEntry>,
    /// Rooms the connections of each user are in, summed (a room counts once per connection).
    per_user: FoldMap<UserId, usize>,
}

impl State {
    /// Adds `delta` rooms to `user`'s count.
    fn count_user_rooms(&mut self, user: Option<&UserId>, delta: isize) {
        let Some(user) = user else {
            return;
        };
        let count = self.per_user.entry(user.clone()).or_insert(0);
        *count = count.saturating_add_signed(delta);
        if *count == 0 {
            self.per_user.remove(user);
        }
    }

    /// Sets a connection's user, moving its rooms to the new user's count.
    fn set_user(&mut self, connection: ConnectionId, user: Option<UserId>) -> bool {
        let Some(entry) = self.connections.get_mut(&connection) else {
            return false;
        };
        let (old, rooms) = (
            std::mem::replace(&mut entry.user, user.clone()),
            entry.rooms.len(),
        );
        let rooms = isize::try_from(rooms).unwrap_or(isize::MAX);
        self.count_user_rooms(old.as_ref(), -rooms);
        self.count_user_rooms(user.as_ref(), rooms);
        true
    }

    pub fn room(&self, id: &RoomId) -> Option<&Room> {
        self.rooms.get(id)
    }

    /// The room a client-supplied id names, if it exists.
    pub fn room_by_name(&self, name: &str) -> Option<&Room> {
        self.by_name.get(name).and_then(|id| self.rooms.get(id))
    }

    /// Every room.
    pub fn rooms(&self) -> impl Iterator<Item = &Room> {
        self.rooms.values()
    }

    /// Every connection, with its user and the number of rooms it is in.
    pub fn connections(&self) -> impl Iterator<Item = (ConnectionId, Option<&UserId>, usize)> {
        self.connections
            .iter()
            .map(|(c, e)| (*c, e.user.as_ref(), e.rooms.len()))
    }

    /// Subscriptions: (connection, room) pairs.
    pub fn subscriptions(&self) -> usize {
        self.connections.values().map(|e| e.rooms.len()).sum()
    }

    /// Whether one of `user`'s connections is in the room.
    pub fn has_member(&self, room: &Room, user: &str) -> bool {
        room.members.keys().any(|c| {
            self.connections
                .get(c)
                .and_then(|e| e.user.as_ref())
                .is_some_and(|u| u.as_str() == user)
        })
    }
}

/// Room counts per index and collection: `realtime:list`'s result.
pub type RoomList = BTreeMap<String, BTreeMap<String, BTreeMap<String, usize>>>;

/// The registry of rooms, channels and connections, with the matcher holding room filters.
pub struct Rooms {
    matcher: Engine,
    state: RwLock<State>,
    /// Maximum number of rooms; 0 = unlimited.
    max_rooms: usize,
    /// Maximum number of rooms one connection may be in; 0 = unlimited. Without it one client
    /// could fill the room limit that every other client shares.
    max_per_connection: usize,
    /// Maximum number of rooms the connections of one user may be in together; 0 = unlimited.
    max_per_user: usize,
    /// How long an emptied room stays matched, in milliseconds (0: it goes at once).
    linger_ms: AtomicU64,
}

impl Rooms {
    pub fn new(max_rooms: usize) -> Rooms {
        Rooms::with_limits(max_rooms, 0, 0)
    }

    pub fn with_limits(max_rooms: usize, max_per_connection: usize, max_per_user: usize) -> Rooms {
        Rooms {
            matcher: Engine::new(),
            state: RwLock::new(State::default()),
            max_rooms,
            max_per_connection,
            max_per_user,
            linger_ms: AtomicU64::new(0),
        }
    }

    /// Keeps emptied rooms matched for `linger` (history on), until [`Rooms::sweep_lingering`]
    /// drops them.
    pub fn set_linger(&self, linger: Duration) {
        // At least 1 ms: a room with a history always goes through the sweep, which drops
        // its stream with it (a room made again must not reuse a stream with a gap).
        let ms = u64::try_from(linger.as_millis()).unwrap_or(u64::MAX).max(1);
        self.linger_ms.store(ms, Ordering::Relaxed);
    }

    /// Drops the rooms that lingered for the linger time, calling `gone` for each while the
    /// registry is still locked (so that a room made again meanwhile is not confused with it).
    pub fn sweep_lingering(&self, now: Instant, mut gone: impl FnMut(RoomId)) {
        let linger = Duration::from_millis(self.linger_ms.load(Ordering::Relaxed));
        let expired = |room: &Room| {
            room.emptied_at
                .is_some_and(|at| now.saturating_duration_since(at) >= linger)
        };
        if !self.state.read().rooms.values().any(expired) {
            return;
        }
        let mut state = self.state.write();
        let expired: Vec<RoomId> = state
            .rooms
            .values()
            .filter(|r| expired(r))
            .map(|r| r.id)
            .collect();
        for id in expired {
            if let Some(room) = state.rooms.remove(&id) {
                self.matcher.remove(&room.collection, &id.filter_id());
                state.by_name.remove(&room.name);
                gone(id);
            }
        }
    }

    /// Makes a room again without members, lingering (a restart restoring the rooms that
    /// have a history); returns its id. Nothing is done if it exists or the room limit is
    /// reached.
    pub fn restore(
        &self,
        collection: CollectionName,
        filter: &Normalized,
        restriction: Option<Arc<Restriction>>,
    ) -> Option<RoomId> {
        let id = RoomId::derive(&collection, &filter.canonical);
        let mut state = self.state.write();
        if state.rooms.contains_key(&id) {
            return Some(id);
        }
        self.make_room(&mut state, id, collection, filter, restriction)
            .ok()?;
        if let Some(room) = state.rooms.get_mut(&id) {
            room.emptied_at = Some(Instant::now());
        }
        Some(id)
    }

    /// Registers a new room (no member yet) and its filter in the matcher, within the limit.
    fn make_room(
        &self,
        state: &mut State,
        id: RoomId,
        collection: CollectionName,
        filter: &Normalized,
        restriction: Option<Arc<Restriction>>,
    ) -> Result<(), RoomError> {
        if self.max_rooms != 0 && state.rooms.len() >= self.max_rooms {
            return Err(RoomError::TooManyRooms);
        }
        self.matcher
            .register(&collection, id.filter_id(), &filter.canonical);
        let name: Arc<str> = id.to_hex().into();
        state.by_name.insert(Arc::clone(&name), id);
        state.rooms.insert(
            id,
            Room {
                id,
                name,
                collection,
                canonical: Arc::clone(&filter.canonical),
                members: FoldMap::default(),
                channels: Vec::new(),
                restriction,
                emptied_at: None,
            },
        );
        Ok(())
    }

    /// The matcher: one entry per room, under the room's id.
    pub fn matcher(&self) -> &Engine {
        &self.matcher
    }

    /// Read access to rooms and channels (notification fan-out).
    pub fn read(&self) -> RwLockReadGuard<'_, State> {
        self.state.read()
    }

    /// Declares a connection. Connecting an id twice keeps its rooms and sets its user.
    pub fn connect(&self, connection: ConnectionId, user: Option<UserId>) {
        let mut state = self.state.write();
        state
            .connections
            .entry(connection)
            .or_insert_with(|| ConnectionEntry {
                user: None,
                rooms: FoldSet::default(),
            });
        state.set_user(connection, user);
    }

    /// Sets (or clears) the user of a connection; false if the connection is unknown.
    pub fn set_user(&self, connection: ConnectionId, user: Option<UserId>) -> bool {
        self.state.write().set_user(connection, user)
    }

    pub fn user(&self, connection: ConnectionId) -> Option<UserId> {
        self.state
            .read()
            .connections
            .get(&connection)
            .and_then(|e| e.user.clone())
    }

    pub fn is_connected(&self, connection: ConnectionId) -> bool {
        self.state.read().connections.contains_key(&connection)
    }

    /// Puts a connection in a room's channel, creating the room (and its matcher entry) if
    /// needed. Reports `user:"in"` through `on_presence` when the connection entered the room.
    pub fn subscribe(
        &self,
        connection: ConnectionId,
        target: Target<'_>,
        options: ChannelOptions,
        volatile: &Value,
        on_presence: impl FnOnce(&PresenceEvent<'_>),
    ) -> Result<Joined, RoomError> {
        self.subscribe_then(
            connection,
            target,
            options,
            volatile,
            on_presence,
            |_, _| {},
        )
    }

    /// [`Rooms::subscribe`], with `joined_then` called with the room and the channel (before
    /// the presence `in` is reported) while the registry is still locked: no notification of
    /// the room can be sent meanwhile (a resuming subscription reads the room's history
    /// there).
    pub fn subscribe_then(
        &self,
        connection: ConnectionId,
        target: Target<'_>,
        options: ChannelOptions,
        volatile: &Value,
        on_presence: impl FnOnce(&PresenceEvent<'_>),
        joined_then: impl FnOnce(&Room, &Channel),
    ) -> Result<Joined, RoomError> {
        let mut guard = self.state.write();
        let state = &mut *guard;
        if !state.connections.contains_key(&connection) {
            return Err(RoomError::UnknownConnection);
        }
        // Checked before a room is made: a refused subscription leaves nothing behind.
        let (max, max_user) = (self.max_per_connection, self.max_per_user);
        let admits = |state: &State, room: &RoomId| -> Result<(), RoomError> {
            let Some(c) = state.connections.get(&connection) else {
                return Ok(());
            };
            if c.rooms.contains(room) {
                return Ok(());
            }
            if max != 0 && c.rooms.len() >= max {
                return Err(RoomError::TooManySubscriptions { max });
            }
            let of_user = c.user.as_ref().and_then(|u| state.per_user.get(u)).copied();
            if max_user != 0 && of_user.is_some_and(|n| n >= max_user) {
                return Err(RoomError::TooManyUserSubscriptions { max: max_user });
            }
            Ok(())
        };
        let room_id = match target {
            Target::Room(name) => {
                let id = *state.by_name.get(name).ok_or(RoomError::RoomNotFound)?;
                admits(state, &id)?;
                id
            }
            Target::Filter {
                collection,
                filter,
                restriction,
            } => {
                let id = RoomId::derive(&collection, &filter.canonical);
                admits(state, &id)?;
                if !state.rooms.contains_key(&id) {
                    self.make_room(state, id, collection, filter, None)?;
                }
                if let (Some(room), Some(restriction)) = (state.rooms.get_mut(&id), restriction) {
                    room.restriction.get_or_insert(restriction);
                }
                id
            }
        };
        let Some(room) = state.rooms.get_mut(&room_id) else {
            return Err(RoomError::RoomNotFound);
        };
        let entered = !room.members.contains_key(&connection);
        if entered {
            room.members.insert(connection, volatile.clone());
            room.emptied_at = None;
        }
        let channel = match room.channels.iter_mut().position(|c| c.options == options) {
            Some(i) => &mut room.channels[i],
            None => {
                room.channels.push(Channel {
                    options,
                    name: options.channel_name(&room_id).into(),
                    connections: FoldSet::default(),
                });
                let last = room.channels.len() - 1;
                &mut room.channels[last]
            }
        };
        channel.connections.insert(connection);
        let joined = Joined {
            room: room_id,
            room_name: Arc::clone(&room.name),
            channel: Arc::clone(&channel.name),
            entered,
            count: room.members.len(),
        };
        let mut new_for_user = None;
        if let Some(entry) = state.connections.get_mut(&connection) {
            if entry.rooms.insert(room_id) {
                new_for_user = entry.user.clone();
            }
        }
        state.count_user_rooms(new_for_user.as_ref(), 1);
        let Some(room) = state.rooms.get(&room_id) else {
            return Ok(joined);
        };
        // Before the newcomer's own `in`, which it is never sent.
        if let Some(channel) = room.channels.iter().find(|c| c.options == options) {
            joined_then(room, channel);
        }
        if entered {
            on_presence(&PresenceEvent {
                room,
                presence: Presence::In,
                count: joined.count,
                volatile,
                connection,
            });
        }
        Ok(joined)
    }

    /// Removes a connection from a room (all its channels there). Reports `user:"out"` to the
    /// remaining members, or destroys the room if none remain.
    pub fn unsubscribe(
        &self,
        connection: ConnectionId,
        room_name: &str,
        on_presence: impl FnOnce(&PresenceEvent<'_>),
    ) -> Result<RoomId, RoomError> {
        let mut guard = self.state.write();
        let state = &mut *guard;
        let room_id = *state
            .by_name
            .get(room_name)
            .ok_or(RoomError::NotSubscribed)?;
        let in_room = state
            .connections
            .get(&connection)
            .is_some_and(|e| e.rooms.contains(&room_id));
        if !in_room {
            return Err(RoomError::NotSubscribed);
        }
        let mut on_presence = Some(on_presence);
        self.leave(state, connection, room_id, &mut |event| {
            if let Some(f) = on_presence.take() {
                f(event);
            }
        });
        let mut left_user = None;
        if let Some(entry) = state.connections.get_mut(&connection) {
            if entry.rooms.remove(&room_id) {
                left_user = entry.user.clone();
            }
        }
        state.count_user_rooms(left_user.as_ref(), -1);
        Ok(room_id)
    }

    /// Forgets a connection: it leaves every room (presence `out` to the remaining members,
    /// empty rooms destroyed). Returns the number of rooms it was in.
    pub fn disconnect(
        &self,
        connection: ConnectionId,
        on_presence: impl FnMut(&PresenceEvent<'_>),
    ) -> usize {
        self.leave_rooms(connection, true, on_presence)
    }

    /// Removes a connection from every room it is in (presence `out` to the remaining members)
    /// but keeps it connected (token expiry, logout). Returns the number of rooms it was in.
    pub fn leave_all(
        &self,
        connection: ConnectionId,
        on_presence: impl FnMut(&PresenceEvent<'_>),
    ) -> usize {
        self.leave_rooms(connection, false, on_presence)
    }

    fn leave_rooms(
        &self,
        connection: ConnectionId,
        forget: bool,
        mut on_presence: impl FnMut(&PresenceEvent<'_>),
    ) -> usize {
        let mut guard = self.state.write();
        let state = &mut *guard;
        let rooms = if forget {
            state
                .connections
                .remove(&connection)
                .map(|e| (e.user, e.rooms))
        } else {
            state
                .connections
                .get_mut(&connection)
                .map(|e| (e.user.clone(), std::mem::take(&mut e.rooms)))
        };
        let Some((user, rooms)) = rooms else {
            return 0;
        };
        state.count_user_rooms(
            user.as_ref(),
            -isize::try_from(rooms.len()).unwrap_or(isize::MAX),
        );
        let mut rooms: Vec<RoomId> = rooms.into_iter().collect();
        rooms.sort();
        for &room_id in &rooms {
            self.leave(state, connection, room_id, &mut on_presence);
        }
        rooms.len()
    }

    fn leave(
        &self,
        state: &mut State,
        connection: ConnectionId,
        room_id: RoomId,
        on_presence: &mut dyn FnMut(&PresenceEvent<'_>),
    ) {
        let Some(room) = state.rooms.get_mut(&room_id) else {
            return;
        };
        let Some(volatile) = room.leave(connection) else {
            return;
        };
        if room.members.is_empty() && self.linger_ms.load(Ordering::Relaxed) > 0 {
            room.emptied_at = Some(Instant::now());
        } else if room.members.is_empty() {
            self.matcher.remove(&room.collection, &room_id.filter_id());
            state.by_name.remove(&room.name);
            state.rooms.remove(&room_id);
        } else {
            on_presence(&PresenceEvent {
                room,
                presence: Presence::Out,
                count: room.members.len(),
                volatile: &volatile,
                connection,
            });
        }
    }

    /// Forgets every connection and room without any presence notification (server shutdown,
    /// protocol section 10). Returns the connections that were known.
    pub fn clear(&self) -> Vec<ConnectionId> {
        let mut state = self.state.write();
        for room in state.rooms.values() {
            self.matcher.remove(&room.collection, &room.id.filter_id());
        }
        let connections = state.connections.keys().copied().collect();
        *state = State::default();
        connections
    }

    /// Connections in a room; 0 for an unknown room (Kuzzle: no error).
    pub fn count(&self, room_name: &str) -> usize {
        self.state
            .read()
            .room_by_name(room_name)
            .map_or(0, Room::count)
    }

    /// Rooms and their counts, per index and collection.
    pub fn list(&self) -> RoomList {
        self.list_where(|_, _| true)
    }

    /// [`Rooms::list`] of the rooms `keep` accepts.
    pub fn list_where(&self, keep: impl Fn(&State, &Room) -> bool) -> RoomList {
        self.list_page(keep, 0, usize::MAX)
    }

    /// A page of [`Rooms::list_where`]: the rooms ordered by index, collection and room id,
    /// `from` of them skipped, at most `size` listed (answers stay bounded however many rooms
    /// there are).
    pub fn list_page(
        &self,
        keep: impl Fn(&State, &Room) -> bool,
        from: usize,
        size: usize,
    ) -> RoomList {
        let state = self.state.read();
        let mut rooms: Vec<&Room> = state
            .rooms
            .values()
            .filter(|r| !r.is_lingering() && keep(&state, r))
            .collect();
        rooms.sort_unstable_by(|a, b| {
            (&a.collection.index, &a.collection.collection, &a.name).cmp(&(
                &b.collection.index,
                &b.collection.collection,
                &b.name,
            ))
        });
        let mut list = RoomList::new();
        for room in rooms.into_iter().skip(from).take(size) {
            list.entry(room.collection.index.to_string())
                .or_default()
                .entry(room.collection.collection.to_string())
                .or_default()
                .insert(room.name.to_string(), room.count());
        }
        list
    }

    /// Number of rooms.
    pub fn len(&self) -> usize {
        self.state.read().rooms.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of connections known.
    pub fn connections(&self) -> usize {
        self.state.read().connections.len()
    }

    /// The rooms whose filters match a document (appends room ids to `out`).
    pub fn matching(&self, collection: &CollectionName, document: &Value, out: &mut Vec<RoomId>) {
        let mut hits: Vec<FilterId> = Vec::new();
        self.matcher.test(collection, document, &mut hits);
        out.extend(hits.into_iter().map(RoomId::from_filter_id));
    }
}
