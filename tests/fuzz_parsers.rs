//! Property-driven fuzzing of the two parsers that read untrusted input: the request parser
//! (every WebSocket frame and HTTP call) and the filter parser (every subscription), plus the
//! whole request path in process.
//!
//! Inputs are mutations of valid ones (the oracle corpus's filters, well-formed requests of
//! every controller), so that the search spends its time deep in the grammars rather than on
//! the first byte. The properties: no panic, a bounded answer (every request gets exactly one
//! outcome, never a 5xx), and filters that are accepted can be registered, matched and removed.
//!
//! CI runs a short pass. A longer one: `HERALD_FUZZ_CASES=200000 cargo test --release --test
//! fuzz_parsers`.

use std::sync::Arc;

use herald::delivery::Queues;
use herald::notify::{Hub, HubConfig};
use herald::protocol::{self, Context, Incoming};
use herald::store::MemoryStore;
use herald_filters::engine::{CollectionName, Engine};
use herald_filters::{normalize, Options};
use proptest::prelude::*;
use proptest::test_runner::{Config as RunnerConfig, TestRunner};
use serde_json::{json, Value};

fn cases(default: u32) -> u32 {
    std::env::var("HERALD_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn corpus_filters() -> Vec<Value> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/filters/tests/data/oracle/seed1/filters.jsonl"
    );
    std::fs::read_to_string(path)
        .expect("oracle corpus")
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// Arbitrary JSON leaves, including the awkward ones.
fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        "\\PC{0,12}".prop_map(Value::String),
        prop::sample::select(vec![
            "",
            "a",
            "a.b",
            "a[0]",
            "tags[\"x\"]",
            "1km",
            "-5 m",
            "^a.*$",
            "(?=x)",
            "[",
            "%herald",
            "gt",
            "lte",
            "value",
            "points",
            "lat",
            "lon",
            "9q8yy",
            "0,0",
            "NaN",
            "Infinity",
        ])
        .prop_map(|s| json!(s)),
    ]
}

/// One random edit of a JSON value, at a random depth.
#[derive(Clone, Debug)]
enum Edit {
    Replace(Value),
    DeleteKey,
    AddKey(String, Value),
    Wrap(&'static str),
    Duplicate,
    Unwrap,
}

fn edit() -> impl Strategy<Value = Edit> {
    let keyword = prop::sample::select(herald_filters::KEYWORDS.to_vec());
    prop_oneof![
        leaf().prop_map(Edit::Replace),
        Just(Edit::DeleteKey),
        (
            prop_oneof![keyword.clone().prop_map(str::to_owned), "[a-z_]{1,6}"],
            leaf()
        )
            .prop_map(|(k, v)| Edit::AddKey(k, v)),
        prop::sample::select(vec!["not", "and", "or", "bool"]).prop_map(Edit::Wrap),
        Just(Edit::Duplicate),
        Just(Edit::Unwrap),
    ]
}

/// Applies `edit` at the node reached by following `path` (indexes modulo the children).
fn apply(value: &mut Value, path: &[usize], edit: &Edit) {
    if let Some((&step, rest)) = path.split_first() {
        let child = match value {
            Value::Object(map) if !map.is_empty() => {
                let key = map.keys().nth(step % map.len()).cloned();
                key.and_then(|k| map.get_mut(&k))
            }
            Value::Array(items) if !items.is_empty() => {
                let n = items.len();
                items.get_mut(step % n)
            }
            _ => None,
        };
        if let Some(child) = child {
            return apply(child, rest, edit);
        }
    }
    match edit {
        Edit::Replace(v) => *value = v.clone(),
        Edit::DeleteKey => {
            if let Value::Object(map) = value {
                if let Some(k) = map.keys().next().cloned() {
                    map.remove(&k);
                }
            }
        }
        Edit::AddKey(k, v) => {
            if let Value::Object(map) = value {
                map.insert(k.clone(), v.clone());
            }
        }
        Edit::Wrap(op) => {
            let inner = value.take();
            *value = match *op {
                "not" => json!({"not": inner}),
                "bool" => json!({"bool": {"must_not": [inner]}}),
                op => json!({ op: [inner.clone(), inner] }),
            };
        }
        Edit::Duplicate => {
            if let Value::Array(items) = value {
                if let Some(first) = items.first().cloned() {
                    items.push(first);
                }
            }
        }
        Edit::Unwrap => {
            let first = match value {
                Value::Object(map) => map.values().next().cloned(),
                Value::Array(items) => items.first().cloned(),
                _ => None,
            };
            if let Some(first) = first {
                *value = first;
            }
        }
    }
}

fn edits() -> impl Strategy<Value = Vec<(Vec<usize>, Edit)>> {
    prop::collection::vec((prop::collection::vec(0usize..8, 0..6), edit()), 1..5)
}

#[test]
fn mutated_filters_never_panic_and_register_cleanly() {
    let filters = corpus_filters();
    let docs: Vec<Value> = vec![
        json!({}),
        json!({"a": 1, "tags": ["x", "red"], "loc": [0.0, 0.0], "name": "alice", "age": 42}),
        json!({"nums": [1, 2, 3], "items": [{"sku": "a", "qty": 3}], "geo": {"point": "9q8yy"}}),
    ];
    let options = Options::default();
    let mut runner = TestRunner::new(RunnerConfig {
        cases: cases(1_500),
        failure_persistence: None,
        ..RunnerConfig::default()
    });
    let strategy = (0..filters.len(), edits());
    let accepted = std::cell::Cell::new(0u32);
    runner
        .run(&strategy, |(which, edits)| {
            let mut filter = filters[which].clone();
            for (path, edit) in &edits {
                apply(&mut filter, path, edit);
            }
            if let Ok(n) = normalize(&filter, &options) {
                accepted.set(accepted.get() + 1);
                let engine = Engine::new();
                let collection = CollectionName::new("fuzz", "c");
                engine.register(&collection, n.id, &n.canonical);
                let mut ids = Vec::new();
                for doc in &docs {
                    ids.clear();
                    engine.test(&collection, doc, &mut ids);
                    let by_eval = herald_filters::eval::eval(&n.standardized, doc);
                    prop_assert_eq!(ids.contains(&n.id), by_eval, "{}", filter);
                }
                prop_assert!(engine.remove(&collection, &n.id));
            }
            Ok(())
        })
        .unwrap();
    // The mutations keep enough filters valid to exercise the matcher, not only the errors.
    assert!(
        accepted.get() > cases(1_500) / 10,
        "{} accepted",
        accepted.get()
    );
}

/// Well-formed requests of every controller, to be mutated.
fn seed_requests() -> Vec<Value> {
    let docs = |action: &str, body: Value| {
        json!({"controller":"document","action":action,"index":"shop","collection":"orders",
            "_id":"o1","body":body,"requestId":"r"})
    };
    vec![
        json!({"controller":"realtime","action":"subscribe","index":"shop","collection":"orders",
            "body":{"range":{"total":{"gte":10}}},"scope":"all","users":"in","volatile":{"a":1}}),
        json!({"controller":"realtime","action":"publish","index":"shop","collection":"orders",
            "body":{"total":5}}),
        json!({"controller":"realtime","action":"count","body":{"roomId":"x"}}),
        json!({"controller":"realtime","action":"list"}),
        docs("create", json!({"total": 1})),
        docs("update", json!({"total": 2})),
        docs("upsert", json!({"changes": {"a": 1}, "default": {}})),
        json!({"controller":"document","action":"mCreate","index":"shop","collection":"orders",
            "body":{"documents":[{"_id":"a","body":{}},{"body":{"x":1}}]}}),
        json!({"controller":"document","action":"mDelete","index":"shop","collection":"orders",
            "body":{"ids":["a","b"]}}),
        json!({"controller":"events","action":"send","body":{"type":"T","user":"u","payload":{}}}),
        json!({"controller":"auth","action":"login","strategy":"jwt","body":{"token":"a.b.c"}}),
        json!({"controller":"index","action":"create","index":"shop"}),
        json!({"controller":"collection","action":"create","index":"shop","collection":"c",
            "body":{"mappings":{}}}),
        json!({"controller":"server","action":"now"}),
    ]
}

#[test]
fn mutated_requests_get_one_bounded_answer() {
    let hub = Hub::new(
        HubConfig::default(),
        Arc::new(MemoryStore::new()),
        Arc::new(Queues::new(1024)),
    );
    let connection = hub.connect(None);
    let seeds = seed_requests();
    let mut runner = TestRunner::new(RunnerConfig {
        cases: cases(3_000),
        failure_persistence: None,
        ..RunnerConfig::default()
    });
    let raw_bytes = prop::collection::vec(any::<u8>(), 0..64);
    let strategy = (0..seeds.len(), edits(), raw_bytes, any::<bool>());
    let dispatched = std::cell::Cell::new(0u32);
    runner
        .run(&strategy, |(which, edits, bytes, as_bytes)| {
            let mut request = seeds[which].clone();
            for (path, edit) in &edits {
                apply(&mut request, path, edit);
            }
            // Either the mutated request, or arbitrary bytes spliced into its text.
            let frame: Vec<u8> = if as_bytes {
                let mut text = request.to_string().into_bytes();
                let at = bytes.first().map_or(0, |&b| b as usize % (text.len() + 1));
                text.splice(at..at, bytes.iter().copied());
                text
            } else {
                request.to_string().into_bytes()
            };
            match protocol::parse(&frame) {
                Incoming::Ping => {}
                Incoming::Rejected(answer) => {
                    prop_assert!(
                        answer["status"]
                            .as_u64()
                            .is_some_and(|s| (400..500).contains(&s)),
                        "{}",
                        answer
                    );
                }
                Incoming::Request(request) => {
                    dispatched.set(dispatched.get() + 1);
                    let ctx = Context {
                        hub: &hub,
                        connection: Some(connection),
                        protocol: "websocket",
                    };
                    if let Err(e) = protocol::dispatch(&ctx, &request) {
                        prop_assert!(
                            (400..500).contains(&e.status),
                            "{} -> {:?}",
                            String::from_utf8_lossy(&frame),
                            e.to_json()
                        );
                    }
                }
            }
            Ok(())
        })
        .unwrap();
    assert!(
        dispatched.get() > cases(3_000) / 10,
        "{} dispatched",
        dispatched.get()
    );
}
