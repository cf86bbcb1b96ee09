//! The live side of inboxes: listeners of `%herald/notifications` and the frames that carry
//! inbox changes to them.
//!
//! Delivery follows the path of events to users (`events.rs`): a subscription to the reserved
//! collection is a listener scoped to the subscriber's identity, kept by
//! [`crate::identity::Identities`] with its filter; a change of a user's inbox goes to the
//! listeners of that user's connections whose filter matches the change's `result` (so
//! `{"equals": {"priority": "critical"}}` selects critical notifications). The engine
//! ([`crate::inbox::Inbox`]) pushes while it holds the user's lock, so frames reach a
//! connection in the order of the commits and the counts of the last frame are current.

use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;

use super::frame::Prepared;
use super::{Hub, Origin, SubscribeError, Subscription};
use crate::delivery::{ConnectionId, Delivered};
use crate::identity::{Audience, Topic, EVENTS_INDEX, NOTIFICATIONS_COLLECTION};
use crate::inbox::{Inbox, InboxStore, Sink};
use crate::rooms::UserId;

/// The frame of an inbox change (`type: "notification"`), completed with `room` per listener.
#[derive(Serialize)]
struct InboxFrame<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    status: u16,
    controller: &'static str,
    action: &'static str,
    index: &'static str,
    collection: &'static str,
    result: &'a Value,
    timestamp: u64,
    volatile: &'a Value,
    protocol: Option<&'a str>,
    node: &'a str,
}

/// Pushes the inbox changes of one request (or of the sweep) to the listeners.
pub struct InboxPush<'a> {
    hub: &'a Hub,
    origin: &'a Origin,
}

impl Sink for InboxPush<'_> {
    fn listening(&self, user: &UserId) -> bool {
        self.hub.identities.listens(Topic::Notifications, user)
    }

    fn push(&self, user: &UserId, action: &'static str, result: &Value) {
        let audience = Audience::Users(vec![user.clone()]);
        let recipients = self
            .hub
            .identities
            .recipients_of(Topic::Notifications, &audience, result);
        if recipients.is_empty() {
            return;
        }
        let frame = InboxFrame {
            kind: "notification",
            status: 200,
            controller: "notifications",
            action,
            index: EVENTS_INDEX,
            collection: NOTIFICATIONS_COLLECTION,
            result,
            timestamp: self.origin.timestamp,
            volatile: &self.origin.volatile,
            protocol: self.origin.protocol.as_deref(),
            node: &self.hub.config.node,
        };
        let Some(prepared) = Prepared::new(&frame) else {
            return;
        };
        for (connection, channel) in recipients {
            let frame = prepared.frame(&channel, &self.hub.frames);
            self.deliver(connection, &frame);
        }
    }
}

impl InboxPush<'_> {
    fn deliver(&self, connection: ConnectionId, frame: &crate::delivery::Frame) {
        if self.hub.delivery.deliver(connection, frame) == Delivered::Queued {
            self.hub
                .deliveries
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }
}

impl Hub {
    /// The persistent inboxes.
    pub fn inbox(&self) -> &Inbox {
        &self.inbox
    }

    /// Replaces the inbox store (the default is in memory): `herald serve` gives the redb one.
    pub fn with_inbox_store(mut self, store: Arc<dyn InboxStore>) -> Hub {
        self.inbox = Inbox::new(store, self.config.inbox.clone());
        self
    }

    /// Where the inbox changes caused by `origin` are pushed.
    pub fn inbox_sink<'a>(&'a self, origin: &'a Origin) -> InboxPush<'a> {
        InboxPush { hub: self, origin }
    }

    /// `realtime:subscribe` on `%herald/notifications`: a listener of the changes of the
    /// connection's user's inbox, selected by `filter` (tested on each change's `result`).
    /// The caller checks that the connection has a user.
    pub fn listen_notifications(
        &self,
        connection: ConnectionId,
        filter: &Value,
    ) -> Result<Subscription, SubscribeError> {
        self.listen_topic(connection, Topic::Notifications, filter)
    }
}
