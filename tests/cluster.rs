//! Herald on several nodes over one Redis: real `redis-server` (started by the test), real
//! `herald serve` processes, real WebSocket and HTTP clients.

mod cluster_support;
mod server_support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use cluster_support::{Node, Redis};
use serde_json::{json, Value};
use server_support::{http, scrape, Client};

fn doc(action: &str, id: &str, body: Value) -> Value {
    json!({"controller":"document","action":action,"index":"shop","collection":"items","_id":id,"body":body})
}

/// The next document notification (presence notifications skipped).
async fn notification(client: &mut Client) -> Value {
    loop {
        let frame = client.next_frame().await;
        if frame["type"] == "document" {
            return frame;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_on_one_node_notifies_subscribers_of_the_others_once() {
    let redis = Redis::start();
    let nodes: Vec<Node> = (0..3).map(|_| Node::start(&redis, &[])).collect();
    let mut a = Client::connect(nodes[0].addr).await;
    let mut b = Client::connect(nodes[1].addr).await;
    let (_, cheap) = a
        .subscribe(
            "shop",
            "items",
            json!({"range":{"price":{"lt":10}}}),
            json!({}),
        )
        .await;
    let (_, all) = a
        .subscribe("shop", "items", json!({}), json!({"scope":"in"}))
        .await;

    // WebSocket write on B: `in` with the writer's requestId and volatile.
    let mut request = doc("create", "d1", json!({"price": 5}));
    request["requestId"] = json!("w-1");
    request["volatile"] = json!({"who": "b"});
    b.ok(request).await;
    let mut seen = BTreeMap::new();
    for _ in 0..2 {
        let n = notification(&mut a).await;
        assert_eq!(n["action"], "create");
        assert_eq!(n["scope"], "in");
        assert_eq!(n["requestId"], "w-1");
        assert_eq!(n["volatile"], json!({"who": "b"}));
        assert_eq!(n["result"]["_id"], "d1");
        assert_eq!(n["result"]["_version"], 1);
        seen.insert(n["room"].as_str().expect("room").to_owned(), n);
    }
    assert!(seen.contains_key(&cheap) && seen.contains_key(&all));

    // HTTP update on C that leaves the cheap room: `out` there (its _updatedFields too),
    // `in` to the room of every document.
    let (status, _) = http(
        nodes[2].addr,
        "PUT",
        "/shop/items/d1/_update",
        Some(r#"{"price": 50, "tag": {"new": true}}"#),
    )
    .await;
    assert_eq!(status, 200);
    let mut scopes = BTreeMap::new();
    for _ in 0..2 {
        let n = notification(&mut a).await;
        assert_eq!(n["action"], "update");
        assert_eq!(n["result"]["_version"], 2);
        assert_eq!(n["result"]["_updatedFields"], json!(["price", "tag.new"]));
        scopes.insert(
            n["room"].as_str().expect("room").to_owned(),
            n["scope"].clone(),
        );
    }
    assert_eq!(scopes[&cheap], "out");
    assert_eq!(scopes[&all], "in");

    // Publish on B reaches A (nothing stored).
    b.ok(
        json!({"controller":"realtime","action":"publish","index":"shop","collection":"items",
                "body":{"price": 1},"volatile":{"p":1}}),
    )
    .await;
    let mut rooms = Vec::new();
    for _ in 0..2 {
        let n = notification(&mut a).await;
        assert_eq!(n["action"], "publish");
        assert_eq!(n["volatile"], json!({"p": 1}));
        rooms.push(n["room"].as_str().expect("room").to_owned());
    }
    rooms.sort();
    let mut expected = vec![cheap.clone(), all.clone()];
    expected.sort();
    assert_eq!(rooms, expected);

    // Delete on C: `out` of the room of every document is filtered by its scope "in".
    let (status, _) = http(nodes[2].addr, "DELETE", "/shop/items/d1", None).await;
    assert_eq!(status, 200);
    // The document is gone on every node.
    let error = b
        .fail(json!({"controller":"document","action":"get","index":"shop","collection":"items","_id":"d1"}))
        .await;
    assert_eq!(error["status"], 404);
    // Exactly once: nothing more arrives.
    a.silent(300).await;

    // Routing: A received the four changes of the collection it listens to; B and C, with no
    // room, received nothing.
    let received = |samples: &BTreeMap<String, f64>| samples["herald_bus_received_messages_total"];
    assert_eq!(received(&scrape(nodes[0].addr).await), 4.0);
    assert_eq!(received(&scrape(nodes[1].addr).await), 0.0);
    assert_eq!(received(&scrape(nodes[2].addr).await), 0.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_updates_through_two_nodes_are_serialized() {
    let redis = Redis::start();
    let nodes: Vec<Node> = (0..3).map(|_| Node::start(&redis, &[])).collect();
    let mut watcher = Client::connect(nodes[0].addr).await;
    let (_, every) = watcher
        .subscribe("shop", "items", json!({}), json!({}))
        .await;
    let (_, by_b) = watcher
        .subscribe("shop", "items", json!({"equals":{"by":"b"}}), json!({}))
        .await;
    let mut setup = Client::connect(nodes[1].addr).await;
    setup
        .ok(doc("create", "c", json!({"by": "none", "n": 0})))
        .await;

    const EACH: usize = 25;
    let mut writers = Vec::new();
    for (node, name) in [(nodes[1].addr, "b"), (nodes[2].addr, "c")] {
        writers.push(tokio::spawn(async move {
            let mut client = Client::connect(node).await;
            for i in 0..EACH {
                client
                    .ok(doc("update", "c", json!({"by": name, "i": i})))
                    .await;
            }
        }));
    }
    for writer in writers {
        writer.await.expect("writer");
    }

    // Every version once, in order, from the room of every document; the B room's in/out
    // sequence follows from that history.
    let total = 1 + 2 * EACH;
    let mut writer_of: Vec<String> = Vec::new();
    let mut b_room: Vec<(u64, String)> = Vec::new();
    while writer_of.len() < total {
        let n = notification(&mut watcher).await;
        let version = n["result"]["_version"].as_u64().expect("version");
        if n["room"] == every.as_str() {
            assert_eq!(
                version as usize,
                writer_of.len() + 1,
                "versions in order: {n}"
            );
            writer_of.push(n["result"]["_source"]["by"].as_str().expect("by").into());
        } else {
            assert_eq!(n["room"], by_b.as_str());
            b_room.push((version, n["scope"].as_str().expect("scope").into()));
        }
    }
    let mut expected = Vec::new();
    for (i, by) in writer_of.iter().enumerate() {
        let previous = i.checked_sub(1).map(|p| writer_of[p].as_str());
        if by == "b" {
            expected.push((i as u64 + 1, "in".to_string()));
        } else if previous == Some("b") {
            expected.push((i as u64 + 1, "out".to_string()));
        }
    }
    // The last B-room notifications may still be on their way.
    let deadline = Instant::now() + Duration::from_secs(5);
    while b_room.len() < expected.len() && Instant::now() < deadline {
        let n = notification(&mut watcher).await;
        assert_eq!(n["room"], by_b.as_str(), "{n}");
        let version = n["result"]["_version"].as_u64().expect("version");
        b_room.push((version, n["scope"].as_str().expect("scope").into()));
    }
    assert_eq!(b_room, expected);
    assert_eq!(writer_of.iter().filter(|w| *w == "b").count(), EACH);
    watcher.silent(200).await;

    // The final document has every field of the last update.
    let got = setup
        .ok(json!({"controller":"document","action":"get","index":"shop","collection":"items","_id":"c"}))
        .await;
    assert_eq!(got["_version"], total as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_faults_give_503_then_everything_resumes_without_the_clients() {
    let mut redis = Redis::start();
    let mut nodes: Vec<Node> = (0..3).map(|_| Node::start(&redis, &[])).collect();
    let mut a = Client::connect(nodes[0].addr).await;
    let mut b = Client::connect(nodes[1].addr).await;
    a.subscribe("shop", "items", json!({}), json!({})).await;
    b.ok(doc("create", "kept", json!({"n": 1}))).await;
    assert_eq!(notification(&mut a).await["result"]["_id"], "kept");

    // A node killed with SIGKILL: the others go on.
    nodes[2].kill();
    b.ok(doc("create", "after-kill", json!({"n": 2}))).await;
    assert_eq!(notification(&mut a).await["result"]["_id"], "after-kill");

    // Redis hanging (SIGSTOP): requests get 503 after the Redis timeout (500 ms here)
    // instead of hanging.
    redis.run(false);
    let started = Instant::now();
    let (status, body) = http(nodes[1].addr, "GET", "/shop/items/kept", None).await;
    let waited = started.elapsed();
    redis.run(true);
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"]["id"], "core.fatal.service_unavailable");
    assert!(waited < Duration::from_secs(2), "503 took {waited:?}");
    eprintln!("redis hanging: a request answered 503 in {waited:?}");

    // Redis killed: writes fail promptly with 503, the nodes stay up.
    redis.kill();
    let started = Instant::now();
    let response = b.request(doc("create", "lost", json!({"n": 3}))).await;
    assert_eq!(response["status"], 503, "{response}");
    assert_eq!(response["error"]["id"], "core.fatal.service_unavailable");
    let (status, body) = http(nodes[0].addr, "GET", "/shop/items/kept", None).await;
    assert_eq!(status, 503, "{body}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "503 took {:?}",
        started.elapsed()
    );
    eprintln!(
        "redis down: two requests answered 503 in {:?}",
        started.elapsed()
    );
    let response = a
        .request(json!({"controller":"realtime","action":"publish","index":"shop","collection":"items","body":{}}))
        .await;
    assert_eq!(response["status"], 503, "{response}");
    assert!(nodes[0].alive() && nodes[1].alive());

    // Redis back with its AOF: acknowledged writes are there, the subscription on A works
    // again without the client doing anything.
    redis.restart();
    let restarted = Instant::now();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let response = b.request(doc("create", "back", json!({"n": 4}))).await;
        if response["status"] == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "writes did not resume: {response}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The bus may have resubscribed after the first write back: write until A hears one.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut i = 0;
    loop {
        i += 1;
        b.ok(doc("create", &format!("probe-{i}"), json!({"n": 5})))
            .await;
        let heard = tokio::time::timeout(Duration::from_millis(300), notification(&mut a)).await;
        if let Ok(n) = heard {
            if n["result"]["_id"]
                .as_str()
                .is_some_and(|id| id.starts_with("probe-") || id == "back")
            {
                break;
            }
        }
        assert!(Instant::now() < deadline, "subscription did not resume");
    }
    eprintln!(
        "redis restarted: a cross-node notification arrived {:?} after it answered PING",
        restarted.elapsed()
    );
    for id in ["kept", "after-kill"] {
        let got = b
            .ok(json!({"controller":"document","action":"get","index":"shop","collection":"items","_id":id}))
            .await;
        assert_eq!(got["_id"], id);
    }
    let error = b
        .fail(json!({"controller":"document","action":"get","index":"shop","collection":"items","_id":"lost"}))
        .await;
    assert_eq!(error["status"], 404);
}
