//! The history sweeper: every second, drops the history entries older than the age bound
//! and the rooms that lingered that long without a subscriber (with their streams). It stops
//! at shutdown.

use std::sync::Arc;
use std::time::Duration;

use super::State;

const INTERVAL: Duration = Duration::from_secs(1);

pub(crate) async fn sweep(state: Arc<State>) {
    if state.hub.history().is_none() {
        return;
    }
    loop {
        tokio::select! {
            () = state.shutdown.cancelled() => return,
            () = tokio::time::sleep(INTERVAL) => {}
        }
        state.hub.sweep_history();
    }
}
