//! The token-expiry sweeper: one task that sleeps until the earliest bound token expires, then
//! has the engine send `TokenExpired` to those connections and drop their subscriptions
//! ([`crate::notify::Hub::expire_tokens`]). A binding that expires earlier than every other
//! one wakes it up; it stops at shutdown.

use std::sync::Arc;
use std::time::Duration;

use super::State;
use crate::notify::now_ms;

/// Longest sleep when no token is bound.
const IDLE: Duration = Duration::from_secs(3600);

pub(crate) async fn sweep(state: Arc<State>) {
    let identities = state.hub.identities();
    loop {
        // Registered before looking at the expiries, so no earlier binding is missed.
        let changed = identities.expiry_changed();
        let (expired, next) = state.hub.expire_tokens(now_ms());
        if !expired.is_empty() {
            state.hub.metrics().token_expired(expired.len());
            tracing::debug!(connections = expired.len(), "tokens expired");
        }
        let wait = next.map_or(IDLE, |at| {
            Duration::from_millis(at.saturating_sub(now_ms()))
        });
        tokio::select! {
            () = state.shutdown.cancelled() => return,
            () = changed => {}
            () = tokio::time::sleep(wait) => {}
        }
    }
}
