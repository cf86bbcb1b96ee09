//! The cluster's bus: committed changes and publishes through Redis pub/sub.
//!
//! # Routing
//!
//! One channel per collection (`herald:chg:<n>:<index>:<collection>`). A node subscribes to a
//! collection's channel when it gets a room on that collection ([`Bus::watch`], before the
//! subscription is answered, so that nothing published after the answer is missed) and
//! unsubscribes within [`SWEEP`] once it holds no room there. A node therefore receives the
//! changes of the collections its clients listen to, and nothing else; it matches them
//! against its own rooms only, so no node holds another node's filters.
//!
//! # Order and faults
//!
//! Changes are published by the commit script ([`super::store`]), in the order of the writes;
//! one connection receives them all and this node notifies them one at a time, so every
//! subscriber sees a document's versions in order. The subscribing connection reconnects by
//! itself after any failure (Redis restarted, network cut) with a bounded backoff, and
//! resubscribes every channel of the node: subscriptions keep working with nothing asked of
//! the clients. Changes committed while a node's subscriber was disconnected are not replayed
//! to it (Redis pub/sub keeps nothing); writes need Redis too, so while Redis itself is down
//! there are none.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use herald_filters::engine::CollectionName;
use parking_lot::Mutex;
use tokio::sync::mpsc;

use super::pool::{store_error, Pool};
use super::store::{channel, RedisStore};
use crate::notify::{Bus, Committed, HubHandle, Pending};
use crate::rooms::FoldMap;
use crate::store::{DocumentStore, StoreError};

/// How often channels without local rooms are unsubscribed.
pub const SWEEP: Duration = Duration::from_secs(5);
/// How long a subscription waits for its channel to be subscribed in Redis.
const WATCH_WAIT: Duration = Duration::from_secs(1);
/// Longest pause between two reconnection attempts.
const MAX_BACKOFF: Duration = Duration::from_millis(1_000);

enum Command {
    Subscribe(String, std::sync::mpsc::SyncSender<()>),
}

/// Redis pub/sub between the nodes; commits through the [`RedisStore`].
pub struct RedisBus {
    store: Arc<RedisStore>,
    pool: Arc<Pool>,
    /// Channels this node listens to, with their collection.
    watched: Arc<Mutex<FoldMap<String, CollectionName>>>,
    commands: mpsc::UnboundedSender<Command>,
    receiver: Mutex<Option<mpsc::UnboundedReceiver<Command>>>,
}

impl RedisBus {
    pub(crate) fn new(store: Arc<RedisStore>, pool: Arc<Pool>) -> RedisBus {
        let (commands, receiver) = mpsc::unbounded_channel();
        RedisBus {
            store,
            pool,
            watched: Arc::default(),
            commands,
            receiver: Mutex::new(Some(receiver)),
        }
    }
}

impl Bus for RedisBus {
    fn commit(
        &self,
        _store: &dyn DocumentStore,
        pending: &dyn Pending,
    ) -> Result<Committed, StoreError> {
        self.store.commit(pending)
    }

    fn publish(
        &self,
        collection: &CollectionName,
        encode: &dyn Fn() -> Vec<u8>,
    ) -> Result<Committed, StoreError> {
        // A publish has no previous state: an empty one after the separator.
        let mut message = encode();
        message.push(b'\n');
        let channel = channel(&collection.index, &collection.collection);
        self.pool.run(|c| {
            redis::cmd("PUBLISH")
                .arg(channel)
                .arg(message)
                .query::<u64>(c)
        })?;
        Ok(Committed::Sent)
    }

    fn watch(&self, collection: &CollectionName) {
        let channel = channel(&collection.index, &collection.collection);
        {
            let mut watched = self.watched.lock();
            if watched.contains_key(&channel) {
                return;
            }
            watched.insert(channel.clone(), collection.clone());
        }
        let (done, subscribed) = std::sync::mpsc::sync_channel(1);
        if self
            .commands
            .send(Command::Subscribe(channel.clone(), done))
            .is_err()
        {
            return;
        }
        // Subscribed, or Redis is unreachable: the subscriber subscribes every watched
        // channel once it reconnects.
        if crate::server::blocking(|| subscribed.recv_timeout(WATCH_WAIT)).is_err() {
            tracing::warn!(%channel, "redis subscription not confirmed yet");
        }
    }

    fn attach(&self, hub: Arc<dyn HubHandle>) {
        let Some(commands) = self.receiver.lock().take() else {
            return;
        };
        tokio::spawn(subscriber(
            self.pool.client().clone(),
            Arc::clone(&self.watched),
            commands,
            hub,
        ));
    }
}

/// Receives the watched channels' messages for ever, reconnecting as needed.
async fn subscriber(
    client: redis::Client,
    watched: Arc<Mutex<FoldMap<String, CollectionName>>>,
    mut commands: mpsc::UnboundedReceiver<Command>,
    hub: Arc<dyn HubHandle>,
) {
    let mut backoff = Duration::from_millis(50);
    let mut was_connected = true;
    loop {
        let connected = tokio::time::timeout(WATCH_WAIT, client.get_async_pubsub()).await;
        let pubsub = match connected {
            Ok(Ok(pubsub)) => pubsub,
            failed => {
                if was_connected {
                    let reason = match failed {
                        Ok(Err(e)) => store_error(&e).to_string(),
                        _ => "connection timed out".into(),
                    };
                    tracing::warn!(%reason, "redis bus unreachable: retrying");
                    was_connected = false;
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
                continue;
            }
        };
        let (mut sink, mut stream) = pubsub.split();
        let channels: Vec<String> = watched.lock().keys().cloned().collect();
        if !channels.is_empty() && sink.subscribe(&channels).await.is_err() {
            continue;
        }
        tracing::info!(channels = channels.len(), "redis bus connected");
        was_connected = true;
        backoff = Duration::from_millis(50);
        let mut sweep = tokio::time::interval(SWEEP);
        sweep.tick().await;
        loop {
            tokio::select! {
                message = stream.next() => {
                    let Some(message) = message else { break };
                    let payload = message.get_payload_bytes();
                    let hub = hub.hub();
                    hub.metrics().bus_received(payload.len());
                    hub.receive(payload);
                }
                command = commands.recv() => {
                    let Some(Command::Subscribe(channel, done)) = command else { return };
                    if sink.subscribe(&channel).await.is_err() {
                        break;
                    }
                    let _ = done.try_send(());
                }
                _ = sweep.tick() => {
                    let idle = idle_channels(&watched, hub.hub());
                    if !idle.is_empty() && sink.unsubscribe(&idle).await.is_err() {
                        break;
                    }
                }
            }
        }
        tracing::warn!("redis bus connection lost: reconnecting");
    }
}

/// Forgets the channels of collections where this node has no room left; returns them.
fn idle_channels(
    watched: &Mutex<FoldMap<String, CollectionName>>,
    hub: &crate::notify::Hub,
) -> Vec<String> {
    // The watched set stays locked while the rooms are read: a room created meanwhile either
    // is seen here or watches its channel again after this removal.
    let mut watched = watched.lock();
    let state = hub.rooms().read();
    let live: HashSet<&CollectionName> = state.rooms().map(|room| room.collection()).collect();
    let idle: Vec<String> = watched
        .iter()
        .filter(|(_, collection)| !live.contains(collection))
        .map(|(channel, _)| channel.clone())
        .collect();
    for channel in &idle {
        watched.remove(channel);
    }
    idle
}
