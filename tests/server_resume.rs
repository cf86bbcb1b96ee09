//! History and resume over real sockets (docs/realtime.md): a client drops, notifications are
//! produced, it resumes from the last position it saw and gets exactly the missed ones, once,
//! in order, then the live ones; positions it cannot resume are said so with nothing replayed;
//! scope `out` in the gap, restricted tenants, and a restart with the redb history.

mod identity_support;
mod server_support;

use std::sync::Arc;
use std::time::Duration;

use herald::history::{HistoryConfig, MemoryHistory, RedbHistory};
use herald::identity::{AuthConfig, VerifyKey};
use herald::notify::HubConfig;
use herald::server::Config;
use identity_support::{login, token, SECRET};
use serde_json::{json, Value};
use server_support::{Client, Server};

fn history(size: usize) -> HistoryConfig {
    HistoryConfig {
        size,
        bytes: 1 << 20,
        ttl: Duration::from_secs(60),
    }
}

fn config_with(history: Arc<dyn herald::history::History>) -> Config {
    Config {
        history: Some(history),
        hub: HubConfig {
            auth: AuthConfig {
                keys: vec![VerifyKey::hmac(SECRET)],
                ..AuthConfig::default()
            },
            ..HubConfig::default()
        },
        ..Config::default()
    }
}

async fn server(size: usize) -> Server {
    Server::start_with(config_with(Arc::new(MemoryHistory::new(history(size))))).await
}

fn create(id: &str, body: Value) -> Value {
    json!({"controller":"document","action":"create","index":"shop","collection":"orders",
        "_id": id, "body": body})
}

fn subscribe(filter: Value, extra: Value) -> Value {
    let mut request = json!({"controller":"realtime","action":"subscribe","index":"shop",
        "collection":"orders","body":filter});
    for (k, v) in extra.as_object().into_iter().flatten() {
        request[k] = v.clone();
    }
    request
}

/// The next notification: its document id, action, scope and position.
async fn next(client: &mut Client) -> (String, String, String, String) {
    let n = client.next_frame().await;
    assert_eq!(n["type"], "document", "{n}");
    (
        n["result"]["_id"].as_str().unwrap_or_default().to_owned(),
        n["action"].as_str().unwrap_or_default().to_owned(),
        n["scope"].as_str().unwrap_or_default().to_owned(),
        n["position"].as_str().expect("a position").to_owned(),
    )
}

/// A reader subscribed to `filter` sees the creation of `id` (with `body`), then drops: the
/// writer (still connected) and the position the reader saw.
async fn seen_then_gone(server: &Server, filter: Value, id: &str, body: Value) -> (Client, String) {
    let mut writer = server.client().await;
    let mut reader = server.client().await;
    reader.ok(subscribe(filter, json!({}))).await;
    writer.ok(create(id, body)).await;
    let (seen_id, _, _, seen) = next(&mut reader).await;
    assert_eq!(seen_id, id);
    (writer, seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resumed_subscription_gets_exactly_the_missed_notifications_then_live_ones() {
    let server = server(100).await;
    let mut writer = server.client().await;
    let mut reader = server.client().await;
    let answer = reader.ok(subscribe(json!({}), json!({}))).await;
    let start = answer["position"].as_str().expect("position").to_owned();
    writer.ok(create("d0", json!({"n": 0}))).await;
    let (id, _, _, seen) = next(&mut reader).await;
    assert_eq!(id, "d0");
    assert_ne!(seen, start);
    drop(reader);
    for i in 1..=5 {
        writer.ok(create(&format!("d{i}"), json!({"n": i}))).await;
    }
    let mut back = server.client().await;
    let answer = back
        .ok(subscribe(json!({}), json!({"resumeFrom": seen})))
        .await;
    assert_eq!(answer["recovered"], true, "{answer}");
    assert_eq!(answer["replayed"], 5, "{answer}");
    let mut last = seen;
    for i in 1..=5 {
        let (id, action, _, position) = next(&mut back).await;
        assert_eq!(
            (id.as_str(), action.as_str()),
            (format!("d{i}").as_str(), "create")
        );
        assert_ne!(position, last);
        last = position;
    }
    assert_eq!(answer["position"], last.as_str());
    // Then live, with no gap and no duplicate.
    writer.ok(create("d6", json!({"n": 6}))).await;
    assert_eq!(next(&mut back).await.0, "d6");
    back.silent(200).await;
    // Plain Kuzzle subscriptions are unaffected: no `recovered` in their answer.
    let plain = back
        .ok(subscribe(json!({"equals": {"n": 1}}), json!({})))
        .await;
    assert!(plain.get("recovered").is_none(), "{plain}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_position_beyond_the_history_is_not_recovered_and_nothing_is_replayed() {
    let server = server(3).await;
    let (mut writer, seen) = seen_then_gone(&server, json!({}), "d0", json!({})).await;
    for i in 1..=5 {
        writer.ok(create(&format!("d{i}"), json!({}))).await;
    }
    let mut back = server.client().await;
    let answer = back
        .ok(subscribe(json!({}), json!({"resumeFrom": seen.clone()})))
        .await;
    assert_eq!(answer["recovered"], false, "{answer}");
    assert_eq!(answer["replayed"], 0, "{answer}");
    back.silent(200).await;
    // Another epoch, or a position ahead of the stream: not recovered either.
    let (epoch, _) = seen.split_once(':').expect("epoch:offset");
    let flipped = format!(
        "{}:1",
        if epoch.starts_with('0') { "1" } else { "0" }.to_owned() + &epoch[1..]
    );
    let ahead = format!("{epoch}:99");
    for position in [flipped, ahead] {
        let answer = back
            .ok(subscribe(json!({}), json!({"resumeFrom": position})))
            .await;
        assert_eq!(answer["recovered"], false, "{answer}");
    }
    back.silent(200).await;
    // A malformed position is a clear error, and the connection stays usable.
    let error = back
        .fail(subscribe(json!({}), json!({"resumeFrom": "yesterday"})))
        .await;
    assert_eq!(error["id"], "api.assert.invalid_argument", "{error}");
    assert!(
        error["message"]
            .as_str()
            .unwrap_or("")
            .contains("resumeFrom"),
        "{error}"
    );
    let error = back
        .fail(subscribe(json!({}), json!({"resumeFrom": 12})))
        .await;
    assert_eq!(error["id"], "api.assert.invalid_type", "{error}");
    writer.ok(create("d6", json!({}))).await;
    assert_eq!(next(&mut back).await.0, "d6");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_document_leaving_the_filter_during_the_gap_is_replayed_as_scope_out() {
    let server = server(100).await;
    let open = json!({"equals": {"status": "open"}});
    let (mut writer, seen) =
        seen_then_gone(&server, open.clone(), "x", json!({"status": "open"})).await;
    // Every subscriber gone: the room stays matched, so the change is recorded.
    writer
        .ok(
            json!({"controller":"document","action":"update","index":"shop",
            "collection":"orders","_id":"x","body":{"status":"closed"}}),
        )
        .await;
    let mut back = server.client().await;
    let answer = back
        .ok(subscribe(open.clone(), json!({"resumeFrom": seen.clone()})))
        .await;
    assert_eq!(answer["recovered"], true, "{answer}");
    let (id, action, scope, _) = next(&mut back).await;
    assert_eq!(
        (id.as_str(), action.as_str(), scope.as_str()),
        ("x", "update", "out")
    );
    // A channel that asked for scope `in` only was never sent it: nothing to replay.
    let mut scoped = server.client().await;
    let answer = scoped
        .ok(subscribe(open, json!({"resumeFrom": seen, "scope": "in"})))
        .await;
    assert_eq!(
        (answer["recovered"].clone(), answer["replayed"].clone()),
        (json!(true), json!(0))
    );
    scoped.silent(200).await;
    server.stop().await;
}

fn tenant(name: &str) -> Value {
    json!({"subscribe": ["shop/*"], "write": ["shop/*"],
        "restrict": {"shop/*": {"equals": {"tenant": name}}}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restricted_tenant_never_gets_another_tenants_notification_from_history() {
    let server = server(100).await;
    let mut admin = server.client().await;
    login(
        &mut admin,
        &token("admin", json!({"subscribe":"*","write":"*"})),
    )
    .await;
    let a_token = token("user-a", tenant("a"));
    let mut a = server.client().await;
    login(&mut a, &a_token).await;
    let mut b = server.client().await;
    login(&mut b, &token("user-b", tenant("b"))).await;
    a.ok(subscribe(json!({}), json!({}))).await;
    b.ok(subscribe(json!({}), json!({}))).await;
    admin.ok(create("a1", json!({"tenant": "a"}))).await;
    admin.ok(create("b1", json!({"tenant": "b"}))).await;
    let a_seen = next(&mut a).await;
    assert_eq!(a_seen.0, "a1");
    let b_seen = next(&mut b).await;
    assert_eq!(b_seen.0, "b1");
    drop(a);
    // During A's gap: B's documents, and one of A's handed over to B.
    admin.ok(create("b2", json!({"tenant": "b"}))).await;
    admin
        .ok(
            json!({"controller":"document","action":"update","index":"shop",
            "collection":"orders","_id":"a1","body":{"tenant":"b","secret":"for b"}}),
        )
        .await;
    admin.ok(create("a2", json!({"tenant": "a"}))).await;
    let mut back = server.client().await;
    login(&mut back, &a_token).await;
    // B's position names B's room: for A it is not recoverable, and nothing is replayed.
    let answer = back
        .ok(subscribe(json!({}), json!({"resumeFrom": b_seen.3})))
        .await;
    assert_eq!(answer["recovered"], false, "{answer}");
    back.silent(200).await;
    let answer = back
        .ok(subscribe(json!({}), json!({"resumeFrom": a_seen.3})))
        .await;
    assert_eq!(answer["recovered"], true, "{answer}");
    assert_eq!(answer["replayed"], 2, "{answer}");
    // a1 left A's restriction: replayed as `out`, redacted to its id, as it was sent live.
    let out = back.next_frame().await;
    assert_eq!(
        (out["result"]["_id"].clone(), out["scope"].clone()),
        (json!("a1"), json!("out"))
    );
    assert_eq!(out["result"]["_source"], json!({}), "{out}");
    let (id, _, scope, _) = next(&mut back).await;
    assert_eq!((id.as_str(), scope.as_str()), ("a2", "in"));
    back.silent(200).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_survives_a_restart_with_the_redb_history() {
    let dir = tempfile::tempdir().expect("tempdir");
    let open = || Arc::new(RedbHistory::open(dir.path(), history(100)).expect("history"));
    let server = Server::start_with(config_with(open())).await;
    let (mut writer, seen) = seen_then_gone(&server, json!({}), "d0", json!({})).await;
    writer.ok(create("d1", json!({}))).await;
    drop(writer);
    server.stop().await;
    // Restarted: the room is matched again before anyone subscribes, with the same epoch.
    let server = Server::start_with(config_with(open())).await;
    let mut writer = server.client().await;
    writer.ok(create("d2", json!({}))).await;
    let mut back = server.client().await;
    let answer = back
        .ok(subscribe(json!({}), json!({"resumeFrom": seen.clone()})))
        .await;
    assert_eq!(answer["recovered"], true, "{answer}");
    assert_eq!(next(&mut back).await.0, "d1");
    assert_eq!(next(&mut back).await.0, "d2");
    writer.ok(create("d3", json!({}))).await;
    assert_eq!(next(&mut back).await.0, "d3");
    back.silent(100).await;
    drop((writer, back));
    server.stop().await;
    // A history that was not saved by a shutdown (a crash) restores nothing: every stream
    // starts a new epoch and the old positions are not recovered.
    drop(RedbHistory::open(dir.path(), history(100)).expect("history"));
    let server = Server::start_with(config_with(open())).await;
    let mut back = server.client().await;
    let answer = back
        .ok(subscribe(json!({}), json!({"resumeFrom": seen})))
        .await;
    assert_eq!(answer["recovered"], false, "{answer}");
    server.stop().await;
}
