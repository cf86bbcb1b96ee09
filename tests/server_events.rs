//! Events addressed to users, to everyone and to rooms, over real sockets: every connection of
//! a user gets them, nobody else does, offline users get nothing, listeners select by type or
//! event name, and refusals use Kuzzle's error format.

mod identity_support;
mod server_support;

use identity_support::{all_rights, assert_error, listen, logged_in, send_event, server, token};
use serde_json::{json, Value};
use server_support::{http_with, Client};

/// Asserts the next frame is the event `result` on `channel`.
async fn expect_event(client: &mut Client, channel: &str, result: &Value) {
    let frame = client.next_frame().await;
    assert_eq!(frame["type"], "event", "{frame}");
    assert_eq!(frame["room"], channel, "{frame}");
    assert_eq!(frame["controller"], "events");
    assert_eq!(&frame["result"], result, "{frame}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_reach_every_connection_of_a_user_and_nobody_else() {
    let server = server(Some(json!({}))).await;
    let alice_token = token("alice", json!({}));
    let mut alice = Vec::new();
    for _ in 0..3 {
        let mut client = logged_in(&server, &alice_token).await;
        let channel = listen(&mut client, json!({})).await;
        alice.push((client, channel));
    }
    let mut bob = logged_in(&server, &token("bob", json!({}))).await;
    let bob_channel = listen(&mut bob, json!({})).await;
    let mut backend = logged_in(&server, &token("erp", all_rights())).await;

    let reminder = json!({"type":"CM_REMINDER","payload":{"text":"call back"},"user":"alice"});
    assert_eq!(send_event(&mut backend, reminder).await, 3);
    let expected = json!({"type":"CM_REMINDER","payload":{"text":"call back"},"from":"erp"});
    for (client, channel) in &mut alice {
        expect_event(client, channel, &expected).await;
    }
    bob.silent(200).await;

    // Offline users: nothing delivered, nothing stored.
    let offline = json!({"type":"MAIL","payload":{},"user":"nobody"});
    assert_eq!(send_event(&mut backend, offline).await, 0);
    let mut late = logged_in(&server, &token("nobody", json!({}))).await;
    listen(&mut late, json!({})).await;
    late.silent(200).await;

    // A list of users, and everyone (anonymous listeners included).
    let both = json!({"type":"SYS_MSG","users":["alice","bob","ghost"]});
    assert_eq!(send_event(&mut backend, both).await, 4);
    for (client, channel) in &mut alice {
        expect_event(client, channel, &json!({"type":"SYS_MSG","from":"erp"})).await;
    }
    expect_event(
        &mut bob,
        &bob_channel,
        &json!({"type":"SYS_MSG","from":"erp"}),
    )
    .await;
    let mut anonymous = server.client().await;
    let anonymous_channel = listen(&mut anonymous, json!({})).await;
    let shutdown = json!({"type":"SHUTDOWN","payload":{"in":600},"all":true});
    // Alice's three, Bob, the late user and the anonymous listener.
    assert_eq!(send_event(&mut backend, shutdown).await, 6);
    let expected = json!({"type":"SHUTDOWN","payload":{"in":600},"from":"erp"});
    expect_event(&mut anonymous, &anonymous_channel, &expected).await;
    for (client, channel) in &mut alice {
        expect_event(client, channel, &expected).await;
    }

    // Unsubscribing from the listener stops delivery.
    let (client, channel) = &mut alice[0];
    client
        .ok(json!({"controller":"realtime","action":"unsubscribe","body":{"roomId":channel.clone()}}))
        .await;
    assert_eq!(
        send_event(&mut backend, json!({"type":"VOIP","user":"alice"})).await,
        2
    );
    client.silent(200).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listeners_select_events_by_name_and_type() {
    let server = server(None).await;
    let jwt = token("alice", json!({"events": true}));
    let mut alice = logged_in(&server, &jwt).await;
    let invoices = listen(&mut alice, json!({"equals":{"event":"refresh_invoice"}})).await;
    let calls = listen(&mut alice, json!({"in":{"type":["VOIP","MAIL"]}})).await;
    let refresh = json!({"event":"refresh_invoice","message":{"id":42},"user":"alice"});
    assert_eq!(send_event(&mut alice, refresh).await, 1);
    expect_event(
        &mut alice,
        &invoices,
        &json!({"event":"refresh_invoice","message":{"id":42},"from":"alice"}),
    )
    .await;
    assert_eq!(
        send_event(&mut alice, json!({"type":"VOIP","user":"alice"})).await,
        1
    );
    expect_event(&mut alice, &calls, &json!({"type":"VOIP","from":"alice"})).await;
    // Selected by no listener: not delivered.
    assert_eq!(
        send_event(&mut alice, json!({"type":"PERF","user":"alice"})).await,
        0
    );
    alice.silent(200).await;
    // A bad listener filter is a DSL error.
    let error = alice
        .fail(json!({"controller":"realtime","action":"subscribe","index":"%herald","collection":"events","body":{"bogus":{}}}))
        .await;
    assert_error(&error, "api.assert.koncorde_dsl_error", 400);
    let error = alice
        .fail(json!({"controller":"realtime","action":"subscribe","index":"%herald","collection":"other","body":{}}))
        .await;
    assert_error(&error, "api.assert.invalid_argument", 400);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn named_events_to_a_room_reach_its_subscribers() {
    let server = server(None).await;
    let mut viewer = logged_in(&server, &token("viewer", json!({"subscribe":"*"}))).await;
    let (room, channel) = viewer
        .subscribe("billing", "invoices", json!({}), json!({}))
        .await;
    let mut other = logged_in(&server, &token("other", json!({"subscribe":"*"}))).await;
    other
        .subscribe("billing", "quotes", json!({}), json!({}))
        .await;
    let mut app = logged_in(
        &server,
        &token("app", json!({"events": true, "publish": ["billing/*"]})),
    )
    .await;
    let send = json!({"event":"refresh_invoice","message":"INV-1","roomId":room});
    assert_eq!(send_event(&mut app, send).await, 1);
    let frame = viewer.next_frame().await;
    assert_eq!(frame["type"], "event");
    assert_eq!(frame["room"], channel.as_str());
    assert_eq!(frame["index"], "billing");
    assert_eq!(frame["collection"], "invoices");
    assert_eq!(
        frame["result"],
        json!({"event":"refresh_invoice","message":"INV-1","from":"app"})
    );
    other.silent(200).await;
    // The publish right on the room's collection is needed: without it the room does not
    // exist for the caller, as unknown rooms (404).
    let mut mute = logged_in(&server, &token("mute", json!({"events": true}))).await;
    let error = mute
        .fail(json!({"controller":"events","action":"send","body":{"event":"x","roomId":room}}))
        .await;
    assert_error(&error, "core.realtime.room_not_found", 404);
    let error = app
        .fail(json!({"controller":"events","action":"send","body":{"event":"x","roomId":"nope"}}))
        .await;
    assert_error(&error, "core.realtime.room_not_found", 404);
    viewer.silent(100).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_over_http_and_malformed_sends() {
    let server = server(None).await;
    let mut alice = logged_in(&server, &token("alice", json!({}))).await;
    let channel = listen(&mut alice, json!({})).await;
    let bearer = format!(
        "Authorization: Bearer {}\r\n",
        token("backend", all_rights())
    );
    let body = r#"{"type":"NOT","payload":{"n":1},"user":"alice"}"#;
    let (status, response) = http_with(server.addr, "POST", "/_events", &bearer, Some(body)).await;
    assert_eq!(status, 200, "{response}");
    assert_eq!(response["result"], json!({"delivered": 1}));
    expect_event(
        &mut alice,
        &channel,
        &json!({"type":"NOT","payload":{"n":1},"from":"backend"}),
    )
    .await;
    // Without a token (anonymous refused here): 401.
    let (status, response) = http_with(server.addr, "POST", "/_events", "", Some(body)).await;
    assert_eq!(status, 401, "{response}");
    let mut sender = logged_in(&server, &token("backend", all_rights())).await;
    for (body, id) in [
        (json!({"type":"WRN"}), "api.assert.invalid_argument"),
        (
            json!({"type":"WRN","user":"a","all":true}),
            "api.assert.invalid_argument",
        ),
        (json!({"user":"alice"}), "api.assert.missing_argument"),
        (json!({"type":5,"user":"alice"}), "api.assert.invalid_type"),
        (
            json!({"type":"WRN","users":"alice"}),
            "api.assert.invalid_type",
        ),
        (
            json!({"type":"WRN","all":false}),
            "api.assert.invalid_argument",
        ),
    ] {
        let error = sender
            .fail(json!({"controller":"events","action":"send","body":body}))
            .await;
        assert_error(&error, id, 400);
    }
    alice.silent(100).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_drops_the_subscriptions_of_other_connections_sharing_the_token() {
    let server = server(None).await;
    let jwt = token("alice", all_rights());
    let mut first = logged_in(&server, &jwt).await;
    let mut second = logged_in(&server, &jwt).await;
    let (room, _) = second
        .subscribe("chat", "lobby", json!({}), json!({}))
        .await;
    listen(&mut second, json!({})).await;
    let (_, kept) = first.subscribe("chat", "lobby", json!({}), json!({})).await;
    first
        .ok(json!({"controller":"auth","action":"logout","jwt":jwt}))
        .await;
    let mut sender = logged_in(&server, &token("erp", all_rights())).await;
    let count = sender
        .ok(json!({"controller":"realtime","action":"count","body":{"roomId":room}}))
        .await;
    // Only the first connection is left in the room (its own subscriptions stay).
    assert_eq!(count["count"], 1);
    assert_eq!(
        send_event(&mut sender, json!({"type":"MAIL","user":"alice"})).await,
        0
    );
    sender
        .ok(json!({"controller":"realtime","action":"publish","index":"chat","collection":"lobby","body":{}}))
        .await;
    assert_eq!(first.next_frame().await["room"], kept.as_str());
    second.silent(200).await;
    server.stop().await;
}
