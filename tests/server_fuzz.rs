//! Random requests over a real socket: every controller and action, arguments of every JSON
//! type. Each request gets exactly one response naming it, never a server error, and the
//! connection stays usable (a panic in the connection task would drop the socket).

mod server_support;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Map, Value};
use server_support::Server;

const CONTROLLERS: &[&str] = &[
    "realtime",
    "document",
    "auth",
    "server",
    "index",
    "collection",
    "events",
    "nope",
];
const ACTIONS: &[&str] = &[
    "subscribe",
    "unsubscribe",
    "count",
    "list",
    "publish",
    "join",
    "create",
    "createOrReplace",
    "replace",
    "update",
    "upsert",
    "delete",
    "get",
    "exists",
    "mCreate",
    "mCreateOrReplace",
    "mReplace",
    "mUpdate",
    "mUpsert",
    "mDelete",
    "mGet",
    "checkToken",
    "login",
    "logout",
    "getCurrentUser",
    "now",
    "info",
    "healthCheck",
    "truncate",
    "refresh",
    "getMapping",
    "updateMapping",
    "send",
    "nope",
];
const KEYS: &[&str] = &[
    "index",
    "collection",
    "_id",
    "body",
    "scope",
    "users",
    "volatile",
    "jwt",
    "strategy",
    "silent",
    "roomId",
];

fn scalar(rng: &mut SmallRng) -> Value {
    match rng.gen_range(0..7) {
        0 => Value::Null,
        1 => json!(rng.gen::<bool>()),
        2 => json!(rng.gen_range(-5..5)),
        3 => json!(rng.gen::<f64>() * 1e6),
        4 => json!(["a", "b", "i", "c", "*", "", "%herald", "x.y"][rng.gen_range(0..8)]),
        5 => json!("Ünïcode \u{0} 🙂"),
        _ => json!("in"),
    }
}

fn value(rng: &mut SmallRng, depth: u32) -> Value {
    if depth == 0 || rng.gen_bool(0.4) {
        return scalar(rng);
    }
    if rng.gen_bool(0.5) {
        Value::Array(
            (0..rng.gen_range(0..4))
                .map(|_| value(rng, depth - 1))
                .collect(),
        )
    } else {
        let keys = [
            "equals",
            "in",
            "range",
            "exists",
            "not",
            "and",
            "or",
            "bool",
            "geoDistance",
            "documents",
            "changes",
            "default",
            "roomId",
            "token",
            "indexes",
            "user",
            "users",
            "all",
            "event",
            "type",
            "message",
            "payload",
            "color",
            "body",
            "_id",
        ];
        let mut map = Map::new();
        for _ in 0..rng.gen_range(0..4) {
            map.insert(
                keys[rng.gen_range(0..keys.len())].to_owned(),
                value(rng, depth - 1),
            );
        }
        Value::Object(map)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_requests_get_one_clean_answer_each() {
    let server = Server::start().await;
    let mut client = server.client().await;
    let mut rng = SmallRng::seed_from_u64(0x6865_7261_6c64);
    for i in 0..4000 {
        let mut request = Map::new();
        request.insert(
            "controller".into(),
            json!(CONTROLLERS[rng.gen_range(0..CONTROLLERS.len())]),
        );
        request.insert(
            "action".into(),
            json!(ACTIONS[rng.gen_range(0..ACTIONS.len())]),
        );
        for _ in 0..rng.gen_range(0..6) {
            let key = KEYS[rng.gen_range(0..KEYS.len())];
            // Keep a valid envelope (type errors there have their own tests) most of the time.
            let v = match key {
                "volatile" | "jwt" if rng.gen_bool(0.8) => continue,
                _ => value(&mut rng, 3),
            };
            request.insert(key.into(), v);
        }
        request.insert("requestId".into(), json!(format!("fuzz-{i}")));
        let request = Value::Object(request);
        let response = client.request(request.clone()).await;
        let status = response["status"].as_u64().unwrap_or(0);
        assert!(
            (200..500).contains(&status),
            "request {request} got {response}"
        );
        assert_eq!(response["requestId"], json!(format!("fuzz-{i}")));
        // Envelopes refused before routing (a `body` that is neither an object nor an array,
        // say) are answered without `room`, as Kuzzle does; everything routed has one.
        if response["room"].is_null() {
            assert_eq!(
                response["error"]["id"], "api.assert.invalid_type",
                "{response}"
            );
        } else {
            assert_eq!(response["room"], json!(format!("fuzz-{i}")));
        }
        if status != 200 {
            assert!(response["error"]["id"].is_string(), "{response}");
            assert!(response["error"]["message"].is_string(), "{response}");
        }
    }
    // Still usable, and the server still serves others.
    client
        .ok(json!({"controller":"server","action":"now"}))
        .await;
    let mut other = server.client().await;
    other
        .ok(json!({"controller":"server","action":"now"}))
        .await;
    server.stop().await;
}
