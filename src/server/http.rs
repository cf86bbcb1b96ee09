//! The warp filter serving Kuzzle's HTTP API (WebSocket upgrades are answered before it, by
//! [`super::handshake`]).
//!
//! HTTP routing is done by hand on (method, path segments) rather than with one warp filter
//! per route: there are few routes, they share their whole handling, and one function keeps
//! the table readable. HTTP requests have no connection: writes and publishes notify
//! WebSocket subscribers exactly like socket writes (notification `protocol: "http"`).

use std::sync::Arc;

use bytes::{Buf, Bytes, BytesMut};
use futures_util::{Stream, StreamExt};
use serde_json::{Map, Value};
use warp::http::{Method, StatusCode};
use warp::{Filter, Rejection, Reply};

use super::State;
use crate::notify::now_ms;
use crate::protocol::{self, Context, KuzzleError, Request};

/// The filter serving one TCP connection (`abort` drops it: an SSE client too slow).
pub(crate) fn routes(
    state: Arc<State>,
    abort: tokio_util::sync::CancellationToken,
) -> impl Filter<Extract = (warp::reply::Response,), Error = Rejection> + Clone + Send + Sync + 'static
{
    let state_for_admin = Arc::clone(&state);
    let sse = super::sse::routes(Arc::clone(&state), abort);
    let http = warp::method()
        .and(warp::path::full())
        .and(
            warp::query::<Vec<(String, String)>>()
                .or(warp::any().map(Vec::new))
                .unify(),
        )
        .and(warp::header::optional::<String>("x-kuzzle-volatile"))
        .and(warp::header::optional::<String>("authorization"))
        .and(warp::body::stream())
        .and_then(
            move |method: Method,
                  path: warp::path::FullPath,
                  query,
                  volatile: Option<String>,
                  authorization: Option<String>,
                  body| {
                let state = Arc::clone(&state);
                async move {
                    let limit = state.config.max_frame_bytes;
                    let reply = match read_body(body, limit).await {
                        Ok(body) => {
                            let call = HttpCall {
                                method: &method,
                                path: path.as_str(),
                                query,
                                volatile,
                                authorization,
                                body: &body,
                            };
                            handle(&state, call)
                        }
                        Err(e) => error_reply(&e),
                    };
                    Ok::<_, Rejection>(reply)
                }
            },
        );
    sse.or(super::admin::routes(state_for_admin))
        .unify()
        .or(http)
        .unify()
}

/// Reads a body of at most `limit` bytes.
async fn read_body<S, B>(body: S, limit: usize) -> Result<Bytes, KuzzleError>
where
    S: Stream<Item = Result<B, warp::Error>>,
    B: Buf,
{
    let mut body = std::pin::pin!(body);
    let mut bytes = BytesMut::new();
    while let Some(chunk) = body.next().await {
        let mut chunk = chunk.map_err(|e| KuzzleError::unexpected_error(&e.to_string()))?;
        if bytes.len() + chunk.remaining() > limit {
            return Err(KuzzleError::request_too_large(
                bytes.len() + chunk.remaining(),
                limit,
            ));
        }
        while chunk.has_remaining() {
            let part = chunk.chunk();
            let n = part.len();
            bytes.extend_from_slice(part);
            chunk.advance(n);
        }
    }
    Ok(bytes.freeze())
}

fn json_reply(status: u16, value: &Value) -> warp::reply::Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    warp::reply::with_status(warp::reply::json(value), status).into_response()
}

/// The answer to a request that took longer than the request timeout (a body trickled in).
pub(crate) fn request_timeout() -> warp::reply::Response {
    error_reply(&KuzzleError::request_timeout())
}

fn error_reply(error: &KuzzleError) -> warp::reply::Response {
    let body = serde_json::json!({
        "status": error.status,
        "error": error.to_json(),
        "result": null,
    });
    json_reply(error.status, &body)
}

/// The controller, action and path arguments of a Kuzzle HTTP route.
type Route = (&'static str, &'static str, Vec<(&'static str, String)>);

/// Routes a method and path like Kuzzle's HTTP API.
fn route(method: &Method, segments: &[String]) -> Option<Route> {
    let seg: Vec<&str> = segments.iter().map(String::as_str).collect();
    let ic = |i: &str, c: &str| vec![("index", i.to_owned()), ("collection", c.to_owned())];
    let icd = |i: &str, c: &str, d: &str| {
        vec![
            ("index", i.to_owned()),
            ("collection", c.to_owned()),
            ("_id", d.to_owned()),
        ]
    };
    let m = method.as_str();
    Some(match (m, seg.as_slice()) {
        ("GET", []) | ("GET", ["_serverInfo"]) => ("server", "info", vec![]),
        ("GET", ["_healthCheck"]) => ("server", "healthCheck", vec![]),
        ("GET", ["_now"]) => ("server", "now", vec![]),
        ("GET", ["_listSubscriptions"]) => ("realtime", "list", vec![]),
        ("POST", ["_checkToken"]) => ("auth", "checkToken", vec![]),
        ("POST", ["_login", s]) => ("auth", "login", vec![("strategy", s.to_string())]),
        ("POST", ["_logout"]) => ("auth", "logout", vec![]),
        ("GET", ["_me"]) => ("auth", "getCurrentUser", vec![]),
        ("POST", ["_events"]) => ("events", "send", vec![]),
        // Inboxes (docs/notifications.md), before the index and collection routes they would
        // otherwise match.
        ("GET", ["_notifications"]) => ("notifications", "list", vec![]),
        ("POST", ["_notifications", "_list"]) => ("notifications", "list", vec![]),
        ("GET", ["_notifications", "_count"]) => ("notifications", "count", vec![]),
        ("POST", ["_notifications", a]) => match *a {
            "_send" => ("notifications", "send", vec![]),
            "_markRead" => ("notifications", "markRead", vec![]),
            "_markUnread" => ("notifications", "markUnread", vec![]),
            "_markSeen" => ("notifications", "markSeen", vec![]),
            "_archive" => ("notifications", "archive", vec![]),
            "_unarchive" => ("notifications", "unarchive", vec![]),
            "_delete" => ("notifications", "delete", vec![]),
            _ => return None,
        },
        ("GET", ["_list"]) => ("index", "list", vec![]),
        ("DELETE", ["_mDelete"]) => ("index", "mDelete", vec![]),
        ("POST", [i, "_create"]) => ("index", "create", vec![("index", (*i).to_owned())]),
        ("GET", [i, "_exists"]) => ("index", "exists", vec![("index", (*i).to_owned())]),
        ("GET", [i, "_list"]) => ("collection", "list", vec![("index", (*i).to_owned())]),
        ("DELETE", [i]) => ("index", "delete", vec![("index", (*i).to_owned())]),
        ("PUT" | "POST", [i, c]) => ("collection", "create", ic(i, c)),
        ("DELETE", [i, c]) => ("collection", "delete", ic(i, c)),
        ("GET", [i, c, "_exists"]) => ("collection", "exists", ic(i, c)),
        ("DELETE", [i, c, "_truncate"]) => ("collection", "truncate", ic(i, c)),
        ("POST", [i, c, "_refresh"]) => ("collection", "refresh", ic(i, c)),
        ("GET", [i, c, "_mapping"]) => ("collection", "getMapping", ic(i, c)),
        ("PUT", [i, c, "_mapping"]) => ("collection", "updateMapping", ic(i, c)),
        ("POST", [i, c, "_publish"]) => ("realtime", "publish", ic(i, c)),
        ("POST", [i, c, "_create"]) => ("document", "create", ic(i, c)),
        ("POST", [i, c, "_mCreate"]) => ("document", "mCreate", ic(i, c)),
        ("PUT", [i, c, "_mCreateOrReplace"]) => ("document", "mCreateOrReplace", ic(i, c)),
        ("PUT", [i, c, "_mReplace"]) => ("document", "mReplace", ic(i, c)),
        ("PUT" | "PATCH", [i, c, "_mUpdate"]) => ("document", "mUpdate", ic(i, c)),
        ("POST", [i, c, "_mUpsert"]) => ("document", "mUpsert", ic(i, c)),
        ("DELETE", [i, c, "_mDelete"]) => ("document", "mDelete", ic(i, c)),
        ("POST", [i, c, "_mGet"]) => ("document", "mGet", ic(i, c)),
        ("POST", [i, c, d, "_create"]) => ("document", "create", icd(i, c, d)),
        ("PUT", [i, c, d, "_replace"]) => ("document", "replace", icd(i, c, d)),
        ("PUT" | "PATCH", [i, c, d, "_update"]) => ("document", "update", icd(i, c, d)),
        ("POST", [i, c, d, "_upsert"]) => ("document", "upsert", icd(i, c, d)),
        ("GET", [i, c, d, "_exists"]) => ("document", "exists", icd(i, c, d)),
        ("PUT", [i, c, d]) => ("document", "createOrReplace", icd(i, c, d)),
        ("DELETE", [i, c, d]) => ("document", "delete", icd(i, c, d)),
        ("GET", [i, c, d]) if !d.starts_with('_') => ("document", "get", icd(i, c, d)),
        _ => return None,
    })
}

/// One HTTP API call, as received.
struct HttpCall<'a> {
    method: &'a Method,
    path: &'a str,
    query: Vec<(String, String)>,
    /// The `X-Kuzzle-Volatile` header (a JSON object), Kuzzle's way to pass `volatile`.
    volatile: Option<String>,
    /// The `Authorization` header: `Bearer <jwt>` is the request's token (as in Kuzzle).
    authorization: Option<String>,
    body: &'a [u8],
}

fn handle(state: &State, call: HttpCall<'_>) -> warp::reply::Response {
    let HttpCall {
        method,
        path,
        query,
        volatile,
        authorization,
        body,
    } = call;
    let segments: Vec<String> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(percent_decode)
        .collect();
    let body: Option<Value> = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        match serde_json::from_slice(body) {
            Ok(v) => Some(v),
            Err(e) => {
                return error_reply(&KuzzleError::unexpected_error(&format!(
                    "malformed JSON body: {e}"
                )))
            }
        }
    };
    let mut args = Map::new();
    // `POST /_query`: the body is a whole request, as over WebSocket.
    if method == Method::POST && segments.len() == 1 && segments[0] == "_query" {
        match body {
            Some(Value::Object(map)) => args = map,
            _ => return error_reply(&KuzzleError::invalid_type("body", "object")),
        }
    } else {
        let Some((controller, action, params)) = route(method, &segments) else {
            return error_reply(&KuzzleError::url_not_found(method.as_str(), path));
        };
        // Query-string arguments first: path arguments win.
        for (k, v) in query {
            let value = match v.as_str() {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                _ => Value::String(v),
            };
            args.insert(k, value);
        }
        args.insert("controller".into(), controller.into());
        args.insert("action".into(), action.into());
        for (k, v) in params {
            args.insert(k.into(), v.into());
        }
        if let Some(body) = body {
            args.insert("body".into(), body);
        }
        if let Some(volatile) = volatile {
            match serde_json::from_str::<Value>(&volatile) {
                Ok(v @ Value::Object(_)) => {
                    args.insert("volatile".into(), v);
                }
                _ => return error_reply(&KuzzleError::invalid_type("volatile", "object")),
            }
        }
    }
    let bearer = authorization.as_deref().and_then(|h| {
        h.strip_prefix("Bearer ")
            .or_else(|| h.strip_prefix("bearer "))
    });
    if let Some(token) = bearer.map(str::trim).filter(|t| !t.is_empty()) {
        args.insert("jwt".into(), token.into());
    }
    let request: Request = match protocol::from_object(args, now_ms()) {
        Ok(request) => request,
        Err(refused) => return error_reply(&refused.error),
    };
    let ctx = Context {
        hub: &state.hub,
        connection: None,
        protocol: "http",
    };
    let started = std::time::Instant::now();
    let outcome = super::blocking(|| protocol::dispatch(&ctx, &request));
    if let Err(e) = &outcome {
        tracing::debug!(controller = %request.controller, action = %request.action, error = %e, "http request failed");
    }
    let status = outcome.as_ref().map_or_else(|e| e.status, |_| 200);
    let metrics = state.hub.metrics();
    metrics.request(
        &request.controller,
        &request.action,
        status,
        started.elapsed(),
    );
    let response = protocol::response(&request, &outcome, &state.hub.config().node, false);
    json_reply(status, &response)
}

/// Decodes `%XX` escapes of a path segment (invalid escapes are kept as they are).
fn percent_decode(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::percent_decode;

    #[test]
    fn decodes_escapes() {
        assert_eq!(percent_decode("a%20b"), "a b");
        assert_eq!(percent_decode("%"), "%");
        assert_eq!(percent_decode("a%2"), "a%2");
        assert_eq!(percent_decode("%41%42"), "AB");
        assert_eq!(percent_decode("%zz"), "%zz");
    }
}
