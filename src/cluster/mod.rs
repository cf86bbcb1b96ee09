//! Several nodes over one Redis: the cluster implementations of the engine's seams.
//!
//! `herald serve --redis URL` builds a [`Cluster`] and hands its parts to the engine in place
//! of the single-node ones; the engine ([`crate::notify::Hub`]) does not know which it has.
//!
//! | seam | single node | here |
//! |---|---|---|
//! | document state ([`crate::store::DocumentStore`]) | redb / memory | [`RedisStore`]: keys per document, catalogue sets |
//! | bus ([`crate::notify::Bus`]) | [`crate::notify::LocalBus`]: write, notify here | [`RedisBus`]: compare-and-set + PUBLISH in one script; every node notifies its own rooms |
//!
//! Presence, counts, room lists, events to users, inboxes and history stay per node
//! (docs/cluster.md says what that means for clients).
//!
//! Invariants: nothing here panics or exits on a Redis fault. Requests that need Redis fail
//! within the configured timeout with an *unavailable* store error (503
//! `core.fatal.service_unavailable`); connections are re-made on the next request, and the
//! bus's subscriber reconnects and resubscribes by itself.

mod bus;
mod pool;
mod store;

use std::sync::Arc;
use std::time::Duration;

pub use bus::{RedisBus, SWEEP};
pub use store::RedisStore;

use pool::Pool;

/// How to reach Redis.
#[derive(Clone, Debug)]
pub struct ClusterConfig {
    /// `redis://host:port/db` (`redis://:password@host` with a password).
    pub url: String,
    /// Bound on each connect, read and write.
    pub timeout: Duration,
}

/// The Redis implementations of the seams, sharing one connection pool.
pub struct Cluster {
    pub store: Arc<RedisStore>,
    pub bus: Arc<RedisBus>,
}

impl Cluster {
    /// Checks the URL and builds the parts. Redis need not be up yet: requests get 503 until
    /// it is (a warning is logged).
    pub fn new(config: &ClusterConfig) -> Result<Cluster, String> {
        let client = redis::Client::open(config.url.as_str())
            .map_err(|e| format!("--redis {}: {e}", config.url))?;
        let pool = Arc::new(Pool::new(client, config.timeout));
        if let Err(e) = pool.run(|c| redis::cmd("PING").query::<String>(c)) {
            tracing::warn!(error = %e, "redis is not reachable yet: requests will get 503");
        }
        let store = Arc::new(RedisStore::new(Arc::clone(&pool)));
        let bus = Arc::new(RedisBus::new(Arc::clone(&store), pool));
        Ok(Cluster { store, bus })
    }
}
