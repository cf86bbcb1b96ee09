//! `GET /metrics` after known traffic holds exactly the known counts; the admin endpoints need
//! the admin right; the filter playground agrees with the engine (same room id as a real
//! subscription).

mod identity_support;
mod server_support;

use std::collections::BTreeMap;

use serde_json::{json, Value};
use server_support::{get, http, scrape, Server};

fn sample(samples: &BTreeMap<String, f64>, name: &str) -> f64 {
    *samples
        .get(name)
        .unwrap_or_else(|| panic!("no sample {name} in {samples:#?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_hold_the_counts_of_known_traffic() {
    let server = Server::start().await;
    const SUBSCRIBERS: usize = 3;
    const PUBLISHES: usize = 5;
    // Three subscribers share one room; the first is also in a second room (every document).
    let mut subscribers = Vec::new();
    for _ in 0..SUBSCRIBERS {
        let mut client = server.client().await;
        client
            .subscribe(
                "shop",
                "orders",
                json!({"equals": {"kind": "a"}}),
                json!({}),
            )
            .await;
        subscribers.push(client);
    }
    subscribers[0]
        .subscribe("shop", "orders", json!({}), json!({}))
        .await;
    let mut publisher = server.client().await;
    for i in 0..PUBLISHES {
        publisher
            .ok(json!({"controller":"realtime","action":"publish","index":"shop","collection":"orders","body":{"kind":"a","n":i}}))
            .await;
    }
    // One document write over HTTP: one commit, one more match, one notification (room {}).
    let (status, _) = http(
        server.addr,
        "POST",
        "/shop/orders/_create",
        Some(r#"{"kind":"b"}"#),
    )
    .await;
    assert_eq!(status, 200);
    // Two refused requests: an unknown action, an unknown controller (labels "other").
    publisher
        .fail(json!({"controller":"realtime","action":"bogus"}))
        .await;
    publisher
        .fail(json!({"controller":"no-such-controller","action":"x"}))
        .await;
    // Every notification is read: nothing stays queued.
    let mut received = 0;
    for (i, client) in subscribers.iter_mut().enumerate() {
        let expected = if i == 0 { 2 * PUBLISHES + 1 } else { PUBLISHES };
        for _ in 0..expected {
            let frame = client.next_frame().await;
            assert_eq!(frame["type"], "document", "{frame}");
            received += 1;
        }
    }
    // Per publish: 3 subscribers of the first room, 1 of the second.
    let delivered = (SUBSCRIBERS + 1) * PUBLISHES + 1;
    assert_eq!(received, delivered);

    let m = scrape(server.addr).await;
    let connections = (SUBSCRIBERS + 1) as f64;
    assert_eq!(
        sample(&m, "herald_connections_open{transport=\"websocket\"}"),
        connections
    );
    assert!(sample(&m, "herald_connections_open{transport=\"http\"}") >= 1.0);
    assert_eq!(sample(&m, "herald_rooms"), 2.0);
    assert_eq!(sample(&m, "herald_subscriptions"), (SUBSCRIBERS + 1) as f64);
    assert_eq!(
        sample(&m, "herald_notifications_delivered_total"),
        delivered as f64
    );
    assert_eq!(sample(&m, "herald_notifications_dropped_total"), 0.0);
    assert_eq!(sample(&m, "herald_slow_clients_closed_total"), 0.0);
    assert_eq!(sample(&m, "herald_outbound_queue_frames"), 0.0);
    assert_eq!(sample(&m, "herald_token_expiries_total"), 0.0);
    let requests = |controller: &str, action: &str, status: &str| {
        let name = format!(
            "herald_requests_total{{controller=\"{controller}\",action=\"{action}\",status=\"{status}\"}}"
        );
        sample(&m, &name)
    };
    assert_eq!(
        requests("realtime", "subscribe", "2xx"),
        (SUBSCRIBERS + 1) as f64
    );
    assert_eq!(requests("realtime", "publish", "2xx"), PUBLISHES as f64);
    assert_eq!(requests("document", "create", "2xx"), 1.0);
    assert_eq!(requests("realtime", "other", "4xx"), 1.0);
    assert_eq!(requests("other", "other", "4xx"), 1.0);
    assert_eq!(
        sample(
            &m,
            "herald_request_duration_seconds_count{controller=\"realtime\"}"
        ),
        (SUBSCRIBERS + 1 + PUBLISHES + 1) as f64
    );
    assert_eq!(
        sample(
            &m,
            "herald_request_duration_seconds_bucket{le=\"+Inf\",controller=\"realtime\"}"
        ),
        (SUBSCRIBERS + 1 + PUBLISHES + 1) as f64
    );
    // One match per published message and per written document.
    assert_eq!(
        sample(&m, "herald_matching_duration_seconds_count"),
        (PUBLISHES + 1) as f64
    );
    assert_eq!(
        sample(&m, "herald_store_commit_duration_seconds_count"),
        1.0
    );
    assert!(sample(&m, "herald_resident_memory_bytes") > 0.0);
    // No label names a room, a user or a connection: every label value is from a closed set.
    for name in m.keys() {
        assert!(!name.contains("shop"), "{name}");
    }

    // The dashboard's overview agrees.
    let (status, overview) = get(server.addr, "/_admin/api/overview", "").await;
    assert_eq!(status, 200);
    let overview: Value = serde_json::from_str(&overview).expect("json");
    assert_eq!(overview["rooms"], 2);
    assert_eq!(overview["connections"]["websocket"], SUBSCRIBERS + 1);
    assert_eq!(overview["notificationsDelivered"], delivered);
    assert_eq!(overview["errors"], 2);
    let (_, rooms) = get(server.addr, "/_admin/api/rooms", "").await;
    let rooms: Value = serde_json::from_str(&rooms).expect("json");
    let mut counts: Vec<u64> = rooms["rooms"]
        .as_array()
        .expect("rooms")
        .iter()
        .map(|r| r["subscribers"].as_u64().expect("count"))
        .collect();
    counts.sort();
    assert_eq!(counts, [1, SUBSCRIBERS as u64]);
    let (_, connections) = get(server.addr, "/_admin/api/connections", "").await;
    let connections: Value = serde_json::from_str(&connections).expect("json");
    assert_eq!(connections["total"], SUBSCRIBERS + 1);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_endpoints_need_the_admin_right() {
    // Anonymous callers refused: only an admin token opens the dashboard's data.
    let server = identity_support::server(None).await;
    let admin = identity_support::token("ops", json!({"admin": true}));
    let user = identity_support::token("bob", identity_support::all_rights());
    for path in ["/metrics", "/_admin/api/overview", "/_admin/api/rooms"] {
        assert_eq!(get(server.addr, path, "").await.0, 401, "{path}");
        let bearer = format!("Authorization: Bearer {user}\r\n");
        assert_eq!(get(server.addr, path, &bearer).await.0, 401, "{path}");
        let bearer = format!("Authorization: Bearer {admin}\r\n");
        assert_eq!(get(server.addr, path, &bearer).await.0, 200, "{path}");
        let query = format!("{path}?token={admin}");
        assert_eq!(get(server.addr, &query, "").await.0, 200, "{path}");
    }
    // The page itself is static: it asks for a token.
    let (status, page) = get(server.addr, "/_admin", "").await;
    assert_eq!(status, 200);
    assert!(page.contains("<script src=\"/_admin/app.js\">"));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn playground_agrees_with_the_engine() {
    let server = Server::start().await;
    let filter = json!({"or": [{"equals": {"kind": "a"}}, {"range": {"total": {"gt": 10}}}]});
    let ask = |filter: String, document: &str| {
        json!({"index": "shop", "collection": "orders", "filter": filter, "document": document})
            .to_string()
    };
    let (status, answer) = http(
        server.addr,
        "POST",
        "/_admin/api/filter",
        Some(&ask(filter.to_string(), r#"{"kind": "b", "total": 12}"#)),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(answer["valid"], true, "{answer}");
    assert_eq!(answer["subfilters"], 2);
    assert_eq!(answer["document"]["matches"], true, "{answer}");
    let matching: Vec<bool> = answer["document"]["subfilters"]
        .as_array()
        .expect("subfilters")
        .iter()
        .map(|s| s["matches"].as_bool().expect("bool"))
        .collect();
    assert_eq!(matching.iter().filter(|m| **m).count(), 1, "{answer}");
    // The room id is the one a subscription gets.
    let mut client = server.client().await;
    let (room, _) = client.subscribe("shop", "orders", filter, json!({})).await;
    assert_eq!(answer["roomId"], room);
    // A bad filter names the path of the error.
    let bad = r#"{"and": [{"equals": {"a": 1}}, {"range": {"b": {"gt": "x", "nope": 1}}}]}"#;
    let (_, answer) = http(
        server.addr,
        "POST",
        "/_admin/api/filter",
        Some(&ask(bad.into(), "")),
    )
    .await;
    assert_eq!(answer["valid"], false, "{answer}");
    assert!(
        answer["error"]["path"]
            .as_str()
            .expect("path")
            .starts_with("and[1].range.b"),
        "{answer}"
    );
    // JSON syntax errors are reported too.
    let (_, answer) = http(
        server.addr,
        "POST",
        "/_admin/api/filter",
        Some(&ask("{".into(), "")),
    )
    .await;
    assert_eq!(answer["valid"], false, "{answer}");
    server.stop().await;
}
