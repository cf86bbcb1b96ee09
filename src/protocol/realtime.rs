//! The `realtime` controller: subscribe, join, unsubscribe, count, list, publish.
//!
//! Subscriptions belong to a WebSocket connection; over HTTP only `publish` and `list` make
//! sense (Kuzzle has no HTTP route for the others).
//!
//! Identity: a subscription gets the caller's restriction filters for its collection ANDed
//! into its filter (so users with different restrictions get different rooms); joining a room
//! needs the subscribe right on its collection and is refused where a restriction applies (the
//! room's filter may not include it). Subscriptions to the reserved `%herald/events` are event
//! listeners, scoped to the caller's identity ([`crate::notify::Hub::listen_events`]), and
//! those to `%herald/notifications` listen to the changes of the caller's own inbox
//! ([`crate::notify::Hub::listen_notifications`]; anonymous callers have none).
//!
//! Herald extension: `subscribe` and `join` take an optional `resumeFrom` (a position from a
//! notification frame): the missed notifications of the room are replayed first, and the
//! answer says whether that position was `recovered` (see [`resume_answer`]; docs/realtime.md).

use serde_json::{json, Value};

use super::access::{Caller, RESTRICTED_READ};
use super::{body_object, body_str, optional_str, required_str, Context, KuzzleError, Request};
use crate::history::Position;
use crate::identity::{Right, EVENTS_COLLECTION, EVENTS_INDEX, NOTIFICATIONS_COLLECTION};
use crate::notify::{PublishError, Resumed, SubscribeError, Subscribed, Subscription};
use crate::rooms::{ChannelOptions, RoomError, Scope, UsersOption};

/// `None` if the action does not exist.
pub fn handle(
    ctx: &Context<'_>,
    caller: &Caller,
    request: &Request,
) -> Option<Result<Value, KuzzleError>> {
    Some(match request.action.as_str() {
        "subscribe" => subscribe(ctx, caller, request),
        "join" => join(ctx, caller, request),
        "unsubscribe" => unsubscribe(ctx, request),
        "count" => count(ctx, caller, request),
        "list" => list(ctx, caller, request),
        "publish" => publish(ctx, caller, request),
        _ => return None,
    })
}

/// `scope` and `users`: an absent key takes the default; anything else (even `null`) must be
/// one of all/in/out/none.
fn channel_options(request: &Request) -> Result<ChannelOptions, KuzzleError> {
    let scope = match request.args.get("scope") {
        None => Scope::default(),
        Some(Value::String(s)) => s.parse().map_err(|_| KuzzleError::invalid_scope(s))?,
        Some(other) => return Err(KuzzleError::invalid_scope(&other.to_string())),
    };
    let users = match request.args.get("users") {
        None => UsersOption::default(),
        Some(Value::String(s)) => s.parse().map_err(|_| KuzzleError::invalid_users(s))?,
        Some(other) => return Err(KuzzleError::invalid_users(&other.to_string())),
    };
    Ok(ChannelOptions::new(scope, users))
}

fn connection(
    ctx: &Context<'_>,
    request: &Request,
) -> Result<crate::delivery::ConnectionId, KuzzleError> {
    ctx.connection
        .ok_or_else(|| KuzzleError::needs_connection(&request.controller, &request.action))
}

fn subscribe_error(e: SubscribeError, room: &str) -> KuzzleError {
    match e {
        SubscribeError::Filter(e) => KuzzleError::koncorde_dsl_error(&e.to_string()),
        SubscribeError::Room(e) => room_error(e, room),
    }
}

fn room_error(e: RoomError, room: &str) -> KuzzleError {
    match e {
        RoomError::RoomNotFound => KuzzleError::room_not_found(room),
        RoomError::NotSubscribed => KuzzleError::not_subscribed(room),
        RoomError::TooManyRooms => KuzzleError::too_many_rooms(),
        RoomError::TooManySubscriptions { max } => {
            KuzzleError::too_many_subscriptions("this connection is", max)
        }
        RoomError::TooManyUserSubscriptions { max } => {
            KuzzleError::too_many_subscriptions("the connections of this user are", max)
        }
        RoomError::UnknownConnection => KuzzleError::internal("unknown connection"),
    }
}

fn subscribe(ctx: &Context<'_>, caller: &Caller, request: &Request) -> Result<Value, KuzzleError> {
    let connection = connection(ctx, request)?;
    let index = required_str(request, "index")?;
    let collection = required_str(request, "collection")?;
    let filter = Value::Object(body_object(request)?.clone());
    let options = channel_options(request)?;
    let resume = resume_from(request)?;
    let (subscription, resumed) = if index == EVENTS_INDEX {
        match collection {
            EVENTS_COLLECTION => ctx
                .hub
                .listen_events(connection, &filter)
                .map(|s| (s, not_kept(resume))),
            NOTIFICATIONS_COLLECTION if caller.identity.is_none() => {
                return Err(caller.refusal(&format!(
                    "realtime:subscribe on \"{EVENTS_INDEX}\":\"{NOTIFICATIONS_COLLECTION}\" \
                     (anonymous users have no inbox)"
                )))
            }
            NOTIFICATIONS_COLLECTION => ctx
                .hub
                .listen_notifications(connection, &filter)
                .map(|s| (s, not_kept(resume))),
            _ => {
                return Err(KuzzleError::invalid_argument(
                    "collection",
                    &format!(
                        "\"{EVENTS_COLLECTION}\" or \"{NOTIFICATIONS_COLLECTION}\" in the \
                         reserved index \"{EVENTS_INDEX}\""
                    ),
                ))
            }
        }
    } else {
        let filter = caller
            .rights(request)?
            .restrict_filter(index, collection, &filter);
        let origin = caller.origin(ctx, request, "realtime");
        let at = Subscribed {
            index,
            collection,
            filter: &filter,
            options,
        };
        ctx.hub.subscribe_from(connection, &origin, &at, resume)
    }
    .map_err(|e| subscribe_error(e, ""))?;
    Ok(resume_answer(&subscription, &resumed))
}

/// The `resumeFrom` argument: a position, or nothing.
fn resume_from(request: &Request) -> Result<Option<Position>, KuzzleError> {
    match request.args.get("resumeFrom") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => s
            .parse()
            .map(Some)
            .map_err(|e| KuzzleError::invalid_argument("resumeFrom", &format!("a position ({e})"))),
        Some(_) => Err(KuzzleError::invalid_type("resumeFrom", "string")),
    }
}

/// Events and inbox changes have no history: a resume of them is never recovered.
fn not_kept(resume: Option<Position>) -> Resumed {
    Resumed {
        recovered: resume.map(|_| false),
        ..Resumed::default()
    }
}

/// `{roomId, channel}`, with Herald's `position` (the room's position when the subscription
/// started, if it has a history) and, for a resume, `recovered` (false: nothing was replayed,
/// the client must reload) and `replayed` (how many notifications came before this answer).
pub fn resume_answer(subscription: &Subscription, resumed: &Resumed) -> Value {
    let mut answer = json!({"roomId": subscription.room_id, "channel": subscription.channel});
    if let Some(position) = resumed.position {
        answer["position"] = position.to_string().into();
    }
    if let Some(recovered) = resumed.recovered {
        answer["recovered"] = recovered.into();
        answer["replayed"] = resumed.replayed.into();
    }
    answer
}

fn join(ctx: &Context<'_>, caller: &Caller, request: &Request) -> Result<Value, KuzzleError> {
    let connection = connection(ctx, request)?;
    let room_id = body_str(request, "roomId")?;
    let options = channel_options(request)?;
    let resume = resume_from(request)?;
    let collection = ctx
        .hub
        .rooms()
        .read()
        .room_by_name(room_id)
        .map(|room| room.collection().clone());
    if let Some(name) = collection {
        let (index, collection) = (&*name.index, &*name.collection);
        let rights = caller.require(Right::Subscribe, request, index, collection)?;
        if !rights.restrictions(index, collection).is_empty() {
            return Err(caller.refusal_on(request, index, collection, RESTRICTED_READ));
        }
    }
    let origin = ctx.origin(request, "realtime");
    let (subscription, resumed) = ctx
        .hub
        .join_from(connection, &origin, room_id, options, resume)
        .map_err(|e| subscribe_error(e, room_id))?;
    Ok(resume_answer(&subscription, &resumed))
}

fn unsubscribe(ctx: &Context<'_>, request: &Request) -> Result<Value, KuzzleError> {
    let connection = connection(ctx, request)?;
    let room_id = body_str(request, "roomId")?;
    if ctx.hub.unlisten_events(connection, room_id) {
        return Ok(json!({ "roomId": room_id }));
    }
    let room = ctx
        .hub
        .unsubscribe(connection, room_id)
        .map_err(|e| room_error(e, room_id))?;
    Ok(json!({ "roomId": room }))
}

/// Rooms the caller may not see count 0, as rooms that do not exist.
fn count(ctx: &Context<'_>, caller: &Caller, request: &Request) -> Result<Value, KuzzleError> {
    let room_id = body_str(request, "roomId")?;
    let state = ctx.hub.rooms().read();
    let count = state
        .room_by_name(room_id)
        .filter(|room| caller.sees(Right::Subscribe, &state, room))
        .map_or(0, |room| room.count());
    Ok(json!({ "count": count }))
}

/// Rooms one `realtime:list` answer holds at most (a Herald bound; Kuzzle's list is unpaged).
pub const MAX_LISTED_ROOMS: usize = 10_000;

/// Only the rooms the caller may see ([`Caller::sees`]), ordered by index, collection and room
/// id; at most `size` of them (default and maximum [`MAX_LISTED_ROOMS`]) from position `from`
/// (default 0): Herald's paging extension, unknown to Kuzzle clients, which get the first page.
fn list(ctx: &Context<'_>, caller: &Caller, request: &Request) -> Result<Value, KuzzleError> {
    let position = |name: &str, default: usize| match request.args.get(name) {
        None | Some(Value::Null) => Ok(default),
        Some(v) => v
            .as_u64()
            .and_then(|n| usize::try_from(n).ok())
            .ok_or_else(|| KuzzleError::invalid_type(name, "non-negative integer")),
    };
    let from = position("from", 0)?;
    let size = position("size", MAX_LISTED_ROOMS)?.min(MAX_LISTED_ROOMS);
    let list = ctx.hub.rooms().list_page(
        |state, room| caller.sees(Right::Subscribe, state, room),
        from,
        size,
    );
    Ok(serde_json::to_value(list).unwrap_or_else(|_| json!({})))
}

fn publish(ctx: &Context<'_>, caller: &Caller, request: &Request) -> Result<Value, KuzzleError> {
    let index = required_str(request, "index")?;
    let collection = required_str(request, "collection")?;
    let message = Value::Object(body_object(request)?.clone());
    let id = optional_str(request, "_id")?;
    let origin = caller.origin(ctx, request, "realtime");
    if origin
        .restriction
        .as_ref()
        .is_some_and(|r| !r.accepts(id, &message))
    {
        return Err(caller.refusal_on(
            request,
            index,
            collection,
            "restricted: the message is outside the restriction",
        ));
    }
    ctx.hub
        .publish(&origin, index, collection, id, &message)
        .map_err(|e| match e {
            PublishError::NotAnObject => KuzzleError::invalid_type("body", "object"),
            PublishError::Bus(e) => KuzzleError::from_store(&e),
        })?;
    Ok(json!({"published": true}))
}
