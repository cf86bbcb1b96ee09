//! The `server` controller: liveness and identity (`now`, `info`, `healthCheck`).
//!
//! Heartbeats are not requests: `{"p":1}` is answered in [`super::parse`] and WebSocket
//! pings by the transport.

use serde_json::{json, Value};

use super::{Context, KuzzleError, Request};
use crate::notify::now_ms;

/// `None` if the action does not exist.
pub fn handle(ctx: &Context<'_>, request: &Request) -> Option<Result<Value, KuzzleError>> {
    Some(Ok(match request.action.as_str() {
        "now" => json!({"now": now_ms()}),
        "healthCheck" => health(),
        "info" => json!({
            "serverInfo": {
                "kuzzle": {
                    "name": "herald",
                    "version": env!("CARGO_PKG_VERSION"),
                    "nodeId": ctx.hub.config().node,
                },
            }
        }),
        _ => return None,
    }))
}

/// The `/_healthCheck` answer.
pub fn health() -> Value {
    json!({"status": "green", "services": {"storage": "green"}})
}
