//! Hostile tenants over real sockets: two restricted tenants of one collection, each trying to
//! read, infer or write the other's documents through every controller and transport. The
//! rule under test (docs/security.md): a restricted user can neither read, nor infer, nor
//! write anything outside its restriction.

mod identity_support;
mod server_support;

use identity_support::{all_rights, assert_error, logged_in, server, token};
use serde_json::{json, Value};
use server_support::{http_with, Client, Server};

/// The claim of a tenant of `shop/*`, restricted to its documents.
fn tenant(name: &str) -> Value {
    json!({"subscribe": ["shop/*"], "publish": ["shop/*"], "write": ["shop/*"], "events": true,
        "restrict": {"shop/*": {"equals": {"tenant": name}}}})
}

struct Tenants {
    server: Server,
    a: Client,
    b: Client,
    admin: Client,
    a_token: String,
}

async fn tenants() -> Tenants {
    let server = server(None).await;
    let a_token = token("user-a", tenant("a"));
    let a = logged_in(&server, &a_token).await;
    let b = logged_in(&server, &token("user-b", tenant("b"))).await;
    let admin = logged_in(&server, &token("admin", all_rights())).await;
    Tenants {
        server,
        a,
        b,
        admin,
        a_token,
    }
}

fn doc(action: &str, id: Option<&str>, body: Value) -> Value {
    let mut request = json!({"controller":"document","action":action,"index":"shop",
        "collection":"orders","body":body});
    if let Some(id) = id {
        request["_id"] = id.into();
    }
    request
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_cannot_publish_into_another_tenants_rooms() {
    let Tenants {
        server,
        mut a,
        mut b,
        admin: _admin,
        a_token,
    } = tenants().await;
    b.subscribe("shop", "orders", json!({}), json!({})).await;
    b.subscribe(
        "shop",
        "orders",
        json!({"range": {"total": {"gte": 100}}}),
        json!({}),
    )
    .await;
    let (_, a_channel) = a.subscribe("shop", "orders", json!({}), json!({})).await;
    // Over WebSocket, with and without an `_id` naming B's document.
    for extra in [json!({}), json!({"_id": "b-1"})] {
        let mut request = json!({"controller":"realtime","action":"publish","index":"shop",
            "collection":"orders","body":{"tenant":"b","total":1000}});
        for (k, v) in extra.as_object().into_iter().flatten() {
            request[k] = v.clone();
        }
        let error = a.fail(request).await;
        assert_error(&error, "security.rights.forbidden", 403);
        assert!(
            error["message"]
                .as_str()
                .unwrap_or("")
                .contains("outside the restriction"),
            "{error}"
        );
    }
    // Over HTTP.
    let (status, body) = http_with(
        server.addr,
        "POST",
        "/shop/orders/_publish",
        &format!("Authorization: Bearer {a_token}\r\n"),
        Some(r#"{"tenant":"b","total":1000}"#),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    b.silent(200).await;
    // Its own tenant's messages go to its own rooms only.
    a.ok(
        json!({"controller":"realtime","action":"publish","index":"shop",
        "collection":"orders","body":{"tenant":"a","total":1000}}),
    )
    .await;
    assert_eq!(a.next_frame().await["room"], a_channel.as_str());
    b.silent(200).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn room_lists_counts_and_events_show_a_tenant_only_its_rooms() {
    let Tenants {
        server,
        mut a,
        mut b,
        mut admin,
        a_token,
    } = tenants().await;
    let (b_room, _) = b.subscribe("shop", "orders", json!({}), json!({})).await;
    let (a_room, _) = a
        .subscribe("shop", "orders", json!({"exists": "total"}), json!({}))
        .await;
    // An unrestricted user's room on the same collection is not A's either.
    let (admin_room, _) = admin
        .subscribe("shop", "orders", json!({"exists": "x"}), json!({}))
        .await;
    let rooms_of = |list: &Value| -> Vec<String> {
        list["shop"]["orders"]
            .as_object()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default()
    };
    let list = a.ok(json!({"controller":"realtime","action":"list"})).await;
    assert_eq!(rooms_of(&list), vec![a_room.clone()], "{list}");
    let (status, list) = http_with(
        server.addr,
        "GET",
        "/_listSubscriptions",
        &format!("Authorization: Bearer {a_token}\r\n"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    // Over HTTP too: the rooms A's user is in, on any of its connections.
    assert_eq!(rooms_of(&list["result"]), vec![a_room.clone()], "{list}");
    // The admin sees all three.
    let list = admin
        .ok(json!({"controller":"realtime","action":"list"}))
        .await;
    let mut all = rooms_of(&list);
    all.sort();
    let mut want = vec![a_room.clone(), b_room.clone(), admin_room.clone()];
    want.sort();
    assert_eq!(all, want);
    // Counts of rooms A may not see are those of rooms that do not exist.
    for room in [&b_room, &admin_room, &"0".repeat(64)] {
        let count = a
            .ok(json!({"controller":"realtime","action":"count","body":{"roomId":room}}))
            .await;
        assert_eq!(count["count"], 0, "{room}");
    }
    let count = a
        .ok(json!({"controller":"realtime","action":"count","body":{"roomId":a_room}}))
        .await;
    assert_eq!(count["count"], 1);
    // Events to B's room: as to a room that does not exist.
    let missing = a
        .fail(json!({"controller":"events","action":"send",
            "body":{"event":"x","roomId":"0".repeat(64)}}))
        .await;
    let error = a
        .fail(json!({"controller":"events","action":"send","body":{"event":"x","roomId":b_room}}))
        .await;
    assert_eq!(error["id"], missing["id"], "{error}");
    assert_eq!(error["status"], missing["status"]);
    b.silent(200).await;
    server.stop().await;
}

/// The error of a request, with the document id taken out (to compare two answers).
fn anonymized(error: &Value, id: &str) -> Value {
    json!({
        "id": error["id"],
        "status": error["status"],
        "message": error["message"].as_str().unwrap_or("").replace(id, "<id>"),
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_answer_tells_a_foreign_document_from_a_missing_one() {
    let Tenants {
        server,
        mut a,
        mut b,
        mut admin,
        ..
    } = tenants().await;
    admin
        .ok(doc(
            "create",
            Some("b-1"),
            json!({"tenant":"b","secret":"b's"}),
        ))
        .await;
    // Every action on B's document answers exactly as on an id that does not exist.
    let actions: Vec<(&str, Value)> = vec![
        ("get", Value::Null),
        ("update", json!({"tenant":"a"})),
        ("replace", json!({"tenant":"a"})),
        ("createOrReplace", json!({"tenant":"a"})),
        (
            "upsert",
            json!({"changes":{"tenant":"a"},"default":{"tenant":"a"}}),
        ),
        ("delete", Value::Null),
    ];
    for (action, body) in &actions {
        let foreign = a.fail(doc(action, Some("b-1"), body.clone())).await;
        let missing = a.fail(doc(action, Some("no-such-id"), body.clone())).await;
        assert_eq!(
            anonymized(&foreign, "b-1"),
            anonymized(&missing, "no-such-id"),
            "{action}"
        );
    }
    for (id, want) in [("b-1", false), ("no-such-id", false)] {
        let exists = a.ok(doc("exists", Some(id), Value::Null)).await;
        assert_eq!(exists, want, "{id}");
    }
    let got = a
        .ok(
            json!({"controller":"document","action":"mGet","index":"shop","collection":"orders",
            "body":{"ids":["b-1","no-such-id"]}}),
        )
        .await;
    assert_eq!(got["successes"], json!([]));
    assert_eq!(got["errors"], json!(["b-1", "no-such-id"]));
    // A new document's id is the server's, whether or not the id is taken.
    for id in ["b-1", "free-id"] {
        let error = a.fail(doc("create", Some(id), json!({"tenant":"a"}))).await;
        assert_error(&error, "security.rights.forbidden", 403);
        assert!(error["message"]
            .as_str()
            .unwrap_or("")
            .contains("chosen by the server"));
    }
    let error = a
        .fail(
            json!({"controller":"document","action":"mCreate","index":"shop","collection":"orders",
            "body":{"documents":[{"_id":"b-1","body":{"tenant":"a"}}]}}),
        )
        .await;
    assert_error(&error, "security.rights.forbidden", 403);
    // B's document is untouched.
    let stored = admin.ok(doc("get", Some("b-1"), Value::Null)).await;
    assert_eq!(stored["_source"]["secret"], "b's");
    assert_eq!(stored["_version"], 1);
    // A works on its own documents as usual: create (generated id), read, update, delete.
    let created = a
        .ok(doc("create", None, json!({"tenant":"a","total":1})))
        .await;
    let id = created["_id"].as_str().expect("generated id").to_owned();
    let got = a.ok(doc("get", Some(&id), Value::Null)).await;
    assert_eq!(got["_source"]["total"], 1);
    a.ok(doc("update", Some(&id), json!({"total":2}))).await;
    // ...but cannot move one outside its restriction, nor create one there.
    let error = a
        .fail(doc("update", Some(&id), json!({"tenant":"b"})))
        .await;
    assert_error(&error, "security.rights.forbidden", 403);
    let error = a.fail(doc("create", None, json!({"tenant":"b"}))).await;
    assert_error(&error, "security.rights.forbidden", 403);
    let batch = a
        .ok(
            json!({"controller":"document","action":"mCreate","index":"shop","collection":"orders",
            "body":{"documents":[{"body":{"tenant":"a"}},{"body":{"tenant":"b"}}]}}),
        )
        .await;
    assert_eq!(
        batch["successes"].as_array().map(Vec::len),
        Some(1),
        "{batch}"
    );
    assert_eq!(batch["errors"][0]["status"], 403, "{batch}");
    a.ok(doc("delete", Some(&id), Value::Null)).await;
    b.silent(100).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_document_leaving_a_tenant_is_not_shown_to_it() {
    let Tenants {
        server,
        mut a,
        mut admin,
        ..
    } = tenants().await;
    let (_, everything) = a
        .subscribe("shop", "orders", json!({}), json!({"scope": "all"}))
        .await;
    let (_, big) = a
        .subscribe(
            "shop",
            "orders",
            json!({"range": {"total": {"gte": 100}}}),
            json!({"scope": "all"}),
        )
        .await;
    admin
        .ok(doc(
            "create",
            Some("a-1"),
            json!({"tenant":"a","total":500}),
        ))
        .await;
    for _ in 0..2 {
        assert_eq!(a.next_frame().await["scope"], "in");
    }
    // Leaves the `big` room but stays A's: A may see it, the body is there.
    admin
        .ok(doc("update", Some("a-1"), json!({"total":5})))
        .await;
    let mut frames = [a.next_frame().await, a.next_frame().await];
    frames.sort_by_key(|f| f["room"].as_str().unwrap_or("").to_owned());
    let (left, stayed) = if frames[0]["room"] == big.as_str() {
        (&frames[0], &frames[1])
    } else {
        (&frames[1], &frames[0])
    };
    assert_eq!(stayed["room"], everything.as_str());
    assert_eq!(left["scope"], "out");
    assert_eq!(left["result"]["_source"]["total"], 5, "{left}");
    // Moves to tenant B, with a secret: A is told it left, and nothing of what it became.
    admin
        .ok(doc(
            "update",
            Some("a-1"),
            json!({"tenant":"b","secret":"b's plans"}),
        ))
        .await;
    let out = a.next_frame().await;
    assert_eq!(out["room"], everything.as_str());
    assert_eq!(out["scope"], "out");
    assert_eq!(out["result"]["_id"], "a-1");
    assert_eq!(out["result"]["_source"], json!({}), "{out}");
    assert!(!out.to_string().contains("b's plans"), "{out}");
    assert_eq!(out["result"].get("_updatedFields"), None);
    a.silent(200).await;
    server.stop().await;
}
