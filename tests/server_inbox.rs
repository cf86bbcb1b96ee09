//! Persistent inboxes (`notifications` controller) over real sockets: stored for offline
//! users, state shared by every connection of a user with exact counts, durable across a
//! restart on the embedded store, dedup keys, expiry (on access and by the sweep), retention,
//! rights, and the HTTP routes.

mod identity_support;
mod server_support;

use std::sync::Arc;
use std::time::Duration;

use herald::identity::{AuthConfig, Rights, VerifyKey};
use herald::inbox::{InboxConfig, RedbInboxStore};
use herald::notify::HubConfig;
use herald::server::Config;
use herald::store::RedbStore;
use identity_support::{assert_error, logged_in, token, SECRET};
use serde_json::{json, Value};
use server_support::{http_with, Client, Server};

/// The rights of the application backend that sends notifications.
fn sender() -> Value {
    json!({"notify": true})
}

fn config(inbox: InboxConfig, anonymous: Option<Rights>) -> Config {
    Config {
        hub: HubConfig {
            auth: AuthConfig {
                keys: vec![VerifyKey::hmac(SECRET)],
                anonymous,
                ..AuthConfig::default()
            },
            inbox,
            ..HubConfig::default()
        },
        ..Config::default()
    }
}

async fn start(inbox: InboxConfig) -> Server {
    Server::start_with(config(inbox, Some(Rights::all()))).await
}

/// A server on the embedded store in `dir` (documents and inboxes).
async fn start_on_disk(dir: &std::path::Path) -> Server {
    let mut config = config(InboxConfig::default(), None);
    config.store = Arc::new(RedbStore::open(dir).expect("document store"));
    config.inbox_store = Arc::new(RedbInboxStore::open(dir).expect("inbox store"));
    Server::start_with(config).await
}

fn call(action: &str, body: Value) -> Value {
    json!({"controller":"notifications","action":action,"body":body})
}

/// `notifications:send`; returns the id created for each recipient.
async fn send(client: &mut Client, body: Value) -> Value {
    client.ok(call("send", body)).await
}

/// The id created for `user` by a send.
fn id_of(result: &Value, user: &str) -> String {
    result["ids"][user].as_str().expect("an id").to_owned()
}

async fn counts(client: &mut Client) -> Value {
    client.ok(call("count", json!({}))).await
}

async fn list(client: &mut Client, body: Value) -> Value {
    client.ok(call("list", body)).await
}

fn hit_ids(page: &Value) -> Vec<String> {
    page["hits"]
        .as_array()
        .expect("hits")
        .iter()
        .map(|h| h["_id"].as_str().expect("_id").to_owned())
        .collect()
}

/// Subscribes to the inbox changes of the client's user; returns the channel.
async fn listen(client: &mut Client, filter: Value) -> String {
    client
        .subscribe("%herald", "notifications", filter, json!({}))
        .await
        .1
}

/// The next inbox push on `channel`: its `result`.
async fn push(client: &mut Client, channel: &str) -> Value {
    let frame = client.next_frame().await;
    assert_eq!(frame["type"], "notification", "{frame}");
    assert_eq!(frame["room"], channel, "{frame}");
    assert_eq!(frame["controller"], "notifications", "{frame}");
    assert_eq!(frame["index"], "%herald");
    assert_eq!(frame["collection"], "notifications");
    frame["result"].clone()
}

/// Asserts that `count` agrees with the whole inbox as `list` shows it, and returns the
/// counts.
async fn consistent(client: &mut Client) -> Value {
    let counts = counts(client).await;
    let mut hits = Vec::new();
    let mut cursor = Value::Null;
    loop {
        let page = list(
            client,
            json!({"archived":"any","size":100,"cursor":cursor.clone()}),
        )
        .await;
        assert_eq!(page["counts"], counts, "list and count agree");
        hits.extend(page["hits"].as_array().expect("hits").iter().cloned());
        cursor = page["cursor"].clone();
        if cursor.is_null() {
            break;
        }
    }
    let tally = |pred: &dyn Fn(&Value) -> bool| hits.iter().filter(|h| pred(h)).count() as u64;
    let inbox = |h: &Value| h["archived"] == false;
    assert_eq!(counts["total"], tally(&inbox), "{hits:?}");
    assert_eq!(counts["archived"], tally(&|h| h["archived"] == true));
    assert_eq!(
        counts["unread"],
        tally(&|h| inbox(h) && h["read"] == false),
        "{hits:?}"
    );
    assert_eq!(counts["unseen"], tally(&|h| inbox(h) && h["seen"] == false));
    counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_users_find_their_notifications_at_the_next_connection() {
    let server = start(InboxConfig::default()).await;
    let mut erp = logged_in(&server, &token("erp", sender())).await;
    let sent = send(
        &mut erp,
        json!({"user":"alice","type":"CM_REMINDER","priority":"high","subject":"Call back",
               "payload":{"customer":"Smith"},
               "link":{"index":"crm","collection":"contacts","id":"smith"}}),
    )
    .await;
    let first = id_of(&sent, "alice");
    assert_eq!(sent["replaced"], json!({}));
    let both = send(&mut erp, json!({"users":["alice","bob"],"type":"MAIL"})).await;
    assert_ne!(id_of(&both, "alice"), first);
    assert!(both["ids"]["bob"].is_string());

    // Alice was offline for both: she finds them, newest first, unread and unseen.
    let mut alice = logged_in(&server, &token("alice", json!({}))).await;
    let page = list(&mut alice, json!({})).await;
    assert_eq!(hit_ids(&page), vec![id_of(&both, "alice"), first.clone()]);
    let hit = &page["hits"][1];
    assert_eq!(hit["type"], "CM_REMINDER");
    assert_eq!(hit["priority"], "high");
    assert_eq!(hit["critical"], false);
    assert_eq!(hit["subject"], "Call back");
    assert_eq!(hit["payload"], json!({"customer":"Smith"}));
    assert_eq!(
        hit["link"],
        json!({"index":"crm","collection":"contacts","id":"smith"})
    );
    assert_eq!(hit["from"], "erp");
    assert_eq!(
        (hit["read"].clone(), hit["seen"].clone()),
        (json!(false), json!(false))
    );
    assert_eq!(
        page["hits"][0]["priority"], "normal",
        "the default priority"
    );
    assert_eq!(
        counts(&mut alice).await,
        json!({"unread":2,"unseen":2,"total":2,"archived":0})
    );
    // Bob's inbox is his own.
    let mut bob = logged_in(&server, &token("bob", json!({}))).await;
    assert_eq!(
        hit_ids(&list(&mut bob, json!({})).await),
        vec![id_of(&both, "bob")]
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_connections_of_a_user_follow_each_other_with_exact_counts() {
    let server = start(InboxConfig::default()).await;
    let jwt = token("alice", json!({}));
    let mut phone = logged_in(&server, &jwt).await;
    let mut laptop = logged_in(&server, &jwt).await;
    let phone_channel = listen(&mut phone, json!({})).await;
    let laptop_channel = listen(&mut laptop, json!({})).await;
    // A third listener wants critical notifications only.
    let mut pager = logged_in(&server, &jwt).await;
    let pager_channel = listen(&mut pager, json!({"equals":{"critical":true}})).await;
    let mut erp = logged_in(&server, &token("erp", sender())).await;

    let mut ids = Vec::new();
    for (kind, priority) in [
        ("MAIL", "normal"),
        ("CM_REMINDER", "high"),
        ("SHUTDOWN", "critical"),
    ] {
        let sent = send(
            &mut erp,
            json!({"user":"alice","type":kind,"priority":priority,"payload":{"k":kind}}),
        )
        .await;
        let id = id_of(&sent, "alice");
        for (client, channel) in [(&mut phone, &phone_channel), (&mut laptop, &laptop_channel)] {
            let change = push(client, channel).await;
            assert_eq!(change["event"], "created", "{change}");
            assert_eq!(change["_id"], id.as_str());
            assert_eq!(change["type"], kind);
            assert_eq!(change["counts"]["unread"], ids.len() as u64 + 1);
        }
        ids.push(id);
    }
    let critical = push(&mut pager, &pager_channel).await;
    assert_eq!(critical["type"], "SHUTDOWN");
    assert_eq!(critical["critical"], true);
    pager.silent(100).await;
    assert_eq!(consistent(&mut phone).await["unread"], 3);

    // Every change on one connection reaches the other with the new counts, and those
    // agree with `list` on both.
    let steps: Vec<(&str, Value, &str, u64)> = vec![
        ("markRead", json!({"ids":[ids[0]]}), "read", 1),
        ("markSeen", json!({"upTo":ids[1]}), "seen", 2),
        ("markUnread", json!({"ids":[ids[0], ids[1]]}), "unread", 1),
        ("archive", json!({"ids":[ids[2]]}), "archived", 1),
        ("markRead", json!({"all":true}), "read", 2),
        ("unarchive", json!({"ids":[ids[2]]}), "unarchived", 1),
        ("markUnread", json!({"upTo":ids[2]}), "unread", 3),
        ("delete", json!({"ids":[ids[1], "999"]}), "deleted", 1),
    ];
    for (i, (action, body, event, changed)) in steps.into_iter().enumerate() {
        let (actor, actor_channel, other, other_channel) = if i % 2 == 0 {
            (&mut phone, &phone_channel, &mut laptop, &laptop_channel)
        } else {
            (&mut laptop, &laptop_channel, &mut phone, &phone_channel)
        };
        let result = actor.ok(call(action, body)).await;
        assert_eq!(result["changed"], changed, "{action}: {result}");
        let seen_by_other = push(other, other_channel).await;
        let seen_by_actor = push(actor, actor_channel).await;
        assert_eq!(seen_by_other, seen_by_actor);
        assert_eq!(seen_by_other["event"], event, "{seen_by_other}");
        assert_eq!(seen_by_other["counts"], result["counts"], "{action}");
        assert_eq!(consistent(other).await, result["counts"], "{action}");
        assert_eq!(consistent(actor).await, result["counts"], "{action}");
    }
    assert_eq!(
        counts(&mut phone).await,
        json!({"unread":2,"unseen":0,"total":2,"archived":0})
    );
    // A change that changes nothing pushes nothing.
    let result = phone.ok(call("markSeen", json!({"ids":[ids[1]]}))).await;
    assert_eq!(result["changed"], 0);
    phone.silent(100).await;
    laptop.silent(100).await;
    // Unsubscribing stops the pushes.
    laptop
        .ok(json!({"controller":"realtime","action":"unsubscribe","body":{"roomId":laptop_channel}}))
        .await;
    send(&mut erp, json!({"user":"alice","type":"MAIL"})).await;
    assert_eq!(push(&mut phone, &phone_channel).await["event"], "created");
    laptop.silent(100).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_changes_reach_every_connection_in_commit_order() {
    let server = start(InboxConfig::default()).await;
    let jwt = token("alice", json!({}));
    let mut watchers = Vec::new();
    for _ in 0..2 {
        let mut client = logged_in(&server, &jwt).await;
        let channel = listen(&mut client, json!({})).await;
        watchers.push((client, channel));
    }
    // Four senders and Alice's own reads, all at once.
    const SENDS: usize = 25;
    let mut tasks = Vec::new();
    for s in 0..4 {
        let mut erp = logged_in(&server, &token(&format!("erp-{s}"), sender())).await;
        tasks.push(tokio::spawn(async move {
            for n in 0..SENDS {
                send(&mut erp, json!({"user":"alice","type":"MAIL","payload":n})).await;
            }
        }));
    }
    let mut reader = logged_in(&server, &jwt).await;
    tasks.push(tokio::spawn(async move {
        for _ in 0..10 {
            reader.ok(call("markRead", json!({"all":true}))).await;
            reader.ok(call("markSeen", json!({"all":true}))).await;
        }
    }));
    for task in tasks {
        task.await.expect("task");
    }
    let last = reader_counts(&server, &jwt).await;
    assert_eq!(last["total"], 4 * SENDS as u64);
    // Each connection saw the same changes in the same order, the totals one by one, and
    // its last counts are the current ones.
    let mut seen = Vec::new();
    for (client, channel) in &mut watchers {
        let mut changes = Vec::new();
        let mut created = 0u64;
        loop {
            let change = push(client, channel).await;
            if change["event"] == "created" {
                created += 1;
                assert_eq!(change["counts"]["total"], created, "{change}");
            }
            let done = created == 4 * SENDS as u64 && change["counts"] == last;
            changes.push(change);
            if done {
                break;
            }
        }
        client.silent(200).await;
        seen.push(changes);
    }
    assert_eq!(seen[0], seen[1]);
    server.stop().await;
}

/// The counts of a user's inbox, from a new connection.
async fn reader_counts(server: &Server, jwt: &str) -> Value {
    let mut client = logged_in(server, jwt).await;
    counts(&mut client).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_on_the_embedded_store_keeps_everything() {
    let dir = tempfile::tempdir().expect("tempdir");
    let erp_token = token("erp", sender());
    let alice_token = token("alice", json!({}));
    let (before, before_page, kept) = {
        let server = start_on_disk(dir.path()).await;
        let mut erp = logged_in(&server, &erp_token).await;
        let mut ids = Vec::new();
        for n in 0..4 {
            let sent = send(
                &mut erp,
                json!({"user":"alice","type":"MAIL","payload":{"n":n},"ttl":3_600_000}),
            )
            .await;
            ids.push(id_of(&sent, "alice"));
        }
        send(
            &mut erp,
            json!({"user":"alice","type":"THREAD","dedupKey":"t-1"}),
        )
        .await;
        let mut alice = logged_in(&server, &alice_token).await;
        alice.ok(call("markRead", json!({"ids":[ids[0]]}))).await;
        alice.ok(call("markSeen", json!({"upTo":ids[1]}))).await;
        alice.ok(call("archive", json!({"ids":[ids[2]]}))).await;
        alice.ok(call("delete", json!({"ids":[ids[3]]}))).await;
        let before = consistent(&mut alice).await;
        let page = list(&mut alice, json!({"archived":"any"})).await;
        server.stop().await;
        (before, page, ids)
    };
    assert_eq!(
        before,
        json!({"unread":2,"unseen":1,"total":3,"archived":1})
    );
    let server = start_on_disk(dir.path()).await;
    let mut alice = logged_in(&server, &alice_token).await;
    assert_eq!(consistent(&mut alice).await, before);
    assert_eq!(
        list(&mut alice, json!({"archived":"any"})).await,
        before_page
    );
    // Numbers are never reused, and dedup keys survive.
    let mut erp = logged_in(&server, &erp_token).await;
    let again = send(
        &mut erp,
        json!({"user":"alice","type":"THREAD","dedupKey":"t-1"}),
    )
    .await;
    assert!(!kept.contains(&id_of(&again, "alice")));
    assert!(again["replaced"]["alice"].is_string(), "{again}");
    assert_eq!(counts(&mut alice).await["total"], 3);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dedup_key_replaces_the_notification_of_the_same_user() {
    let server = start(InboxConfig::default()).await;
    let mut erp = logged_in(&server, &token("erp", sender())).await;
    let mut alice = logged_in(&server, &token("alice", json!({}))).await;
    let channel = listen(&mut alice, json!({})).await;
    let first = send(
        &mut erp,
        json!({"users":["alice","bob"],"type":"CHAT","subject":"1 new message","dedupKey":"chat-42"}),
    )
    .await;
    push(&mut alice, &channel).await;
    alice
        .ok(call("markRead", json!({"ids":[id_of(&first, "alice")]})))
        .await;
    push(&mut alice, &channel).await;
    let second = send(
        &mut erp,
        json!({"user":"alice","type":"CHAT","subject":"2 new messages","dedupKey":"chat-42"}),
    )
    .await;
    assert_eq!(second["replaced"]["alice"], first["ids"]["alice"]);
    let change = push(&mut alice, &channel).await;
    assert_eq!(change["replaced"], first["ids"]["alice"]);
    assert_eq!(change["subject"], "2 new messages");
    // One notification, unread again, on top.
    let page = list(&mut alice, json!({})).await;
    assert_eq!(hit_ids(&page), vec![id_of(&second, "alice")]);
    assert_eq!(page["hits"][0]["read"], false);
    assert_eq!(page["hits"][0]["dedupKey"], "chat-42");
    assert_eq!(consistent(&mut alice).await["unread"], 1);
    // Bob's copy is his own: untouched.
    let mut bob = logged_in(&server, &token("bob", json!({}))).await;
    let page = list(&mut bob, json!({})).await;
    assert_eq!(hit_ids(&page), vec![id_of(&first, "bob")]);
    assert_eq!(page["hits"][0]["subject"], "1 new message");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_notifications_are_removed_on_access_and_by_the_sweep() {
    let inbox = InboxConfig {
        sweep_interval: Duration::from_millis(100),
        ..InboxConfig::default()
    };
    let server = start(inbox).await;
    let mut erp = logged_in(&server, &token("erp", sender())).await;
    let mut alice = logged_in(&server, &token("alice", json!({}))).await;
    let keep = send(&mut erp, json!({"user":"alice","type":"KEEP"})).await;
    let at = herald::notify::now_ms() + 400;
    let short = send(
        &mut erp,
        json!({"user":"alice","type":"FLASH","expiresAt":at}),
    )
    .await;
    let page = list(&mut alice, json!({})).await;
    assert_eq!(hit_ids(&page).len(), 2);
    assert_eq!(page["hits"][0]["expiresAt"], at);
    tokio::time::sleep(Duration::from_millis(500)).await;
    // Gone on access (and removed by the sweep meanwhile, whichever came first).
    assert_eq!(
        hit_ids(&list(&mut alice, json!({})).await),
        vec![id_of(&keep, "alice")]
    );
    assert_eq!(consistent(&mut alice).await["total"], 1);
    let gone = alice
        .ok(call("markRead", json!({"ids":[id_of(&short, "alice")]})))
        .await;
    assert_eq!(gone["changed"], 0);

    // The sweep removes what expires for a user nobody queries, and tells the listeners.
    let channel = listen(&mut alice, json!({})).await;
    let flash = send(&mut erp, json!({"user":"alice","type":"FLASH","ttl":200})).await;
    assert_eq!(push(&mut alice, &channel).await["counts"]["total"], 2);
    let expired = push(&mut alice, &channel).await;
    assert_eq!(expired["event"], "expired", "{expired}");
    assert_eq!(expired["removed"], json!([id_of(&flash, "alice")]));
    assert_eq!(expired["counts"]["total"], 1);
    assert_eq!(consistent(&mut alice).await["total"], 1);

    // An expiry in the past, or two of them, are refused.
    let now = herald::notify::now_ms();
    for body in [
        json!({"user":"alice","type":"X","expiresAt":now - 1}),
        json!({"user":"alice","type":"X","ttl":0}),
        json!({"user":"alice","type":"X","ttl":10,"expiresAt":now + 10_000}),
    ] {
        let error = erp.fail(call("send", body)).await;
        assert_error(&error, "api.assert.invalid_argument", 400);
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_keeps_the_newest_notifications_within_count_and_age() {
    let inbox = InboxConfig {
        max_per_user: 3,
        max_age: Some(Duration::from_millis(600)),
        sweep_interval: Duration::ZERO,
    };
    let server = start(inbox).await;
    let mut erp = logged_in(&server, &token("erp", sender())).await;
    let mut alice = logged_in(&server, &token("alice", json!({}))).await;
    let channel = listen(&mut alice, json!({})).await;
    let mut ids = Vec::new();
    for n in 0..5 {
        let sent = send(&mut erp, json!({"user":"alice","type":"N","payload":n})).await;
        ids.push(id_of(&sent, "alice"));
        let change = push(&mut alice, &channel).await;
        if n >= 3 {
            assert_eq!(change["removed"], json!([ids[n - 3]]), "{change}");
        }
        assert_eq!(change["counts"]["total"], (n + 1).min(3) as u64);
    }
    let page = list(&mut alice, json!({})).await;
    assert_eq!(
        hit_ids(&page),
        vec![ids[4].clone(), ids[3].clone(), ids[2].clone()]
    );
    assert_eq!(consistent(&mut alice).await["unread"], 3);
    // Archived ones count towards the limit too.
    alice.ok(call("archive", json!({"all":true}))).await;
    push(&mut alice, &channel).await;
    send(&mut erp, json!({"user":"alice","type":"N"})).await;
    push(&mut alice, &channel).await;
    assert_eq!(
        consistent(&mut alice).await,
        json!({"unread":1,"unseen":1,"total":1,"archived":2})
    );
    // Past the age limit, everything goes.
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(
        consistent(&mut alice).await,
        json!({"unread":0,"unseen":0,"total":0,"archived":0})
    );
    let expired = push(&mut alice, &channel).await;
    assert_eq!(expired["event"], "expired");
    assert_eq!(expired["removed"].as_array().map(Vec::len), Some(3));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rights_each_user_reads_and_changes_only_their_own_inbox() {
    let server = start(InboxConfig::default()).await;
    let mut erp = logged_in(&server, &token("erp", sender())).await;
    let sent = send(&mut erp, json!({"users":["alice","bob"],"type":"MAIL"})).await;
    let alice_id = id_of(&sent, "alice");
    let mut alice = logged_in(&server, &token("alice", json!({}))).await;

    // Sending needs the notify right: 403 for a user without it.
    let mut bob = logged_in(&server, &token("bob", json!({"events": true}))).await;
    let error = bob
        .fail(call("send", json!({"user":"alice","type":"SPAM"})))
        .await;
    assert_error(&error, "security.rights.forbidden", 403);
    // Another user's inbox: 403, whatever the action.
    for action in ["list", "count", "markRead", "delete"] {
        let error = bob
            .fail(call(
                action,
                json!({"user":"alice","ids":[alice_id.clone()]}),
            ))
            .await;
        assert_error(&error, "security.rights.forbidden", 403);
    }
    // Ids name notifications of the caller's own inbox only: Bob's mark changes nothing of
    // Alice's, even with the same id.
    let bob_id = id_of(&sent, "bob");
    assert_eq!(bob_id, alice_id, "ids are per inbox");
    bob.ok(call("delete", json!({"ids":[bob_id]}))).await;
    assert_eq!(counts(&mut bob).await["total"], 0);
    assert_eq!(counts(&mut alice).await["total"], 1);
    // Naming oneself is fine.
    let own = alice.ok(call("count", json!({"user":"alice"}))).await;
    assert_eq!(own["total"], 1);

    // A restricted tenant has its own inbox, and only that.
    let tenant = json!({"subscribe":["shop/*"],"restrict":{"shop/*":{"equals":{"tenant":"acme"}}}});
    let mut acme = logged_in(&server, &token("acme-user", tenant)).await;
    send(&mut erp, json!({"user":"acme-user","type":"ORDER"})).await;
    assert_eq!(hit_ids(&list(&mut acme, json!({})).await).len(), 1);
    let error = acme.fail(call("list", json!({"user":"alice"}))).await;
    assert_error(&error, "security.rights.forbidden", 403);

    // Anonymous connections have no inbox: 401, even with every right.
    let mut anonymous = server.client().await;
    for action in ["list", "count", "markRead"] {
        let error = anonymous.fail(call(action, json!({"all":true}))).await;
        assert_error(&error, "security.rights.unauthorized", 401);
    }
    let error = anonymous
        .fail(json!({"controller":"realtime","action":"subscribe","index":"%herald","collection":"notifications","body":{}}))
        .await;
    assert_error(&error, "security.rights.unauthorized", 401);
    // A token without the right is refused; nothing was stored for Alice.
    assert_eq!(counts(&mut alice).await["total"], 1);
    server.stop().await;

    // Anonymous refused outright: 401 for sending too.
    let server = Server::start_with(config(InboxConfig::default(), None)).await;
    let mut anonymous = server.client().await;
    let error = anonymous
        .fail(call("send", json!({"user":"alice","type":"X"})))
        .await;
    assert_error(&error, "security.rights.unauthorized", 401);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_arguments_are_refused_with_kuzzle_errors() {
    let server = start(InboxConfig::default()).await;
    let mut erp = logged_in(&server, &token("erp", sender())).await;
    let big = "x".repeat(herald::inbox::MAX_NOTIFICATION_BYTES);
    let cases = [
        (json!({"user":"alice"}), "api.assert.missing_argument"),
        (json!({"type":"X"}), "api.assert.invalid_argument"),
        (
            json!({"user":"alice","users":["bob"],"type":"X"}),
            "api.assert.invalid_argument",
        ),
        (
            json!({"user":"-1","type":"X"}),
            "api.assert.invalid_argument",
        ),
        (
            json!({"user":"alice","type":"X","priority":"urgent"}),
            "api.assert.invalid_argument",
        ),
        (
            json!({"user":"alice","type":"X","link":{"index":"a"}}),
            "api.assert.invalid_argument",
        ),
        (
            json!({"user":"alice","type":"X","payload":big}),
            "api.assert.invalid_argument",
        ),
        (json!({"user":"alice","type":7}), "api.assert.invalid_type"),
        (
            json!({"user":"alice","type":"X","ttl":"1h"}),
            "api.assert.invalid_type",
        ),
    ];
    for (body, id) in cases {
        let error = erp.fail(call("send", body.clone())).await;
        assert_error(&error, id, 400);
    }
    let error = erp.fail(call("markRead", json!({}))).await;
    assert_error(&error, "api.assert.invalid_argument", 400);
    let error = erp.fail(call("list", json!({"cursor":"nope"}))).await;
    assert_error(&error, "api.assert.invalid_argument", 400);
    let error = erp.fail(call("bogus", json!({}))).await;
    assert_error(&error, "api.process.action_not_found", 404);
    // Pages are capped.
    for n in 0..3 {
        send(&mut erp, json!({"user":"erp","type":"T","payload":n})).await;
    }
    let page = list(&mut erp, json!({"size":1_000_000})).await;
    assert_eq!(hit_ids(&page).len(), 3);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_routes() {
    let server = start(InboxConfig::default()).await;
    let addr = server.addr;
    let bearer = |t: &str| format!("Authorization: Bearer {t}\r\n");
    let erp = bearer(&token("erp", sender()));
    let alice_token = token("alice", json!({}));
    let alice = bearer(&alice_token);
    // A WebSocket of Alice's sees the changes made over HTTP.
    let mut socket = logged_in(&server, &alice_token).await;
    let channel = listen(&mut socket, json!({})).await;

    let body = json!({"users":["alice"],"type":"MAIL","priority":"critical"}).to_string();
    let (status, response) =
        http_with(addr, "POST", "/_notifications/_send", &erp, Some(&body)).await;
    assert_eq!(status, 200, "{response}");
    let id = id_of(&response["result"], "alice");
    let created = push(&mut socket, &channel).await;
    assert_eq!(
        (created["_id"].clone(), created["critical"].clone()),
        (json!(id), json!(true))
    );
    let more = json!({"user":"alice","type":"CM_REMINDER"}).to_string();
    http_with(addr, "POST", "/_notifications/_send", &erp, Some(&more)).await;
    push(&mut socket, &channel).await;

    let (status, response) = http_with(addr, "GET", "/_notifications/_count", &alice, None).await;
    assert_eq!(status, 200, "{response}");
    assert_eq!(response["result"]["unread"], 2);
    let (status, response) = http_with(
        addr,
        "GET",
        "/_notifications?size=1&type=MAIL&unread=true",
        &alice,
        None,
    )
    .await;
    assert_eq!(status, 200, "{response}");
    assert_eq!(hit_ids(&response["result"]), vec![id.clone()]);
    let (_, response) = http_with(
        addr,
        "POST",
        "/_notifications/_list",
        &alice,
        Some(&json!({"priority":["critical"]}).to_string()),
    )
    .await;
    assert_eq!(hit_ids(&response["result"]), vec![id.clone()]);

    for (path, body, event) in [
        ("/_notifications/_markSeen", json!({"ids":[id]}), "seen"),
        ("/_notifications/_markRead", json!({"ids":[id]}), "read"),
        ("/_notifications/_markUnread", json!({"ids":[id]}), "unread"),
        ("/_notifications/_archive", json!({"upTo":id}), "archived"),
        (
            "/_notifications/_unarchive",
            json!({"all":true}),
            "unarchived",
        ),
        ("/_notifications/_delete", json!({"ids":[id]}), "deleted"),
    ] {
        let (status, response) =
            http_with(addr, "POST", path, &alice, Some(&body.to_string())).await;
        assert_eq!(status, 200, "{path}: {response}");
        assert_eq!(response["result"]["changed"], 1, "{path}: {response}");
        let change = push(&mut socket, &channel).await;
        assert_eq!(change["event"], event);
        assert_eq!(change["counts"], response["result"]["counts"]);
        assert_eq!(consistent(&mut socket).await, response["result"]["counts"]);
    }
    // Anonymous over HTTP: 401; no right to send: 403.
    let (status, response) = http_with(addr, "GET", "/_notifications", "", None).await;
    assert_eq!(status, 401, "{response}");
    assert_eq!(response["error"]["id"], "security.rights.unauthorized");
    let (status, response) =
        http_with(addr, "POST", "/_notifications/_send", &alice, Some(&body)).await;
    assert_eq!(status, 403, "{response}");
    assert_eq!(response["error"]["id"], "security.rights.forbidden");
    let (status, _) = http_with(addr, "POST", "/_notifications/_bogus", &alice, None).await;
    assert_eq!(status, 404);
    server.stop().await;
}
