//! The `notifications` controller (Herald-specific): persistent per-user inboxes
//! ([`crate::inbox`]; the API with examples is `docs/notifications.md`).
//!
//! * `send` (needs the `notify` right; HTTP `POST /_notifications/_send`): stores a
//!   notification in the inbox of `body.user` or of each of `body.users`, before answering
//!   `{ids: {user: id}, replaced: {user: id}}`.
//! * For the caller's own inbox only (anonymous callers have none: 401; naming another
//!   user's inbox with `user`: 403): `list`, `count`, `markRead`, `markUnread`, `markSeen`,
//!   `archive`, `unarchive`, `delete`.
//!
//! Arguments are read from the body, or from the top level (query strings over HTTP), body
//! first. Every cost a call can cause is bounded (the constants of [`crate::inbox`]).

use serde_json::{json, Map, Value};

use super::access::Caller;
use super::{body_object, Context, KuzzleError, Request};
use crate::inbox::{
    format_id, parse_id, Archived, Draft, Link, ListQuery, Op, Priority, Selector, DEFAULT_PAGE,
    MAX_IDS, MAX_NOTIFICATION_BYTES, MAX_PAGE, MAX_RECIPIENTS, MAX_SEND_BYTES,
};
use crate::rooms::UserId;
use crate::store::StoreError;

/// Longest type code and dedup key, in bytes.
const MAX_NAME_BYTES: usize = 256;
/// Types or priorities a `list` filter names, at most.
const MAX_FILTER_VALUES: usize = 64;

/// `None` if the action does not exist.
pub fn handle(
    ctx: &Context<'_>,
    caller: &Caller,
    request: &Request,
) -> Option<Result<Value, KuzzleError>> {
    let op = match request.action.as_str() {
        "send" => return Some(send(ctx, caller, request)),
        "list" => return Some(list(ctx, caller, request)),
        "count" => return Some(count(ctx, caller, request)),
        "markRead" => Op::Read,
        "markUnread" => Op::Unread,
        "markSeen" => Op::Seen,
        "archive" => Op::Archive,
        "unarchive" => Op::Unarchive,
        "delete" => Op::Delete,
        _ => return None,
    };
    Some(update(ctx, caller, request, op))
}

fn storage(e: StoreError) -> KuzzleError {
    KuzzleError::storage(&e.to_string())
}

/// A non-null argument: `body.<name>`, else the top-level `<name>`.
fn param<'a>(request: &'a Request, name: &str) -> Option<&'a Value> {
    request
        .args
        .get("body")
        .and_then(|b| b.get(name))
        .filter(|v| !v.is_null())
        .or_else(|| request.args.get(name).filter(|v| !v.is_null()))
}

/// The owner of the inbox a call acts on: the caller, who must be a user.
fn owner(caller: &Caller, request: &Request) -> Result<UserId, KuzzleError> {
    let what = format!("notifications:{}", request.action);
    let Some(identity) = &caller.identity else {
        return Err(caller.refusal(&format!("{what} (anonymous users have no inbox)")));
    };
    if let Some(user) = param(request, "user") {
        if user.as_str() != Some(identity.kuid.as_str()) {
            return Err(caller.refusal(&format!("{what} on another user's inbox")));
        }
    }
    Ok(identity.kuid.clone())
}

// ---- send ----

/// A user id a notification may be sent to.
fn recipient(value: &Value, name: &str) -> Result<UserId, KuzzleError> {
    match value.as_str() {
        Some("-1") => Err(KuzzleError::invalid_argument(
            name,
            "a user id (the anonymous user has no inbox)",
        )),
        Some(user) if !user.is_empty() => Ok(UserId::new(user)),
        _ => Err(KuzzleError::invalid_type(name, "non-empty string")),
    }
}

fn recipients(body: &Map<String, Value>) -> Result<Vec<UserId>, KuzzleError> {
    let present = |k: &str| body.get(k).is_some_and(|v| !v.is_null());
    match (present("user"), present("users")) {
        (true, false) => Ok(vec![recipient(&body["user"], "body.user")?]),
        (false, true) => {
            let items = body["users"]
                .as_array()
                .ok_or_else(|| KuzzleError::invalid_type("body.users", "array of strings"))?;
            if items.is_empty() || items.len() > MAX_RECIPIENTS {
                return Err(KuzzleError::invalid_argument(
                    "body.users",
                    &format!("1 to {MAX_RECIPIENTS} user ids"),
                ));
            }
            items.iter().map(|u| recipient(u, "body.users")).collect()
        }
        _ => Err(KuzzleError::invalid_argument(
            "body",
            "exactly one of body.user, body.users",
        )),
    }
}

/// An optional string field of the body (`None` if absent or null).
fn body_string<'a>(
    body: &'a Map<String, Value>,
    name: &str,
    max: Option<usize>,
) -> Result<Option<&'a str>, KuzzleError> {
    let path = format!("body.{name}");
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if max.is_some_and(|m| s.is_empty() || s.len() > m) => Err(
            KuzzleError::invalid_argument(&path, &format!("1 to {} bytes", max.unwrap_or(0))),
        ),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(KuzzleError::invalid_type(&path, "string")),
    }
}

/// An optional non-negative integer of the body.
fn body_u64(body: &Map<String, Value>, name: &str) -> Result<Option<u64>, KuzzleError> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v.as_u64().map(Some).ok_or_else(|| {
            KuzzleError::invalid_type(&format!("body.{name}"), "non-negative integer")
        }),
    }
}

fn link(value: Option<&Value>) -> Result<Option<Link>, KuzzleError> {
    let Some(value) = value.filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    let field = |name: &str| {
        value
            .get(name)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    match (field("index"), field("collection"), field("id")) {
        (Some(index), Some(collection), Some(id)) => Ok(Some(Link {
            index,
            collection,
            id,
        })),
        _ => Err(KuzzleError::invalid_argument(
            "body.link",
            "{index, collection, id} (non-empty strings)",
        )),
    }
}

fn draft(caller: &Caller, body: &Map<String, Value>, now: u64) -> Result<Draft, KuzzleError> {
    let kind = body_string(body, "type", Some(MAX_NAME_BYTES))?
        .ok_or_else(|| KuzzleError::missing_argument("body.type"))?;
    let priority = match body_string(body, "priority", None)? {
        None => Priority::default(),
        Some(name) => Priority::parse(name)
            .ok_or_else(|| KuzzleError::invalid_argument("body.priority", Priority::NAMES))?,
    };
    let expires_at = match (body_u64(body, "expiresAt")?, body_u64(body, "ttl")?) {
        (Some(_), Some(_)) => {
            return Err(KuzzleError::invalid_argument(
                "body",
                "at most one of body.expiresAt and body.ttl",
            ))
        }
        (Some(at), None) if at <= now => {
            return Err(KuzzleError::invalid_argument(
                "body.expiresAt",
                "a time in the future (epoch milliseconds)",
            ))
        }
        (Some(at), None) => Some(at),
        (None, Some(0)) => {
            return Err(KuzzleError::invalid_argument(
                "body.ttl",
                "a positive number of milliseconds",
            ))
        }
        (None, Some(ttl)) => Some(now.saturating_add(ttl)),
        (None, None) => None,
    };
    Ok(Draft {
        kind: kind.to_owned(),
        priority,
        subject: body_string(body, "subject", None)?.map(str::to_owned),
        payload: body.get("payload").cloned().unwrap_or(Value::Null),
        link: link(body.get("link"))?,
        from: caller.kuid().to_owned(),
        expires_at,
        dedup_key: body_string(body, "dedupKey", Some(MAX_NAME_BYTES))?.map(str::to_owned),
    })
}

fn send(ctx: &Context<'_>, caller: &Caller, request: &Request) -> Result<Value, KuzzleError> {
    let body = body_object(request)?;
    let users = recipients(body)?;
    let now = request.timestamp;
    let draft = draft(caller, body, now)?;
    let inbox = ctx.hub.inbox();
    let size = draft
        .record(now, inbox.config())
        .encode()
        .map_err(storage)?
        .len();
    if size > MAX_NOTIFICATION_BYTES {
        return Err(KuzzleError::invalid_argument(
            "body",
            &format!("a notification of at most {MAX_NOTIFICATION_BYTES} bytes (got {size})"),
        ));
    }
    if size.saturating_mul(users.len()) > MAX_SEND_BYTES {
        return Err(KuzzleError::invalid_argument(
            "body.users",
            &format!(
                "at most {} recipients for a notification of {size} bytes",
                MAX_SEND_BYTES / size.max(1)
            ),
        ));
    }
    let origin = caller.origin(ctx, request, "notifications");
    let sink = ctx.hub.inbox_sink(&origin);
    let sent = inbox.send(&users, &draft, now, &sink).map_err(storage)?;
    let mut ids = Map::new();
    let mut replaced = Map::new();
    for done in sent {
        if let Some(old) = done.replaced {
            replaced.insert(done.user.clone(), format_id(old).into());
        }
        ids.insert(done.user, format_id(done.id).into());
    }
    Ok(json!({"ids": ids, "replaced": replaced}))
}

// ---- the owner's actions ----

/// A boolean argument (`true`/`false`, or those strings from a query string).
fn flag(request: &Request, name: &str) -> Result<Option<bool>, KuzzleError> {
    match param(request, name) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(Value::String(s)) if s == "true" => Ok(Some(true)),
        Some(Value::String(s)) if s == "false" => Ok(Some(false)),
        Some(_) => Err(KuzzleError::invalid_type(name, "boolean")),
    }
}

/// A string or a list of strings.
fn strings(request: &Request, name: &str) -> Result<Vec<String>, KuzzleError> {
    let invalid = || KuzzleError::invalid_type(name, "string or array of strings");
    let values: Vec<String> = match param(request, name) {
        None => return Ok(Vec::new()),
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().map(str::to_owned).ok_or_else(invalid))
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(invalid()),
    };
    if values.len() > MAX_FILTER_VALUES {
        return Err(KuzzleError::invalid_argument(
            name,
            &format!("at most {MAX_FILTER_VALUES} values"),
        ));
    }
    Ok(values)
}

fn list_query(request: &Request) -> Result<ListQuery, KuzzleError> {
    let size = match param(request, "size") {
        None => DEFAULT_PAGE,
        Some(v) => {
            let n = v
                .as_u64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                .ok_or_else(|| KuzzleError::invalid_type("size", "positive integer"))?;
            if n == 0 {
                return Err(KuzzleError::invalid_argument(
                    "size",
                    &format!("1 to {MAX_PAGE}"),
                ));
            }
            usize::try_from(n).unwrap_or(MAX_PAGE).min(MAX_PAGE)
        }
    };
    let cursor = match param(request, "cursor") {
        None => None,
        Some(Value::String(s)) => Some(parse_id(s).ok_or_else(|| {
            KuzzleError::invalid_argument("cursor", "a cursor returned by notifications:list")
        })?),
        Some(_) => return Err(KuzzleError::invalid_type("cursor", "string")),
    };
    let archived = match param(request, "archived") {
        None => Archived::No,
        Some(Value::Bool(false)) => Archived::No,
        Some(Value::Bool(true)) => Archived::Only,
        Some(Value::String(s)) => match s.as_str() {
            "false" => Archived::No,
            "true" => Archived::Only,
            "any" => Archived::Any,
            _ => {
                return Err(KuzzleError::invalid_argument(
                    "archived",
                    "true, false or \"any\"",
                ))
            }
        },
        Some(_) => return Err(KuzzleError::invalid_type("archived", "boolean or \"any\"")),
    };
    let priorities = strings(request, "priority")?
        .iter()
        .map(|p| {
            Priority::parse(p)
                .ok_or_else(|| KuzzleError::invalid_argument("priority", Priority::NAMES))
        })
        .collect::<Result<_, _>>()?;
    Ok(ListQuery {
        cursor,
        size,
        unread_only: flag(request, "unread")?.unwrap_or(false),
        archived,
        types: strings(request, "type")?,
        priorities,
    })
}

fn list(ctx: &Context<'_>, caller: &Caller, request: &Request) -> Result<Value, KuzzleError> {
    let user = owner(caller, request)?;
    let query = list_query(request)?;
    let origin = ctx.origin(request, "notifications");
    let sink = ctx.hub.inbox_sink(&origin);
    let page = ctx
        .hub
        .inbox()
        .list(&user, &query, request.timestamp, &sink)
        .map_err(storage)?;
    Ok(json!({
        "hits": page.hits,
        "cursor": page.cursor.map(format_id),
        "counts": page.counts,
    }))
}

fn count(ctx: &Context<'_>, caller: &Caller, request: &Request) -> Result<Value, KuzzleError> {
    let user = owner(caller, request)?;
    let origin = ctx.origin(request, "notifications");
    let sink = ctx.hub.inbox_sink(&origin);
    let counts = ctx
        .hub
        .inbox()
        .counts(&user, request.timestamp, &sink)
        .map_err(storage)?;
    serde_json::to_value(counts).map_err(|e| KuzzleError::internal(&e.to_string()))
}

/// `ids`, `upTo` or `all: true`: exactly one.
fn selector(request: &Request) -> Result<Selector, KuzzleError> {
    const EXPECTED: &str = "exactly one of body.ids, body.upTo, body.all";
    let ids = param(request, "ids");
    let up_to = param(request, "upTo");
    let all = flag(request, "all")?.filter(|&a| a);
    match (ids, up_to, all) {
        (Some(ids), None, None) => {
            let items = ids
                .as_array()
                .ok_or_else(|| KuzzleError::invalid_type("body.ids", "array of strings"))?;
            if items.is_empty() || items.len() > MAX_IDS {
                return Err(KuzzleError::invalid_argument(
                    "body.ids",
                    &format!("1 to {MAX_IDS} ids"),
                ));
            }
            let mut seqs = Vec::with_capacity(items.len());
            for item in items {
                let id = item
                    .as_str()
                    .ok_or_else(|| KuzzleError::invalid_type("body.ids", "array of strings"))?;
                // An id this server never made names no notification: ignored like any other.
                seqs.extend(parse_id(id));
            }
            Ok(Selector::Ids(seqs))
        }
        (None, Some(up_to), None) => up_to
            .as_str()
            .and_then(parse_id)
            .map(Selector::UpTo)
            .ok_or_else(|| KuzzleError::invalid_argument("body.upTo", "a notification id")),
        (None, None, Some(_)) => Ok(Selector::All),
        _ => Err(KuzzleError::invalid_argument("body", EXPECTED)),
    }
}

fn update(
    ctx: &Context<'_>,
    caller: &Caller,
    request: &Request,
    op: Op,
) -> Result<Value, KuzzleError> {
    let user = owner(caller, request)?;
    let selector = selector(request)?;
    let origin = ctx.origin(request, "notifications");
    let sink = ctx.hub.inbox_sink(&origin);
    let updated = ctx
        .hub
        .inbox()
        .update(&user, op, &selector, request.timestamp, &sink)
        .map_err(storage)?;
    Ok(json!({"changed": updated.changed, "counts": updated.counts}))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(args: Value) -> Request {
        let Value::Object(args) = args else {
            panic!("args must be an object");
        };
        super::super::from_object(args, 1_000).expect("valid envelope")
    }

    #[test]
    fn list_arguments_from_the_body_or_the_query_string() {
        let q = list_query(&request(json!({"body": {"size": 500, "unread": true, "type": ["A", "B"], "priority": "high", "archived": "any", "cursor": "42"}})))
            .expect("query");
        assert_eq!(q.size, MAX_PAGE, "capped");
        assert!(q.unread_only);
        assert_eq!(q.types, vec!["A", "B"]);
        assert_eq!(q.priorities, vec![Priority::High]);
        assert_eq!(q.archived, Archived::Any);
        assert_eq!(q.cursor, Some(42));
        let q = list_query(&request(
            json!({"size": "5", "unread": "false", "archived": true}),
        ))
        .expect("query");
        assert_eq!(
            (q.size, q.unread_only, q.archived),
            (5, false, Archived::Only)
        );
        for bad in [
            json!({"size": 0}),
            json!({"size": "x"}),
            json!({"cursor": "abc"}),
            json!({"cursor": 3}),
            json!({"priority": "urgent"}),
            json!({"archived": "maybe"}),
            json!({"unread": 1}),
        ] {
            assert!(list_query(&request(bad.clone())).is_err(), "{bad}");
        }
    }

    #[test]
    fn selectors() {
        let s = selector(&request(json!({"body": {"ids": ["3", "x", "0", "4"]}}))).expect("ids");
        assert_eq!(s, Selector::Ids(vec![3, 4]));
        let s = selector(&request(json!({"body": {"upTo": "9"}}))).expect("upTo");
        assert_eq!(s, Selector::UpTo(9));
        let s = selector(&request(json!({"all": "true"}))).expect("all");
        assert_eq!(s, Selector::All);
        let too_many: Vec<String> = (0..=MAX_IDS).map(|i| i.to_string()).collect();
        for bad in [
            json!({"body": {}}),
            json!({"body": {"ids": []}}),
            json!({"body": {"ids": [1]}}),
            json!({"body": {"ids": too_many}}),
            json!({"body": {"ids": ["1"], "all": true}}),
            json!({"body": {"upTo": "x"}}),
            json!({"body": {"all": false}}),
        ] {
            assert!(selector(&request(bad.clone())).is_err(), "{bad}");
        }
    }

    #[test]
    fn recipients_are_one_user_or_a_bounded_list() {
        let body = |v: Value| v.as_object().cloned().unwrap_or_default();
        assert_eq!(
            recipients(&body(json!({"user": "a"}))).expect("user"),
            vec![UserId::new("a")]
        );
        assert_eq!(
            recipients(&body(json!({"users": ["a", "b"]})))
                .expect("users")
                .len(),
            2
        );
        let too_many: Vec<String> = (0..=MAX_RECIPIENTS).map(|i| format!("u{i}")).collect();
        for bad in [
            json!({}),
            json!({"user": "a", "users": ["b"]}),
            json!({"user": ""}),
            json!({"user": "-1"}),
            json!({"users": []}),
            json!({"users": [1]}),
            json!({"users": too_many}),
        ] {
            assert!(recipients(&body(bad.clone())).is_err(), "{bad}");
        }
    }
}
