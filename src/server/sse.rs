//! Server-Sent Events: `GET /_sse`, a second front end of the same connection model as
//! WebSocket.
//!
//! An SSE request is a connection of the engine like a WebSocket: it gets a connection id,
//! an identity (the token of `Authorization: Bearer`, of the `jwt` query parameter, or of the
//! `authToken` cookie), subscriptions made through [`protocol::dispatch`] (so the same rights,
//! restrictions and subscription limits apply), and a bounded queue opened with
//! [`crate::delivery::Queues::open`]. A task per stream ([`drive`]) turns the queued frames
//! into events and hands them to the response body through a small channel; a client that
//! does not read fills the queue and is cut off exactly like a slow WebSocket client (its
//! TCP connection is dropped), and so is a write blocked for the write timeout.
//!
//! What a request subscribes to (query string): `index`, `collection` and `filter` (JSON,
//! default `{}`), with `scope`/`users`; or one or more existing rooms (`room=<id>`, repeated).
//! `index=%herald&collection=events` listens to the events sent to the user.
//!
//! Each notification is an event: `event:` its type (`document`, `publish`, `user`, `event`,
//! `notification`, `TokenExpired`), `data:` the notification frame as over WebSocket, and
//! `id:` the positions of the subscriptions (`<position>`, comma-separated when there are
//! several rooms), which the browser sends back as `Last-Event-ID` when it reconnects (the
//! `lastEventId` query parameter does the same for a first connection). The first event,
//! `subscribed`, carries the answer of each subscription: `recovered: false` means the
//! position could not be resumed and nothing was replayed (the client reloads). Comments
//! (`: heartbeat`) keep proxies from closing an idle stream; `retry:` tells the browser how
//! soon to reconnect.

use std::collections::HashMap;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use futures_util::Stream;
use serde::Deserialize;
use serde_json::{Map, Value};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use warp::http::{header, HeaderValue, Method, StatusCode};
use warp::{Filter, Rejection, Reply};

use super::State;
use crate::delivery::{ConnectionId, Frame, Inbox};
use crate::history::Position;
use crate::notify::now_ms;
use crate::protocol::{self, Context, KuzzleError, Request};

/// Server-Sent Events settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SseConfig {
    /// Time between two heartbeat comments on an idle stream.
    pub heartbeat: Duration,
    /// The reconnection delay suggested to clients (`retry:`).
    pub retry: Duration,
    /// Origins whose pages may read streams with their cookies (`withCredentials`). Empty:
    /// every origin may read streams authenticated otherwise (`Access-Control-Allow-Origin:
    /// *`), and the cookie is not honoured for cross-origin pages by browsers.
    pub cors_origins: Vec<String>,
}

impl Default for SseConfig {
    fn default() -> SseConfig {
        SseConfig {
            heartbeat: Duration::from_secs(15),
            retry: Duration::from_secs(2),
            cors_origins: Vec::new(),
        }
    }
}

/// The cookie read for a token (Kuzzle's cookie authentication uses this name).
const COOKIE: &str = "authToken";
/// Body chunks waiting for the client at most (each holds up to [`BATCH`] events).
const BODY_CHUNKS: usize = 4;
/// Frames turned into one body chunk at most.
const BATCH: usize = 64;

/// The request headers an SSE stream reads.
struct Headers {
    authorization: Option<String>,
    last_event_id: Option<String>,
    cookie: Option<String>,
    origin: Option<String>,
}

/// `GET /_sse` and its CORS preflight; `abort` drops the TCP connection (a client too slow).
pub(crate) fn routes(
    state: Arc<State>,
    abort: CancellationToken,
) -> impl Filter<Extract = (warp::reply::Response,), Error = Rejection> + Clone + Send + Sync + 'static
{
    let headers = warp::header::optional::<String>("authorization")
        .and(warp::header::optional::<String>("last-event-id"))
        .and(warp::header::optional::<String>("cookie"))
        .and(warp::header::optional::<String>("origin"))
        .map(|authorization, last_event_id, cookie, origin| Headers {
            authorization,
            last_event_id,
            cookie,
            origin,
        });
    warp::path!("_sse")
        .and(warp::method())
        .and(
            warp::query::<Vec<(String, String)>>()
                .or(warp::any().map(Vec::new))
                .unify(),
        )
        .and(headers)
        .and_then(
            move |method: Method, query: Vec<(String, String)>, headers: Headers| {
                let state = Arc::clone(&state);
                let abort = abort.clone();
                async move {
                    let origin = headers.origin.clone();
                    let mut reply = match method {
                        Method::GET => open(&state, &query, headers, abort),
                        Method::OPTIONS => preflight(),
                        _ => return Err(warp::reject::not_found()),
                    };
                    cors(&state.config.sse, origin.as_deref(), reply.headers_mut());
                    Ok::<_, Rejection>(reply)
                }
            },
        )
}

/// Answers a CORS preflight (a `fetch`-based client sending `Authorization`).
fn preflight() -> warp::reply::Response {
    let mut reply = StatusCode::NO_CONTENT.into_response();
    let headers = reply.headers_mut();
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("Authorization, Last-Event-ID"),
    );
    headers.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("600"),
    );
    reply
}

/// CORS headers: any origin without credentials, or a listed origin with them.
fn cors(config: &SseConfig, origin: Option<&str>, headers: &mut header::HeaderMap) {
    let Some(origin) = origin else {
        return;
    };
    if config.cors_origins.is_empty() {
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        );
    } else if config.cors_origins.iter().any(|o| o == origin) {
        if let Ok(value) = HeaderValue::from_str(origin) {
            headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
        }
    }
    headers.insert(header::VARY, HeaderValue::from_static("Origin"));
}

/// What one SSE request subscribes to.
struct Plan {
    requests: Vec<Request>,
    /// Where each subscription resumes from (`Last-Event-ID` or `lastEventId`).
    resume: Vec<Option<Position>>,
}

fn error_reply(status: u16, error: &KuzzleError) -> warp::reply::Response {
    let body = serde_json::json!({"status": status, "error": error.to_json(), "result": null});
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    warp::reply::with_status(warp::reply::json(&body), status).into_response()
}

/// The token: `Authorization: Bearer`, else `jwt=`, else the `authToken` cookie.
fn token(query: &[(String, String)], headers: &Headers) -> Option<String> {
    let bearer = headers.authorization.as_deref().and_then(|h| {
        h.strip_prefix("Bearer ")
            .or_else(|| h.strip_prefix("bearer "))
    });
    let from_query = || {
        query
            .iter()
            .find(|(k, _)| k == "jwt")
            .map(|(_, v)| v.as_str())
    };
    let from_cookie = || {
        headers.cookie.as_deref().and_then(|cookies| {
            cookies.split(';').find_map(|c| {
                let (name, value) = c.trim().split_once('=')?;
                (name == COOKIE).then_some(value)
            })
        })
    };
    bearer
        .or_else(from_query)
        .or_else(from_cookie)
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
}

/// The subscribe or join requests of a query string, checked.
fn plan(query: &[(String, String)], headers: &Headers) -> Result<Plan, KuzzleError> {
    let get = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let rooms: Vec<&str> = query
        .iter()
        .filter(|(k, _)| k == "room")
        .map(|(_, v)| v.as_str())
        .collect();
    let mut common = Map::new();
    common.insert("controller".into(), "realtime".into());
    for name in ["scope", "users"] {
        if let Some(value) = get(name) {
            common.insert(name.into(), value.into());
        }
    }
    if let Some(token) = token(query, headers) {
        common.insert("jwt".into(), token.into());
    }
    let mut bodies = Vec::new();
    if rooms.is_empty() {
        let (Some(index), Some(collection)) = (get("index"), get("collection")) else {
            return Err(KuzzleError::missing_argument(
                "index and collection, or room",
            ));
        };
        let filter: Value = match get("filter") {
            None => Value::Object(Map::new()),
            Some(json) => serde_json::from_str(json).map_err(|e| {
                KuzzleError::invalid_argument("filter", &format!("a JSON object ({e})"))
            })?,
        };
        if !filter.is_object() {
            return Err(KuzzleError::invalid_type("filter", "object"));
        }
        let mut args = common.clone();
        args.insert("action".into(), "subscribe".into());
        args.insert("index".into(), index.into());
        args.insert("collection".into(), collection.into());
        args.insert("body".into(), filter);
        bodies.push(args);
    } else {
        for room in rooms {
            let mut args = common.clone();
            args.insert("action".into(), "join".into());
            args.insert("body".into(), serde_json::json!({ "roomId": room }));
            bodies.push(args);
        }
    }
    // The header (a reconnection) wins over the query parameter (a first connection).
    let (name, last) = match (&headers.last_event_id, get("lastEventId")) {
        (Some(header), _) => ("Last-Event-ID", Some(header.as_str())),
        (None, query) => ("lastEventId", query),
    };
    let mut resume = vec![None; bodies.len()];
    if let Some(last) = last.filter(|l| !l.is_empty()) {
        let positions: Vec<&str> = last.split(',').collect();
        if positions.len() != bodies.len() {
            return Err(KuzzleError::invalid_argument(
                name,
                &format!("{} comma-separated positions", bodies.len()),
            ));
        }
        for (slot, text) in resume.iter_mut().zip(positions) {
            // An empty slot: that subscription had no position yet.
            if !text.is_empty() {
                let position: Position = text.parse().map_err(|e| {
                    KuzzleError::invalid_argument(name, &format!("positions ({e})"))
                })?;
                *slot = Some(position);
            }
        }
    }
    let now = now_ms();
    let requests = bodies
        .into_iter()
        .zip(&resume)
        .map(|(mut args, from)| {
            if let Some(from) = from {
                args.insert("resumeFrom".into(), from.to_string().into());
            }
            protocol::from_object(args, now).map_err(|refused| refused.error)
        })
        .collect::<Result<Vec<Request>, KuzzleError>>()?;
    Ok(Plan { requests, resume })
}

/// Subscribes, then answers with the stream (or with the error, the connection dropped).
fn open(
    state: &Arc<State>,
    query: &[(String, String)],
    headers: Headers,
    abort: CancellationToken,
) -> warp::reply::Response {
    let plan = match plan(query, &headers) {
        Ok(plan) => plan,
        Err(e) => return error_reply(e.status, &e),
    };
    let hub = &state.hub;
    let connection = hub.connect(None);
    let inbox = state.queues.open(connection);
    let ctx = Context {
        hub,
        connection: Some(connection),
        protocol: "sse",
    };
    let mut answers = Vec::new();
    for request in &plan.requests {
        let started = std::time::Instant::now();
        let outcome = super::blocking(|| protocol::dispatch(&ctx, request));
        let status = outcome.as_ref().map_or_else(|e| e.status, |_| 200);
        hub.metrics().request(
            &request.controller,
            &request.action,
            status,
            started.elapsed(),
        );
        match outcome {
            Ok(answer) => answers.push(answer),
            Err(e) => {
                hub.disconnect(connection);
                return error_reply(e.status, &e);
            }
        }
    }
    let stream = Subscriptions::new(&answers, &plan.resume);
    let mut head = BytesMut::new();
    head.put_slice(format!("retry: {}\n\n", state.config.sse.retry.as_millis()).as_bytes());
    for answer in &answers {
        let data = answer.to_string();
        stream.event(&mut head, "subscribed", data.as_bytes(), true);
    }
    let (body, chunks) = mpsc::channel::<Bytes>(BODY_CHUNKS);
    // Room for the first chunk: the channel is new.
    let _ = body.try_send(head.freeze());
    let driver = Driver {
        state: Arc::clone(state),
        connection,
        inbox,
        body,
        stream,
        abort,
    };
    state.tasks.spawn(driver.run());
    tracing::debug!(%connection, "sse stream open");
    let mut reply = warp::reply::stream(Body(chunks)).into_response();
    let headers = reply.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    reply
}

/// The response body: the chunks the driver sends.
struct Body(mpsc::Receiver<Bytes>);

impl Stream for Body {
    type Item = Result<Bytes, Infallible>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Option<Self::Item>> {
        self.0.poll_recv(cx).map(|chunk| chunk.map(Ok))
    }
}

/// The positions of a stream's subscriptions, which make the events' `id:`.
struct Subscriptions {
    /// Channel name -> subscription number.
    channels: HashMap<String, usize>,
    positions: Vec<Option<Position>>,
    /// Each subscription's position when it joined, reached once the replay is written.
    joined: Vec<Option<Position>>,
}

impl Subscriptions {
    fn new(answers: &[Value], resume: &[Option<Position>]) -> Subscriptions {
        let position = |answer: &Value| {
            answer
                .get("position")
                .and_then(Value::as_str)
                .and_then(|p| p.parse::<Position>().ok())
        };
        let mut channels = HashMap::new();
        let mut positions = Vec::new();
        let mut joined = Vec::new();
        for (i, answer) in answers.iter().enumerate() {
            if let Some(channel) = answer.get("channel").and_then(Value::as_str) {
                channels.insert(channel.to_owned(), i);
            }
            let recovered = answer.get("recovered").and_then(Value::as_bool) == Some(true);
            // Recovered: the replay follows, from where the client was.
            let from = resume.get(i).copied().flatten().filter(|_| recovered);
            positions.push(from.or_else(|| position(answer)));
            joined.push(position(answer));
        }
        Subscriptions {
            channels,
            positions,
            joined,
        }
    }

    /// The replay is written: every subscription is at least where it joined.
    fn replayed(&mut self) {
        for (now, joined) in self.positions.iter_mut().zip(&self.joined) {
            if let (Some(p), Some(j)) = (now.as_ref(), joined) {
                if p.epoch == j.epoch && p.offset < j.offset {
                    *now = Some(*j);
                }
            }
        }
    }

    fn id(&self) -> Option<String> {
        if self.positions.iter().all(Option::is_none) {
            return None;
        }
        let parts: Vec<String> = self
            .positions
            .iter()
            .map(|p| p.map(|p| p.to_string()).unwrap_or_default())
            .collect();
        Some(parts.join(","))
    }

    /// Appends one event; `with_id` sets `id:` to the current positions.
    fn event(&self, out: &mut BytesMut, name: &str, data: &[u8], with_id: bool) {
        if let Some(id) = with_id.then(|| self.id()).flatten() {
            out.put_slice(b"id: ");
            out.put_slice(id.as_bytes());
            out.put_u8(b'\n');
        }
        out.put_slice(b"event: ");
        out.put_slice(name.as_bytes());
        out.put_u8(b'\n');
        // Frames are compact JSON (no raw newline); split all the same, as the format wants.
        for line in data.split(|&b| b == b'\n') {
            out.put_slice(b"data: ");
            out.put_slice(line);
            out.put_u8(b'\n');
        }
        out.put_u8(b'\n');
    }

    /// Appends the event of one notification frame; returns whether the stream must end
    /// after it (the token expired: the subscriptions are gone).
    fn frame(&mut self, out: &mut BytesMut, frame: &Frame) -> bool {
        #[derive(Deserialize)]
        struct Fields<'a> {
            #[serde(rename = "type", borrow, default)]
            kind: Option<&'a str>,
            #[serde(borrow, default)]
            action: Option<&'a str>,
            #[serde(borrow, default)]
            room: Option<&'a str>,
            #[serde(borrow, default)]
            position: Option<&'a str>,
        }
        let fields: Fields<'_> = serde_json::from_slice(frame).unwrap_or(Fields {
            kind: None,
            action: None,
            room: None,
            position: None,
        });
        let mut with_id = false;
        if let (Some(room), Some(position)) = (fields.room, fields.position) {
            if let (Some(&i), Ok(position)) = (self.channels.get(room), position.parse()) {
                self.positions[i] = Some(position);
                with_id = true;
            }
        }
        let name = match (fields.kind, fields.action) {
            (Some("document"), Some("publish")) => "publish",
            (Some(kind), _) => kind,
            (None, _) => "message",
        };
        self.event(out, name, frame, with_id);
        name == "TokenExpired"
    }
}

/// The task of one stream: from the connection's queue to the response body.
struct Driver {
    state: Arc<State>,
    connection: ConnectionId,
    inbox: Inbox,
    body: mpsc::Sender<Bytes>,
    stream: Subscriptions,
    abort: CancellationToken,
}

/// How a stream ended.
enum End {
    /// The client left, the token expired, or the server is shutting down: the response ends.
    Done,
    /// The client does not keep up: its TCP connection is dropped.
    TooSlow,
}

impl Driver {
    async fn run(mut self) {
        let end = self.serve().await;
        self.state.hub.disconnect(self.connection);
        match end {
            End::Done => tracing::debug!(connection = %self.connection, "sse stream closed"),
            End::TooSlow => {
                tracing::info!(connection = %self.connection, "sse stream closed: client is too slow");
                self.abort.cancel();
            }
        }
    }

    async fn serve(&mut self) -> End {
        // The replay was queued while subscribing: it goes first.
        let mut chunk = BytesMut::new();
        let mut ended = false;
        while let Some(frame) = self.inbox.try_recv() {
            ended |= self.stream.frame(&mut chunk, &frame);
        }
        self.stream.replayed();
        if !chunk.is_empty() {
            if let Some(end) = self.send(chunk.split().freeze()).await {
                return end;
            }
        }
        if ended {
            return End::Done;
        }
        let config = &self.state.config;
        let heartbeat = config.sse.heartbeat;
        let shutdown = self.state.shutdown.clone();
        loop {
            let frame = tokio::select! {
                biased;
                () = shutdown.cancelled() => return End::Done,
                () = self.body.closed() => return End::Done,
                frame = self.inbox.recv() => frame,
                () = tokio::time::sleep(heartbeat) => {
                    // A client whose body is full gets no heartbeat: it is not reading.
                    let _ = self.body.try_send(Bytes::from_static(b": heartbeat\n\n"));
                    continue;
                }
            };
            let Some(frame) = frame else {
                return if self.inbox.is_too_slow() {
                    End::TooSlow
                } else {
                    End::Done
                };
            };
            let mut ended = self.stream.frame(&mut chunk, &frame);
            for _ in 1..BATCH {
                match self.inbox.try_recv() {
                    Some(frame) => ended |= self.stream.frame(&mut chunk, &frame),
                    None => break,
                }
            }
            if self.inbox.is_too_slow() {
                return End::TooSlow;
            }
            if let Some(end) = self.send(chunk.split().freeze()).await {
                return end;
            }
            if ended {
                return End::Done;
            }
        }
    }

    /// Hands a chunk to the body; gives up when the queue overflows meanwhile or the write
    /// timeout passes (the client is too slow), or when the client left.
    async fn send(&self, chunk: Bytes) -> Option<End> {
        let inbox = &self.inbox;
        let overflow = async {
            while !inbox.is_too_slow() {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        };
        tokio::select! {
            sent = self.body.send(chunk) => sent.err().map(|_| End::Done),
            () = overflow => Some(End::TooSlow),
            () = tokio::time::sleep(self.state.config.write_timeout) => Some(End::TooSlow),
        }
    }
}
