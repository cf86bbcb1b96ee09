//! How long one registration or removal holds a collection's write lock (its whole duration:
//! everything it does is under the lock), as percentiles over a workload.
//!
//! ```text
//! cargo run --release -- gen-workload --name realistic --filters 100000 --out /tmp/w
//! cargo run --release -p herald-filters --example write_latency -- /tmp/w/filters.jsonl
//! ```
//!
//! Filters are normalized first (outside the lock, as a server does), then registered one by
//! one and removed one by one, twice; each call is timed.

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
        .ok_or("usage: write_latency FILTERS.jsonl")?;
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
    for round in 1..=2 {
        let mut times = Vec::with_capacity(filters.len());
        for n in &filters {
            let start = Instant::now();
            engine.register(&collection, n.id, &n.canonical);
            times.push(start.elapsed().as_nanos());
        }
        percentiles(
            &format!("round {round} register ({} filters)", filters.len()),
            times,
        );
        let mut times = Vec::with_capacity(filters.len());
        for n in &filters {
            let start = Instant::now();
            engine.remove(&collection, &n.id);
            times.push(start.elapsed().as_nanos());
        }
        percentiles(&format!("round {round} remove"), times);
    }
    Ok(())
}
