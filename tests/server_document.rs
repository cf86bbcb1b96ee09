//! The document controller over real sockets: every write action and its notifications
//! (scope in and out), the batch forms, reads, and errors.

mod server_support;

use serde_json::json;
use server_support::Server;

fn doc(action: &str, id: Option<&str>, body: serde_json::Value) -> serde_json::Value {
    let mut r =
        json!({"controller":"document","action":action,"index":"i","collection":"c","body":body});
    if let Some(id) = id {
        r["_id"] = json!(id);
    }
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_notify_in_and_out() {
    let server = Server::start().await;
    let mut sub = server.client().await;
    let mut writer = server.client().await;
    let (_, channel) = sub
        .subscribe("i", "c", json!({"equals":{"color":"red"}}), json!({}))
        .await;

    let r = writer
        .ok(doc("create", Some("d1"), json!({"color":"red","size":1})))
        .await;
    assert_eq!(r["_id"], "d1");
    assert_eq!(r["_version"], 1);
    assert_eq!(r["_source"]["color"], "red");
    let n = sub.next_frame().await;
    assert_eq!(
        (
            n["action"].as_str(),
            n["scope"].as_str(),
            n["event"].as_str()
        ),
        (Some("create"), Some("in"), Some("write"))
    );
    assert_eq!(n["room"], channel);
    assert_eq!(n["controller"], "document");
    assert_eq!(n["result"]["_id"], "d1");
    assert!(n["requestId"].is_string());

    // update evaluated on the full stored document: still red, stays in.
    let r = writer
        .ok(doc("update", Some("d1"), json!({"size":2})))
        .await;
    assert_eq!(r["_source"]["color"], "red");
    assert_eq!(r["_updatedFields"], json!(["size"]));
    let n = sub.next_frame().await;
    assert_eq!(
        (n["action"].as_str(), n["scope"].as_str()),
        (Some("update"), Some("in"))
    );
    assert_eq!(n["result"]["_source"]["size"], 2);

    // replace leaving the filter: out.
    writer
        .ok(doc("replace", Some("d1"), json!({"color":"blue"})))
        .await;
    let n = sub.next_frame().await;
    assert_eq!(
        (n["action"].as_str(), n["scope"].as_str()),
        (Some("replace"), Some("out"))
    );

    // createOrReplace back into it: in.
    let r = writer
        .ok(doc("createOrReplace", Some("d1"), json!({"color":"red"})))
        .await;
    assert_eq!(r["created"], false);
    let n = sub.next_frame().await;
    assert_eq!(
        (n["action"].as_str(), n["scope"].as_str()),
        (Some("replace"), Some("in"))
    );

    // upsert of a missing document: create.
    let r = writer
        .ok(doc(
            "upsert",
            Some("d2"),
            json!({"changes":{"size":5},"default":{"color":"red"}}),
        ))
        .await;
    assert_eq!(r["created"], true);
    let n = sub.next_frame().await;
    assert_eq!(
        (n["action"].as_str(), n["scope"].as_str()),
        (Some("create"), Some("in"))
    );
    assert_eq!(n["result"]["_source"]["color"], "red");

    // delete: out, with the deleted document.
    let r = writer
        .ok(doc("delete", Some("d1"), serde_json::Value::Null))
        .await;
    assert_eq!(r, json!({"_id": "d1"}));
    let n = sub.next_frame().await;
    assert_eq!(
        (
            n["action"].as_str(),
            n["scope"].as_str(),
            n["event"].as_str()
        ),
        (Some("delete"), Some("out"), Some("delete"))
    );
    assert_eq!(n["result"]["_source"]["color"], "red");

    // silent: no notification.
    writer
        .ok(json!({"controller":"document","action":"update","index":"i","collection":"c","_id":"d2","body":{"x":1},"silent":true}))
        .await;
    // create not matching: nothing.
    writer
        .ok(doc("create", None, json!({"color":"green"})))
        .await;
    sub.silent(150).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scope_options_filter_notifications() {
    let server = Server::start().await;
    let mut ins = server.client().await;
    let mut outs = server.client().await;
    let mut writer = server.client().await;
    ins.subscribe(
        "i",
        "c",
        json!({"range":{"n":{"gte":10}}}),
        json!({"scope":"in"}),
    )
    .await;
    outs.subscribe(
        "i",
        "c",
        json!({"range":{"n":{"gte":10}}}),
        json!({"scope":"out"}),
    )
    .await;
    writer.ok(doc("create", Some("a"), json!({"n":10}))).await;
    assert_eq!(ins.next_frame().await["scope"], "in");
    writer.ok(doc("update", Some("a"), json!({"n":1}))).await;
    assert_eq!(outs.next_frame().await["scope"], "out");
    ins.silent(100).await;
    outs.silent(10).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_and_batches() {
    let server = Server::start().await;
    let mut sub = server.client().await;
    let mut c = server.client().await;
    sub.subscribe("i", "c", json!({}), json!({})).await;
    let r = c
        .ok(doc("mCreate", None, json!({"documents":[{"_id":"a","body":{"v":1}},{"_id":"b","body":{"v":2}},{"_id":"a","body":{"v":3}},{"body":"bad"}]})))
        .await;
    assert_eq!(r["successes"].as_array().map(Vec::len), Some(2));
    assert_eq!(r["errors"].as_array().map(Vec::len), Some(2));
    for _ in 0..2 {
        assert_eq!(sub.next_frame().await["action"], "create");
    }
    let r = c
        .ok(doc(
            "mUpdate",
            None,
            json!({"documents":[{"_id":"a","body":{"w":1}},{"_id":"zz","body":{}}]}),
        ))
        .await;
    assert_eq!(r["successes"][0]["_updatedFields"], json!(["w"]));
    assert_eq!(r["errors"][0]["status"], 404);
    assert_eq!(sub.next_frame().await["action"], "update");
    let r = c
        .ok(doc(
            "mReplace",
            None,
            json!({"documents":[{"_id":"b","body":{"v":9}}]}),
        ))
        .await;
    assert_eq!(r["successes"][0]["_source"]["v"], 9);
    assert_eq!(sub.next_frame().await["action"], "replace");
    let r = c
        .ok(doc(
            "mCreateOrReplace",
            None,
            json!({"documents":[{"_id":"c","body":{"v":0}}]}),
        ))
        .await;
    assert_eq!(r["successes"][0]["created"], true);
    assert_eq!(sub.next_frame().await["action"], "create");
    let r = c.ok(doc("mUpsert", None, json!({"documents":[{"_id":"c","changes":{"v":1}},{"_id":"d","changes":{"v":1},"default":{"z":1}}]}))).await;
    assert_eq!(r["successes"][0]["created"], false);
    assert_eq!(r["successes"][1]["created"], true);
    assert_eq!(sub.next_frame().await["action"], "update");
    assert_eq!(sub.next_frame().await["action"], "create");

    let r = c
        .ok(json!({"controller":"document","action":"get","index":"i","collection":"c","_id":"d"}))
        .await;
    assert_eq!(r["_source"]["z"], 1);
    assert_eq!(r["_source"]["v"], 1);
    let r = c.ok(json!({"controller":"document","action":"exists","index":"i","collection":"c","_id":"d"})).await;
    assert_eq!(r, json!(true));
    let r = c.ok(json!({"controller":"document","action":"exists","index":"i","collection":"c","_id":"nope"})).await;
    assert_eq!(r, json!(false));
    let r = c.ok(doc("mGet", None, json!({"ids":["a","nope"]}))).await;
    assert_eq!(r["successes"][0]["_id"], "a");
    assert_eq!(r["errors"], json!(["nope"]));

    let r = c
        .ok(doc("mDelete", None, json!({"ids":["a","b","nope"]})))
        .await;
    assert_eq!(r["successes"], json!(["a", "b"]));
    assert_eq!(r["errors"][0]["_id"], "nope");
    for _ in 0..2 {
        let n = sub.next_frame().await;
        assert_eq!(
            (n["action"].as_str(), n["scope"].as_str()),
            (Some("delete"), Some("out"))
        );
    }
    sub.silent(100).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn document_errors() {
    let server = Server::start().await;
    let mut c = server.client().await;
    c.ok(doc("create", Some("x"), json!({}))).await;
    let cases = [
        (
            doc("create", Some("x"), json!({})),
            "services.storage.document_already_exists",
            400,
        ),
        (
            doc("update", Some("nope"), json!({"a":1})),
            "services.storage.not_found",
            404,
        ),
        (
            doc("replace", Some("nope"), json!({"a":1})),
            "services.storage.not_found",
            404,
        ),
        (
            doc("delete", Some("nope"), serde_json::Value::Null),
            "services.storage.not_found",
            404,
        ),
        (
            doc("update", None, json!({"a":1})),
            "api.assert.missing_argument",
            400,
        ),
        (
            doc("create", Some("y"), serde_json::Value::Null),
            "api.assert.body_required",
            400,
        ),
        (
            doc("create", Some("y"), json!([1])),
            "api.assert.invalid_type",
            400,
        ),
        (
            doc("upsert", Some("y"), json!({"default":{}})),
            "api.assert.missing_argument",
            400,
        ),
        (
            doc("upsert", Some("y"), json!({"changes":3})),
            "api.assert.invalid_type",
            400,
        ),
        (
            doc("mCreate", None, json!({})),
            "api.assert.missing_argument",
            400,
        ),
        (
            doc("mCreate", None, json!({"documents":{}})),
            "api.assert.invalid_type",
            400,
        ),
        (
            json!({"controller":"document","action":"get","index":"i","collection":"c","_id":"nope"}),
            "services.storage.not_found",
            404,
        ),
        (
            json!({"controller":"document","action":"get","index":"i","collection":"c","_id":7}),
            "api.assert.invalid_type",
            400,
        ),
        (
            json!({"controller":"document","action":"create","collection":"c","body":{}}),
            "api.assert.missing_argument",
            400,
        ),
        (
            json!({"controller":"document","action":"search","index":"i","collection":"c"}),
            "api.process.action_not_found",
            404,
        ),
    ];
    for (request, id, status) in cases {
        let e = c.fail(request.clone()).await;
        assert_eq!(e["id"], id, "{request}: {e}");
        assert_eq!(e["status"], status, "{request}");
    }
    let e = c.fail(doc("update", Some("nope"), json!({}))).await;
    assert_eq!(e["code"], 16842763);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documents_survive_a_restart_with_the_embedded_store() {
    let dir = tempfile::tempdir().expect("tempdir");
    let open = || {
        let store = herald::store::RedbStore::open(dir.path()).expect("open store");
        herald::server::Config {
            store: std::sync::Arc::new(store),
            ..herald::server::Config::default()
        }
    };
    let server = Server::start_with(open()).await;
    let mut c = server.client().await;
    c.ok(doc("create", Some("kept"), json!({"v":1}))).await;
    drop(c);
    server.stop().await;
    let server = Server::start_with(open()).await;
    let mut c = server.client().await;
    let r = c.ok(json!({"controller":"document","action":"get","index":"i","collection":"c","_id":"kept"})).await;
    assert_eq!(r["_source"]["v"], 1);
    server.stop().await;
}
