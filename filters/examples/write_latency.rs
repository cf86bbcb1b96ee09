//! How long one registration or removal holds a collection's write lock (its whole duration:
//! everything it does is under the lock), as percentiles over a workload.
//!
//! ```text
//! cargo run --release -- gen-workload --name realistic --filters 100000 --out /tmp/w
//! cargo run --release -p herald-filters --example write_latency -- /tmp/w/filters.jsonl
//! # with a second thread matching the documents meanwhile:
//! cargo run --release -p herald-filters --example write_latency -- /tmp/w/filters.jsonl /tmp/w/docs.jsonl
//! ```
//!
//! Filters are normalized first (outside the lock, as a server does), then registered one by
//! one and removed one by one, twice; each call is timed. With a documents file, a reader
//! thread matches them round-robin for the whole run: writes then also pay for excluding a
//! reader that may be in progress (the heavy barrier of `ReadMostly`), as in a server.

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

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .ok_or("usage: write_latency FILTERS.jsonl [DOCS.jsonl]")?;
    let docs: Vec<serde_json::Value> = match std::env::args().nth(2) {
        Some(docs) => std::fs::read_to_string(docs)?
            .lines()
            .map(serde_json::from_str)
            .collect::<Result<_, _>>()?,
        None => Vec::new(),
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
    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let reader = (!docs.is_empty()).then(|| {
            scope.spawn(|| {
                let mut out = Vec::new();
                let mut tests = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    for doc in &docs {
                        out.clear();
                        engine.test(&collection, doc, &mut out);
                    }
                    tests += docs.len() as u64;
                }
                tests
            })
        });
        write_rounds(&engine, &collection, &filters);
        stop.store(true, Ordering::Relaxed);
        if let Some(reader) = reader {
            let tests = reader.join().unwrap_or(0);
            println!("reader: {tests} documents matched meanwhile");
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
