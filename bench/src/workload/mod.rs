//! Benchmark workloads: seeded, deterministic generators of filters and
//! documents, shared by Herald's `bench-match` and by the Koncorde harness in
//! `bench/koncorde/`, so that both engines are measured on identical inputs.
//!
//! Seven families:
//!
//! * [`koncorde_scenario`]: Koncorde's own benchmark (spec 12.1), one keyword
//!   at a time (10,000 filters of `equals`, `exists`, `geoBoundingBox`,
//!   `geoDistance`, `geoDistanceRange`, `geoPolygon`, `in` or `range`, and the
//!   scenario's document). It reproduces the published figures and is the
//!   easy case: single-condition filters, one document that matches almost
//!   nothing. See `koncorde`.
//! * [`realistic`]: what a chat, a marketplace and an IoT application
//!   register: narrow subscriptions (a room, a seller, a device, a saved
//!   search, a circle around a city) that share broad housekeeping
//!   conditions such as `status == "active"`; a document matches a handful of
//!   filters. This is where counting-based matching (Koncorde) loses to
//!   anchoring on the most selective condition. See
//!   `realistic`.
//! * [`heavy`]: the oracle-corpus style: every keyword, nested operands, many
//!   negations and broad conditions, documents matching a few percent of the
//!   filters (thousands at 100,000). The worst case. See
//!   `heavy`.
//! * [`alerts`]: keyword and pattern alerts over log lines, nearly all
//!   `regexp` (Koncorde runs every stored regexp on every document). See
//!   `alerts`.
//! * [`geo`]: standalone location subscriptions (near-me circles, map
//!   viewports, delivery zones and bands) crowding around ~200 city centres
//!   with Zipf popularity, and documents in the same places. See `geo`.
//! * [`realistic_geo`]: `realistic` with one filter in ten swapped for a standalone `geo`
//!   shape (near-me circles, viewports, zones, bands) around the cities where the listings
//!   and sensors are. See `realistic_geo`.
//! * [`feeds`]: social timelines, each an `in` over the 10–49 accounts a user
//!   follows; popular accounts reach thousands of timelines. See `feeds`.
//!
//! Determinism: the same arguments give byte-identical output on every
//! machine (see `common` for how). Every generated filter is
//! accepted by Koncorde 4.7.0 with its default options, so both engines
//! register the same set; filters within a workload are distinct JSON texts.
//!
//! Files: [`write_jsonl`] writes `filters.jsonl` and `docs.jsonl` (one JSON
//! value per line), the input format of both benchmark harnesses; the
//! `herald-workload` binary writes one workload. To produce all the benchmark
//! files at once:
//!
//! ```text
//! HERALD_WORKLOAD_DIR=/tmp/herald-workloads \
//!   cargo test --release -p herald-bench --lib workload::tests::write_benchmark_files -- --ignored
//! ```
//!
//! which writes `<dir>/{realistic,heavy}-{10k,100k}/` (1,000 documents each)
//! and `<dir>/koncorde-<keyword>-10k/`.

mod alerts;
mod common;
mod feeds;
mod geo;
mod heavy;
mod koncorde;
mod realistic;
mod realistic_geo;

use std::io::Write;
use std::path::Path;

use serde_json::Value;

pub use alerts::alerts;
pub use feeds::feeds;
pub use geo::geo;
pub use heavy::heavy;
pub use koncorde::{koncorde_scenario, KONCORDE_KEYWORDS, SCENARIO_DOCS};
pub use realistic::realistic;
pub use realistic_geo::realistic_geo;

/// A set of filters and a set of documents to match against them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Workload {
    /// Filters, each a JSON object of the filter language.
    pub filters: Vec<Value>,
    /// Documents (JSON objects).
    pub docs: Vec<Value>,
}

/// Names accepted by [`by_name`]: `realistic`, `realistic-geo`, `heavy`, `alerts`, `geo`,
/// `feeds`, and `koncorde-<kw>`
/// for each keyword of [`KONCORDE_KEYWORDS`].
pub const WORKLOAD_NAMES: &[&str] = &[
    "realistic",
    "realistic-geo",
    "heavy",
    "alerts",
    "geo",
    "feeds",
    "koncorde-equals",
    "koncorde-exists",
    "koncorde-geoBoundingBox",
    "koncorde-geoDistance",
    "koncorde-geoDistanceRange",
    "koncorde-geoPolygon",
    "koncorde-in",
    "koncorde-range",
];

/// Any workload by name (see [`WORKLOAD_NAMES`]); `None` for an unknown name.
/// Koncorde scenarios ignore `n_docs` (they have [`SCENARIO_DOCS`] documents).
pub fn by_name(name: &str, n_filters: usize, n_docs: usize, seed: u64) -> Option<Workload> {
    match name {
        "realistic" => Some(realistic(n_filters, n_docs, seed)),
        "realistic-geo" => Some(realistic_geo(n_filters, n_docs, seed)),
        "heavy" => Some(heavy(n_filters, n_docs, seed)),
        "alerts" => Some(alerts(n_filters, n_docs, seed)),
        "geo" => Some(geo(n_filters, n_docs, seed)),
        "feeds" => Some(feeds(n_filters, n_docs, seed)),
        _ => koncorde_scenario(name.strip_prefix("koncorde-")?, n_filters, seed),
    }
}

fn write_lines(values: &[Value], path: &Path) -> std::io::Result<()> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    for v in values {
        serde_json::to_writer(&mut out, v)?;
        out.write_all(b"\n")?;
    }
    out.flush()
}

/// Write the filters and documents as JSON Lines into `dir/filters.jsonl` and
/// `dir/docs.jsonl` (the directory is created if needed).
pub fn write_jsonl(workload: &Workload, dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    write_lines(&workload.filters, &dir.join("filters.jsonl"))?;
    write_lines(&workload.docs, &dir.join("docs.jsonl"))
}

/// For each document, how many filters of the workload it matches (measured with Herald's
/// matcher; identical filters count once). Used by tests to check selectivity.
#[cfg(test)]
pub(crate) fn matches_per_doc(workload: &Workload) -> Vec<usize> {
    use herald_filters::engine::{CollectionName, Engine};
    let engine = Engine::new();
    let collection = CollectionName::new("workload", "test");
    for filter in &workload.filters {
        if let Ok(n) = herald_filters::normalize(filter, &herald_filters::Options::default()) {
            engine.register(&collection, n.id, &n.canonical);
        }
    }
    let mut out = Vec::new();
    workload
        .docs
        .iter()
        .map(|d| {
            out.clear();
            engine.test(&collection, d, &mut out);
            out.len()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Top-level keywords of the language (spec 3.1).
    const LANGUAGE: &[&str] = herald_filters::KEYWORDS;

    /// Structural checks that Koncorde's validation would make on every
    /// sub-filter: one keyword, known, operand arguments well formed, at most
    /// 50 conditions.
    fn check(f: &Value, conditions: &mut usize) -> Result<(), String> {
        let o = f.as_object().ok_or_else(|| format!("not an object: {f}"))?;
        if o.is_empty() {
            return Ok(());
        }
        if o.len() != 1 {
            return Err(format!("several keywords: {f}"));
        }
        let (k, arg) = o.iter().next().ok_or("empty")?;
        if !LANGUAGE.contains(&k.as_str()) {
            return Err(format!("unknown keyword {k}"));
        }
        match k.as_str() {
            "and" | "or" => {
                let a = arg.as_array().ok_or("and/or needs an array")?;
                if a.is_empty() {
                    return Err("empty and/or".into());
                }
                for c in a {
                    if c.as_object().is_none_or(|o| o.is_empty()) {
                        return Err(format!("bad and/or child in {f}"));
                    }
                    check(c, conditions)?;
                }
            }
            "not" => {
                if arg.as_object().map(|o| o.len()) != Some(1) {
                    return Err(format!("bad not: {f}"));
                }
                check(arg, conditions)?;
            }
            "bool" => {
                let b = arg.as_object().ok_or("bool needs an object")?;
                for (attr, v) in b {
                    if !["must", "must_not", "should", "should_not"].contains(&attr.as_str()) {
                        return Err(format!("bad bool attribute {attr}"));
                    }
                    match v {
                        Value::Array(a) if !a.is_empty() => {
                            for c in a {
                                check(c, conditions)?;
                            }
                        }
                        Value::Object(_) if attr == "must" => check(v, conditions)?,
                        _ => return Err(format!("bad bool value in {f}")),
                    }
                }
            }
            "in" => {
                let (_, v) = arg
                    .as_object()
                    .and_then(|o| o.iter().next())
                    .ok_or("bad in")?;
                let a = v.as_array().ok_or("in needs an array")?;
                if a.is_empty() || !a.iter().all(Value::is_string) {
                    return Err(format!("bad in values: {f}"));
                }
                *conditions += a.len();
            }
            "ids" => {
                let a = arg
                    .get("values")
                    .and_then(Value::as_array)
                    .ok_or("bad ids")?;
                *conditions += a.len();
            }
            "range" => {
                let (_, b) = arg
                    .as_object()
                    .and_then(|o| o.iter().next())
                    .ok_or("bad range")?;
                let lo = b.get("gt").or_else(|| b.get("gte")).and_then(Value::as_f64);
                let hi = b.get("lt").or_else(|| b.get("lte")).and_then(Value::as_f64);
                if let (Some(lo), Some(hi)) = (lo, hi) {
                    if hi <= lo {
                        return Err(format!("empty range: {f}"));
                    }
                }
                *conditions += 1;
            }
            "regexp" => {
                let flags = arg
                    .as_object()
                    .and_then(|o| o.values().next())
                    .and_then(|v| v.get("flags"))
                    .and_then(Value::as_str)
                    .unwrap_or("");
                if flags.contains('g') || flags.contains('y') {
                    return Err(format!("stateful regexp flags: {f}"));
                }
                *conditions += 1;
            }
            "select" => {
                check(arg.get("query").ok_or("select without query")?, &mut 0)?;
                *conditions += 1;
            }
            _ => *conditions += 1,
        }
        Ok(())
    }

    fn assert_language(w: &Workload) {
        for f in &w.filters {
            // Round-trips as JSON text.
            let text = f.to_string();
            let back: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            assert_eq!(&back, f);
            let mut n = 0;
            if let Err(e) = check(f, &mut n) {
                panic!("{e}");
            }
            assert!(n <= 50, "{n} conditions in {f}");
        }
        for d in &w.docs {
            assert!(d.is_object());
        }
    }

    #[test]
    fn every_workload_is_in_the_language() {
        for name in WORKLOAD_NAMES {
            let w = by_name(name, 3000, 200, 11).unwrap_or_default();
            assert_eq!(w.filters.len(), 3000, "{name}");
            assert_language(&w);
        }
        assert!(by_name("koncorde-nope", 10, 1, 1).is_none());
        assert!(by_name("nope", 10, 1, 1).is_none());
    }

    #[test]
    fn same_seed_same_output() {
        for name in WORKLOAD_NAMES {
            let a = by_name(name, 500, 50, 5);
            assert_eq!(a, by_name(name, 500, 50, 5), "{name}");
            assert_ne!(a, by_name(name, 500, 50, 6), "{name}");
        }
    }

    #[test]
    fn jsonl_round_trip() -> std::io::Result<()> {
        let dir = std::env::temp_dir().join(format!("herald-workload-{}", std::process::id()));
        let w = realistic(100, 10, 1);
        write_jsonl(&w, &dir)?;
        let read = |name: &str| -> std::io::Result<Vec<Value>> {
            let text = std::fs::read_to_string(dir.join(name))?;
            Ok(text
                .lines()
                .map(|l| serde_json::from_str(l).unwrap_or(Value::Null))
                .collect())
        };
        assert_eq!(read("filters.jsonl")?, w.filters);
        assert_eq!(read("docs.jsonl")?, w.docs);
        std::fs::remove_dir_all(&dir)
    }

    /// Writes the benchmark inputs (see the module documentation).
    #[test]
    #[ignore = "writes benchmark files; run explicitly"]
    fn write_benchmark_files() -> std::io::Result<()> {
        let root = std::env::var_os("HERALD_WORKLOAD_DIR")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| std::env::temp_dir().join("herald-workloads"));
        let seed = 1;
        for (label, n) in [("10k", 10_000), ("100k", 100_000)] {
            write_jsonl(
                &realistic(n, 1000, seed),
                &root.join(format!("realistic-{label}")),
            )?;
            write_jsonl(&heavy(n, 1000, seed), &root.join(format!("heavy-{label}")))?;
        }
        for kw in KONCORDE_KEYWORDS {
            if let Some(w) = koncorde_scenario(kw, 10_000, seed) {
                write_jsonl(&w, &root.join(format!("koncorde-{kw}-10k")))?;
            }
        }
        Ok(())
    }
}
