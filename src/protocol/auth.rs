//! The `auth` controller, while Herald has no identities: everyone is the anonymous user
//! (kuid `-1`). The SDK sends `auth:checkToken` on every first connect and only needs an
//! answer; a token we could not have issued is reported invalid.

use serde_json::{json, Value};

use super::{Context, KuzzleError, Request};

/// `None` if the action does not exist.
pub fn handle(_ctx: &Context<'_>, request: &Request) -> Option<Result<Value, KuzzleError>> {
    Some(match request.action.as_str() {
        "checkToken" => Ok(check_token(request)),
        "getCurrentUser" => Ok(json!({
            "_id": "-1",
            "_source": {"profileIds": ["anonymous"]},
            "strategies": [],
        })),
        _ => return None,
    })
}

fn check_token(request: &Request) -> Value {
    let token = request
        .args
        .get("body")
        .and_then(|b| b.get("token"))
        .filter(|t| !t.is_null());
    match token {
        None => json!({"valid": true, "kuid": "-1", "expiresAt": -1}),
        Some(_) => json!({"valid": false, "state": "Invalid token"}),
    }
}
