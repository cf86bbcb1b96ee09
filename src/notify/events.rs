//! Events and the identity side of the engine: events addressed to users, to everyone or to a
//! room's subscribers; binding connections to identities; token expiry and logout, which drop
//! a connection's subscriptions.
//!
//! Events are not stored and not matched against rooms: an event to users goes to the
//! listeners (subscriptions to `%herald/events`) of the connections bound to those users that
//! are open now, each listener's filter tested on the event; an event to a room goes to every
//! channel of that room. The count returned is the number of connections that got it.

use std::sync::Arc;

use serde::Serialize;
use serde_json::{Map, Value};

use super::frame::Prepared;
use super::{Hub, Origin, SubscribeError, Subscription};
use crate::delivery::{ConnectionId, Delivered, Frame};
use crate::identity::{Audience, Identity, Topic, EVENTS_COLLECTION, EVENTS_INDEX};
use crate::rooms::{FoldSet, RoomError};

/// An event: a type code with a payload, a named event with a message, or both.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Event {
    /// `type`: `CM_REMINDER`, `MAIL`, `VOIP`, `SHUTDOWN`... or any application code.
    pub kind: Option<String>,
    /// `event`: a name clients listen to (`refresh_invoice`).
    pub name: Option<String>,
    pub payload: Option<Value>,
    pub message: Option<Value>,
}

impl Event {
    /// The event as listeners see it (the `result` of the frame, and what listener filters
    /// are tested on): `{type?, event?, payload?, message?, from}`.
    pub fn to_result(&self, from: &str) -> Value {
        let mut map = Map::new();
        let mut put = |key: &str, value: Option<Value>| {
            if let Some(v) = value {
                map.insert(key.into(), v);
            }
        };
        put("type", self.kind.clone().map(Value::String));
        put("event", self.name.clone().map(Value::String));
        put("payload", self.payload.clone());
        put("message", self.message.clone());
        put("from", Some(Value::String(from.into())));
        Value::Object(map)
    }
}

/// Where an event goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EventTarget {
    /// Users' listening connections, or every listening connection.
    Audience(Audience),
    /// Every subscriber of a room (by room id).
    Room(String),
}

/// The frame of an event (`type: "event"`), completed with `room` per channel.
#[derive(Serialize)]
struct EventNotification<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    status: u16,
    controller: &'static str,
    action: &'static str,
    index: &'a str,
    collection: &'a str,
    result: &'a Value,
    timestamp: u64,
    volatile: &'a Value,
    protocol: Option<&'a str>,
    node: &'a str,
}

impl Hub {
    // ---- identities ----

    /// Binds a connection to a verified identity (its user becomes the connection's user).
    pub fn bind(&self, connection: ConnectionId, identity: Arc<Identity>) {
        let user = identity.kuid.clone();
        if self.identities.bind(connection, identity) {
            self.rooms.set_user(connection, Some(user));
        }
    }

    /// Unbinds a connection (it becomes anonymous; its subscriptions stay).
    pub fn unbind(&self, connection: ConnectionId) -> Option<Arc<Identity>> {
        self.rooms.set_user(connection, None);
        self.identities.unbind(connection)
    }

    /// Removes every subscription of a connection, rooms (presence `out` to the others) and
    /// event listeners, but keeps it connected. Returns the number of rooms it left.
    pub fn drop_subscriptions(&self, connection: ConnectionId) -> usize {
        let timestamp = super::now_ms();
        let n = self.rooms.leave_all(connection, |event| {
            self.presence(event, "unsubscribe", timestamp, None)
        });
        self.identities.clear_listeners(connection);
        n
    }

    /// Token expiry: every connection whose token expired by `now_ms` gets the `TokenExpired`
    /// server notification, then loses its subscriptions and becomes anonymous (the socket
    /// stays open). Returns the connections expired and the next expiry to wait for.
    pub fn expire_tokens(&self, now_ms: u64) -> (Vec<ConnectionId>, Option<u64>) {
        let expired = self.identities.take_expired(now_ms);
        if !expired.is_empty() {
            let frame = Frame::from(
                serde_json::json!({
                    "status": 200,
                    "info": "This is an automated server notification",
                    "message": "Authentication Token Expired",
                    "type": "TokenExpired",
                    "node": self.config.node,
                    "room": "kuzzle:notification:server",
                })
                .to_string(),
            );
            for &connection in &expired {
                self.delivery.deliver(connection, &frame);
                self.drop_subscriptions(connection);
                self.rooms.set_user(connection, None);
            }
        }
        (expired, self.identities.next_expiry())
    }

    /// `auth:logout`: the calling connection (if any) is unbound and keeps its subscriptions;
    /// the other connections bound to the same token are unbound and lose theirs (no
    /// `TokenExpired`). Returns the number of other connections logged out.
    pub fn logout(&self, connection: Option<ConnectionId>, token: Option<&str>) -> usize {
        let token = match connection.and_then(|c| self.unbind(c)) {
            Some(identity) => Some(identity.token.to_string()),
            None => token.map(str::to_owned),
        };
        let Some(token) = token else {
            return 0;
        };
        let others = self.identities.connections_with_token(&token);
        for &other in &others {
            self.unbind(other);
            self.drop_subscriptions(other);
        }
        others.len()
    }

    // ---- events ----

    /// `realtime:subscribe` on `%herald/events`: a listener of the connection's events,
    /// selected by `filter` (tested on `{type, event, payload, message, from}`).
    pub fn listen_events(
        &self,
        connection: ConnectionId,
        filter: &Value,
    ) -> Result<Subscription, SubscribeError> {
        self.listen_topic(connection, Topic::Events, filter)
    }

    /// A listener of one of the connection's identity-scoped topics (events, inbox changes),
    /// selected by `filter` (`{}`: everything).
    pub(crate) fn listen_topic(
        &self,
        connection: ConnectionId,
        topic: Topic,
        filter: &Value,
    ) -> Result<Subscription, SubscribeError> {
        if !self.rooms.is_connected(connection) {
            return Err(SubscribeError::Room(RoomError::UnknownConnection));
        }
        let everything = filter.as_object().is_some_and(Map::is_empty);
        let filter = if everything {
            None
        } else {
            Some(
                herald_filters::standardize(filter, &self.config.filters)
                    .map_err(SubscribeError::Filter)?,
            )
        };
        let id = self.identities.listen_to(connection, topic, filter);
        Ok(Subscription {
            room_id: id.to_string(),
            channel: id.to_string(),
        })
    }

    /// `realtime:unsubscribe` of an events listener; false if it is not one of the
    /// connection's.
    pub fn unlisten_events(&self, connection: ConnectionId, id: &str) -> bool {
        self.identities.unlisten(connection, id)
    }

    /// Sends an event; returns the number of connections it was delivered to. Nothing is
    /// stored: connections opened later never see it.
    pub fn send_event(
        &self,
        origin: &Origin,
        target: &EventTarget,
        event: &Event,
    ) -> Result<usize, RoomError> {
        let result = event.to_result(origin.author());
        let notification = |index, collection| EventNotification {
            kind: "event",
            status: 200,
            controller: "events",
            action: "send",
            index,
            collection,
            result: &result,
            timestamp: origin.timestamp,
            volatile: &origin.volatile,
            protocol: origin.protocol.as_deref(),
            node: &self.config.node,
        };
        let mut reached: FoldSet<ConnectionId> = FoldSet::default();
        match target {
            EventTarget::Audience(audience) => {
                let recipients = self.identities.recipients(audience, &result);
                if recipients.is_empty() {
                    return Ok(0);
                }
                let Some(prepared) = Prepared::new(&notification(EVENTS_INDEX, EVENTS_COLLECTION))
                else {
                    return Ok(0);
                };
                for (connection, channel) in recipients {
                    let frame = prepared.frame(&channel, &self.frames);
                    self.deliver_counted(connection, &frame, &mut reached);
                }
            }
            EventTarget::Room(room_id) => {
                let state = self.rooms.read();
                let room = state.room_by_name(room_id).ok_or(RoomError::RoomNotFound)?;
                let collection = room.collection();
                let Some(prepared) =
                    Prepared::new(&notification(&collection.index, &collection.collection))
                else {
                    return Ok(0);
                };
                for channel in room.channels() {
                    let frame = prepared.frame(channel.name(), &self.frames);
                    for connection in channel.connections() {
                        self.deliver_counted(connection, &frame, &mut reached);
                    }
                }
            }
        }
        Ok(reached.len())
    }

    fn deliver_counted(
        &self,
        connection: ConnectionId,
        frame: &Frame,
        reached: &mut FoldSet<ConnectionId>,
    ) {
        if self.delivery.deliver(connection, frame) == Delivered::Queued {
            self.deliveries
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            reached.insert(connection);
        }
    }
}
