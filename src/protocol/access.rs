//! Who is calling, and whether they may: every request goes through [`caller`] (token check)
//! then [`authorize`] (rights), in Kuzzle's order, before its controller runs.
//!
//! * A request's `jwt` is verified (cached) and, over WebSocket, binds the connection to that
//!   identity; a request without `jwt` runs as the connection's bound identity, else as the
//!   anonymous user. An invalid token is refused (401 `security.token.invalid`, or
//!   `security.token.expired`), never silently downgraded to anonymous.
//! * `auth` and `server` actions are open to everyone (the SDK needs them to log in).
//!   Everything else needs a right on its collection; a refusal is 401
//!   `security.rights.unauthorized` for the anonymous user and 403
//!   `security.rights.forbidden` for a user, naming the action and collection.
//! * Checks that need more than the request's arguments (the collection of a joined room, of
//!   a room an event is sent to) are made by the controllers with [`Caller::require`].

use std::sync::Arc;

use serde_json::Value;

use super::{Context, KuzzleError, Request};
use crate::identity::{Identity, Restriction, Right, Rights, TokenError, EVENTS_INDEX};
use crate::notify::Origin;
use crate::rooms::{Room, State};

/// Document actions that write.
const WRITES: &[&str] = &[
    "create",
    "createOrReplace",
    "replace",
    "update",
    "upsert",
    "delete",
    "mCreate",
    "mCreateOrReplace",
    "mReplace",
    "mUpdate",
    "mUpsert",
    "mDelete",
];

/// Why a restricted user may not read or join directly.
pub const RESTRICTED_READ: &str = "restricted: subscribe instead";

/// Document actions that read.
const READS: &[&str] = &["get", "exists", "mGet"];

/// The identity and rights a request runs with.
pub struct Caller {
    pub identity: Option<Arc<Identity>>,
    /// `None`: an anonymous caller, and anonymous access is refused.
    rights: Option<Arc<Rights>>,
}

impl Caller {
    /// The user id (`-1` for the anonymous user).
    pub fn kuid(&self) -> &str {
        self.identity.as_ref().map_or("-1", |i| i.kuid.as_str())
    }

    /// The refusal for `what` (401 for the anonymous user, 403 for a user).
    pub fn refusal(&self, what: &str) -> KuzzleError {
        match &self.identity {
            None => KuzzleError::unauthorized(what),
            Some(identity) => KuzzleError::forbidden(what, identity.kuid.as_str()),
        }
    }

    /// The caller's rights, or the refusal of `request` if anonymous access is refused.
    pub fn rights(&self, request: &Request) -> Result<&Rights, KuzzleError> {
        self.rights
            .as_deref()
            .ok_or_else(|| self.refusal(&format!("{}:{}", request.controller, request.action)))
    }

    /// The refusal of `request` on a collection, saying why.
    pub fn refusal_on(
        &self,
        request: &Request,
        index: &str,
        collection: &str,
        why: &str,
    ) -> KuzzleError {
        self.refusal(&format!(
            "{}:{} on \"{index}\":\"{collection}\" ({why})",
            request.controller, request.action
        ))
    }

    /// Requires `right` on a collection.
    pub fn require(
        &self,
        right: Right,
        request: &Request,
        index: &str,
        collection: &str,
    ) -> Result<&Rights, KuzzleError> {
        let rights = self.rights(request)?;
        if rights.allows(right, index, collection) {
            Ok(rights)
        } else {
            let why = format!("needs {}", right.as_str());
            Err(self.refusal_on(request, index, collection, &why))
        }
    }

    /// Whether the caller may see a room: it needs `right` on the room's collection (subscribe
    /// to list and count it, publish to send events to it) and, where it is restricted, a
    /// connection of its own in the room. Rooms it may not see are answered as if they did not
    /// exist.
    pub fn sees(&self, right: Right, state: &State, room: &Room) -> bool {
        let Some(rights) = self.rights.as_deref() else {
            return false;
        };
        let name = room.collection();
        let (index, collection) = (&*name.index, &*name.collection);
        rights.allows(right, index, collection)
            && (rights.restrictions(index, collection).is_empty()
                || self
                    .identity
                    .as_ref()
                    .is_some_and(|i| state.has_member(room, i.kuid.as_str())))
    }

    /// The caller's restriction on a collection (`None`: unrestricted there).
    pub fn restriction(
        &self,
        request: &Request,
        index: &str,
        collection: &str,
    ) -> Result<Option<Arc<Restriction>>, KuzzleError> {
        Ok(Restriction::of(self.rights(request)?, index, collection))
    }

    /// The origin of notifications caused by this request, with the caller as author and the
    /// caller's restriction on the request's collection.
    pub fn origin(&self, ctx: &Context<'_>, request: &Request, controller: &str) -> Origin {
        let mut origin = ctx.origin(request, controller);
        origin.user = self.identity.as_ref().map(|i| i.kuid.clone());
        let arg = |name: &str| request.args.get(name).and_then(Value::as_str);
        if let (Some(rights), Some(index), Some(collection)) =
            (&self.rights, arg("index"), arg("collection"))
        {
            origin.restriction = Restriction::of(rights, index, collection);
        }
        origin
    }
}

/// The Kuzzle error of a refused token.
pub fn token_error(e: &TokenError) -> KuzzleError {
    match e {
        TokenError::Expired => KuzzleError::token_expired(),
        TokenError::Invalid(reason) => KuzzleError::token_invalid(reason),
    }
}

/// The request's `jwt`, if it has a non-empty one.
pub fn request_token(request: &Request) -> Option<&str> {
    request
        .args
        .get("jwt")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// Who the request runs as (verifying its `jwt` and binding the connection to it).
pub fn caller(ctx: &Context<'_>, request: &Request) -> Result<Caller, KuzzleError> {
    let identities = ctx.hub.identities();
    let now = request.timestamp;
    // The SDK never sends `jwt` with these; logout must work with an expired token.
    let token_free = request.controller == "auth"
        && matches!(request.action.as_str(), "checkToken" | "login" | "logout");
    let identity = match request_token(request).filter(|_| !token_free) {
        Some(token) => {
            let identity = identities.verify(token, now).map_err(|e| token_error(&e))?;
            if let Some(connection) = ctx.connection {
                ctx.hub.bind(connection, Arc::clone(&identity));
            }
            Some(identity)
        }
        None => ctx
            .connection
            .and_then(|connection| identities.identity(connection, now)),
    };
    let rights = match &identity {
        Some(identity) => Some(Arc::clone(&identity.rights)),
        None => identities.anonymous().cloned(),
    };
    Ok(Caller { identity, rights })
}

/// The rights checks that need only the request's arguments.
pub fn authorize(caller: &Caller, request: &Request) -> Result<(), KuzzleError> {
    let controller = request.controller.as_str();
    let action = request.action.as_str();
    if matches!(controller, "auth" | "server") {
        return Ok(());
    }
    let rights = caller.rights(request)?;
    let arg = |name: &str| request.args.get(name).and_then(Value::as_str);
    let (index, collection) = (arg("index"), arg("collection"));
    let right = match (controller, action) {
        ("realtime", "subscribe") if index == Some(EVENTS_INDEX) => return Ok(()),
        ("realtime", "subscribe") => Right::Subscribe,
        ("realtime", "publish") => Right::Publish,
        ("document", a) if READS.contains(&a) => Right::Subscribe,
        ("document", a) if WRITES.contains(&a) => Right::Write,
        ("events", "send") if !rights.events => {
            return Err(caller.refusal("events:send (needs events)"))
        }
        // The other `notifications` actions act on the caller's own inbox (the controller
        // checks that there is a caller to own one).
        ("notifications", "send") if !rights.notify => {
            return Err(caller.refusal("notifications:send (needs notify)"))
        }
        ("index", "create" | "delete" | "mDelete")
        | ("collection", "create" | "update" | "updateMapping" | "delete" | "truncate") => {
            return authorize_catalog(caller, rights, request);
        }
        _ => return Ok(()),
    };
    // Missing arguments are reported by the controller.
    let (Some(index), Some(collection)) = (index, collection) else {
        return Ok(());
    };
    let rights = caller.require(right, request, index, collection)?;
    if controller != "document" || rights.restrictions(index, collection).is_empty() {
        return Ok(());
    }
    // The rest of a restricted caller's document access is decided per document (see
    // `identity::Restriction`): reads and writes see only documents inside the restriction.
    // One thing is refused up front: choosing the id of a new document, whose answer
    // ("already exists" or not) would tell a foreign id from a free one.
    let chosen_id = match action {
        "create" => arg("_id").is_some_and(|id| !id.is_empty()),
        "mCreate" => request
            .args
            .get("body")
            .and_then(|b| b.get("documents"))
            .and_then(Value::as_array)
            .is_some_and(|items| items.iter().any(|item| item.get("_id").is_some())),
        _ => false,
    };
    if chosen_id {
        return Err(caller.refusal_on(
            request,
            index,
            collection,
            "restricted: the id of a new document is chosen by the server",
        ));
    }
    Ok(())
}

/// Creating, deleting or truncating indexes and collections needs `write` on what it touches
/// (an index: every collection of it, `index/*`); a restricted user may not (a deletion
/// would take other tenants' documents too).
fn authorize_catalog(
    caller: &Caller,
    rights: &Rights,
    request: &Request,
) -> Result<(), KuzzleError> {
    let arg = |name: &str| request.args.get(name).and_then(Value::as_str);
    let indexes: Vec<&str> = if request.action == "mDelete" {
        request
            .args
            .get("body")
            .and_then(|b| b.get("indexes"))
            .and_then(Value::as_array)
            .map(|names| names.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default()
    } else {
        arg("index").into_iter().collect()
    };
    let collection = if request.controller == "collection" {
        arg("collection").unwrap_or("*")
    } else {
        "*"
    };
    for index in indexes {
        if !rights.allows(Right::Write, index, collection) {
            return Err(caller.refusal_on(request, index, collection, "needs write"));
        }
        if rights.is_restricted() {
            return Err(caller.refusal_on(request, index, collection, "restricted"));
        }
    }
    Ok(())
}
