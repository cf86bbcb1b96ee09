//! Kuzzle's API protocol, independent of the transport.
//!
//! The server turns each WebSocket frame or HTTP request into a [`Request`], calls
//! [`dispatch`], and serializes the outcome with [`response`]. Everything the SDK depends on
//! is decided here, once for both transports: envelope validation (before routing, errors
//! without `room`), routing to one module per controller, argument checking with Kuzzle's
//! error ids, and the response envelope (`room` = `requestId`, `volatile` echoed). Arguments
//! the server does not know are ignored, as Kuzzle does: the SDK sends every per-call option
//! at the top level.

pub mod access;
pub mod auth;
pub mod collection;
pub mod document;
pub mod error;
pub mod events;
pub mod index;
pub mod notifications;
pub mod realtime;
pub mod server;

use rand::Rng;
use serde_json::{Map, Value};

use crate::delivery::ConnectionId;
use crate::notify::{now_ms, Hub, Origin};

pub use error::KuzzleError;

/// One API request: the envelope and its arguments.
#[derive(Clone, Debug, Default)]
pub struct Request {
    /// The client's `requestId`, or a generated one.
    pub request_id: String,
    pub controller: String,
    pub action: String,
    /// `volatile`, verbatim (`null` if absent).
    pub volatile: Value,
    /// Every top-level key (`index`, `collection`, `_id`, `body`, `scope`, ...).
    pub args: Map<String, Value>,
    /// Reception time, epoch milliseconds.
    pub timestamp: u64,
}

/// What one incoming frame is.
#[derive(Debug)]
pub enum Incoming {
    /// The application ping `{"p":1}`; the answer is `{"p":2}`.
    Ping,
    /// A well-formed request.
    Request(Request),
    /// A request refused before routing: the response frame to send (it has no `room`).
    Rejected(Value),
}

/// The application-level pong.
pub const PONG: &str = r#"{"p":2}"#;

/// Parses one frame (text or binary: both are UTF-8 JSON).
pub fn parse(bytes: &[u8]) -> Incoming {
    let value: Value = match serde_json::from_slice(bytes) {
        Ok(v) => v,
        Err(e) => {
            let error = KuzzleError::unexpected_error(&format!("malformed JSON: {e}"));
            return Incoming::Rejected(rejection(None, &error));
        }
    };
    let Value::Object(map) = value else {
        let error = KuzzleError::unexpected_error("a request must be a JSON object");
        return Incoming::Rejected(rejection(None, &error));
    };
    if map.len() == 1 && map.get("p").and_then(Value::as_u64) == Some(1) {
        return Incoming::Ping;
    }
    match from_object(map, now_ms()) {
        Ok(request) => Incoming::Request(request),
        Err(refused) => Incoming::Rejected(rejection(refused.request_id, &refused.error)),
    }
}

/// The frame refused for its size, answered with its `requestId` when the frame starts with
/// one (as the SDK writes it), so that the client waiting for that id gets its answer. Only
/// the first bytes are looked at: the frame is not parsed.
pub fn too_large(bytes: &[u8], limit: usize) -> Value {
    let error = KuzzleError::request_too_large(bytes.len(), limit);
    let mut response = rejection(sniff_request_id(bytes).map(Value::String), &error);
    if let Some(id) = response.get("requestId").cloned() {
        response["room"] = id;
    }
    response
}

/// The value of a `"requestId"` key among the first 4 KiB of a JSON frame, if it is a string.
fn sniff_request_id(bytes: &[u8]) -> Option<String> {
    const KEY: &[u8] = b"\"requestId\"";
    let head = &bytes[..bytes.len().min(4096)];
    let at = head.windows(KEY.len()).position(|w| w == KEY)?;
    let rest = &head[at + KEY.len()..];
    let colon = rest.iter().position(|&b| !b.is_ascii_whitespace())?;
    if rest[colon] != b':' {
        return None;
    }
    let value = &rest[colon + 1..];
    let start = value.iter().position(|&b| !b.is_ascii_whitespace())?;
    let mut strings = serde_json::Deserializer::from_slice(&value[start..]).into_iter::<String>();
    strings.next()?.ok()
}

/// An envelope refused before routing: the request id as sent (if any) and the error.
#[derive(Debug)]
pub struct Refused {
    pub request_id: Option<Value>,
    pub error: KuzzleError,
}

/// Validates an envelope.
pub fn from_object(mut args: Map<String, Value>, timestamp: u64) -> Result<Request, Box<Refused>> {
    let request_id = match args.remove("requestId") {
        None | Some(Value::Null) => generate_request_id(),
        Some(Value::String(s)) => s,
        Some(other) => {
            return Err(Box::new(Refused {
                request_id: Some(other),
                error: KuzzleError::invalid_type("requestId", "string"),
            }))
        }
    };
    let fail = |error: KuzzleError| {
        Err(Box::new(Refused {
            request_id: Some(Value::String(request_id.clone())),
            error,
        }))
    };
    for key in ["controller", "action", "jwt"] {
        if args
            .get(key)
            .is_some_and(|v| !v.is_string() && !v.is_null())
        {
            return fail(KuzzleError::invalid_type(key, "string"));
        }
    }
    let volatile = match args.remove("volatile") {
        None => Value::Null,
        Some(v @ (Value::Object(_) | Value::Null)) => v,
        Some(_) => return fail(KuzzleError::invalid_type("volatile", "object")),
    };
    if args
        .get("body")
        .is_some_and(|b| !b.is_object() && !b.is_array() && !b.is_null())
    {
        return fail(KuzzleError::invalid_type("body", "object"));
    }
    let string = |args: &Map<String, Value>, key: &str| {
        args.get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    Ok(Request {
        controller: string(&args, "controller"),
        action: string(&args, "action"),
        request_id,
        volatile,
        args,
        timestamp,
    })
}

/// A random UUID v4, for requests that came without an id.
pub fn generate_request_id() -> String {
    let mut bytes: [u8; 16] = rand::thread_rng().gen();
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// The response to a request refused before routing (no `room`: the SDK cannot route it).
fn rejection(request_id: Option<Value>, error: &KuzzleError) -> Value {
    let mut map = Map::new();
    if let Some(id) = request_id {
        map.insert("requestId".into(), id);
    }
    map.insert("status".into(), error.status.into());
    map.insert("error".into(), error.to_json());
    map.insert("result".into(), Value::Null);
    Value::Object(map)
}

/// Where a request comes from.
pub struct Context<'a> {
    pub hub: &'a Hub,
    /// The WebSocket connection; `None` over HTTP (no subscriptions there).
    pub connection: Option<ConnectionId>,
    /// `websocket` or `http` (the `protocol` of notifications).
    pub protocol: &'static str,
}

impl Context<'_> {
    /// The origin of notifications caused by this request.
    pub fn origin(&self, request: &Request, controller: &str) -> Origin {
        let mut origin = Origin::new(controller)
            .with_request_id(&request.request_id)
            .with_volatile(request.volatile.clone());
        origin.timestamp = request.timestamp;
        origin.protocol = Some(self.protocol.into());
        origin.silent = request.args.get("silent").is_some_and(truthy);
        origin
    }
}

/// `true`, or the strings `"true"`/`""` of HTTP query strings.
fn truthy(value: &Value) -> bool {
    match value {
        Value::Bool(b) => *b,
        Value::String(s) => s.is_empty() || s == "true",
        _ => false,
    }
}

/// Routes a validated request to its controller, once its token and rights are checked
/// ([`access`]).
pub fn dispatch(ctx: &Context<'_>, request: &Request) -> Result<Value, KuzzleError> {
    if request.controller.is_empty() {
        return Err(KuzzleError::missing_argument("controller"));
    }
    if request.action.is_empty() {
        return Err(KuzzleError::missing_argument("action"));
    }
    let caller = access::caller(ctx, request)?;
    access::authorize(&caller, request)?;
    check_names(request)?;
    let result = match request.controller.as_str() {
        "realtime" => realtime::handle(ctx, &caller, request),
        "document" => document::handle(ctx, &caller, request),
        "auth" => auth::handle(ctx, &caller, request),
        "events" => events::handle(ctx, &caller, request),
        "notifications" => notifications::handle(ctx, &caller, request),
        "server" => server::handle(ctx, request),
        "index" => index::handle(ctx, request),
        "collection" => collection::handle(ctx, request),
        other => return Err(KuzzleError::controller_not_found(other)),
    };
    result.unwrap_or_else(|| {
        Err(KuzzleError::action_not_found(
            &request.controller,
            &request.action,
        ))
    })
}

/// Index and collection names of the actions that may create them (document writes register
/// their collection) or name them: Kuzzle's rule (`index::valid_name`), checked once here for
/// every such action. The reserved `%herald` index passes only where it is meant to.
fn check_names(request: &Request) -> Result<(), KuzzleError> {
    let names = match (request.controller.as_str(), request.action.as_str()) {
        ("document", _) | ("realtime", "publish") => true,
        ("realtime", "subscribe") => {
            request.args.get("index").and_then(Value::as_str) != Some(crate::identity::EVENTS_INDEX)
        }
        _ => false,
    };
    if !names {
        return Ok(());
    }
    let arg = |name: &str| request.args.get(name).and_then(Value::as_str);
    // Missing names are reported by the controller.
    if let Some(index) = arg("index").filter(|i| !index::valid_name(i)) {
        return Err(KuzzleError::invalid_index_name(&shown(index)));
    }
    if let Some(collection) = arg("collection").filter(|c| !index::valid_name(c)) {
        return Err(KuzzleError::invalid_collection_name(&shown(collection)));
    }
    Ok(())
}

/// A client-supplied name as an error message shows it: at most 128 characters.
pub(crate) fn shown(name: &str) -> String {
    match name.char_indices().nth(128) {
        Some((end, _)) => format!("{}...", &name[..end]),
        None => name.to_owned(),
    }
}

/// The response envelope. `with_room`: WebSocket responses carry `room` = `requestId`.
pub fn response(
    request: &Request,
    outcome: &Result<Value, KuzzleError>,
    node: &str,
    with_room: bool,
) -> Value {
    let mut map = Map::new();
    map.insert("requestId".into(), request.request_id.clone().into());
    if with_room {
        map.insert("room".into(), request.request_id.clone().into());
    }
    let (status, error, result) = match outcome {
        Ok(result) => (200, Value::Null, result.clone()),
        Err(e) => (e.status, e.to_json(), Value::Null),
    };
    map.insert("status".into(), status.into());
    map.insert("error".into(), error);
    map.insert("result".into(), result);
    map.insert("controller".into(), request.controller.clone().into());
    map.insert("action".into(), request.action.clone().into());
    for key in ["index", "collection"] {
        if let Some(v) = request.args.get(key).filter(|v| !v.is_null()) {
            map.insert(key.into(), v.clone());
        }
    }
    map.insert("volatile".into(), request.volatile.clone());
    map.insert("node".into(), node.into());
    map.insert("headers".into(), Value::Object(Map::new()));
    Value::Object(map)
}

// ---- argument helpers shared by the controllers ----

/// A required string argument.
pub(crate) fn required_str<'a>(request: &'a Request, name: &str) -> Result<&'a str, KuzzleError> {
    match request.args.get(name) {
        None | Some(Value::Null) => Err(KuzzleError::missing_argument(name)),
        Some(Value::String(s)) if s.is_empty() => Err(KuzzleError::missing_argument(name)),
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(KuzzleError::invalid_type(name, "string")),
    }
}

/// An optional string argument.
pub(crate) fn optional_str<'a>(
    request: &'a Request,
    name: &str,
) -> Result<Option<&'a str>, KuzzleError> {
    match request.args.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(KuzzleError::invalid_type(name, "string")),
    }
}

/// The body, required to be an object.
pub(crate) fn body_object(request: &Request) -> Result<&Map<String, Value>, KuzzleError> {
    match request.args.get("body") {
        None | Some(Value::Null) => Err(KuzzleError::body_required()),
        Some(Value::Object(map)) => Ok(map),
        Some(_) => Err(KuzzleError::invalid_type("body", "object")),
    }
}

/// A required string field of the body (`body.roomId`).
pub(crate) fn body_str<'a>(request: &'a Request, name: &str) -> Result<&'a str, KuzzleError> {
    let body = body_object(request)?;
    let path = format!("body.{name}");
    match body.get(name) {
        None | Some(Value::Null) => Err(KuzzleError::missing_argument(&path)),
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(KuzzleError::invalid_type(&path, "string")),
    }
}
