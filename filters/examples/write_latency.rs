//! How long registrations and removals hold a collection's write lock, as percentiles over a
//! workload, and (with `--probe`) how long they make matching wait.
//!
//! ```text
//! cargo run --release -p herald-bench --bin herald-workload -- --name realistic --filters 100000 --out /tmp/w
//! cargo run --release -p herald-filters --example write_latency -- /tmp/w/filters.jsonl
//! # with a second thread matching the documents meanwhile:
//! cargo run --release -p herald-filters --example write_latency -- /tmp/w/filters.jsonl /tmp/w/docs.jsonl
//! # with a second thread matching an empty document in a loop, each call timed:
//! cargo run --release -p herald-filters --example write_latency -- /tmp/w/filters.jsonl --probe
//! ```
//!
//! Filters are normalized first (outside the lock, as a server does), then registered one by
//! one and removed one by one, twice; each call is timed. The write lock is held for nearly
//! all of a call; what is not lock time is freeing the parts of the index a write emptied,
//! done after the lock is released. One more filter stays registered throughout, so that the
//! collection never empties (an emptied collection's whole index is freed after the lock,
//! and that millisecond is not lock time either).
//!
//! With a documents file, a reader thread matches them round-robin for the whole run: writes
//! then also pay for excluding a reader that may be in progress (the heavy barrier of
//! `ReadMostly`), as in a server. With `--probe`, the reader matches an empty document (a
//! few tens of nanoseconds) and times every call: the slow calls are the reader waiting for
//! a write, which is what "a write blocks matching for at most ..." means.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use herald_filters::engine::{CollectionName, Engine};
use herald_filters::{normalize, Options};

fn percentiles(label: &str, mut nanos: Vec<u128>) {
    nanos.sort_unstable();
    let at = |q: f64| nanos[((nanos.len() - 1) as f64 * q) as usize] as f64 / 1000.0;
    println!(
        "{label}: p50 {:.1} µs, p99 {:.1} µs, p99.9 {:.1} µs, p99.99 {:.1} µs, max {:.1} µs",
        at(0.5),
        at(0.99),
        at(0.999),
        at(0.9999),
        at(1.0)
    );
}

/// What the second thread does while the writes run.
enum Reader {
    None,
    Documents(Vec<serde_json::Value>),
    Probe,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // As `herald` does at startup.
    herald_filters::engine::tune_allocator();
    let path = std::env::args()
        .nth(1)
        .ok_or("usage: write_latency FILTERS.jsonl [DOCS.jsonl | --probe]")?;
    let reader = match std::env::args().nth(2).as_deref() {
        None => Reader::None,
        Some("--probe") => Reader::Probe,
        Some(docs) => Reader::Documents(
            std::fs::read_to_string(docs)?
                .lines()
                .map(serde_json::from_str)
                .collect::<Result<_, _>>()?,
        ),
    };
    let text = std::fs::read_to_string(path)?;
    let mut filters = Vec::new();
    for line in text.lines() {
        if let Ok(n) = normalize(&serde_json::from_str(line)?, &Options::default()) {
            filters.push(n);
        }
    }
    if filters.is_empty() {
        return Err("no valid filter".into());
    }
    let engine = Engine::new();
    let collection = CollectionName::new("bench", "latency");
    let sentinel = normalize(
        &serde_json::json!({"equals": {"write_latency.sentinel": true}}),
        &Options::default(),
    )?;
    engine.register(&collection, sentinel.id, &sentinel.canonical);
    let stop = AtomicBool::new(false);
    let empty = serde_json::json!({});
    std::thread::scope(|scope| {
        let (engine, collection, stop, empty) = (&engine, &collection, &stop, &empty);
        let reader = match &reader {
            Reader::None => None,
            Reader::Documents(docs) => Some(scope.spawn(move || {
                let mut out = Vec::new();
                let mut tests = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    for doc in docs {
                        out.clear();
                        engine.test(collection, doc, &mut out);
                    }
                    tests += docs.len() as u64;
                }
                println!("reader: {tests} documents matched meanwhile");
            })),
            Reader::Probe => Some(scope.spawn(move || {
                let mut out = Vec::new();
                let mut calls = Vec::with_capacity(1 << 24);
                while !stop.load(Ordering::Relaxed) {
                    let start = Instant::now();
                    engine.test(collection, empty, &mut out);
                    calls.push(start.elapsed().as_nanos());
                }
                percentiles(&format!("probe reader ({} calls)", calls.len()), calls);
            })),
        };
        write_rounds(engine, collection, &filters);
        stop.store(true, Ordering::Relaxed);
        if let Some(reader) = reader {
            let _ = reader.join();
        }
    });
    Ok(())
}

fn write_rounds(
    engine: &Engine,
    collection: &CollectionName,
    filters: &[herald_filters::Normalized],
) {
    for round in 1..=2 {
        let mut times = Vec::with_capacity(filters.len());
        for n in filters {
            let start = Instant::now();
            engine.register(collection, n.id, &n.canonical);
            times.push(start.elapsed().as_nanos());
        }
        percentiles(
            &format!("round {round} register ({} filters)", filters.len()),
            times,
        );
        let mut times = Vec::with_capacity(filters.len());
        for n in filters {
            let start = Instant::now();
            engine.remove(collection, &n.id);
            times.push(start.elapsed().as_nanos());
        }
        percentiles(&format!("round {round} remove"), times);
    }
}
