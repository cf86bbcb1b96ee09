//! `herald bench-match --filters F --docs D [--seconds S]`: how fast this machine matches a
//! workload. Registers the filters (timed), parses the documents up front, matches them
//! round-robin for S seconds on one thread, and prints one JSON line. `bench/koncorde/
//! bench-match.js` runs the same loop with Koncorde on the same files, for side-by-side ratios.

use std::io::{self, BufRead};
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use herald_filters::engine::{CollectionName, Engine};
use herald_filters::{normalize, FilterId, Options};
use serde_json::{json, Value};

pub fn run(filters: &Path, docs: &Path, seconds: f64, options: &Options) -> io::Result<ExitCode> {
    let engine = Engine::new();
    let collection = CollectionName::new("bench", "match");
    let rss_before = rss_mb();
    // Filters are streamed from the file (parse, normalize, register: all timed), so the
    // harness holds nothing per filter and the memory figure is the matcher's.
    let mut lines = 0usize;
    let mut rejected = 0usize;
    let start = Instant::now();
    for line in super::open_lines_with_progress(filters, "registering")?.lines() {
        let line = line?;
        lines += 1;
        let normalized = serde_json::from_str::<Value>(&line)
            .ok()
            .and_then(|f| normalize(&f, options).ok());
        match normalized {
            Some(n) => {
                engine.register(&collection, n.id, &n.canonical);
            }
            None => rejected += 1,
        }
    }
    let register_s = start.elapsed().as_secs_f64();
    let rss_registered = rss_mb();
    let distinct = engine.len(&collection);
    if std::env::var_os("HERALD_BENCH_VERBOSE").is_some() {
        if let Some(summary) = engine.summary(&collection) {
            eprintln!("{summary}");
        }
    }
    let documents: Vec<Value> = super::open_lines(docs)?
        .lines()
        .map(|l| {
            let l = l?;
            serde_json::from_str(&l).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
        })
        .collect::<Result<_, _>>()?;
    if documents.is_empty() {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "no documents"));
    }

    // Resolve the collection once, as a server does per request.
    let Some(handle) = engine.collection(&collection) else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "no valid filter",
        ));
    };
    let budget = Duration::from_secs_f64(seconds.max(0.01));
    let mut out: Vec<FilterId> = Vec::new();
    let mut matched_total = 0u64;
    let mut done = 0u64;
    let start = Instant::now();
    // The clock is read every 64 documents only, so that timing costs nothing per document.
    let mut docs = documents.iter().cycle();
    loop {
        for _ in 0..64 {
            let Some(doc) = docs.next() else { break };
            out.clear();
            handle.test(doc, &mut out);
            matched_total += out.len() as u64;
        }
        done += 64;
        if start.elapsed() >= budget {
            break;
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    println!(
        "{}",
        json!({
            "engine": "herald",
            "filters": lines,
            "rejected": rejected,
            "distinct": distinct,
            "docs": documents.len(),
            "register_s": round(register_s, 4),
            "docs_per_s": round(done as f64 / elapsed, 1),
            "matches_per_doc": round(matched_total as f64 / done as f64, 3),
            "rss_mb": round(rss_mb(), 1),
            "index_bytes_per_filter": round((rss_registered - rss_before) * 1048576.0 / distinct.max(1) as f64, 0),
        })
    );
    Ok(ExitCode::SUCCESS)
}

fn round(x: f64, digits: i32) -> f64 {
    let p = 10f64.powi(digits);
    (x * p).round() / p
}

/// Resident set size of this process, from /proc (0 where unavailable).
pub fn rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmRSS:")).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|kb| kb.parse::<f64>().ok())
            })
        })
        .map_or(0.0, |kb| kb / 1024.0)
}
