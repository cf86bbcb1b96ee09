//! The envelope over a real socket: responses, error format, heartbeats, frame size, auth.

mod server_support;

use futures_util::{SinkExt, StreamExt};
use herald::server::Config;
use serde_json::{json, Value};
use server_support::{Server, WAIT};
use tokio_tungstenite::tungstenite::Message;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn response_envelope_echoes_the_request() {
    let server = Server::start().await;
    let mut c = server.client().await;
    let r = c
        .request(
            json!({"controller":"realtime","action":"count","body":{"roomId":"nope"},
            "requestId":"abc","volatile":{"x":1},"index":"i","collection":"c","unknownArg":true}),
        )
        .await;
    assert_eq!(r["requestId"], "abc");
    assert_eq!(r["room"], "abc");
    assert_eq!(r["status"], 200);
    assert_eq!(r["error"], Value::Null);
    assert_eq!(r["result"], json!({"count": 0}));
    assert_eq!(r["controller"], "realtime");
    assert_eq!(r["action"], "count");
    assert_eq!(r["index"], "i");
    assert_eq!(r["collection"], "c");
    assert_eq!(r["volatile"], json!({"x":1}));
    assert_eq!(r["headers"], json!({}));
    assert!(r["node"].is_string());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_request_id_is_generated() {
    let server = Server::start().await;
    let mut c = server.client().await;
    c.send_text(r#"{"controller":"server","action":"now"}"#)
        .await;
    let r = c.next_frame().await;
    let id = r["requestId"].as_str().expect("generated id");
    assert_eq!(id.len(), 36);
    assert_eq!(r["room"], id);
    assert!(r["result"]["now"].as_u64().is_some());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_frames_get_errors_and_the_connection_stays_open() {
    let server = Server::start().await;
    let mut c = server.client().await;
    for bad in ["{not json", "[1,2]", "42", "\"text\""] {
        c.send_text(bad).await;
        let r = c.next_frame().await;
        assert_eq!(r["status"], 400, "{bad}: {r}");
        assert_eq!(r["error"]["id"], "network.websocket.unexpected_error");
        assert_eq!(r["error"]["code"], 50528257);
        assert!(r.get("room").is_none());
    }
    // Binary frames are decoded like text ones.
    c.ws.send(Message::binary(
        br#"{"controller":"server","action":"now","requestId":"b"}"#.to_vec(),
    ))
    .await
    .expect("send");
    assert_eq!(c.next_frame().await["room"], "b");
    // Still usable.
    assert!(c.ok(json!({"controller":"server","action":"now"})).await["now"].is_u64());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn envelope_type_errors_have_no_room() {
    let server = Server::start().await;
    let mut c = server.client().await;
    let cases = [
        (
            json!({"controller":"server","action":"now","requestId":5}),
            "requestId",
        ),
        (
            json!({"controller":1,"action":"now","requestId":"a"}),
            "controller",
        ),
        (
            json!({"controller":"server","action":[],"requestId":"b"}),
            "action",
        ),
        (
            json!({"controller":"server","action":"now","volatile":"x","requestId":"c"}),
            "volatile",
        ),
        (
            json!({"controller":"server","action":"now","body":3,"requestId":"d"}),
            "body",
        ),
        (
            json!({"controller":"server","action":"now","jwt":3,"requestId":"e"}),
            "jwt",
        ),
    ];
    for (request, arg) in cases {
        c.send_text(&request.to_string()).await;
        let r = c.next_frame().await;
        assert_eq!(r["status"], 400, "{r}");
        assert_eq!(r["error"]["id"], "api.assert.invalid_type");
        assert_eq!(r["error"]["props"][0], arg);
        assert_eq!(r["requestId"], request["requestId"]);
        assert!(r.get("room").is_none());
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routing_errors() {
    let server = Server::start().await;
    let mut c = server.client().await;
    let e = c.fail(json!({"controller":"nope","action":"x"})).await;
    assert_eq!(e["id"], "api.process.controller_not_found");
    assert_eq!(e["status"], 404);
    assert_eq!(e["code"], 33685508);
    let e = c
        .fail(json!({"controller":"realtime","action":"nope"}))
        .await;
    assert_eq!(e["id"], "api.process.action_not_found");
    assert_eq!(e["code"], 33685509);
    let e = c.fail(json!({"action":"now"})).await;
    assert_eq!(e["id"], "api.assert.missing_argument");
    assert_eq!(e["props"], json!(["controller"]));
    let e = c.fail(json!({"controller":"server"})).await;
    assert_eq!(e["id"], "api.assert.missing_argument");
    assert_eq!(e["props"], json!(["action"]));
    assert!(e["message"].is_string());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn application_heartbeat() {
    let server = Server::start().await;
    let mut c = server.client().await;
    c.send_text(r#"{"p":1}"#).await;
    assert_eq!(c.next_frame().await, json!({"p":2}));
    // Only the exact object is a ping.
    c.send_text(r#"{"p":1,"q":2}"#).await;
    let r = c.next_frame().await;
    assert_eq!(r["error"]["id"], "api.assert.missing_argument");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_ping_gets_a_pong_while_idle() {
    let server = Server::start().await;
    let mut c = server.client().await;
    for i in 0..3u8 {
        c.ws.send(Message::Ping(vec![i].into()))
            .await
            .expect("ping");
        let pong = tokio::time::timeout(WAIT, c.ws.next())
            .await
            .expect("pong in time");
        match pong {
            Some(Ok(Message::Pong(data))) => assert_eq!(data.as_ref(), &[i]),
            other => panic!("expected a pong, got {other:?}"),
        }
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversize_frames_get_an_error_then_the_socket_closes_far_above() {
    let config = Config {
        max_frame_bytes: 1000,
        ..Config::default()
    };
    let server = Server::start_with(config).await;
    let mut c = server.client().await;
    let big = format!(
        r#"{{"controller":"server","action":"now","pad":"{}"}}"#,
        "x".repeat(2000)
    );
    c.send_text(&big).await;
    let r = c.next_frame().await;
    assert_eq!(r["status"], 413);
    assert_eq!(r["error"]["id"], "network.websocket.request_too_large");
    // The connection is still usable.
    c.ok(json!({"controller":"server","action":"now"})).await;
    // Far above the limit, the socket is closed (1009), and the server is fine.
    let huge = "x".repeat(100_000);
    let _ = c.ws.send(Message::text(huge)).await;
    let close = c.closed().await;
    if let Some((code, _)) = close {
        assert_eq!(u16::from(code), 1009);
    }
    let mut d = server.client().await;
    d.ok(json!({"controller":"server","action":"now"})).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_and_server_controllers() {
    let server = Server::start().await;
    let mut c = server.client().await;
    let r = c
        .ok(json!({"controller":"auth","action":"checkToken","body":{},"cookieAuth":false}))
        .await;
    assert_eq!(r, json!({"valid": true, "kuid": "-1", "expiresAt": -1}));
    let r = c
        .ok(json!({"controller":"auth","action":"checkToken","body":{"token":"forged"}}))
        .await;
    assert_eq!(r["valid"], false);
    let r = c
        .ok(json!({"controller":"auth","action":"getCurrentUser"}))
        .await;
    assert_eq!(r["_id"], "-1");
    let r = c.ok(json!({"controller":"server","action":"info"})).await;
    assert!(r["serverInfo"].is_object());
    let r = c
        .ok(json!({"controller":"server","action":"healthCheck"}))
        .await;
    assert_eq!(r["status"], "green");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_closes_sockets_with_a_code_the_sdk_reconnects_after() {
    let server = Server::start().await;
    let mut a = server.client().await;
    let mut b = server.client().await;
    let (_, _) = a
        .subscribe("i", "c", json!({}), json!({"users":"all"}))
        .await;
    let (_, _) = b.subscribe("i", "c", json!({}), json!({})).await;
    assert_eq!(a.next_frame().await["user"], "in");
    server.stop().await;
    let close = a.read().await.expect_err("closed").expect("a close frame");
    assert_eq!(u16::from(close.0), 1001);
    // No `user:"out"` on shutdown: the close frame was the first thing a received.
    let close = b.closed().await.expect("a close frame");
    assert_ne!(u16::from(close.0), 1000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn any_path_and_any_subprotocol_is_accepted() {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let server = Server::start().await;
    let mut request = format!("ws://{}/some/path", server.addr)
        .into_client_request()
        .expect("request");
    request
        .headers_mut()
        .insert("sec-websocket-protocol", "null".parse().expect("header"));
    let (mut ws, response) = tokio_tungstenite::connect_async(request)
        .await
        .expect("handshake");
    assert_eq!(
        response
            .headers()
            .get("sec-websocket-protocol")
            .and_then(|v| v.to_str().ok()),
        Some("null")
    );
    ws.send(Message::text(r#"{"p":1}"#)).await.expect("send");
    let reply = tokio::time::timeout(WAIT, ws.next())
        .await
        .expect("in time");
    match reply {
        Some(Ok(Message::Text(t))) => assert_eq!(t.as_str(), r#"{"p":2}"#),
        other => panic!("{other:?}"),
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_sockets_are_closed_but_pings_keep_them_open() {
    let config = Config {
        idle_timeout: std::time::Duration::from_millis(300),
        ..Config::default()
    };
    let server = Server::start_with(config).await;
    let mut idle = server.client().await;
    let mut busy = server.client().await;
    for _ in 0..5 {
        busy.send_text(r#"{"p":1}"#).await;
        assert_eq!(busy.next_frame().await, json!({"p":2}));
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let (code, reason) = idle.closed().await.expect("a close frame");
    assert_eq!(u16::from(code), 1001);
    assert_eq!(reason, "idle timeout");
    busy.ok(json!({"controller":"server","action":"now"})).await;
    server.stop().await;
}

/// Sends raw request bytes and returns the status line and headers of the answer.
async fn raw_exchange(addr: std::net::SocketAddr, request: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(WAIT, stream.read(&mut buf))
        .await
        .expect("in time")
        .expect("read");
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_upgrades_are_refused_with_the_reason() {
    let server = Server::start().await;
    let upgrade = |method: &str, version: &str, key: &str| {
        format!(
            "{method} / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
             Sec-WebSocket-Version: {version}\r\n{key}\r\n"
        )
    };
    let key = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
    let wrong_version = raw_exchange(server.addr, &upgrade("GET", "8", key)).await;
    assert!(wrong_version.starts_with("HTTP/1.1 426"), "{wrong_version}");
    assert!(
        wrong_version
            .to_ascii_lowercase()
            .contains("sec-websocket-version: 13"),
        "{wrong_version}"
    );
    let no_key = raw_exchange(server.addr, &upgrade("GET", "13", "")).await;
    assert!(no_key.starts_with("HTTP/1.1 400"), "{no_key}");
    assert!(no_key.contains("Sec-WebSocket-Key"), "{no_key}");
    let post = raw_exchange(server.addr, &upgrade("POST", "13", key)).await;
    assert!(post.starts_with("HTTP/1.1 405"), "{post}");
    // The RFC 6455 sample key gets the RFC's sample answer.
    let ok = raw_exchange(server.addr, &upgrade("GET", "13", key)).await;
    assert!(ok.starts_with("HTTP/1.1 101"), "{ok}");
    assert!(ok.contains("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="), "{ok}");
    server.stop().await;
}
