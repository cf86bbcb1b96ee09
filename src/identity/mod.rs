//! Identity: who is behind a connection, what they may do, and which events reach them.
//!
//! Herald does not own users. The application's backend issues JSON Web Tokens; Herald only
//! verifies them ([`AuthConfig`]: HMAC secrets, RSA/EC public keys, optional issuer and
//! audience) and reads three things from the claims (`token`): the user id (`sub`, or
//! Kuzzle's `_id`), the expiry (`exp`) and the rights (the `herald` claim, [`Rights`]).
//! The format is documented in `docs/identity.md`.
//!
//! [`Identities`] is the one place where a connection's identity lives:
//!
//! * **Verification is cached** by token string (requests of a logged-in SDK carry the same
//!   `jwt` every time: one signature check per token, not per request). A cached identity is
//!   still checked against its expiry on every use.
//! * **Bindings**: a connection is bound to at most one identity (the last valid token it
//!   presented, or `auth:login`); a user may have any number of connections (`by_user`, for
//!   events addressed to users). A request without `jwt` on a bound connection runs as that
//!   identity, so plain WebSocket clients can authenticate once.
//! * **Expiry**: bound identities are indexed by expiry time. The server's sweeper asks for
//!   the connections whose token expired ([`Identities::take_expired`]), which are unbound
//!   here; the engine then sends `TokenExpired` and drops their subscriptions.
//! * **Event listeners**: subscriptions to the reserved collections `%herald/events` and
//!   `%herald/notifications` ([`Topic`]) are not rooms (they are scoped to the subscriber's
//!   identity, which a shared room cannot be); each is kept here with its topic and filter,
//!   evaluated when an event is sent or an inbox changes.
//!
//! Invariants (under one lock): a connection is in `by_user[u]` iff it is bound to an identity
//! of user `u`, and in `expiries` (once) iff it is bound.

mod config;
mod restriction;
pub mod rights;
mod token;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use herald_filters::{Options, Standardized};
use parking_lot::{Mutex, RwLock};
use serde_json::Value;

use crate::delivery::ConnectionId;
use crate::rooms::{FoldMap, FoldSet, UserId};

pub use config::{AuthConfig, VerifyKey};
pub use restriction::Restriction;
pub use rights::{Pattern, Right, Rights};
pub use token::TokenError;

/// The reserved index and collection of events addressed to users (section "Events" of
/// `docs/identity.md`).
pub const EVENTS_INDEX: &str = "%herald";
pub const EVENTS_COLLECTION: &str = "events";
/// The reserved collection of inbox changes (`docs/notifications.md`), in [`EVENTS_INDEX`].
pub const NOTIFICATIONS_COLLECTION: &str = "notifications";

/// What a listener of the reserved index listens to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Topic {
    /// `%herald/events`: events sent to users (never stored).
    Events,
    /// `%herald/notifications`: the changes of the user's own inbox.
    Notifications,
}

impl Topic {
    /// The reserved collection of the topic.
    pub fn collection(self) -> &'static str {
        match self {
            Topic::Events => EVENTS_COLLECTION,
            Topic::Notifications => NOTIFICATIONS_COLLECTION,
        }
    }
}

/// Verified tokens kept in the cache before it is pruned.
const CACHE_LIMIT: usize = 16_384;

/// A verified token.
#[derive(Debug)]
pub struct Identity {
    /// The user id (Kuzzle's `kuid`).
    pub kuid: UserId,
    /// The token as presented.
    pub token: Arc<str>,
    /// Expiry, epoch milliseconds.
    pub expires_at: u64,
    pub rights: Arc<Rights>,
}

impl Identity {
    pub fn is_expired(&self, now_ms: u64) -> bool {
        now_ms >= self.expires_at
    }
}

/// Who an event is addressed to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Audience {
    /// Every connection bound to one of these users.
    Users(Vec<UserId>),
    /// Every connection listening to events, identified or not.
    All,
}

/// One subscription to `%herald/events` or `%herald/notifications`.
struct Listener {
    /// Its room id, also its channel.
    id: Arc<str>,
    topic: Topic,
    /// `None`: every event.
    filter: Option<Standardized>,
}

#[derive(Default)]
struct Entry {
    identity: Option<Arc<Identity>>,
    listeners: Vec<Listener>,
}

#[derive(Default)]
struct Registry {
    connections: FoldMap<ConnectionId, Entry>,
    by_user: FoldMap<UserId, FoldSet<ConnectionId>>,
    expiries: BTreeSet<(u64, ConnectionId)>,
}

impl Registry {
    fn unbind(&mut self, connection: ConnectionId) -> Option<Arc<Identity>> {
        let identity = self.connections.get_mut(&connection)?.identity.take()?;
        self.expiries.remove(&(identity.expires_at, connection));
        if let Some(set) = self.by_user.get_mut(&identity.kuid) {
            set.remove(&connection);
            if set.is_empty() {
                self.by_user.remove(&identity.kuid);
            }
        }
        Some(identity)
    }
}

/// Token verification, connection bindings and event listeners.
pub struct Identities {
    config: AuthConfig,
    /// The anonymous rights, shared by every anonymous request (`None`: refused).
    anonymous: Option<Arc<Rights>>,
    filters: Options,
    cache: Mutex<FoldMap<Arc<str>, Arc<Identity>>>,
    registry: RwLock<Registry>,
    /// Woken when a binding expires earlier than every other one.
    wake: tokio::sync::Notify,
    listener_ids: AtomicU64,
}

impl Identities {
    pub fn new(config: AuthConfig, filters: Options) -> Identities {
        Identities {
            anonymous: config.anonymous.clone().map(Arc::new),
            config,
            filters,
            cache: Mutex::new(FoldMap::default()),
            registry: RwLock::new(Registry::default()),
            wake: tokio::sync::Notify::new(),
            listener_ids: AtomicU64::new(0),
        }
    }

    pub fn config(&self) -> &AuthConfig {
        &self.config
    }

    /// What anonymous callers may do; `None` if they are refused.
    pub fn anonymous(&self) -> Option<&Arc<Rights>> {
        self.anonymous.as_ref()
    }

    /// Verifies a token (cached by token string).
    pub fn verify(&self, token: &str, now_ms: u64) -> Result<Arc<Identity>, TokenError> {
        if let Some(identity) = self.cache.lock().get(token) {
            return if identity.is_expired(now_ms) {
                Err(TokenError::Expired)
            } else {
                Ok(Arc::clone(identity))
            };
        }
        let identity = Arc::new(token::verify(&self.config, &self.filters, token)?);
        if identity.is_expired(now_ms) {
            return Err(TokenError::Expired);
        }
        let mut cache = self.cache.lock();
        if cache.len() >= CACHE_LIMIT {
            cache.retain(|_, i| !i.is_expired(now_ms));
            if cache.len() >= CACHE_LIMIT {
                cache.clear();
            }
        }
        cache.insert(Arc::clone(&identity.token), Arc::clone(&identity));
        Ok(identity)
    }

    /// Binds a connection to an identity (replacing any previous one); false if it already
    /// was bound to that token (the common case: checked under the read lock only).
    pub fn bind(&self, connection: ConnectionId, identity: Arc<Identity>) -> bool {
        let same = |registry: &Registry| {
            registry
                .connections
                .get(&connection)
                .and_then(|e| e.identity.as_ref())
                .is_some_and(|c| c.token == identity.token)
        };
        if same(&self.registry.read()) {
            return false;
        }
        let mut registry = self.registry.write();
        if same(&registry) {
            return false;
        }
        registry.unbind(connection);
        let earliest = registry
            .expiries
            .first()
            .is_none_or(|(at, _)| identity.expires_at < *at);
        registry.expiries.insert((identity.expires_at, connection));
        registry
            .by_user
            .entry(identity.kuid.clone())
            .or_default()
            .insert(connection);
        registry.connections.entry(connection).or_default().identity = Some(identity);
        drop(registry);
        if earliest {
            self.wake.notify_one();
        }
        true
    }

    /// Unbinds a connection; returns the identity it had.
    pub fn unbind(&self, connection: ConnectionId) -> Option<Arc<Identity>> {
        self.registry.write().unbind(connection)
    }

    /// The identity a connection is bound to, unless expired.
    pub fn identity(&self, connection: ConnectionId, now_ms: u64) -> Option<Arc<Identity>> {
        self.registry
            .read()
            .connections
            .get(&connection)
            .and_then(|e| e.identity.clone())
            .filter(|i| !i.is_expired(now_ms))
    }

    /// Forgets a closed connection.
    pub fn forget(&self, connection: ConnectionId) {
        let mut registry = self.registry.write();
        registry.unbind(connection);
        registry.connections.remove(&connection);
    }

    /// The connections bound to this token.
    pub fn connections_with_token(&self, token: &str) -> Vec<ConnectionId> {
        self.registry
            .read()
            .connections
            .iter()
            .filter(|(_, e)| e.identity.as_ref().is_some_and(|i| &*i.token == token))
            .map(|(c, _)| *c)
            .collect()
    }

    /// Unbinds every connection whose token expired by `now_ms`; returns them.
    pub fn take_expired(&self, now_ms: u64) -> Vec<ConnectionId> {
        let mut registry = self.registry.write();
        let mut expired = Vec::new();
        while let Some(&(at, connection)) = registry.expiries.first() {
            if at > now_ms {
                break;
            }
            registry.unbind(connection);
            expired.push(connection);
        }
        expired
    }

    /// The earliest expiry of a bound token, epoch milliseconds.
    pub fn next_expiry(&self) -> Option<u64> {
        self.registry.read().expiries.first().map(|(at, _)| *at)
    }

    /// Completes when a binding with an earlier expiry than all others was made.
    pub async fn expiry_changed(&self) {
        self.wake.notified().await;
    }

    /// Number of bound connections.
    pub fn bound(&self) -> usize {
        self.registry.read().expiries.len()
    }

    // ---- event listeners ----

    /// Adds a listener of a topic (filter already validated); returns its id.
    pub fn listen_to(
        &self,
        connection: ConnectionId,
        topic: Topic,
        filter: Option<Standardized>,
    ) -> Arc<str> {
        let n = self.listener_ids.fetch_add(1, Ordering::Relaxed) + 1;
        let collection = topic.collection();
        let id: Arc<str> = format!("{EVENTS_INDEX}:{collection}:{connection}:{n}").into();
        self.registry
            .write()
            .connections
            .entry(connection)
            .or_default()
            .listeners
            .push(Listener {
                id: Arc::clone(&id),
                topic,
                filter,
            });
        id
    }

    /// Removes a listener; false if the connection has no listener of that id.
    pub fn unlisten(&self, connection: ConnectionId, id: &str) -> bool {
        let mut registry = self.registry.write();
        let Some(entry) = registry.connections.get_mut(&connection) else {
            return false;
        };
        let before = entry.listeners.len();
        entry.listeners.retain(|l| &*l.id != id);
        before != entry.listeners.len()
    }

    /// Removes every listener of a connection.
    pub fn clear_listeners(&self, connection: ConnectionId) {
        if let Some(entry) = self.registry.write().connections.get_mut(&connection) {
            entry.listeners.clear();
        }
    }

    /// The (connection, channel) pairs an event reaches: listeners of the audience's
    /// connections whose filter matches `event`.
    pub fn recipients(&self, audience: &Audience, event: &Value) -> Vec<(ConnectionId, Arc<str>)> {
        self.recipients_of(Topic::Events, audience, event)
    }

    /// Whether a connection bound to `user` has a listener of `topic` (checked before building
    /// what it would be sent).
    pub fn listens(&self, topic: Topic, user: &UserId) -> bool {
        let registry = self.registry.read();
        registry
            .by_user
            .get(user)
            .into_iter()
            .flatten()
            .filter_map(|connection| registry.connections.get(connection))
            .any(|entry| entry.listeners.iter().any(|l| l.topic == topic))
    }

    /// The (connection, channel) pairs `event` reaches on `topic`: listeners of that topic on
    /// the audience's connections whose filter matches `event`.
    pub fn recipients_of(
        &self,
        topic: Topic,
        audience: &Audience,
        event: &Value,
    ) -> Vec<(ConnectionId, Arc<str>)> {
        let registry = self.registry.read();
        let mut out = Vec::new();
        let mut visit = |connection: ConnectionId| {
            let Some(entry) = registry.connections.get(&connection) else {
                return;
            };
            for listener in entry.listeners.iter().filter(|l| l.topic == topic) {
                let matches = listener
                    .filter
                    .as_ref()
                    .is_none_or(|f| herald_filters::eval::eval(f, event));
                if matches {
                    out.push((connection, Arc::clone(&listener.id)));
                }
            }
        };
        match audience {
            Audience::All => registry.connections.keys().copied().for_each(&mut visit),
            Audience::Users(users) => {
                let mut seen = FoldSet::default();
                for user in users {
                    for &connection in registry.by_user.get(user).into_iter().flatten() {
                        if seen.insert(connection) {
                            visit(connection);
                        }
                    }
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn identity(user: &str, token: &str, expires_at: u64) -> Arc<Identity> {
        Arc::new(Identity {
            kuid: UserId::new(user),
            token: token.into(),
            expires_at,
            rights: Arc::new(Rights::all()),
        })
    }

    #[test]
    fn bindings_follow_users_and_expiry() {
        let ids = Identities::new(AuthConfig::default(), Options::default());
        let (a, b, c) = (
            ConnectionId::new(1),
            ConnectionId::new(2),
            ConnectionId::new(3),
        );
        assert!(ids.bind(a, identity("alice", "t1", 1_000)));
        assert!(
            !ids.bind(a, identity("alice", "t1", 1_000)),
            "same token: no-op"
        );
        assert!(ids.bind(b, identity("alice", "t2", 2_000)));
        assert!(ids.bind(c, identity("bob", "t3", 3_000)));
        assert_eq!(ids.bound(), 3);
        assert_eq!(ids.next_expiry(), Some(1_000));
        assert_eq!(ids.connections_with_token("t2"), vec![b]);
        assert!(ids.identity(a, 999).is_some());
        assert!(
            ids.identity(a, 1_000).is_none(),
            "expired identities are not used"
        );
        // Rebinding replaces the expiry entry.
        assert!(ids.bind(a, identity("alice", "t4", 5_000)));
        assert_eq!(ids.next_expiry(), Some(2_000));
        assert_eq!(ids.take_expired(2_500), vec![b]);
        assert_eq!(ids.bound(), 2);
        assert_eq!(
            ids.unbind(c).map(|i| i.kuid.as_str().to_owned()),
            Some("bob".into())
        );
        ids.forget(a);
        assert_eq!(ids.bound(), 0);
        assert_eq!(ids.next_expiry(), None);
    }

    #[test]
    fn listeners_receive_events_of_their_audience() {
        let ids = Identities::new(AuthConfig::default(), Options::default());
        let (a, b, anon) = (
            ConnectionId::new(1),
            ConnectionId::new(2),
            ConnectionId::new(3),
        );
        ids.bind(a, identity("alice", "t1", u64::MAX));
        ids.bind(b, identity("bob", "t2", u64::MAX));
        let filter =
            herald_filters::standardize(&json!({"equals": {"type": "MAIL"}}), &Options::default())
                .expect("filter");
        let mail = ids.listen_to(a, Topic::Events, Some(filter));
        let all = ids.listen_to(a, Topic::Events, None);
        ids.listen_to(b, Topic::Events, None);
        ids.listen_to(anon, Topic::Events, None);
        let to_alice = Audience::Users(vec![UserId::new("alice"), UserId::new("alice")]);
        let got = ids.recipients(&to_alice, &json!({"type": "MAIL"}));
        assert_eq!(got, vec![(a, Arc::clone(&mail)), (a, Arc::clone(&all))]);
        let got = ids.recipients(&to_alice, &json!({"type": "VOIP"}));
        assert_eq!(got, vec![(a, Arc::clone(&all))]);
        assert_eq!(ids.recipients(&Audience::All, &json!({})).len(), 3);
        assert!(ids.unlisten(a, &all));
        assert!(!ids.unlisten(b, &mail), "not b's listener");
        ids.clear_listeners(b);
        assert_eq!(
            ids.recipients(&Audience::All, &json!({"type": "MAIL"}))
                .len(),
            2
        );
    }
}
