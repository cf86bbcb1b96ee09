//! Matching from many threads while filters are registered and removed: every document keeps
//! getting exactly the stable filters' answer, whatever the churn around it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;

use herald_filters::engine::{CollectionName, Engine};
use herald_filters::{normalize, FilterId, Options};
use serde_json::json;

#[test]
fn matching_is_consistent_under_concurrent_registration() {
    let options = Options::default();
    let engine = Arc::new(Engine::new());
    let collection = CollectionName::new("i", "c");
    // Stable filters: registered before readers start, never removed.
    let stable: Vec<FilterId> = (0..200)
        .map(|i| {
            let n = normalize(&json!({"and": [{"equals": {"room": format!("r{}", i % 20)}}, {"range": {"n": {"gte": i}}}]}), &options).unwrap();
            engine.register(&collection, n.id, &n.canonical)
        })
        .collect();
    // Churn: filters sharing fields, values and anchors with the stable ones.
    let churn: Vec<_> = (0..2000)
        .map(|i| normalize(&json!({"and": [{"equals": {"room": format!("r{}", i % 20)}}, {"range": {"n": {"gte": i % 300, "lt": 10_000 + i}}}, {"exists": "x"}]}), &options).unwrap())
        .collect();
    let stop = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..3)
        .map(|t| {
            let (engine, collection, stop, stable) = (
                engine.clone(),
                collection.clone(),
                stop.clone(),
                stable.clone(),
            );
            thread::spawn(move || {
                let mut out = Vec::new();
                let mut rounds = 0u64;
                while !stop.load(Ordering::Relaxed) || rounds < 100 {
                    let room = (rounds as usize + t) % 20;
                    let n = (rounds % 250) as i64;
                    let doc = json!({"room": format!("r{room}"), "n": n});
                    out.clear();
                    engine.test(&collection, &doc, &mut out);
                    // Without "x" no churn filter matches: the answer is exactly the stable one.
                    let mut want: Vec<FilterId> = (0..200)
                        .filter(|&i| i % 20 == room && n >= i as i64)
                        .map(|i| stable[i])
                        .collect();
                    want.sort();
                    out.sort();
                    assert_eq!(out, want, "doc {doc}");
                    rounds += 1;
                }
                rounds
            })
        })
        .collect();
    for round in 0..20 {
        for n in &churn {
            engine.register(&collection, n.id, &n.canonical);
        }
        for (i, n) in churn.iter().enumerate() {
            if (i + round) % 2 == 0 {
                engine.remove(&collection, &n.id);
            }
        }
        for n in &churn {
            engine.remove(&collection, &n.id);
        }
    }
    stop.store(true, Ordering::Relaxed);
    for r in readers {
        assert!(r.join().expect("reader panicked") >= 100);
    }
    assert_eq!(engine.len(&collection), 200);
}
