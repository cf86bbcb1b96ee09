//! The `events` controller (Herald-specific): events addressed to users, to everyone, or to a
//! room's subscribers, delivered to the connections open now and never stored.
//!
//! `events:send` (HTTP: `POST /_events`), body:
//!
//! * what: `type` (a code such as `CM_REMINDER`, `MAIL`, `VOIP`, `SHUTDOWN`...) with an
//!   optional `payload`, and/or `event` (a name such as `refresh_invoice`) with an optional
//!   `message`; at least one of `type` and `event`;
//! * to whom, exactly one of: `user` (a user id), `users` (a list), `all: true` (every
//!   listening connection), `roomId` (the subscribers of a room).
//!
//! The caller needs the `events` right, and for a room also the publish right on the room's
//! collection. The result is `{delivered: N}`, the number of connections that got it.

use serde_json::{json, Map, Value};

use super::access::Caller;
use super::{body_object, Context, KuzzleError, Request};
use crate::identity::{Audience, Right};
use crate::notify::{Event, EventTarget};
use crate::rooms::{RoomError, UserId};

/// `None` if the action does not exist.
pub fn handle(
    ctx: &Context<'_>,
    caller: &Caller,
    request: &Request,
) -> Option<Result<Value, KuzzleError>> {
    Some(match request.action.as_str() {
        "send" => send(ctx, caller, request),
        _ => return None,
    })
}

/// An optional non-empty string field of the body.
fn body_name<'a>(body: &'a Map<String, Value>, name: &str) -> Result<Option<&'a str>, KuzzleError> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if !s.is_empty() => Ok(Some(s)),
        Some(_) => Err(KuzzleError::invalid_type(
            &format!("body.{name}"),
            "non-empty string",
        )),
    }
}

fn event(body: &Map<String, Value>) -> Result<Event, KuzzleError> {
    let kind = body_name(body, "type")?;
    let name = body_name(body, "event")?;
    if kind.is_none() && name.is_none() {
        return Err(KuzzleError::missing_argument("body.type"));
    }
    let field = |key: &str| body.get(key).filter(|v| !v.is_null()).cloned();
    Ok(Event {
        kind: kind.map(str::to_owned),
        name: name.map(str::to_owned),
        payload: field("payload"),
        message: field("message"),
    })
}

fn target(body: &Map<String, Value>) -> Result<EventTarget, KuzzleError> {
    const EXPECTED: &str = "exactly one of body.user, body.users, body.all, body.roomId";
    let present: Vec<&str> = ["user", "users", "all", "roomId"]
        .into_iter()
        .filter(|k| body.get(*k).is_some_and(|v| !v.is_null()))
        .collect();
    let [key] = present.as_slice() else {
        return Err(KuzzleError::invalid_argument("body", EXPECTED));
    };
    let value = &body[*key];
    let invalid = |expected: &str| KuzzleError::invalid_type(&format!("body.{key}"), expected);
    Ok(match *key {
        "user" => {
            let user = body_name(body, "user")?.ok_or_else(|| invalid("non-empty string"))?;
            EventTarget::Audience(Audience::Users(vec![UserId::new(user)]))
        }
        "users" => {
            let users = value
                .as_array()
                .and_then(|items| {
                    items
                        .iter()
                        .map(|u| u.as_str().map(UserId::new))
                        .collect::<Option<Vec<_>>>()
                })
                .ok_or_else(|| invalid("array of strings"))?;
            EventTarget::Audience(Audience::Users(users))
        }
        "all" => match value {
            Value::Bool(true) => EventTarget::Audience(Audience::All),
            _ => return Err(KuzzleError::invalid_argument("body.all", "true")),
        },
        _ => EventTarget::Room(
            body_name(body, "roomId")?
                .ok_or_else(|| invalid("string"))?
                .to_owned(),
        ),
    })
}

fn send(ctx: &Context<'_>, caller: &Caller, request: &Request) -> Result<Value, KuzzleError> {
    let body = body_object(request)?;
    let event = event(body)?;
    let target = target(body)?;
    if let EventTarget::Room(room_id) = &target {
        // The publish right on the room's collection is needed; a room the caller may not
        // send to does not exist for it (no answer tells whether it exists).
        let state = ctx.hub.rooms().read();
        let visible = state
            .room_by_name(room_id)
            .is_some_and(|room| caller.sees(Right::Publish, &state, room));
        if !visible {
            return Err(KuzzleError::room_not_found(room_id));
        }
    }
    let origin = caller.origin(ctx, request, "events");
    let delivered =
        ctx.hub
            .send_event(&origin, &target, &event)
            .map_err(|e| match (e, &target) {
                (RoomError::RoomNotFound, EventTarget::Room(room)) => {
                    KuzzleError::room_not_found(room)
                }
                (e, _) => KuzzleError::internal(&e.to_string()),
            })?;
    Ok(json!({ "delivered": delivered }))
}
