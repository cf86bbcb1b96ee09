//! History and resume: subscriptions that start from a position.
//!
//! A subscription (or join) given a position joins its room and reads the room's history in
//! one step, under the room registry's write lock ([`crate::rooms::Rooms::subscribe_then`]).
//! No notification of the room is sent meanwhile (they are sent under the read lock), so the
//! replayed entries are exactly those before the join and the live ones exactly those after:
//! no gap, no duplicate, with nothing to buffer. The replayed frames are queued to the
//! connection there, before any live one, so they arrive first and in order; like any
//! notification a request causes to its own connection, they precede the request's response.
//!
//! What is replayed is what the channel was sent live: the room's stream filtered by the
//! channel's `scope` and `users` options. Rights are those of the subscriber *now*: the
//! subscription goes through the same checks as any other, and a restricted subscriber's room
//! includes its restriction as it is now (a changed restriction is another room, whose stream
//! does not know the position: not recovered).

use std::sync::Arc;
use std::time::Instant;

use herald_filters::engine::CollectionName;

use super::frame::complete;
use super::{now_ms, Hub, Origin, SubscribeError, Subscribed, Subscription};
use crate::delivery::ConnectionId;
use crate::history::{History, Position, RoomSpec};
use crate::identity::Restriction;
use crate::rooms::{ChannelOptions, PresenceEvent, Target};

/// What a subscription learned of its room's history.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Resumed {
    /// The room's position when the connection joined (`None`: no history).
    pub position: Option<Position>,
    /// Whether the position asked for was recovered (`None`: none was asked for).
    pub recovered: Option<bool>,
    /// Notifications replayed.
    pub replayed: usize,
}

impl Hub {
    /// Turns history on: rooms keep their recent notifications (frames carry positions) and
    /// stay matched for the history's age bound after their last subscriber leaves. The rooms
    /// of the streams the history restored are matched again at once.
    pub fn with_history(mut self, history: Arc<dyn History>) -> Hub {
        self.rooms.set_linger(history.config().ttl);
        history.restore(&mut |spec| {
            let normalized = herald_filters::normalize(&spec.filter, &self.config.filters).ok()?;
            let restriction = spec.restriction.as_deref().map(Restriction::from_filters);
            let collection = CollectionName::new(&spec.index, &spec.collection);
            self.rooms.restore(collection, &normalized, restriction)
        });
        self.history = Some(history);
        self
    }

    /// The history, if it is on.
    pub fn history(&self) -> Option<&Arc<dyn History>> {
        self.history.as_ref()
    }

    /// Drops expired history entries, and the rooms that lingered long enough with their
    /// streams.
    pub fn sweep_history(&self) {
        let Some(history) = &self.history else {
            return;
        };
        history.sweep(now_ms());
        self.rooms
            .sweep_lingering(Instant::now(), |room| history.forget(room));
    }

    /// `realtime:subscribe`, resuming from `resume` if given.
    pub fn subscribe_from(
        &self,
        connection: ConnectionId,
        origin: &Origin,
        at: &Subscribed<'_>,
        resume: Option<Position>,
    ) -> Result<(Subscription, Resumed), SubscribeError> {
        let normalized = herald_filters::normalize(at.filter, &self.config.filters)
            .map_err(SubscribeError::Filter)?;
        let target = Target::Filter {
            collection: CollectionName::new(at.index, at.collection),
            filter: &normalized,
            restriction: origin.restriction.clone(),
        };
        let spec = || {
            Some(RoomSpec {
                index: at.index.to_owned(),
                collection: at.collection.to_owned(),
                filter: at.filter.clone(),
                restriction: origin.restriction.as_ref().map(|r| r.sources().to_vec()),
            })
        };
        self.enter(
            connection,
            origin,
            target,
            at.options,
            "subscribe",
            resume,
            &spec,
        )
    }

    /// `realtime:join`, resuming from `resume` if given.
    pub fn join_from(
        &self,
        connection: ConnectionId,
        origin: &Origin,
        room_id: &str,
        options: ChannelOptions,
        resume: Option<Position>,
    ) -> Result<(Subscription, Resumed), SubscribeError> {
        let target = Target::Room(room_id);
        self.enter(connection, origin, target, options, "join", resume, &|| {
            None
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn enter(
        &self,
        connection: ConnectionId,
        origin: &Origin,
        target: Target<'_>,
        options: ChannelOptions,
        action: &'static str,
        resume: Option<Position>,
        spec: &dyn Fn() -> Option<RoomSpec>,
    ) -> Result<(Subscription, Resumed), SubscribeError> {
        let mut resumed = Resumed {
            recovered: resume.map(|_| false),
            ..Resumed::default()
        };
        let presence = |event: &PresenceEvent<'_>| {
            self.presence(event, action, origin.timestamp, origin.protocol.as_deref())
        };
        let joined = self.rooms.subscribe_then(
            connection,
            target,
            options,
            &origin.volatile,
            presence,
            |room, channel| {
                let Some(history) = &self.history else {
                    return;
                };
                resumed.position = Some(history.position(room.id(), spec));
                let Some(from) = resume else {
                    return;
                };
                let Some((entries, now)) = history.since(room.id(), from, now_ms()) else {
                    return;
                };
                resumed.recovered = Some(true);
                for entry in entries {
                    if !entry.kind.accepted_by(channel.options()) {
                        continue;
                    }
                    let position = Position {
                        epoch: now.epoch,
                        offset: entry.offset,
                    };
                    let frame = complete(&entry.head, channel.name(), Some(position));
                    self.delivery.deliver(connection, &frame);
                    resumed.replayed += 1;
                }
            },
        )?;
        // Not under the rooms' lock: watching may wait for the bus (cluster: the collection's
        // channel is subscribed before the subscription is answered).
        let collection = self
            .rooms
            .read()
            .room_by_name(&joined.room_name)
            .map(|room| room.collection().clone());
        if let Some(collection) = collection {
            self.bus.watch(&collection);
        }
        let subscription = Subscription {
            room_id: joined.room_name.to_string(),
            channel: joined.channel.to_string(),
        };
        Ok((subscription, resumed))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::json;

    use super::*;
    use crate::delivery::Queues;
    use crate::history::{HistoryConfig, MemoryHistory};
    use crate::notify::HubConfig;
    use crate::store::MemoryStore;

    #[test]
    fn a_resume_replays_what_the_room_was_sent_after_the_position() {
        let queues = Arc::new(Queues::new(100));
        let config = HistoryConfig {
            size: 10,
            bytes: usize::MAX,
            ttl: Duration::from_secs(60),
        };
        let hub = Hub::new(
            HubConfig::default(),
            Arc::new(MemoryStore::new()),
            queues.clone(),
        )
        .with_history(Arc::new(MemoryHistory::new(config)));
        let origin = Origin::new("realtime");
        let filter = json!({});
        let at = Subscribed {
            index: "i",
            collection: "c",
            filter: &filter,
            options: ChannelOptions::default(),
        };
        let holder = hub.connect(None);
        let (_, first) = hub
            .subscribe_from(holder, &origin, &at, None)
            .expect("subscribe");
        let start = first.position.expect("history on");
        for n in 0..3 {
            hub.publish(&origin, "i", "c", None, &json!({ "n": n }))
                .expect("publish");
        }
        let connection = hub.connect(None);
        let mut inbox = queues.open(connection);
        let (_, resumed) = hub
            .subscribe_from(connection, &origin, &at, Some(start))
            .expect("resume");
        assert_eq!(resumed.recovered, Some(true));
        assert_eq!(resumed.replayed, 3);
        assert_eq!(inbox.drain().len(), 3);
    }
}
