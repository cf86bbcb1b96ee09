//! The inbox sweeper: every `sweep_interval`, removes the notifications whose removal time
//! passed for users nobody is reading (operations on a user remove that user's on access),
//! pushing the new counts to their listeners. It stops at shutdown.

use std::sync::Arc;

use super::{blocking, State};
use crate::notify::{now_ms, Origin};

pub(crate) async fn sweep(state: Arc<State>) {
    let interval = state.hub.inbox().config().sweep_interval;
    if interval.is_zero() {
        return;
    }
    loop {
        tokio::select! {
            () = state.shutdown.cancelled() => return,
            () = tokio::time::sleep(interval) => {}
        }
        let mut origin = Origin::new("notifications");
        origin.protocol = None;
        let sink = state.hub.inbox_sink(&origin);
        match blocking(|| state.hub.inbox().sweep(now_ms(), &sink)) {
            Ok(0) => {}
            Ok(removed) => tracing::debug!(removed, "inbox: expired notifications removed"),
            Err(e) => tracing::warn!(error = %e, "inbox sweep failed"),
        }
    }
}
