//! The `index` and `collection` controllers over real sockets and HTTP, on both stores:
//! Kuzzle's results and errors, names that survive a restart, and deletions that take the
//! documents with them.

mod server_support;

use std::sync::Arc;

use herald::server::Config;
use herald::store::RedbStore;
use serde_json::json;
use server_support::{http, Client, Server};

fn call(
    controller: &str,
    action: &str,
    index: &str,
    collection: Option<&str>,
) -> serde_json::Value {
    let mut request = json!({"controller": controller, "action": action, "index": index});
    if let Some(c) = collection {
        request["collection"] = json!(c);
    }
    request
}

async fn index_and_collection_lifecycle(c: &mut Client) {
    assert_eq!(
        c.ok(call("index", "exists", "shop", None)).await,
        json!(false)
    );
    assert_eq!(
        c.ok(call("index", "create", "shop", None)).await,
        json!({"acknowledged": true, "shards_acknowledged": true})
    );
    let e = c.fail(call("index", "create", "shop", None)).await;
    assert_eq!(e["id"], "services.storage.index_already_exists");
    assert_eq!(e["status"], 412);
    let e = c.fail(call("index", "create", "Shop", None)).await;
    assert_eq!(e["id"], "services.storage.invalid_index_name");
    assert_eq!(
        c.ok(call("index", "exists", "shop", None)).await,
        json!(true)
    );

    let e = c
        .fail(call("collection", "create", "nowhere", Some("c")))
        .await;
    assert_eq!(e["id"], "services.storage.unknown_index");
    let e = c
        .fail(call("collection", "create", "shop", Some("a/b")))
        .await;
    assert_eq!(e["id"], "services.storage.invalid_collection_name");
    let mut create = call("collection", "create", "shop", Some("orders"));
    create["body"] = json!({"mappings": {"properties": {"total": {"type": "float"}}}});
    assert_eq!(c.ok(create.clone()).await, json!({"acknowledged": true}));
    // Again: Kuzzle updates the mapping; nothing to refuse.
    assert_eq!(c.ok(create).await, json!({"acknowledged": true}));
    assert_eq!(
        c.ok(call("collection", "exists", "shop", Some("orders")))
            .await,
        json!(true)
    );
    let e = c
        .fail(call("collection", "truncate", "shop", Some("missing")))
        .await;
    assert_eq!(e["id"], "services.storage.unknown_collection");

    // A document write registers its collection (and index) on the way.
    c.ok(json!({"controller":"document","action":"create","index":"shop","collection":"carts","_id":"k1","body":{"n":1}}))
        .await;
    c.ok(json!({"controller":"document","action":"create","index":"shop","collection":"orders","_id":"o1","body":{"n":1}}))
        .await;
    c.ok(json!({"controller":"document","action":"create","index":"blog","collection":"posts","_id":"p1","body":{"n":1}}))
        .await;
    assert_eq!(
        c.ok(call("collection", "list", "shop", None)).await,
        json!({"type": "all", "collections": [
            {"name": "carts", "type": "stored"},
            {"name": "orders", "type": "stored"},
        ]})
    );
    assert_eq!(
        c.ok(json!({"controller":"index","action":"list"})).await,
        json!({"indexes": ["blog", "shop"]})
    );
    // Collections with subscriptions are listed as realtime ones, as in Kuzzle.
    c.subscribe("shop", "live", json!({}), json!({})).await;
    let mut list = call("collection", "list", "shop", None);
    list["type"] = json!("realtime");
    assert_eq!(
        c.ok(list.clone()).await,
        json!({"type": "realtime", "collections": [{"name": "live", "type": "realtime"}]})
    );
    list["type"] = json!("all");
    assert_eq!(
        c.ok(list.clone()).await["collections"]
            .as_array()
            .map(Vec::len),
        Some(3)
    );
    list["type"] = json!("nope");
    let e = c.fail(list).await;
    assert_eq!(e["id"], "api.assert.invalid_argument");
}

async fn deletions_take_the_documents(c: &mut Client) {
    let get = |collection: &str, id: &str| json!({"controller":"document","action":"exists","index":"shop","collection":collection,"_id":id});
    assert_eq!(c.ok(get("orders", "o1")).await, json!(true));
    c.ok(call("collection", "truncate", "shop", Some("orders")))
        .await;
    assert_eq!(c.ok(get("orders", "o1")).await, json!(false));
    assert_eq!(
        c.ok(call("collection", "exists", "shop", Some("orders")))
            .await,
        json!(true)
    );
    c.ok(call("collection", "delete", "shop", Some("carts")))
        .await;
    assert_eq!(c.ok(get("carts", "k1")).await, json!(false));
    assert_eq!(
        c.ok(call("collection", "exists", "shop", Some("carts")))
            .await,
        json!(false)
    );
    assert_eq!(
        c.ok(json!({"controller":"index","action":"mDelete","body":{"indexes":["blog","none"]}}))
            .await,
        json!({"deleted": ["blog"]})
    );
    assert_eq!(
        c.ok(json!({"controller":"document","action":"exists","index":"blog","collection":"posts","_id":"p1"}))
            .await,
        json!(false)
    );
    c.ok(call("index", "delete", "shop", None)).await;
    let e = c.fail(call("index", "delete", "shop", None)).await;
    assert_eq!(e["id"], "services.storage.unknown_index");
    assert_eq!(
        c.ok(json!({"controller":"index","action":"list"})).await,
        json!({"indexes": []})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn indexes_and_collections_in_memory() {
    let server = Server::start().await;
    let mut c = server.client().await;
    index_and_collection_lifecycle(&mut c).await;
    deletions_take_the_documents(&mut c).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn indexes_and_collections_survive_a_restart_with_the_embedded_store() {
    let dir = tempfile::tempdir().expect("tempdir");
    let open = || Config {
        store: Arc::new(RedbStore::open(dir.path()).expect("open store")),
        ..Config::default()
    };
    let server = Server::start_with(open()).await;
    let mut c = server.client().await;
    index_and_collection_lifecycle(&mut c).await;
    drop(c);
    server.stop().await;
    let server = Server::start_with(open()).await;
    let mut c = server.client().await;
    assert_eq!(
        c.ok(json!({"controller":"index","action":"list"})).await,
        json!({"indexes": ["blog", "shop"]})
    );
    deletions_take_the_documents(&mut c).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_routes_of_indexes_and_collections() {
    let server = Server::start().await;
    let a = server.addr;
    let (status, body) = http(a, "POST", "/shop/_create", None).await;
    assert_eq!(
        (status, &body["result"]["acknowledged"]),
        (200, &json!(true))
    );
    let (status, body) = http(a, "POST", "/shop/_create", None).await;
    assert_eq!(status, 412);
    assert_eq!(body["error"]["id"], "services.storage.index_already_exists");
    let (status, _) = http(a, "PUT", "/shop/orders", Some("{}")).await;
    assert_eq!(status, 200);
    let (_, body) = http(a, "GET", "/shop/orders/_exists", None).await;
    assert_eq!(body["result"], json!(true));
    let (_, body) = http(a, "GET", "/shop/_exists", None).await;
    assert_eq!(body["result"], json!(true));
    let (_, body) = http(a, "GET", "/shop/_list", None).await;
    assert_eq!(body["result"]["collections"][0]["name"], "orders");
    let (_, body) = http(a, "GET", "/_list", None).await;
    assert_eq!(body["result"]["indexes"], json!(["shop"]));
    let (status, _) = http(a, "POST", "/shop/orders/_refresh", None).await;
    assert_eq!(status, 200);
    let (status, _) = http(a, "DELETE", "/shop/orders/_truncate", None).await;
    assert_eq!(status, 200);
    let (status, _) = http(a, "DELETE", "/shop/orders", None).await;
    assert_eq!(status, 200);
    let (status, _) = http(a, "DELETE", "/shop", None).await;
    assert_eq!(status, 200);
    let (status, body) = http(a, "DELETE", "/shop", None).await;
    assert_eq!(status, 412);
    assert_eq!(body["error"]["id"], "services.storage.unknown_index");
    server.stop().await;
}
