//! The realtime controller over real sockets: every action, options, presence and errors.

mod server_support;

use serde_json::{json, Value};
use server_support::Server;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribe_publish_count_unsubscribe() {
    let server = Server::start().await;
    let mut sub = server.client().await;
    let mut publisher = server.client().await;
    let (room, channel) = sub
        .subscribe(
            "idx",
            "col",
            json!({"equals":{"color":"red"}}),
            json!({"volatile":{"me":1}}),
        )
        .await;
    assert_eq!(room.len(), 64);
    assert!(channel.starts_with(&format!("{room}-")));
    // Same filter, same room and channel.
    let (room2, channel2) = publisher
        .subscribe("idx", "col", json!({"equals":{"color":"red"}}), json!({}))
        .await;
    assert_eq!(
        (room2.as_str(), channel2.as_str()),
        (room.as_str(), channel.as_str())
    );
    let count = sub
        .ok(json!({"controller":"realtime","action":"count","body":{"roomId":room}}))
        .await;
    assert_eq!(count, json!({"count": 2}));

    let result = publisher
        .ok(
            json!({"controller":"realtime","action":"publish","index":"idx","collection":"col",
            "_id":"m1","body":{"color":"red"},"volatile":{"who":"pub"}}),
        )
        .await;
    assert_eq!(result, json!({"published": true}));
    for client in [&mut sub, &mut publisher] {
        let n = client.next_frame().await;
        assert_eq!(n["type"], "document");
        assert_eq!(n["room"], channel);
        assert_eq!(n["action"], "publish");
        assert_eq!(n["event"], "publish");
        assert_eq!(n["scope"], "in");
        assert_eq!(n["controller"], "realtime");
        assert_eq!(n["protocol"], "websocket");
        assert_eq!(n["volatile"], json!({"who":"pub"}));
        assert_eq!(n["result"]["_id"], "m1");
        assert_eq!(n["result"]["_source"]["color"], "red");
        assert_eq!(n["result"]["_source"]["_kuzzle_info"]["author"], "-1");
    }
    // Not matching: nothing.
    publisher
        .ok(json!({"controller":"realtime","action":"publish","index":"idx","collection":"col","body":{"color":"blue"}}))
        .await;
    sub.silent(100).await;

    let r = sub
        .ok(json!({"controller":"realtime","action":"unsubscribe","body":{"roomId":room}}))
        .await;
    assert_eq!(r, json!({"roomId": room}));
    let count = sub
        .ok(json!({"controller":"realtime","action":"count","body":{"roomId":room}}))
        .await;
    assert_eq!(count, json!({"count": 1}));
    publisher
        .ok(json!({"controller":"realtime","action":"publish","index":"idx","collection":"col","body":{"color":"red"}}))
        .await;
    assert_eq!(publisher.next_frame().await["type"], "document");
    sub.silent(100).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_in_and_out_follow_the_users_option() {
    let server = Server::start().await;
    let mut watcher = server.client().await;
    let mut quiet = server.client().await;
    let (room, channel) = watcher
        .subscribe("i", "c", json!({}), json!({"users":"all"}))
        .await;
    quiet.subscribe("i", "c", json!({}), json!({})).await;
    let n = watcher.next_frame().await;
    assert_eq!(n["type"], "user");
    assert_eq!(n["user"], "in");
    assert_eq!(n["room"], channel);
    assert_eq!(n["result"], json!({"count": 2}));
    assert_eq!(n["controller"], "realtime");
    assert_eq!(n["action"], "subscribe");
    assert_eq!(n["index"], "i");

    let mut third = server.client().await;
    third
        .subscribe(
            "i",
            "c",
            json!({}),
            json!({"users":"out","volatile":{"name":"t"}}),
        )
        .await;
    assert_eq!(watcher.next_frame().await["result"]["count"], 3);
    // quiet (users none) leaves: watcher (all) and third (out) hear it.
    drop(quiet);
    for client in [&mut watcher, &mut third] {
        let n = client.next_frame().await;
        assert_eq!(n["user"], "out");
        assert_eq!(n["action"], "unsubscribe");
        assert_eq!(n["result"]["count"], 2);
    }
    // third unsubscribes: its stored volatile goes with its `out`.
    third
        .ok(json!({"controller":"realtime","action":"unsubscribe","body":{"roomId":room}}))
        .await;
    let n = watcher.next_frame().await;
    assert_eq!(n["user"], "out");
    assert_eq!(n["volatile"], json!({"name":"t"}));
    assert_eq!(n["result"]["count"], 1);
    let count = watcher
        .ok(json!({"controller":"realtime","action":"count","body":{"roomId":room}}))
        .await;
    assert_eq!(count["count"], 1);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disconnect_cleans_up_rooms() {
    let server = Server::start().await;
    let mut a = server.client().await;
    let (room, _) = a
        .subscribe("i", "c", json!({"exists":"x"}), json!({}))
        .await;
    let (status, list) =
        server_support::http(server.addr, "GET", "/_listSubscriptions", None).await;
    assert_eq!(status, 200);
    assert_eq!(list["result"]["i"]["c"][&room], 1);
    a.ws.close(None).await.expect("close");
    drop(a);
    let mut b = server.client().await;
    let mut count = Value::Null;
    for _ in 0..50 {
        count = b
            .ok(json!({"controller":"realtime","action":"count","body":{"roomId":room}}))
            .await;
        if count["count"] == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(count["count"], 0);
    let list = b.ok(json!({"controller":"realtime","action":"list"})).await;
    assert_eq!(list, json!({}));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn channels_per_option_set() {
    let server = Server::start().await;
    let mut c = server.client().await;
    let (_, all) = c.subscribe("i", "c", json!({}), json!({})).await;
    let (_, only_in) = c
        .subscribe("i", "c", json!({}), json!({"scope":"in"}))
        .await;
    let (_, none) = c
        .subscribe("i", "c", json!({}), json!({"scope":"none","users":"all"}))
        .await;
    assert_ne!(all, only_in);
    assert_ne!(all, none);
    c.ok(
        json!({"controller":"realtime","action":"publish","index":"i","collection":"c","body":{}}),
    )
    .await;
    // One frame per channel that accepts `in`: all and in, not none.
    let mut rooms = vec![
        c.next_frame().await["room"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        c.next_frame().await["room"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    ];
    rooms.sort();
    let mut expected = vec![all, only_in];
    expected.sort();
    assert_eq!(rooms, expected);
    c.silent(100).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn join_an_existing_room() {
    let server = Server::start().await;
    let mut a = server.client().await;
    let mut b = server.client().await;
    let (room, _) = a
        .subscribe("i", "c", json!({"equals":{"k":1}}), json!({"users":"in"}))
        .await;
    let joined = b
        .ok(json!({"controller":"realtime","action":"join","body":{"roomId":room}}))
        .await;
    assert_eq!(joined["roomId"], room);
    let n = a.next_frame().await;
    assert_eq!(n["user"], "in");
    assert_eq!(n["action"], "join");
    assert!(n.get("index").is_none());
    let e = b
        .fail(json!({"controller":"realtime","action":"join","body":{"roomId":"nope"}}))
        .await;
    assert_eq!(e["id"], "core.realtime.room_not_found");
    assert_eq!(e["status"], 404);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn realtime_errors() {
    let server = Server::start().await;
    let mut c = server.client().await;
    let sub = |extra: Value| {
        let mut r = json!({"controller":"realtime","action":"subscribe","index":"i","collection":"c","body":{}});
        if let Value::Object(extra) = extra {
            for (k, v) in extra {
                if v.is_null() && k != "scope" && k != "users" {
                    r.as_object_mut().map(|m| m.remove(&k));
                } else {
                    r[k] = v;
                }
            }
        }
        r
    };
    let cases = [
        (
            sub(json!({"index":null})),
            "api.assert.missing_argument",
            400,
        ),
        (
            sub(json!({"collection":null})),
            "api.assert.missing_argument",
            400,
        ),
        (sub(json!({"index":3})), "api.assert.invalid_type", 400),
        (sub(json!({"body":null})), "api.assert.body_required", 400),
        (sub(json!({"body":[1]})), "api.assert.invalid_type", 400),
        (
            sub(json!({"body":{"foo":{}}})),
            "api.assert.koncorde_dsl_error",
            400,
        ),
        (
            sub(json!({"body":{"equals":{"a":1},"exists":"b"}})),
            "api.assert.koncorde_dsl_error",
            400,
        ),
        (
            sub(json!({"scope":"sideways"})),
            "core.realtime.invalid_scope",
            400,
        ),
        (
            sub(json!({"scope":null})),
            "core.realtime.invalid_scope",
            400,
        ),
        (
            sub(json!({"users":"everyone"})),
            "core.realtime.invalid_users",
            400,
        ),
        (sub(json!({"users":1})), "core.realtime.invalid_users", 400),
        (
            json!({"controller":"realtime","action":"unsubscribe","body":{"roomId":"nope"}}),
            "core.realtime.not_subscribed",
            412,
        ),
        (
            json!({"controller":"realtime","action":"unsubscribe","body":{}}),
            "api.assert.missing_argument",
            400,
        ),
        (
            json!({"controller":"realtime","action":"unsubscribe"}),
            "api.assert.body_required",
            400,
        ),
        (
            json!({"controller":"realtime","action":"count","body":{"roomId":5}}),
            "api.assert.invalid_type",
            400,
        ),
        (
            json!({"controller":"realtime","action":"publish","index":"i","collection":"c"}),
            "api.assert.body_required",
            400,
        ),
        (
            json!({"controller":"realtime","action":"publish","index":"i","collection":"c","body":{},"_id":5}),
            "api.assert.invalid_type",
            400,
        ),
        (
            json!({"controller":"realtime","action":"publish","collection":"c","body":{}}),
            "api.assert.missing_argument",
            400,
        ),
    ];
    for (request, id, status) in cases {
        let e = c.fail(request.clone()).await;
        assert_eq!(e["id"], id, "{request}: {e}");
        assert_eq!(e["status"], status, "{request}");
        assert!(e["code"].is_u64());
    }
    let e = c.fail(sub(json!({"body":{"foo":{}}}))).await;
    assert_eq!(e["code"], 33619982);
    // The connection still works after all that.
    c.subscribe("i", "c", json!({}), json!({})).await;
    server.stop().await;
}
