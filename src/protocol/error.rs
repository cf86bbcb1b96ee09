//! Kuzzle's error format: `{id, code, message, status, props}`.
//!
//! Clients test `error.id` (a stable `domain.subdomain.name`), and the SDK only turns an error
//! into a `KuzzleError` when it carries a numeric `status`; `code` is Kuzzle's packed integer
//! `(domain << 24) | (subdomain << 16) | error`. Ids and codes come from the protocol
//! reference (section 3.2); the few Herald-specific ones are marked.

use serde_json::{json, Value};

/// One error answered to a request (the connection stays open).
#[derive(Clone, Debug, PartialEq)]
pub struct KuzzleError {
    pub id: &'static str,
    pub code: u32,
    pub status: u16,
    pub message: String,
    pub props: Vec<String>,
}

const fn code(domain: u32, subdomain: u32, error: u32) -> u32 {
    (domain << 24) | (subdomain << 16) | error
}

impl KuzzleError {
    fn new(id: &'static str, code: u32, status: u16, message: String, props: Vec<String>) -> Self {
        KuzzleError {
            id,
            code,
            status,
            message,
            props,
        }
    }

    /// The `error` object of a response.
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "code": self.code,
            "message": self.message,
            "status": self.status,
            "props": self.props,
        })
    }

    // ---- api.assert ----

    pub fn missing_argument(name: &str) -> Self {
        Self::new(
            "api.assert.missing_argument",
            code(2, 1, 3),
            400,
            format!("Missing argument \"{name}\"."),
            vec![name.into()],
        )
    }

    pub fn invalid_type(name: &str, expected: &str) -> Self {
        Self::new(
            "api.assert.invalid_type",
            code(2, 1, 1),
            400,
            format!("Wrong type for argument \"{name}\" (expected: {expected})."),
            vec![name.into(), expected.into()],
        )
    }

    /// A value of the right type that is not acceptable (Kuzzle: `api.assert.invalid_argument`).
    pub fn invalid_argument(name: &str, expected: &str) -> Self {
        Self::new(
            "api.assert.invalid_argument",
            code(2, 1, 2),
            400,
            format!("Invalid argument \"{name}\". Expected: {expected}."),
            vec![name.into(), expected.into()],
        )
    }

    pub fn body_required() -> Self {
        Self::new(
            "api.assert.body_required",
            code(2, 1, 8),
            400,
            "The request must specify a body.".into(),
            vec![],
        )
    }

    pub fn koncorde_dsl_error(message: &str) -> Self {
        Self::new(
            "api.assert.koncorde_dsl_error",
            code(2, 1, 14),
            400,
            message.into(),
            vec![message.into()],
        )
    }

    // ---- api.process ----

    pub fn controller_not_found(controller: &str) -> Self {
        Self::new(
            "api.process.controller_not_found",
            code(2, 2, 4),
            404,
            format!("API controller \"{controller}\" not found."),
            vec![controller.into()],
        )
    }

    pub fn action_not_found(controller: &str, action: &str) -> Self {
        Self::new(
            "api.process.action_not_found",
            code(2, 2, 5),
            404,
            format!("API action \"{controller}\":\"{action}\" not found."),
            vec![controller.into(), action.into()],
        )
    }

    /// An action that needs a persistent connection, called over HTTP
    /// (Kuzzle: `api.process.unsupported_protocol`... not in the reference; Herald-specific code).
    pub fn needs_connection(controller: &str, action: &str) -> Self {
        Self::new(
            "api.process.unsupported_protocol",
            code(2, 2, 12),
            400,
            format!("API action \"{controller}\":\"{action}\" needs a persistent connection (WebSocket)."),
            vec![controller.into(), action.into()],
        )
    }

    // ---- core.realtime ----

    pub fn invalid_scope(value: &str) -> Self {
        Self::new(
            "core.realtime.invalid_scope",
            code(0, 1, 4),
            400,
            format!("Invalid scope \"{value}\": expected all, in, out or none."),
            vec![value.into()],
        )
    }

    pub fn invalid_users(value: &str) -> Self {
        Self::new(
            "core.realtime.invalid_users",
            code(0, 1, 5),
            400,
            format!("Invalid users \"{value}\": expected all, in, out or none."),
            vec![value.into()],
        )
    }

    pub fn room_not_found(room: &str) -> Self {
        Self::new(
            "core.realtime.room_not_found",
            code(0, 1, 1),
            404,
            format!("Room \"{room}\" not found."),
            vec![room.into()],
        )
    }

    pub fn not_subscribed(room: &str) -> Self {
        Self::new(
            "core.realtime.not_subscribed",
            code(0, 1, 8),
            412,
            format!("Not subscribed to room \"{room}\"."),
            vec![room.into()],
        )
    }

    pub fn too_many_rooms() -> Self {
        Self::new(
            "core.realtime.too_many_rooms",
            code(0, 1, 7),
            413,
            "Unable to subscribe: maximum number of rooms reached.".into(),
            vec![],
        )
    }

    /// A connection, or a user's connections, in as many rooms as they may
    /// (`--max-subscriptions`, `--max-subscriptions-per-user`).
    pub fn too_many_subscriptions(who: &str, max: usize) -> Self {
        Self::new(
            "core.realtime.too_many_subscriptions",
            code(0, 1, 100),
            429,
            format!("Unable to subscribe: {who} already in {max} rooms (the maximum)."),
            vec![max.to_string()],
        )
    }

    // ---- security ----

    /// A malformed, wrongly signed or otherwise unacceptable token.
    pub fn token_invalid(reason: &str) -> Self {
        Self::new(
            "security.token.invalid",
            code(7, 1, 1),
            401,
            format!("Invalid token: {reason}."),
            vec![reason.into()],
        )
    }

    pub fn token_expired() -> Self {
        Self::new(
            "security.token.expired",
            code(7, 1, 6),
            401,
            "Token expired.".into(),
            vec![],
        )
    }

    /// An anonymous caller lacking a right (`what` names the action and the target).
    pub fn unauthorized(what: &str) -> Self {
        Self::new(
            "security.rights.unauthorized",
            code(7, 3, 1),
            401,
            format!("Unauthorized action [{what}] for anonymous user."),
            vec![what.into()],
        )
    }

    /// An authenticated caller lacking a right.
    pub fn forbidden(what: &str, kuid: &str) -> Self {
        Self::new(
            "security.rights.forbidden",
            code(7, 3, 2),
            403,
            format!("Forbidden action [{what}] for user \"{kuid}\"."),
            vec![what.into(), kuid.into()],
        )
    }

    // ---- services.storage ----

    pub fn document_not_found(id: &str, index: &str, collection: &str) -> Self {
        Self::new(
            "services.storage.not_found",
            code(1, 1, 11),
            404,
            format!("Document \"{id}\" not found in \"{index}\":\"{collection}\"."),
            vec![id.into(), index.into(), collection.into()],
        )
    }

    pub fn document_already_exists(id: &str) -> Self {
        Self::new(
            "services.storage.document_already_exists",
            code(1, 1, 17),
            400,
            format!("Document \"{id}\" already exists."),
            vec![id.into()],
        )
    }

    pub fn unknown_index(index: &str) -> Self {
        Self::new(
            "services.storage.unknown_index",
            code(1, 1, 1),
            412,
            format!("The index \"{index}\" does not exist."),
            vec![index.into()],
        )
    }

    pub fn unknown_collection(index: &str, collection: &str) -> Self {
        Self::new(
            "services.storage.unknown_collection",
            code(1, 1, 2),
            412,
            format!("The collection \"{index}\":\"{collection}\" does not exist."),
            vec![index.into(), collection.into()],
        )
    }

    pub fn index_already_exists(index: &str) -> Self {
        Self::new(
            "services.storage.index_already_exists",
            code(1, 1, 38),
            412,
            format!("A public index named \"{index}\" already exists"),
            vec!["public".into(), index.into()],
        )
    }

    pub fn invalid_index_name(index: &str) -> Self {
        Self::new(
            "services.storage.invalid_index_name",
            code(1, 1, 41),
            400,
            format!("The index name \"{index}\" is invalid"),
            vec![index.into()],
        )
    }

    pub fn invalid_collection_name(collection: &str) -> Self {
        Self::new(
            "services.storage.invalid_collection_name",
            code(1, 1, 42),
            400,
            format!("The collection name \"{collection}\" is invalid"),
            vec![collection.into()],
        )
    }

    /// The embedded store failed (Herald-specific code).
    pub fn storage(message: &str) -> Self {
        Self::new(
            "services.storage.unexpected_error",
            code(1, 1, 255),
            500,
            message.into(),
            vec![message.into()],
        )
    }

    // ---- network ----

    /// An unparsable frame (sent without `room`).
    pub fn unexpected_error(message: &str) -> Self {
        Self::new(
            "network.websocket.unexpected_error",
            code(3, 3, 1),
            400,
            message.into(),
            vec![message.into()],
        )
    }

    /// An HTTP request not received in time (`Config::request_timeout`).
    pub fn request_timeout() -> Self {
        Self::new(
            "network.http.timeout",
            code(3, 1, 100),
            408,
            "Request not received in time.".into(),
            vec![],
        )
    }

    /// Too many requests on one connection or from one user (`--max-requests-per-second`,
    /// `--max-requests-per-second-per-user`).
    pub fn too_many_requests(who: &str, rate: u32) -> Self {
        Self::new(
            "api.process.too_many_requests",
            code(2, 2, 8),
            429,
            format!("Too many requests: {who} may send {rate} per second."),
            vec![rate.to_string()],
        )
    }

    /// A frame or HTTP body above the size limit (Herald-specific: Kuzzle closes the socket).
    pub fn request_too_large(size: usize, limit: usize) -> Self {
        Self::new(
            "network.websocket.request_too_large",
            code(3, 3, 3),
            413,
            format!("Request of {size} bytes exceeds the limit of {limit} bytes."),
            vec![size.to_string(), limit.to_string()],
        )
    }

    /// A service the request needs cannot be reached (cluster: Redis), and the request was
    /// not carried out.
    pub fn service_unavailable(message: &str) -> Self {
        Self::new(
            "core.fatal.service_unavailable",
            code(0, 0, 3),
            503,
            message.into(),
            vec![message.into()],
        )
    }

    /// A store failure: 503 when the store could not be reached (nothing was done), else
    /// Kuzzle's storage error.
    pub fn from_store(e: &crate::store::StoreError) -> Self {
        if e.is_unavailable() {
            Self::service_unavailable(&e.to_string())
        } else {
            Self::storage(&e.to_string())
        }
    }

    /// Anything else that went wrong on the server's side.
    pub fn internal(message: &str) -> Self {
        Self::new(
            "core.fatal.unexpected_error",
            code(0, 0, 1),
            500,
            message.into(),
            vec![message.into()],
        )
    }
}

impl std::fmt::Display for KuzzleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.id, self.status, self.message)
    }
}

impl std::error::Error for KuzzleError {}

impl KuzzleError {
    /// No HTTP route for this method and path (Kuzzle: `network.http.url_not_found`; the code
    /// is Herald's).
    pub fn url_not_found(method: &str, path: &str) -> Self {
        Self::new(
            "network.http.url_not_found",
            code(3, 2, 8),
            404,
            format!("API URL not found: {method} {path}."),
            vec![method.into(), path.into()],
        )
    }
}
