//! Delivery and the HTTP API over real sockets: slow clients, HTTP writes notifying WebSocket
//! subscribers, and the HTTP routes.

mod server_support;

use std::time::Duration;

use herald::server::Config;
use serde_json::{json, Value};
use server_support::{http, Server};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_client_is_closed_with_1011_and_nobody_else_waits() {
    let config = Config {
        queue_capacity: 8,
        ..Config::default()
    };
    let server = Server::start_with(config).await;
    let mut slow = server.client().await;
    let mut fast = server.client().await;
    let mut publisher = server.client().await;
    let (room, _) = slow.subscribe("i", "c", json!({}), json!({})).await;
    fast.subscribe("i", "c", json!({}), json!({})).await;
    let pad = "x".repeat(64 * 1024);
    let total = 300;
    // The fast client reads concurrently; the slow one reads nothing until the end.
    let reader = tokio::spawn(async move {
        let mut n = 0;
        while n < total {
            let frame = fast.next_frame().await;
            if frame["type"] == "document" {
                n += 1;
            }
        }
        (fast, n)
    });
    for i in 0..total {
        publisher
            .ok(json!({"controller":"realtime","action":"publish","index":"i","collection":"c","body":{"i":i,"pad":pad}}))
            .await;
    }
    let (_fast, received) = tokio::time::timeout(Duration::from_secs(20), reader)
        .await
        .expect("fast client not slowed down")
        .expect("reader");
    assert_eq!(received, total);
    let mut got = 0;
    let close = loop {
        match slow.read().await {
            Ok(_) => got += 1,
            Err(close) => break close,
        }
    };
    let (code, reason) = close.expect("a close frame");
    assert_eq!(u16::from(code), 1011);
    assert!(reason.contains("too slow"), "{reason}");
    assert!(got < total, "the slow client got everything ({got})");
    // It left the room.
    let count = publisher
        .ok(json!({"controller":"realtime","action":"count","body":{"roomId":room}}))
        .await;
    assert_eq!(count["count"], 1);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_writes_notify_websocket_subscribers() {
    let server = Server::start().await;
    let mut sub = server.client().await;
    let (_, channel) = sub
        .subscribe("idx", "col", json!({"equals":{"k":"v"}}), json!({}))
        .await;

    let (status, r) = http(
        server.addr,
        "POST",
        "/idx/col/_publish?_id=p1",
        Some(r#"{"k":"v"}"#),
    )
    .await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["result"], json!({"published": true}));
    assert!(r.get("room").is_none());
    let n = sub.next_frame().await;
    assert_eq!(n["room"], channel);
    assert_eq!(n["action"], "publish");
    assert_eq!(n["protocol"], "http");
    assert_eq!(n["result"]["_id"], "p1");

    let steps: [(&str, &str, Option<&str>, &str, &str); 7] = [
        (
            "POST",
            "/idx/col/d1/_create",
            Some(r#"{"k":"v"}"#),
            "create",
            "in",
        ),
        (
            "PUT",
            "/idx/col/d1/_update",
            Some(r#"{"n":1}"#),
            "update",
            "in",
        ),
        (
            "PUT",
            "/idx/col/d1/_replace",
            Some(r#"{"k":"w"}"#),
            "replace",
            "out",
        ),
        ("PUT", "/idx/col/d1", Some(r#"{"k":"v"}"#), "replace", "in"),
        (
            "POST",
            "/idx/col/d2/_upsert",
            Some(r#"{"changes":{"k":"v"}}"#),
            "create",
            "in",
        ),
        ("DELETE", "/idx/col/d1", None, "delete", "out"),
        (
            "POST",
            "/idx/col/_create",
            Some(r#"{"k":"v"}"#),
            "create",
            "in",
        ),
    ];
    for (method, path, body, action, scope) in steps {
        let (status, r) = http(server.addr, method, path, body).await;
        assert_eq!(status, 200, "{method} {path}: {r}");
        let n = sub.next_frame().await;
        assert_eq!(n["action"], action, "{method} {path}");
        assert_eq!(n["scope"], scope, "{method} {path}");
        assert_eq!(n["controller"], "document");
    }
    let (status, r) = http(server.addr, "GET", "/idx/col/d2", None).await;
    assert_eq!(status, 200);
    assert_eq!(r["result"]["_source"]["k"], "v");
    let (_, r) = http(server.addr, "GET", "/idx/col/d2/_exists", None).await;
    assert_eq!(r["result"], json!(true));
    let (status, r) = http(
        server.addr,
        "POST",
        "/idx/col/_mCreate",
        Some(r#"{"documents":[{"_id":"m1","body":{"k":"v"}},{"_id":"m2","body":{"k":"no"}}]}"#),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(r["result"]["successes"].as_array().map(Vec::len), Some(2));
    assert_eq!(sub.next_frame().await["result"]["_id"], "m1");
    let (status, _) = http(
        server.addr,
        "DELETE",
        "/idx/col/_mDelete",
        Some(r#"{"ids":["m1","m2"]}"#),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(sub.next_frame().await["action"], "delete");
    // Kuzzle's volatile header.
    let (status, _) = server_support::http_with(
        server.addr,
        "POST",
        "/idx/col/_publish",
        "X-Kuzzle-Volatile: {\"from\":\"backend\"}\r\n",
        Some(r#"{"k":"v"}"#),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        sub.next_frame().await["volatile"],
        json!({"from":"backend"})
    );
    // The generic route: a whole request in the body.
    let (status, r) = http(
        server.addr,
        "POST",
        "/_query",
        Some(r#"{"controller":"realtime","action":"publish","index":"idx","collection":"col","body":{"k":"v"}}"#),
    )
    .await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(sub.next_frame().await["action"], "publish");
    sub.silent(100).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_routes_and_errors() {
    let config = Config {
        max_frame_bytes: 1000,
        ..Config::default()
    };
    let server = Server::start_with(config).await;
    let (status, r) = http(server.addr, "GET", "/_healthCheck", None).await;
    assert_eq!(status, 200);
    assert_eq!(r["result"]["status"], "green");
    let (status, r) = http(server.addr, "GET", "/_listSubscriptions", None).await;
    assert_eq!(status, 200);
    assert_eq!(r["result"], json!({}));
    let mut c = server.client().await;
    let (room, _) = c.subscribe("a", "b", json!({}), json!({})).await;
    let (_, r) = http(server.addr, "GET", "/_listSubscriptions", None).await;
    assert_eq!(r["result"], json!({"a": {"b": {room: 1}}}));
    let (status, r) = http(server.addr, "GET", "/_now", None).await;
    assert_eq!(status, 200);
    assert!(r["result"]["now"].is_u64());

    let cases: [(&str, &str, Option<&str>, u16, &str); 6] = [
        (
            "GET",
            "/nowhere/at/all/really/deep",
            None,
            404,
            "network.http.url_not_found",
        ),
        (
            "POST",
            "/a/b/_publish",
            Some("{nope"),
            400,
            "network.websocket.unexpected_error",
        ),
        (
            "POST",
            "/a/b/_publish",
            None,
            400,
            "api.assert.body_required",
        ),
        (
            "POST",
            "/a/b/_publish",
            Some("[1]"),
            400,
            "api.assert.invalid_type",
        ),
        (
            "PUT",
            "/a/b/missing/_update",
            Some("{}"),
            404,
            "services.storage.not_found",
        ),
        (
            "POST",
            "/a/b/_publish",
            Some(&*Box::leak(
                format!(r#"{{"x":"{}"}}"#, "y".repeat(2000)).into_boxed_str(),
            )),
            413,
            "network.websocket.request_too_large",
        ),
    ];
    for (method, path, body, status, id) in cases {
        let (got, r) = http(server.addr, method, path, body).await;
        assert_eq!(got, status, "{method} {path}: {r}");
        assert_eq!(r["error"]["id"], id, "{method} {path}");
        assert_eq!(r["status"], Value::from(status));
    }
    server.stop().await;
}

/// Requests written back to back (the server reads them in one go and answers in one write):
/// responses come in request order, each after the notifications its request caused, and a
/// second subscriber gets every notification in publish order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelined_requests_are_answered_in_order_after_their_notifications() {
    use futures_util::SinkExt;
    use tokio_tungstenite::tungstenite::Message;
    let server = Server::start().await;
    let mut other = server.client().await;
    let mut publisher = server.client().await;
    let (_, channel) = publisher.subscribe("i", "c", json!({}), json!({})).await;
    other.subscribe("i", "c", json!({}), json!({})).await;
    let n = 200;
    for i in 0..n {
        let request = json!({"controller":"realtime","action":"publish","index":"i","collection":"c",
            "requestId": format!("p{i}"), "body":{"seq": i}});
        publisher
            .ws
            .feed(Message::text(request.to_string()))
            .await
            .expect("feed");
    }
    publisher.ws.flush().await.expect("flush");
    let mut notified = 0;
    let mut answered = 0;
    while answered < n {
        let frame = publisher.read().await.expect("socket open");
        if frame["type"] == "document" {
            assert_eq!(frame["room"], channel);
            assert_eq!(frame["result"]["_source"]["seq"], notified, "{frame}");
            notified += 1;
        } else {
            assert_eq!(frame["requestId"], format!("p{answered}"), "{frame}");
            assert_eq!(frame["status"], 200);
            answered += 1;
            assert_eq!(notified, answered, "a notification precedes its response");
        }
    }
    for i in 0..n {
        let frame = other.next_frame().await;
        assert_eq!(frame["result"]["_source"]["seq"], i, "{frame}");
    }
    server.stop().await;
}

/// Batch writes that match thousands of times while a subscriber pauses reading are a burst,
/// not a slow client: with the default limits it gets every notification afterwards and stays
/// connected (about 11 MB of notifications: more than the socket buffers hold, so most of it
/// waits in the connection's queue).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_thousands_of_notifications_reaches_a_pausing_client() {
    let server = Server::start().await;
    let mut sub = server.client().await;
    let mut writer = server.client().await;
    // Two channels on one connection: each document is notified twice.
    sub.subscribe("i", "c", json!({}), json!({})).await;
    sub.subscribe("i", "c", json!({}), json!({"scope": "in"}))
        .await;
    let pad = "x".repeat(2048);
    let (batches, per_batch) = (6, 400);
    for b in 0..batches {
        let documents: Vec<Value> = (0..per_batch)
            .map(|i| json!({"_id": format!("d{b}-{i}"), "body": {"pad": pad}}))
            .collect();
        let result = writer
            .ok(
                json!({"controller":"document","action":"mCreate","index":"i","collection":"c",
                "body":{"documents": documents}}),
            )
            .await;
        assert_eq!(
            result["successes"].as_array().map(Vec::len),
            Some(per_batch)
        );
    }
    for _ in 0..2 * batches * per_batch {
        let frame = sub.next_frame().await;
        assert_eq!(frame["type"], "document", "{frame}");
    }
    sub.ok(json!({"controller":"server","action":"now"})).await;
    server.stop().await;
}

/// A WebSocket client whose socket has a small receive buffer: a few hundred KiB of
/// notifications it does not read fill the connection, and the server's writer must keep the
/// rest (frames cut in the middle by the full socket included).
async fn client_with_small_receive_buffer(server: &Server) -> server_support::Client {
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(4096).expect("SO_RCVBUF");
    let stream = socket.connect(server.addr).await.expect("connect");
    let (ws, _) = tokio_tungstenite::client_async(
        format!("ws://{}/", server.addr),
        tokio_tungstenite::MaybeTlsStream::Plain(stream),
    )
    .await
    .expect("websocket handshake");
    server_support::Client::from_socket(ws)
}

/// Frames waiting in the server's writers and queues, from the admin overview.
async fn queued_frames(server: &Server) -> u64 {
    let (status, overview) = http(server.addr, "GET", "/_admin/api/overview", None).await;
    assert_eq!(status, 200, "{overview}");
    overview["queuedFrames"].as_u64().expect("queuedFrames")
}

/// A subscriber stops reading while 8 MB of notifications are published: the socket blocks
/// (in the middle of a frame), the rest waits in the server, and the publisher is answered
/// all the same. Then the client reads slowly, catches up, and gets every notification whole
/// and in order, and its connection still answers requests.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_reads_slowly_then_catches_up_gets_everything_in_order() {
    let server = Server::start().await;
    let mut slow = client_with_small_receive_buffer(&server).await;
    let mut publisher = server.client().await;
    slow.subscribe("i", "c", json!({}), json!({})).await;
    // More than the socket buffers hold (the server's send buffer grows to 4 MiB at most).
    let pad = "x".repeat(64 * 1024 - 7);
    let total = 128;
    for i in 0..total {
        publisher
            .ok(json!({"controller":"realtime","action":"publish","index":"i","collection":"c","body":{"seq":i,"pad":pad}}))
            .await;
    }
    assert!(
        queued_frames(&server).await > 0,
        "the socket blocked: notifications wait in the server"
    );
    for i in 0..total {
        let frame = slow.next_frame().await;
        assert_eq!(frame["result"]["_source"]["seq"], i, "in order");
        assert_eq!(frame["result"]["_source"]["pad"], pad.as_str(), "whole");
        if i < total / 2 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    slow.ok(json!({"controller":"server","action":"now"})).await;
    assert_eq!(queued_frames(&server).await, 0);
    // Direct writes again.
    publisher
        .ok(json!({"controller":"realtime","action":"publish","index":"i","collection":"c","body":{"seq":total}}))
        .await;
    assert_eq!(slow.next_frame().await["result"]["_source"]["seq"], total);
    server.stop().await;
}

/// Subscribers drop their sockets while a pipelined burst of publishes is fanned out to their
/// room: writes to the dead sockets fail in the middle of the fan-out, and nobody else notices.
/// The remaining subscribers get every notification in order, the publisher every response,
/// and the dead connections leave the room.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_close_during_a_batched_send_leaves_the_others_served() {
    use futures_util::SinkExt;
    use tokio_tungstenite::tungstenite::Message;
    let server = Server::start().await;
    let mut publisher = server.client().await;
    let mut staying = Vec::new();
    let mut leaving = Vec::new();
    let mut room = String::new();
    for i in 0..24 {
        let mut client = server.client().await;
        room = client.subscribe("i", "c", json!({}), json!({})).await.0;
        if i % 2 == 0 {
            staying.push(client);
        } else {
            leaving.push(client);
        }
    }
    let n = 300;
    let pad = "x".repeat(1024);
    for i in 0..n {
        let request = json!({"controller":"realtime","action":"publish","index":"i","collection":"c",
            "requestId": format!("p{i}"), "body":{"seq": i, "pad": pad}});
        publisher
            .ws
            .feed(Message::text(request.to_string()))
            .await
            .expect("feed");
        if i == n / 3 {
            publisher.ws.flush().await.expect("flush");
            // Gone without a close handshake, in the middle of the burst.
            leaving.clear();
        }
    }
    publisher.ws.flush().await.expect("flush");
    let readers: Vec<_> = staying
        .into_iter()
        .map(|mut client| {
            tokio::spawn(async move {
                for i in 0..n {
                    let frame = client.next_frame().await;
                    assert_eq!(frame["result"]["_source"]["seq"], i, "{frame}");
                }
                client
            })
        })
        .collect();
    for i in 0..n {
        let frame = publisher.next_frame().await;
        assert_eq!(frame["requestId"], format!("p{i}"), "{frame}");
        assert_eq!(frame["status"], 200);
    }
    let mut stayed = Vec::new();
    for reader in readers {
        stayed.push(reader.await.expect("every notification, in order"));
    }
    let mut count = Value::Null;
    for _ in 0..50 {
        count = publisher
            .ok(json!({"controller":"realtime","action":"count","body":{"roomId":room}}))
            .await["count"]
            .clone();
        if count == 12 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        count, 12,
        "the closed connections left the room, the others stayed"
    );
    drop(stayed);
    server.stop().await;
}
