//! The WebSocket opening handshake (RFC 6455 section 4.2), answered before warp sees the
//! request.
//!
//! Why not warp's `ws()` filter: it builds tungstenite with its default configuration, which
//! eagerly allocates a 128 KiB read buffer per socket and zeroes it before every read. With
//! thousands of mostly idle subscribers that is both the memory and most of the CPU of the
//! server. Doing the upgrade here lets [`super::connection`] size the buffers itself
//! ([`super::connection::socket_config`]) and drive the socket without warp's wrapper.
//!
//! Any path upgrades (Kuzzle's SDK connects to `/`, others to `/ws`); the first requested
//! subprotocol is echoed, because browsers and undici (Node >= 22) fail the handshake
//! otherwise and the SDK's native-WebSocket path asks for `"null"`.

use std::net::SocketAddr;
use std::sync::Arc;

use http::header::{self, HeaderMap, HeaderValue};
use http::{Method, Request, StatusCode};
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;

use super::limits::Permit;
use super::{connection, State};

/// An HTTP response as warp builds them (so both kinds share hyper's service type).
type Reply = warp::reply::Response;

/// Whether a request asks for a WebSocket upgrade (`Upgrade: websocket`). Such a request is
/// answered here, with 101 or with the reason it cannot be upgraded, never by the HTTP API.
pub(crate) fn is_upgrade<B>(request: &Request<B>) -> bool {
    request
        .headers()
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|p| p.trim().eq_ignore_ascii_case("websocket"))
        })
}

/// Answers an upgrade request. On success the connection task starts once hyper hands the
/// socket over (after the 101 response is written).
/// `permit` counts the connection against the connection limits for as long as it lives.
pub(crate) fn accept<B>(
    mut request: Request<B>,
    state: &Arc<State>,
    peer: SocketAddr,
    permit: Arc<Permit>,
) -> Reply {
    let key = match check(&request) {
        Ok(key) => key,
        Err((status, reason)) => return refuse(status, reason),
    };
    let upgrade = hyper::upgrade::on(&mut request);
    let task_state = Arc::clone(state);
    state.tasks.spawn(async move {
        match upgrade.await {
            Ok(upgraded) => {
                connection::serve(upgraded, task_state, peer).await;
                drop(permit);
            }
            Err(e) => tracing::debug!(%peer, error = %e, "websocket upgrade failed"),
        }
    });
    let mut response = Reply::new(Default::default());
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = response.headers_mut();
    headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    if let Ok(accept) = HeaderValue::from_str(&derive_accept_key(key.as_bytes())) {
        headers.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
    }
    if let Some(protocol) = first_subprotocol(request.headers()) {
        headers.insert(header::SEC_WEBSOCKET_PROTOCOL, protocol);
    }
    response
}

/// The client's key if the request is a valid opening handshake, or the refusal to send.
fn check<B>(request: &Request<B>) -> Result<HeaderValue, (StatusCode, &'static str)> {
    let headers = request.headers();
    if request.method() != Method::GET {
        return Err((
            StatusCode::METHOD_NOT_ALLOWED,
            "a WebSocket upgrade must be a GET request",
        ));
    }
    let connection_upgrade = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case("upgrade"));
    if !connection_upgrade {
        return Err((
            StatusCode::BAD_REQUEST,
            "a WebSocket upgrade needs `Connection: upgrade`",
        ));
    }
    if headers
        .get(header::SEC_WEBSOCKET_VERSION)
        .map(HeaderValue::as_bytes)
        != Some(b"13")
    {
        return Err((
            StatusCode::UPGRADE_REQUIRED,
            "unsupported WebSocket version: only 13 is supported",
        ));
    }
    match headers.get(header::SEC_WEBSOCKET_KEY) {
        Some(key) if !key.is_empty() => Ok(key.clone()),
        _ => Err((
            StatusCode::BAD_REQUEST,
            "a WebSocket upgrade needs a `Sec-WebSocket-Key` header",
        )),
    }
}

fn refuse(status: StatusCode, reason: &'static str) -> Reply {
    let mut response = Reply::new(reason.into());
    *response.status_mut() = status;
    if status == StatusCode::UPGRADE_REQUIRED {
        // RFC 6455 4.4: name the versions this server speaks.
        response.headers_mut().insert(
            header::SEC_WEBSOCKET_VERSION,
            HeaderValue::from_static("13"),
        );
    }
    response
}

fn first_subprotocol(headers: &HeaderMap) -> Option<HeaderValue> {
    headers
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .find(|p| !p.is_empty())
        .and_then(|p| HeaderValue::from_str(p).ok())
}
