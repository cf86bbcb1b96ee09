//! Operating Herald: `GET /metrics` (Prometheus text) and the admin dashboard at `/_admin`.
//!
//! The dashboard is three embedded files (no build step, no CDN) polling JSON endpoints:
//!
//! * `GET /_admin/api/overview`: connections, rooms, subscriptions, notification counters,
//!   errors, resident memory, uptime (the page derives rates from successive polls);
//! * `GET /_admin/api/rooms`, `GET /_admin/api/connections`: the first [`LIST_LIMIT`] of each;
//! * `POST /_admin/api/filter`: the filter playground (validation with the error's path,
//!   canonical form, filter id, room id, and whether a document matches, per subfilter).
//!
//! A room's live tail needs no endpoint: the page joins the room over its own WebSocket.
//!
//! Access: `/metrics` and every `/_admin/api` endpoint need the `admin` right, from the token of
//! `Authorization: Bearer <jwt>` or of a `token` query parameter, or, without a token, from the
//! anonymous rights (the default anonymous policy, [`crate::identity::Rights::all`], has it). The
//! page itself is static and carries no data.

use std::collections::HashMap;
use std::sync::Arc;

use herald_filters::engine::CollectionName;
use herald_filters::{document::Flat, eval};
use serde_json::{json, Value};
use warp::http::{header, StatusCode};
use warp::{Filter, Rejection, Reply};

use super::State;
use crate::metrics::{resident_bytes, Snapshot};
use crate::notify::now_ms;
use crate::rooms::RoomId;

/// Rooms and connections listed at most by one call (the dashboard shows a sample).
pub(crate) const LIST_LIMIT: usize = 1000;

const INDEX_HTML: &str = include_str!("admin/index.html");
const APP_JS: &str = include_str!("admin/app.js");
const APP_CSS: &str = include_str!("admin/app.css");

/// The scrape-time values of the metrics.
pub(crate) fn snapshot(state: &State) -> Snapshot {
    let hub = &state.hub;
    let websockets = hub.metrics().websockets();
    let tcp = state.connections.open() as u64;
    let rooms = hub.rooms().len() as u64;
    // One pass over the connections (a read lock: fan-out goes on meanwhile).
    let subscriptions = hub.rooms().read().subscriptions() as u64;
    let delivered = state.queues.queued();
    Snapshot {
        websocket_connections: websockets,
        http_connections: tcp.saturating_sub(websockets),
        subscriptions,
        rooms,
        delivered,
        dropped: hub.stats().deliveries.saturating_sub(delivered),
        slow_clients_closed: state.queues.too_slow_count(),
        queued_frames: state.queues.depth() as u64,
        resident_bytes: resident_bytes(),
    }
}

/// Whether a caller presenting `token` (or none) may use the admin endpoints.
fn is_admin(state: &State, token: Option<&str>) -> bool {
    let identities = state.hub.identities();
    match token {
        Some(token) => identities
            .verify(token, now_ms())
            .is_ok_and(|identity| identity.rights.admin),
        None => identities.anonymous().is_some_and(|rights| rights.admin),
    }
}

/// The token of a request: `Authorization: Bearer`, else the `token` query parameter.
fn token(authorization: Option<&str>, query: &HashMap<String, String>) -> Option<String> {
    let bearer = authorization.and_then(|h| {
        h.strip_prefix("Bearer ")
            .or_else(|| h.strip_prefix("bearer "))
    });
    bearer
        .or(query.get("token").map(String::as_str))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
}

fn refused() -> warp::reply::Response {
    let body = json!({
        "status": 401,
        "error": {"message": "the admin right is required: pass an admin token as \
                   `Authorization: Bearer <jwt>` or `?token=<jwt>`"},
    });
    warp::reply::with_status(warp::reply::json(&body), StatusCode::UNAUTHORIZED).into_response()
}

fn asset(body: &'static str, content_type: &'static str) -> warp::reply::Response {
    let reply = warp::reply::with_header(body, header::CONTENT_TYPE, content_type);
    warp::reply::with_header(reply, header::CACHE_CONTROL, "no-cache").into_response()
}

/// The routes of this module; anything else is rejected (and served by the HTTP API).
pub(crate) fn routes(
    state: Arc<State>,
) -> impl Filter<Extract = (warp::reply::Response,), Error = Rejection> + Clone + Send + Sync + 'static
{
    let query = warp::query::<HashMap<String, String>>()
        .or(warp::any().map(HashMap::new))
        .unify();
    let with_state = {
        let state = Arc::clone(&state);
        warp::any().map(move || Arc::clone(&state))
    };
    // The caller, checked: the state if it has the admin right.
    let admin = with_state
        .and(warp::header::optional::<String>("authorization"))
        .and(query)
        .map(
            |state: Arc<State>, authorization: Option<String>, query: HashMap<String, String>| {
                let token = token(authorization.as_deref(), &query);
                is_admin(&state, token.as_deref()).then_some(state)
            },
        );
    let guarded = |reply: fn(&State) -> warp::reply::Response| {
        move |state: Option<Arc<State>>| match state {
            Some(state) => reply(&state),
            None => refused(),
        }
    };

    let metrics = warp::path!("metrics")
        .and(warp::get())
        .and(admin.clone())
        .map(guarded(|state| {
            let text = state.hub.metrics().encode(&snapshot(state));
            warp::reply::with_header(
                text,
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )
            .into_response()
        }));
    let page = warp::path!("_admin")
        .and(warp::get())
        .map(|| asset(INDEX_HTML, "text/html; charset=utf-8"));
    let js = warp::path!("_admin" / "app.js")
        .and(warp::get())
        .map(|| asset(APP_JS, "text/javascript; charset=utf-8"));
    let css = warp::path!("_admin" / "app.css")
        .and(warp::get())
        .map(|| asset(APP_CSS, "text/css; charset=utf-8"));
    let overview = warp::path!("_admin" / "api" / "overview")
        .and(warp::get())
        .and(admin.clone())
        .map(guarded(|state| json_reply(&overview(state))));
    let rooms = warp::path!("_admin" / "api" / "rooms")
        .and(warp::get())
        .and(admin.clone())
        .map(guarded(|state| json_reply(&rooms(state))));
    let connections = warp::path!("_admin" / "api" / "connections")
        .and(warp::get())
        .and(admin.clone())
        .map(guarded(|state| json_reply(&connections(state))));
    let limit = state.config.max_frame_bytes as u64;
    let playground = warp::path!("_admin" / "api" / "filter")
        .and(warp::post())
        .and(admin)
        .and(warp::body::content_length_limit(limit))
        .and(warp::body::bytes())
        .map(
            |state: Option<Arc<State>>, body: bytes::Bytes| match state {
                Some(state) => json_reply(&playground(&state, &body)),
                None => refused(),
            },
        );
    metrics
        .or(page)
        .unify()
        .or(js)
        .unify()
        .or(css)
        .unify()
        .or(overview)
        .unify()
        .or(rooms)
        .unify()
        .or(connections)
        .unify()
        .or(playground)
        .unify()
}

fn json_reply(value: &Value) -> warp::reply::Response {
    warp::reply::with_header(warp::reply::json(value), header::CACHE_CONTROL, "no-store")
        .into_response()
}

fn overview(state: &State) -> Value {
    let snapshot = snapshot(state);
    let metrics = state.hub.metrics();
    json!({
        "node": state.hub.config().node,
        "version": env!("CARGO_PKG_VERSION"),
        "uptimeSeconds": metrics.uptime().as_secs(),
        "connections": {
            "websocket": snapshot.websocket_connections,
            "http": snapshot.http_connections,
        },
        "rooms": snapshot.rooms,
        "subscriptions": snapshot.subscriptions,
        "notificationsDelivered": snapshot.delivered,
        "notificationsDropped": snapshot.dropped,
        "slowClientsClosed": snapshot.slow_clients_closed,
        "queuedFrames": snapshot.queued_frames,
        "documentsMatched": metrics.matched(),
        "errors": metrics.errors(),
        "residentBytes": snapshot.resident_bytes,
    })
}

fn rooms(state: &State) -> Value {
    let rooms = state.hub.rooms().read();
    let total = rooms.rooms().count();
    let list: Vec<Value> = rooms
        .rooms()
        .take(LIST_LIMIT)
        .map(|room| {
            json!({
                "id": room.name().as_ref(),
                "index": room.collection().index.as_ref(),
                "collection": room.collection().collection.as_ref(),
                "canonical": room.canonical().to_canonical_string(),
                "subscribers": room.count(),
                "channels": room.channels().len(),
                "restricted": room.restriction().is_some(),
            })
        })
        .collect();
    json!({"total": total, "rooms": list})
}

fn connections(state: &State) -> Value {
    let depths: HashMap<_, _> = state.queues.depths().into_iter().collect();
    let rooms = state.hub.rooms().read();
    let total = rooms.connections().count();
    let list: Vec<Value> = rooms
        .connections()
        .take(LIST_LIMIT)
        .map(|(connection, user, subscriptions)| {
            json!({
                "id": connection.get(),
                "user": user.map_or("-1", |u| u.as_str()),
                "transport": "websocket",
                "subscriptions": subscriptions,
                "queue": depths.get(&connection).copied().unwrap_or(0),
            })
        })
        .collect();
    json!({"total": total, "connections": list})
}

/// The playground: `{"index", "collection", "filter": "<JSON text>", "document": "<JSON text>"}`
/// (texts, so that JSON syntax errors are reported like filter errors).
fn playground(state: &State, body: &[u8]) -> Value {
    let request: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let text = |key: &str| request.get(key).and_then(Value::as_str).unwrap_or("");
    let (index, collection) = (text("index"), text("collection"));
    let filter: Value = match serde_json::from_str(text("filter")) {
        Ok(filter) => filter,
        Err(e) => {
            return json!({"valid": false, "error": {"path": "", "message": format!("invalid JSON: {e}")}})
        }
    };
    let normalized = match herald_filters::normalize(&filter, &state.hub.config().filters) {
        Ok(normalized) => normalized,
        Err(e) => return json!({"valid": false, "error": {"path": e.path, "message": e.message}}),
    };
    let room = RoomId::derive(
        &CollectionName::new(index, collection),
        &normalized.canonical,
    );
    let mut answer = json!({
        "valid": true,
        "canonical": normalized.canonical.to_canonical_string(),
        "filterId": normalized.id.to_hex(),
        "roomId": room.to_hex(),
        "subfilters": normalized.canonical.subfilters().len(),
    });
    let document = text("document");
    if document.trim().is_empty() {
        return answer;
    }
    match serde_json::from_str::<Value>(document) {
        Err(e) => answer["document"] = json!({"error": format!("invalid JSON: {e}")}),
        Ok(document) => {
            let flat = Flat::new(&document);
            let subfilters: Vec<Value> = normalized
                .canonical
                .subfilters()
                .iter()
                .enumerate()
                .map(|(i, sub)| {
                    let literals: Vec<Value> = sub
                        .literals()
                        .iter()
                        .map(|l| json!({"literal": l.key(), "holds": eval::literal(l, &flat)}))
                        .collect();
                    let matches = sub.literals().iter().all(|l| eval::literal(l, &flat));
                    json!({"index": i, "matches": matches, "literals": literals})
                })
                .collect();
            answer["document"] = json!({
                "matches": eval::eval(&normalized.standardized, &document),
                "subfilters": subfilters,
            });
        }
    }
    answer
}

/// Logs where the dashboard and the metrics are.
pub(crate) fn announce(address: std::net::SocketAddr) {
    let host = if address.ip().is_unspecified() {
        "localhost".to_owned()
    } else {
        match address {
            std::net::SocketAddr::V6(a) => format!("[{}]", a.ip()),
            std::net::SocketAddr::V4(a) => a.ip().to_string(),
        }
    };
    let base = format!("http://{host}:{}", address.port());
    tracing::info!(
        dashboard = %format!("{base}/_admin"),
        metrics = %format!("{base}/metrics"),
        "admin dashboard and Prometheus metrics (admin right required)"
    );
}
