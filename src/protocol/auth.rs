//! The `auth` controller. Herald does not own users: tokens are issued by the application's
//! backend and only verified here (see [`crate::identity`]).
//!
//! * `checkToken` verifies `body.token` (the SDK sends it on every first connect, with no
//!   token for anonymous use: answered `{valid: true, kuid: "-1"}`).
//! * `login` with strategy `jwt` (or `token`) takes an application-issued token in
//!   `body.token`, binds the connection to it and returns it as Kuzzle's `{_id, jwt,
//!   expiresAt, ttl}`, so the SDK's `kuzzle.auth.login("jwt", {token})` works unchanged.
//! * `logout` unbinds the connection (its subscriptions stay); other connections bound to the
//!   same token lose their subscriptions (protocol section 10).
//! * `getCurrentUser` names the caller.

use serde_json::{json, Value};

use super::access::{request_token, token_error, Caller};
use super::{Context, KuzzleError, Request};
use crate::identity::{Identity, TokenError};

/// Login strategies: both take the token in `body.token`.
const STRATEGIES: &[&str] = &["jwt", "token"];

/// `None` if the action does not exist.
pub fn handle(
    ctx: &Context<'_>,
    caller: &Caller,
    request: &Request,
) -> Option<Result<Value, KuzzleError>> {
    Some(match request.action.as_str() {
        "checkToken" => Ok(check_token(ctx, request)),
        "login" => login(ctx, request),
        "logout" => {
            let others = ctx.hub.logout(ctx.connection, request_token(request));
            tracing::debug!(others, "logout");
            Ok(json!({}))
        }
        "getCurrentUser" => Ok(current_user(caller)),
        _ => return None,
    })
}

/// `body.token` (or `body.jwt`), if present.
fn body_token(request: &Request) -> Option<&Value> {
    let body = request.args.get("body")?;
    ["token", "jwt"]
        .iter()
        .find_map(|k| body.get(*k))
        .filter(|t| !t.is_null())
}

fn verify(
    ctx: &Context<'_>,
    request: &Request,
    token: &Value,
) -> Result<std::sync::Arc<Identity>, TokenError> {
    let token = token
        .as_str()
        .ok_or_else(|| TokenError::Invalid("the token must be a string".into()))?;
    ctx.hub.identities().verify(token, request.timestamp)
}

fn check_token(ctx: &Context<'_>, request: &Request) -> Value {
    let Some(token) = body_token(request) else {
        return json!({"valid": true, "kuid": "-1", "expiresAt": -1});
    };
    match verify(ctx, request, token) {
        Ok(identity) => json!({
            "valid": true,
            "kuid": identity.kuid.as_str(),
            "expiresAt": identity.expires_at,
            "state": "Authorized",
        }),
        Err(TokenError::Expired) => json!({"valid": false, "state": "Token expired"}),
        Err(TokenError::Invalid(reason)) => {
            json!({"valid": false, "state": format!("Invalid token: {reason}")})
        }
    }
}

fn login(ctx: &Context<'_>, request: &Request) -> Result<Value, KuzzleError> {
    let strategy = super::required_str(request, "strategy")?;
    if !STRATEGIES.contains(&strategy) {
        return Err(KuzzleError::invalid_argument(
            "strategy",
            "\"jwt\" (Herald verifies tokens issued by the application)",
        ));
    }
    let token = body_token(request).ok_or_else(|| KuzzleError::missing_argument("body.token"))?;
    let identity = verify(ctx, request, token).map_err(|e| token_error(&e))?;
    if let Some(connection) = ctx.connection {
        ctx.hub.bind(connection, std::sync::Arc::clone(&identity));
    }
    Ok(json!({
        "_id": identity.kuid.as_str(),
        "jwt": &*identity.token,
        "expiresAt": identity.expires_at,
        "ttl": identity.expires_at.saturating_sub(request.timestamp),
    }))
}

fn current_user(caller: &Caller) -> Value {
    match &caller.identity {
        None => json!({
            "_id": "-1",
            "_source": {"profileIds": ["anonymous"]},
            "strategies": [],
        }),
        Some(identity) => json!({
            "_id": identity.kuid.as_str(),
            "_source": {"profileIds": ["default"], "expiresAt": identity.expires_at},
            "strategies": ["jwt"],
        }),
    }
}
