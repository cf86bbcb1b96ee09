//! Hostile and careless clients over real sockets: what one client can cost the others is
//! bounded (time, memory, rooms, connections, rate), bad input gets a clear error, and the
//! connection stays usable where the protocol allows. Time bounds here are loose on purpose
//! (a loaded 2-core machine); benchmarks measure the figures.

mod server_support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use herald::notify::HubConfig;
use herald::server::Config;
use serde_json::{json, Value};
use server_support::{http, Client, Server};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn polygon(points: usize) -> Value {
    let ring: Vec<Value> = (0..points)
        .map(|i| {
            let a = i as f64 / points as f64 * std::f64::consts::TAU;
            json!([45.0 + a.sin(), 3.0 + a.cos()])
        })
        .collect();
    json!({"geoPolygon": {"loc": {"points": ring}}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polygons_are_capped_and_a_big_one_is_cheap() {
    let server = Server::start().await;
    let mut client = server.client().await;
    let error = client
        .fail(
            json!({"controller":"realtime","action":"subscribe","index":"geo","collection":"shops",
            "body": polygon(1_001)}),
        )
        .await;
    assert_eq!(error["id"], "api.assert.koncorde_dsl_error", "{error}");
    assert!(
        error["message"]
            .as_str()
            .unwrap_or("")
            .contains("too many points: 1001 (max: 1000"),
        "{error}"
    );
    let start = Instant::now();
    client
        .subscribe("geo", "shops", polygon(1_000), json!({}))
        .await;
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_filter_of_huge_regexps_is_refused_before_it_is_kept() {
    let server = Server::start().await;
    let mut client = server.client().await;
    // A 4 KB subscribe that would hold about 50 MB of automata.
    let terms: Vec<Value> = (0..100)
        .map(|i| json!({"regexp": {"text": format!("[\\s\\S]{{1000}}z_{i}")}}))
        .collect();
    let error = client
        .fail(
            json!({"controller":"realtime","action":"subscribe","index":"logs",
            "collection":"lines","body":{"or": terms}}),
        )
        .await;
    assert_eq!(error["id"], "api.assert.koncorde_dsl_error", "{error}");
    assert!(
        error["message"]
            .as_str()
            .unwrap_or("")
            .contains("regexps too large"),
        "{error}"
    );
    // Ordinary keyword alerts, a hundred of them, are far below the budget.
    let words: Vec<Value> = (0..100)
        .map(|i| json!({"regexp": {"text": {"value": format!("\\berror{i}\\b"), "flags": "i"}}}))
        .collect();
    client
        .subscribe("logs", "lines", json!({"or": words}), json!({}))
        .await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_connection_cannot_take_every_room() {
    let server = Server::start_with(Config {
        hub: HubConfig {
            max_subscriptions_per_connection: 5,
            ..HubConfig::default()
        },
        ..Config::default()
    })
    .await;
    let mut greedy = server.client().await;
    let mut rooms = Vec::new();
    for i in 0..5 {
        let (room, _) = greedy
            .subscribe("shop", "orders", json!({"equals": {"n": i}}), json!({}))
            .await;
        rooms.push(room);
    }
    let error = greedy
        .fail(
            json!({"controller":"realtime","action":"subscribe","index":"shop",
            "collection":"orders","body":{"equals":{"n":99}}}),
        )
        .await;
    assert_eq!(
        error["id"], "core.realtime.too_many_subscriptions",
        "{error}"
    );
    assert_eq!(error["status"], 429);
    // Another channel of a room it is in is not a new room.
    greedy
        .subscribe(
            "shop",
            "orders",
            json!({"equals": {"n": 0}}),
            json!({"scope": "out"}),
        )
        .await;
    // The refused room was not made; other clients subscribe as usual.
    let mut other = server.client().await;
    let count = other
        .ok(json!({"controller":"realtime","action":"list"}))
        .await;
    assert_eq!(
        count["shop"]["orders"].as_object().map(|m| m.len()),
        Some(5)
    );
    other
        .subscribe("shop", "orders", json!({"equals": {"n": 99}}), json!({}))
        .await;
    // Leaving a room frees its place.
    greedy
        .ok(json!({"controller":"realtime","action":"unsubscribe","body":{"roomId":rooms[0]}}))
        .await;
    greedy
        .subscribe("shop", "orders", json!({"equals": {"n": 98}}), json!({}))
        .await;
    server.stop().await;
}

/// Sends `n` `server:now` requests at once on `client`; returns the 429 answers.
async fn burst(client: &mut Client, n: usize) -> Vec<Value> {
    for i in 0..n {
        client
            .send_text(
                &json!({"controller":"server","action":"now","requestId":format!("r{i}")})
                    .to_string(),
            )
            .await;
    }
    let mut refused = Vec::new();
    for _ in 0..n {
        let frame = client.next_frame().await;
        if frame["status"] == 429 {
            refused.push(frame);
        }
    }
    refused
}

/// An HS256 token for `user`, valid for an hour.
fn user_token(secret: &[u8], user: &str) -> String {
    let exp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
        + 3600;
    jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &json!({"sub": user, "exp": exp}),
        &jsonwebtoken::EncodingKey::from_secret(secret),
    )
    .expect("sign")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_has_one_request_budget_across_its_connections() {
    use herald::identity::{AuthConfig, VerifyKey};
    let secret = b"hostile-secret";
    let server = Server::start_with(Config {
        max_requests_per_second: 0,
        max_requests_per_second_per_user: 20,
        hub: HubConfig {
            auth: AuthConfig {
                keys: vec![VerifyKey::hmac(secret)],
                ..AuthConfig::default()
            },
            ..HubConfig::default()
        },
        ..Config::default()
    })
    .await;
    let mut clients = Vec::new();
    for _ in 0..3 {
        let mut client = server.client().await;
        client
            .ok(
                json!({"controller":"auth","action":"login","strategy":"jwt",
                "body":{"token":user_token(secret, "mallory")}}),
            )
            .await;
        clients.push(client);
    }
    // 3 x 20 requests at once: the user's budget (20, minus the logins) is shared.
    let mut refused = 0;
    for client in &mut clients {
        for frame in burst(client, 20).await {
            assert!(frame["error"]["message"]
                .as_str()
                .unwrap_or("")
                .contains("this user"));
            refused += 1;
        }
    }
    assert!(refused >= 30, "{refused} refused of 60");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_user_cannot_take_every_room_with_many_connections() {
    use herald::identity::{AuthConfig, VerifyKey};
    let secret = b"hostile-secret";
    let server = Server::start_with(Config {
        hub: HubConfig {
            max_subscriptions_per_connection: 3,
            max_subscriptions_per_user: 4,
            auth: AuthConfig {
                keys: vec![VerifyKey::hmac(secret)],
                ..AuthConfig::default()
            },
            ..HubConfig::default()
        },
        ..Config::default()
    })
    .await;
    let token = |user: &str| user_token(secret, user);
    let mut first = server.client().await;
    let mut second = server.client().await;
    for client in [&mut first, &mut second] {
        client
            .ok(json!({"controller":"auth","action":"login","strategy":"jwt","body":{"token":token("mallory")}}))
            .await;
    }
    for i in 0..3 {
        first
            .subscribe("shop", "orders", json!({"equals": {"n": i}}), json!({}))
            .await;
    }
    second
        .subscribe("shop", "orders", json!({"equals": {"n": 10}}), json!({}))
        .await;
    let error = second
        .fail(
            json!({"controller":"realtime","action":"subscribe","index":"shop",
            "collection":"orders","body":{"equals":{"n":11}}}),
        )
        .await;
    assert_eq!(
        error["id"], "core.realtime.too_many_subscriptions",
        "{error}"
    );
    assert!(
        error["message"]
            .as_str()
            .unwrap_or("")
            .contains("this user"),
        "{error}"
    );
    // Another channel of a room the connection is in costs nothing more.
    second
        .subscribe(
            "shop",
            "orders",
            json!({"equals": {"n": 10}}),
            json!({"scope": "out"}),
        )
        .await;
    // When a connection goes, its rooms are the user's again.
    drop(first);
    tokio::time::sleep(Duration::from_millis(300)).await;
    second
        .subscribe("shop", "orders", json!({"equals": {"n": 11}}), json!({}))
        .await;
    // Another user is not affected.
    let mut other = server.client().await;
    other
        .ok(json!({"controller":"auth","action":"login","strategy":"jwt","body":{"token":token("alice")}}))
        .await;
    other
        .subscribe("shop", "orders", json!({"equals": {"n": 12}}), json!({}))
        .await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn room_lists_are_paged() {
    let server = Server::start().await;
    let mut client = server.client().await;
    for i in 0..25 {
        client
            .subscribe("shop", "orders", json!({"equals": {"n": i}}), json!({}))
            .await;
    }
    let rooms = |list: &Value| -> Vec<String> {
        list["shop"]["orders"]
            .as_object()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default()
    };
    let all = rooms(
        &client
            .ok(json!({"controller":"realtime","action":"list"}))
            .await,
    );
    assert_eq!(all.len(), 25);
    let mut paged = Vec::new();
    for from in [0, 10, 20] {
        let page = client
            .ok(json!({"controller":"realtime","action":"list","from":from,"size":10}))
            .await;
        paged.extend(rooms(&page));
    }
    assert_eq!(paged, all);
    let error = client
        .fail(json!({"controller":"realtime","action":"list","size":-1}))
        .await;
    assert_eq!(error["status"], 400);
    server.stop().await;
}

/// Opens a raw TCP connection and sends `bytes` (no more).
async fn raw(addr: SocketAddr, bytes: &[u8]) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream.write_all(bytes).await.expect("write");
    stream
}

/// Reads until the server closes the connection (or 10 s pass); returns what it sent.
async fn until_closed(stream: &mut TcpStream) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    match tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut out)).await {
        Ok(_) => Some(out),
        Err(_) => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_are_cut_and_the_health_check_answers() {
    let server = Server::start_with(Config {
        header_timeout: Duration::from_millis(500),
        request_timeout: Duration::from_millis(500),
        ..Config::default()
    })
    .await;
    // Headers trickled in (an upgrade that never completes).
    let mut partial_upgrade = raw(
        server.addr,
        b"GET / HTTP/1.1\r\nHost: herald\r\nUpgrade: websocket\r\n",
    )
    .await;
    // A body announced and never sent.
    let mut partial_body = raw(
        server.addr,
        b"POST /shop/orders/_publish HTTP/1.1\r\nHost: herald\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"a\":",
    )
    .await;
    let (status, _) = http(server.addr, "GET", "/_healthCheck", None).await;
    assert_eq!(status, 200);
    assert!(
        until_closed(&mut partial_upgrade).await.is_some(),
        "headers timeout"
    );
    let answer = until_closed(&mut partial_body).await.expect("body timeout");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_per_address_are_capped() {
    let server = Server::start_with(Config {
        max_connections_per_address: 3,
        limit_loopback: true,
        ..Config::default()
    })
    .await;
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(server.client().await);
    }
    // The fourth is closed at once, before anything is read.
    let mut fourth = raw(
        server.addr,
        b"GET /_healthCheck HTTP/1.1\r\nHost: x\r\n\r\n",
    )
    .await;
    let answer = until_closed(&mut fourth).await.expect("closed at once");
    assert!(answer.is_empty(), "{}", String::from_utf8_lossy(&answer));
    // The held ones still work, and a place freed is a place taken.
    held[0]
        .ok(json!({"controller":"server","action":"now"}))
        .await;
    drop(held.pop());
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (status, _) = http(server.addr, "GET", "/_healthCheck", None).await;
    assert_eq!(status, 200);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_beyond_the_rate_are_refused_with_429() {
    let server = Server::start_with(Config {
        max_requests_per_second: 20,
        ..Config::default()
    })
    .await;
    let mut client = server.client().await;
    let mut refused = 0;
    for frame in burst(&mut client, 100).await {
        assert_eq!(
            frame["error"]["id"], "api.process.too_many_requests",
            "{frame}"
        );
        assert!(frame["requestId"]
            .as_str()
            .is_some_and(|id| id.starts_with('r')));
        refused += 1;
    }
    assert!(refused >= 50, "{refused} refused of 100");
    // The bucket refills: the connection is usable again.
    tokio::time::sleep(Duration::from_millis(500)).await;
    client
        .ok(json!({"controller":"server","action":"now"}))
        .await;
    // Other connections have their own budget.
    let mut other = server.client().await;
    other
        .ok(json!({"controller":"server","action":"now"}))
        .await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_request_is_answered_with_its_request_id() {
    let server = Server::start_with(Config {
        max_frame_bytes: 1000,
        ..Config::default()
    })
    .await;
    let mut client = server.client().await;
    let big = "x".repeat(2000);
    client
        .send_text(
            &json!({"requestId":"big-1","controller":"realtime","action":"publish",
            "index":"a","collection":"b","body":{"x":big}})
            .to_string(),
        )
        .await;
    let frame = client.next_frame().await;
    assert_eq!(frame["status"], 413, "{frame}");
    assert_eq!(frame["requestId"], "big-1");
    assert_eq!(frame["room"], "big-1");
    assert_eq!(frame["error"]["id"], "network.websocket.request_too_large");
    client
        .ok(json!({"controller":"server","action":"now"}))
        .await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ids_and_names_are_validated_for_every_action() {
    let server = Server::start().await;
    let mut client = server.client().await;
    let create = |index: &str, id: &str| {
        json!({"controller":"document","action":"create","index":index,"collection":"c",
            "_id":id,"body":{"a":1}})
    };
    for id in [String::new(), "x".repeat(513)] {
        let error = client.fail(create("shop", &id)).await;
        assert_eq!(error["id"], "api.assert.invalid_argument", "{error}");
    }
    client.ok(create("shop", &"x".repeat(512))).await;
    let long = "n".repeat(10_000);
    for index in ["a/b", "..", "%herald", "UPPER", "nul\u{0}", long.as_str()] {
        let error = client.fail(create(index, "id-1")).await;
        assert_eq!(
            error["id"], "services.storage.invalid_index_name",
            "{index}: {error}"
        );
        assert!(
            error["message"].as_str().unwrap_or("").len() < 300,
            "{error}"
        );
        let error = client
            .fail(
                json!({"controller":"realtime","action":"publish","index":index,
                "collection":"c","body":{}}),
            )
            .await;
        assert_eq!(error["id"], "services.storage.invalid_index_name");
    }
    // Batches answer per item.
    let batch = client
        .ok(
            json!({"controller":"document","action":"mCreate","index":"shop","collection":"c",
            "body":{"documents":[{"_id":"","body":{}},{"_id":"ok-1","body":{}}]}}),
        )
        .await;
    assert_eq!(batch["errors"][0]["status"], 400, "{batch}");
    assert_eq!(batch["successes"][0]["_id"], "ok-1", "{batch}");
    // Nothing invalid was stored.
    let list = client
        .ok(json!({"controller":"index","action":"list"}))
        .await;
    assert_eq!(list["indexes"], json!(["shop"]), "{list}");
    server.stop().await;
}

/// A masked client text frame holding `payload` (RFC 6455 5.2).
fn text_frame(payload: &[u8]) -> Vec<u8> {
    let mask = [1u8, 2, 3, 4];
    let mut frame = vec![0x81, 0x80 | payload.len() as u8];
    frame.extend_from_slice(&mask);
    frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    frame
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_utf8_closes_with_1007() {
    let server = Server::start().await;
    let mut stream = raw(
        server.addr,
        b"GET / HTTP/1.1\r\nHost: herald\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
          Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    )
    .await;
    let mut head = vec![0u8; 1024];
    let n = stream.read(&mut head).await.expect("101");
    assert!(String::from_utf8_lossy(&head[..n]).starts_with("HTTP/1.1 101"));
    stream
        .write_all(&text_frame(b"{\"a\":\"\xff\xfe\"}"))
        .await
        .expect("write");
    let answer = until_closed(&mut stream).await.expect("closed");
    // A close frame (opcode 8) with code 1007.
    assert!(answer.len() >= 4, "{answer:?}");
    assert_eq!(answer[0] & 0x0f, 0x8, "{answer:?}");
    assert_eq!(u16::from_be_bytes([answer[2], answer[3]]), 1007);
    // Other clients are unaffected.
    let mut other = Client::connect(server.addr).await;
    other
        .ok(json!({"controller":"server","action":"now"}))
        .await;
    server.stop().await;
}
