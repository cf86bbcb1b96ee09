//! Server-Sent Events over real sockets (`GET /_sse`, docs/realtime.md): the stream's
//! headers, events and ids, heartbeats, resuming with `Last-Event-ID`, a failed resume said
//! in-band, authentication, errors, events to users, and a client that does not read cut off
//! like a slow WebSocket client. The browser side (a real `EventSource`) is in tests/sdk.

mod identity_support;
mod server_support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use herald::history::{HistoryConfig, MemoryHistory};
use herald::identity::{AuthConfig, Rights, VerifyKey};
use herald::notify::HubConfig;
use herald::server::{Config, SseConfig};
use identity_support::{all_rights, token, SECRET};
use serde_json::{json, Value};
use server_support::{http_with, Server, WAIT};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn config() -> Config {
    Config {
        history: Some(Arc::new(MemoryHistory::new(HistoryConfig {
            size: 100,
            bytes: 1 << 20,
            ttl: Duration::from_secs(60),
        }))),
        sse: SseConfig {
            heartbeat: Duration::from_millis(150),
            retry: Duration::from_millis(500),
            cors_origins: Vec::new(),
        },
        hub: HubConfig {
            auth: AuthConfig {
                keys: vec![VerifyKey::hmac(SECRET)],
                anonymous: Some(Rights::all()),
                ..AuthConfig::default()
            },
            ..HubConfig::default()
        },
        ..Config::default()
    }
}

/// One event of a stream (or a comment, with `comment` set).
#[derive(Debug, Default, Clone)]
struct Event {
    id: Option<String>,
    event: Option<String>,
    data: String,
    retry: Option<u64>,
    comment: Option<String>,
}

impl Event {
    fn json(&self) -> Value {
        serde_json::from_str(&self.data).expect("json data")
    }
}

/// A raw SSE client: HTTP/1.0, so the body is the bare event stream.
struct Sse {
    stream: TcpStream,
    head: String,
    buffer: String,
}

impl Sse {
    async fn open(addr: SocketAddr, query: &str, headers: &str) -> Sse {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        let request = format!("GET /_sse?{query} HTTP/1.0\r\nHost: herald\r\n{headers}\r\n");
        stream.write_all(request.as_bytes()).await.expect("write");
        let mut sse = Sse {
            stream,
            head: String::new(),
            buffer: String::new(),
        };
        while !sse.buffer.contains("\r\n\r\n") {
            sse.fill().await;
        }
        let (head, rest) = sse.buffer.split_once("\r\n\r\n").expect("head");
        let (head, rest) = (head.to_owned(), rest.to_owned());
        sse.head = head;
        sse.buffer = rest;
        sse
    }

    fn status(&self) -> u16 {
        self.head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .expect("status")
    }

    fn header(&self, name: &str) -> Option<String> {
        self.head.lines().find_map(|line| {
            let (k, v) = line.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
        })
    }

    async fn fill(&mut self) {
        let mut chunk = [0u8; 16384];
        let n = tokio::time::timeout(WAIT, self.stream.read(&mut chunk))
            .await
            .expect("data in time")
            .expect("read");
        assert!(n > 0, "stream ended");
        self.buffer
            .push_str(std::str::from_utf8(&chunk[..n]).expect("utf-8"));
    }

    /// The next event or comment.
    async fn next_any(&mut self) -> Event {
        loop {
            if let Some((block, rest)) = self.buffer.split_once("\n\n") {
                let (block, rest) = (block.to_owned(), rest.to_owned());
                self.buffer = rest;
                let mut event = Event::default();
                let mut data = Vec::new();
                for line in block.lines() {
                    if let Some(comment) = line.strip_prefix(':') {
                        event.comment = Some(comment.trim().to_owned());
                    } else if let Some((field, value)) = line.split_once(": ") {
                        match field {
                            "id" => event.id = Some(value.to_owned()),
                            "event" => event.event = Some(value.to_owned()),
                            "data" => data.push(value.to_owned()),
                            "retry" => event.retry = value.parse().ok(),
                            other => panic!("unknown field {other}"),
                        }
                    }
                }
                event.data = data.join("\n");
                return event;
            }
            self.fill().await;
        }
    }

    /// The next event, skipping comments and `retry:`.
    async fn next(&mut self) -> Event {
        loop {
            let event = self.next_any().await;
            if event.event.is_some() {
                return event;
            }
        }
    }

    /// The body of an error answer.
    async fn error(mut self) -> Value {
        let mut rest = Vec::new();
        let _ = tokio::time::timeout(WAIT, self.stream.read_to_end(&mut rest)).await;
        self.buffer.push_str(&String::from_utf8_lossy(&rest));
        serde_json::from_str(&self.buffer).expect("json error body")
    }
}

fn create(id: &str) -> Value {
    json!({"controller":"document","action":"create","index":"shop","collection":"orders",
        "_id": id, "body": {"n": id}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_has_its_headers_events_ids_and_heartbeats() {
    let server = Server::start_with(config()).await;
    let mut sse = Sse::open(
        server.addr,
        "index=shop&collection=orders&filter=%7B%7D",
        "Origin: https://app.example\r\n",
    )
    .await;
    assert_eq!(sse.status(), 200, "{}", sse.head);
    assert_eq!(
        sse.header("content-type").as_deref(),
        Some("text/event-stream")
    );
    assert_eq!(sse.header("cache-control").as_deref(), Some("no-cache"));
    assert_eq!(sse.header("x-accel-buffering").as_deref(), Some("no"));
    assert_eq!(
        sse.header("access-control-allow-origin").as_deref(),
        Some("*")
    );
    let retry = sse.next_any().await;
    assert_eq!(retry.retry, Some(500));
    let subscribed = sse.next().await;
    assert_eq!(subscribed.event.as_deref(), Some("subscribed"));
    let answer = subscribed.json();
    assert!(answer["roomId"].is_string(), "{answer}");
    assert_eq!(subscribed.id.as_deref(), answer["position"].as_str());
    let mut writer = server.client().await;
    writer.ok(create("d1")).await;
    writer
        .ok(
            json!({"controller":"realtime","action":"publish","index":"shop",
            "collection":"orders","body":{"hello":1}}),
        )
        .await;
    let document = sse.next().await;
    assert_eq!(document.event.as_deref(), Some("document"));
    let frame = document.json();
    assert_eq!(frame["result"]["_id"], "d1");
    assert_eq!(document.id.as_deref(), frame["position"].as_str());
    let publish = sse.next().await;
    assert_eq!(publish.event.as_deref(), Some("publish"));
    assert_eq!(publish.json()["result"]["_source"]["hello"], 1);
    // Idle: heartbeat comments.
    let heartbeat = sse.next_any().await;
    assert_eq!(heartbeat.comment.as_deref(), Some("heartbeat"));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn last_event_id_resumes_and_a_failed_resume_is_said_in_band() {
    let server = Server::start_with(config()).await;
    let query = "index=shop&collection=orders";
    let mut sse = Sse::open(server.addr, query, "").await;
    sse.next().await;
    let mut writer = server.client().await;
    writer.ok(create("d1")).await;
    let seen = sse.next().await.id.expect("id");
    drop(sse);
    writer.ok(create("d2")).await;
    writer.ok(create("d3")).await;
    let mut back = Sse::open(server.addr, query, &format!("Last-Event-ID: {seen}\r\n")).await;
    let subscribed = back.next().await.json();
    assert_eq!(
        (
            subscribed["recovered"].clone(),
            subscribed["replayed"].clone()
        ),
        (json!(true), json!(2))
    );
    let mut ids = Vec::new();
    for expected in ["d2", "d3"] {
        let event = back.next().await;
        assert_eq!(event.json()["result"]["_id"], expected);
        ids.push(event.id.expect("id"));
    }
    writer.ok(create("d4")).await;
    let live = back.next().await;
    assert_eq!(live.json()["result"]["_id"], "d4");
    assert_ne!(ids[0], ids[1]);
    // The query parameter does the same for a first connection.
    let mut first = Sse::open(server.addr, &format!("{query}&lastEventId={}", ids[1]), "").await;
    assert_eq!(first.next().await.json()["replayed"], 1);
    assert_eq!(first.next().await.json()["result"]["_id"], "d4");
    // A position from elsewhere: the stream opens, says it did not recover, replays nothing.
    let (epoch, _) = seen.split_once(':').expect("position");
    let other = format!(
        "{}{}:1",
        if epoch.starts_with('f') { "0" } else { "f" },
        &epoch[1..]
    );
    let mut lost = Sse::open(server.addr, query, &format!("Last-Event-ID: {other}\r\n")).await;
    let subscribed = lost.next().await.json();
    assert_eq!(subscribed["recovered"], false, "{subscribed}");
    writer.ok(create("d5")).await;
    assert_eq!(lost.next().await.json()["result"]["_id"], "d5");
    // A malformed one is refused with the reason.
    let bad = Sse::open(server.addr, query, "Last-Event-ID: yesterday\r\n").await;
    assert_eq!(bad.status(), 400);
    let error = bad.error().await;
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("Last-Event-ID"),
        "{error}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_are_authenticated_and_bad_requests_are_refused_clearly() {
    let mut config = config();
    config.hub.auth.anonymous = None;
    let server = Server::start_with(config).await;
    let refused = Sse::open(server.addr, "index=shop&collection=orders", "").await;
    assert_eq!(refused.status(), 401);
    assert_eq!(
        refused.error().await["error"]["id"],
        "security.rights.unauthorized"
    );
    let jwt = token("u1", all_rights());
    for (query, headers) in [
        (
            format!("index=shop&collection=orders&jwt={jwt}"),
            String::new(),
        ),
        (
            "index=shop&collection=orders".to_owned(),
            format!("Authorization: Bearer {jwt}\r\n"),
        ),
        (
            "index=shop&collection=orders".to_owned(),
            format!("Cookie: a=b; authToken={jwt}\r\n"),
        ),
    ] {
        let mut sse = Sse::open(server.addr, &query, &headers).await;
        assert_eq!(sse.status(), 200, "{headers}");
        assert_eq!(sse.next().await.event.as_deref(), Some("subscribed"));
    }
    let bearer = format!("Authorization: Bearer {jwt}\r\n");
    for (query, id) in [
        ("index=shop", "api.assert.missing_argument"),
        (
            "index=shop&collection=orders&filter=%7Bnope",
            "api.assert.invalid_argument",
        ),
        (
            "index=shop&collection=orders&filter=%7B%22nope%22%3A1%7D",
            "api.assert.koncorde_dsl_error",
        ),
        (
            "index=shop&collection=orders&scope=sideways",
            "core.realtime.invalid_scope",
        ),
        ("room=0123", "core.realtime.room_not_found"),
    ] {
        let sse = Sse::open(server.addr, query, &bearer).await;
        let status = sse.status();
        let error = sse.error().await;
        assert_eq!(error["error"]["id"], id, "{query}: {error}");
        assert_eq!(error["status"], status, "{query}");
    }
    // CORS preflight of a fetch-based client.
    let (status, _) = http_with(
        server.addr,
        "OPTIONS",
        "/_sse",
        "Origin: https://app.example\r\nAccess-Control-Request-Headers: authorization\r\n",
        None,
    )
    .await;
    assert_eq!(status, 204);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_to_users_and_existing_rooms_stream_too() {
    let server = Server::start_with(config()).await;
    let jwt = token("u1", all_rights());
    let bearer = format!("Authorization: Bearer {jwt}\r\n");
    let mut events = Sse::open(server.addr, "index=%25herald&collection=events", &bearer).await;
    assert_eq!(events.next().await.event.as_deref(), Some("subscribed"));
    let mut admin = server.client().await;
    admin
        .ok(
            json!({"controller":"auth","action":"login","strategy":"jwt",
            "body":{"token": token("admin", all_rights())}}),
        )
        .await;
    admin
        .ok(json!({"controller":"events","action":"send",
            "body":{"users":["u1"],"type":"MAIL","payload":{"n":1}}}))
        .await;
    let event = events.next().await;
    assert_eq!(event.event.as_deref(), Some("event"));
    assert_eq!(event.json()["result"]["payload"]["n"], 1);
    // Two existing rooms on one stream: the id holds a position per room.
    let a = admin
        .ok(
            json!({"controller":"realtime","action":"subscribe","index":"shop",
            "collection":"orders","body":{"equals":{"n":"a"}}}),
        )
        .await;
    let b = admin
        .ok(
            json!({"controller":"realtime","action":"subscribe","index":"shop",
            "collection":"orders","body":{"equals":{"n":"b"}}}),
        )
        .await;
    let query = format!(
        "room={}&room={}",
        a["roomId"].as_str().expect("room"),
        b["roomId"].as_str().expect("room")
    );
    let mut rooms = Sse::open(server.addr, &query, &bearer).await;
    rooms.next().await;
    rooms.next().await;
    admin.ok(create("a")).await;
    let first = rooms.next().await;
    let id = first.id.clone().expect("id");
    let parts: Vec<&str> = id.split(',').collect();
    assert_eq!(parts.len(), 2, "{id}");
    assert_eq!(Some(parts[0]), first.json()["position"].as_str());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_that_is_not_read_is_cut_off_like_a_slow_websocket() {
    let mut config = config();
    config.queue_capacity = 64;
    config.queue_bytes = 256 * 1024;
    let server = Server::start_with(config).await;
    // Opened, then never read again.
    let mut sse = Sse::open(server.addr, "index=shop&collection=orders", "").await;
    let mut reader = Sse::open(server.addr, "index=shop&collection=orders", "").await;
    let mut writer = server.client().await;
    let big = "x".repeat(32 * 1024);
    let mut read = 0;
    for i in 0..400 {
        writer
            .ok(
                json!({"controller":"realtime","action":"publish","index":"shop",
                "collection":"orders","body":{"i": i, "big": big}}),
            )
            .await;
        // The other stream reads and is not affected.
        while read <= i {
            if reader.next().await.event.as_deref() == Some("publish") {
                read += 1;
            }
        }
    }
    // The server dropped the connection: what is buffered, then the end.
    let mut rest = Vec::new();
    let ended = tokio::time::timeout(Duration::from_secs(10), sse.stream.read_to_end(&mut rest))
        .await
        .expect("the server closed the stream");
    let _ = ended;
    let data = String::from_utf8_lossy(&rest);
    assert!(
        data.matches("event: publish").count() < 400,
        "the slow stream got everything"
    );
    server.stop().await;
}
