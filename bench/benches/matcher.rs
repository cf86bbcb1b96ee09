//! Criterion benchmarks of Herald's matcher (`herald_filters::engine`).
//!
//! Run them all with `cargo bench -p herald-bench --bench matcher` (about 3 minutes on 2
//! cores), or a subset with a filter: `cargo bench -p herald-bench --bench matcher --
//! realistic/100000`. Every workload comes from the seeded generators of
//! `herald_bench::workload` (seed 1, the default of `herald-workload`), so the inputs are the
//! ones the Koncorde harness reads. Setup (generation, normalization, registration) runs once
//! per benchmark, outside the timed part, and only for the benchmarks the filter selects: a
//! filtered-out benchmark costs nothing. (Criterion does not expose its filter, so the setup
//! runs in the first call of the benchmark's closure. Its warm-up only counts the timed part,
//! but `--quick` counts wall-clock time: a benchmark whose setup outlasts its measurement time,
//! `realistic/1000000` with its ~15 s, then reports a single iteration. Run that one without
//! `--quick`.)
//!
//! # Matching groups: one `iter` is one document
//!
//! All filters are normalized and registered in one collection; the collection handle is
//! resolved once (as `herald bench-match` and a server do), then documents, parsed up front, are
//! matched round-robin, one per iteration, into a reused output vector cleared each time.
//! Throughput is `Elements(1)`, so criterion's `elem/s` is documents per second: the
//! `docs_per_s` of `herald bench-match`. Before measuring, the setup frees its temporary data
//! and matches every document once, untimed, printing the average number of matches.
//!
//! * `koncorde_scenario/<keyword>`, for each of `KONCORDE_KEYWORDS`: Koncorde's own benchmark,
//!   10,000 single-condition filters of one keyword, `koncorde_scenario(keyword, 10_000, 1)`.
//! * `realistic/<n>` for n = 10,000, 100,000 and 1,000,000: `realistic(n, 1000, 1)`, narrow
//!   application subscriptions sharing broad conditions (a document matches 6 filters on
//!   average at 10,000, 40 at 100,000, 360 at 1,000,000).
//! * `heavy/<n>` for n = 10,000 and 100,000: `heavy(n, 1000, 1)`, the oracle-corpus style worst
//!   case (documents match a few percent of the filters).
//! * `alerts/<n>` for n = 10,000 and 100,000: `alerts(n, 1000, 1)`, keyword and pattern alerts
//!   over log lines, every filter a `regexp` (the gram index and the compact DFAs).
//!
//! # Registration groups: one `iter` is a whole workload
//!
//! On the filters of `realistic(100_000, 1000, 1)`, throughput `Elements(number of filters)`,
//! so `elem/s` is filters per second:
//!
//! * `register/realistic`: `Engine::register` of the pre-normalized filters into a fresh
//!   engine, one by one (normalization and dropping the engine are not timed);
//! * `remove/realistic`: `Engine::remove` of every filter's id from a full engine (built
//!   untimed before each iteration), one by one in registration order, down to the empty
//!   collection (the few logically equal filters share an id: their second removal finds
//!   nothing);
//! * `normalize_register/realistic`: `normalize` then `register` of every filter from its
//!   parsed JSON, what a subscription costs the server end to end (JSON parsing excluded).
//!
//! # `concurrent/test_while_registering`
//!
//! A writer thread registers the realistic 100,000 filters one by one, then removes them one by
//! one, and starts over for as long as the benchmark runs, while the measured thread matches the
//! realistic documents round-robin on the same collection (through `Engine::test`, since the
//! collection is dropped each time it empties). One `iter` is one document; each `test` is also
//! timed on its own, and the worst single latency observed (the longest stall behind the
//! writer), with the number of tests over 1 ms, is printed on stderr at the end, with the
//! writer's counts and its slowest `register` and `remove` (a stall longer than those is the
//! scheduler's, not a lock's: the machine has other work).
//!
//! # Comparison with Koncorde
//!
//! `bench/koncorde/` runs the same matching loop on Koncorde 4.7.0 with the same inputs:
//!
//! ```text
//! herald-workload --name <w> --filters N --out DIR   # w: realistic, heavy, alerts, koncorde-<kw>
//! node bench/koncorde/bench-match.js --filters DIR/filters.jsonl --docs DIR/docs.jsonl
//! ```
//!
//! `herald-workload` defaults to 1,000 documents and seed 1, as here; Koncorde scenarios always
//! have their 8 documents. Its `docs_per_s` compares with the `elem/s` of `koncorde_scenario/
//! <kw>`, `realistic/<N>` and `heavy/<N>`, and its `register_s` (which includes normalization)
//! with N divided by the `elem/s` of `normalize_register/realistic`. `herald bench-match` on
//! the same files gives this file's matching figures without criterion's statistics.

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Bencher, Criterion, SamplingMode, Throughput};
use herald_bench::workload::{
    alerts, heavy, koncorde_scenario, realistic, Workload, KONCORDE_KEYWORDS,
};
use herald_filters::engine::{Collection, CollectionName, Engine};
use herald_filters::{normalize, FilterId, Normalized, Options};
use serde_json::Value;

/// Documents per generated workload (Koncorde scenarios have their own 8).
const DOCS: usize = 1000;
/// Seed of every workload (the default of `herald-workload`).
const SEED: u64 = 1;
/// Size of the workload of the registration and concurrency groups.
const REGISTER_FILTERS: usize = 100_000;

fn collection() -> CollectionName {
    CollectionName::new("bench", "match")
}

/// Normalizes every filter; rejected ones are counted and skipped.
fn normalize_all(filters: &[Value]) -> (Vec<Normalized>, usize) {
    let options = Options::default();
    let mut rejected = 0;
    let normalized = filters
        .iter()
        .filter_map(|f| {
            let n = normalize(f, &options).ok();
            rejected += usize::from(n.is_none());
            n
        })
        .collect();
    (normalized, rejected)
}

/// A workload registered in an engine, ready to match its documents.
struct Loaded {
    /// Kept alive for `handle`.
    _engine: Engine,
    handle: Collection,
    docs: Vec<Value>,
    /// Next document to match (round-robin across samples).
    next: usize,
}

/// Normalizes and registers a workload's filters, and says what it did on stderr.
fn load(name: &str, workload: Workload) -> Loaded {
    let start = Instant::now();
    let (normalized, rejected) = normalize_all(&workload.filters);
    let normalize_s = start.elapsed().as_secs_f64();
    let engine = Engine::new();
    let collection = collection();
    let start = Instant::now();
    for n in &normalized {
        engine.register(&collection, n.id, &n.canonical);
    }
    let register_s = start.elapsed().as_secs_f64();
    eprintln!(
        "{name}: {} filters ({rejected} rejected, {} distinct), normalized in {normalize_s:.2} s, \
         registered in {register_s:.2} s; {} documents",
        workload.filters.len(),
        engine.len(&collection),
        workload.docs.len(),
    );
    let handle = engine
        .collection(&collection)
        .expect("the workload registers at least one filter");
    // Free the setup's data, then match every document once, untimed: first-touch costs stay
    // out of criterion's warm-up estimate. (With glibc's allocator, the first sizeable
    // allocation after a million small frees sorts them all: seconds at 1M filters, paid by
    // whichever call allocates next.)
    drop(normalized);
    drop(workload.filters);
    let mut out = Vec::new();
    let mut matches = 0;
    let start = Instant::now();
    for doc in &workload.docs {
        out.clear();
        handle.test(doc, &mut out);
        matches += out.len();
    }
    eprintln!(
        "{name}: first pass over the documents in {:.3} s, {:.2} matches per document",
        start.elapsed().as_secs_f64(),
        matches as f64 / workload.docs.len() as f64,
    );
    Loaded {
        _engine: engine,
        handle,
        docs: workload.docs,
        next: 0,
    }
}

/// The matching loop: one document per iteration, round-robin.
fn match_round_robin(b: &mut Bencher, loaded: &mut Loaded) {
    let Loaded {
        handle, docs, next, ..
    } = loaded;
    let mut out: Vec<FilterId> = Vec::new();
    b.iter(|| {
        let doc = &docs[*next];
        *next = (*next + 1) % docs.len();
        out.clear();
        handle.test(black_box(doc), &mut out);
        black_box(out.len())
    });
}

/// One matching benchmark per workload size; each engine is built on first use (only if the
/// benchmark is selected) and dropped when its benchmark ends.
fn matching_group(
    c: &mut Criterion,
    group_name: &str,
    sizes: &[usize],
    generate: fn(usize, usize, u64) -> Workload,
    measurement: Duration,
) {
    let mut group = c.benchmark_group(group_name);
    group
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(measurement)
        .throughput(Throughput::Elements(1));
    for &n in sizes {
        let mut loaded: Option<Loaded> = None;
        group.bench_function(n.to_string(), move |b| {
            let loaded = loaded
                .get_or_insert_with(|| load(&format!("{group_name}/{n}"), generate(n, DOCS, SEED)));
            match_round_robin(b, loaded);
        });
    }
    group.finish();
}

fn koncorde_scenarios(c: &mut Criterion) {
    let mut group = c.benchmark_group("koncorde_scenario");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2))
        .throughput(Throughput::Elements(1));
    for &keyword in KONCORDE_KEYWORDS {
        let mut loaded: Option<Loaded> = None;
        group.bench_function(keyword, move |b| {
            let loaded = loaded.get_or_insert_with(|| {
                let workload =
                    koncorde_scenario(keyword, 10_000, SEED).expect("a Koncorde keyword");
                load(&format!("koncorde_scenario/{keyword}"), workload)
            });
            match_round_robin(b, loaded);
        });
    }
    group.finish();
}

fn realistic_matching(c: &mut Criterion) {
    let sizes = [10_000, 100_000, 1_000_000];
    matching_group(c, "realistic", &sizes, realistic, Duration::from_secs(3));
}

fn heavy_matching(c: &mut Criterion) {
    // A heavy document costs from microseconds to milliseconds: measure long enough for the
    // round-robin to go around the 1,000 documents at 100,000 filters.
    matching_group(
        c,
        "heavy",
        &[10_000, 100_000],
        heavy,
        Duration::from_secs(10),
    );
}

fn alerts_matching(c: &mut Criterion) {
    matching_group(
        c,
        "alerts",
        &[10_000, 100_000],
        alerts,
        Duration::from_secs(5),
    );
}

/// The realistic 100k workload, normalized: shared by the registration and concurrency groups,
/// built on first use.
struct Prepared {
    filters: Vec<Value>,
    docs: Vec<Value>,
    normalized: Vec<Normalized>,
    /// Distinct ids, in registration order (logically equal filters share an id).
    distinct: Vec<FilterId>,
}

fn realistic_100k() -> &'static Prepared {
    static PREPARED: OnceLock<Prepared> = OnceLock::new();
    PREPARED.get_or_init(|| {
        let workload = realistic(REGISTER_FILTERS, DOCS, SEED);
        let (normalized, rejected) = normalize_all(&workload.filters);
        let mut seen = std::collections::HashSet::new();
        let distinct: Vec<FilterId> = normalized
            .iter()
            .map(|n| n.id)
            .filter(|id| seen.insert(*id))
            .collect();
        assert_eq!(rejected, 0, "every filter of the workload is valid");
        eprintln!(
            "realistic {REGISTER_FILTERS}: {} filters normalized ({rejected} rejected), {} distinct",
            normalized.len(),
            distinct.len()
        );
        Prepared {
            filters: workload.filters,
            docs: workload.docs,
            normalized,
            distinct,
        }
    })
}

/// Settings of the groups whose iteration is a whole workload (hundreds of milliseconds).
fn whole_workload_group<'a>(
    c: &'a mut Criterion,
    name: &str,
    elements: usize,
) -> criterion::BenchmarkGroup<'a, criterion::measurement::WallTime> {
    let mut group = c.benchmark_group(name);
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(8))
        .throughput(Throughput::Elements(elements as u64));
    group
}

/// A fresh engine holding every filter of `normalized` (registration only: no parsing).
fn register_all(collection: &CollectionName, normalized: &[Normalized]) -> Engine {
    let engine = Engine::new();
    for n in normalized {
        engine.register(collection, n.id, &n.canonical);
    }
    engine
}

fn registration(c: &mut Criterion) {
    let collection = collection();
    // Throughput: REGISTER_FILTERS filters, all valid (checked when the data is built).
    let mut group = whole_workload_group(c, "register", REGISTER_FILTERS);
    group.bench_function("realistic", |b| {
        let prepared = realistic_100k();
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let start = Instant::now();
                let engine = register_all(&collection, &prepared.normalized);
                total += start.elapsed();
                drop(black_box(engine));
            }
            total
        });
    });
    group.finish();

    // One removal per filter, in registration order: the few logically equal filters of the
    // workload share an id, whose second removal finds nothing (as for a client unsubscribing
    // twice).
    let mut group = whole_workload_group(c, "remove", REGISTER_FILTERS);
    group.bench_function("realistic", |b| {
        let prepared = realistic_100k();
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let engine = register_all(&collection, &prepared.normalized);
                let start = Instant::now();
                for n in &prepared.normalized {
                    engine.remove(&collection, &n.id);
                }
                total += start.elapsed();
                assert_eq!(engine.len(&collection), 0);
            }
            total
        });
    });
    group.finish();

    let mut group = whole_workload_group(c, "normalize_register", REGISTER_FILTERS);
    group.bench_function("realistic", |b| {
        let prepared = realistic_100k();
        let options = Options::default();
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let engine = Engine::new();
                let start = Instant::now();
                for filter in &prepared.filters {
                    if let Ok(n) = normalize(black_box(filter), &options) {
                        engine.register(&collection, n.id, &n.canonical);
                    }
                }
                total += start.elapsed();
                drop(black_box(engine));
            }
            total
        });
    });
    group.finish();
}

/// What the writer of `concurrent/test_while_registering` did, and its slowest calls (a test
/// stalled behind the writer waits for one of these, at most).
#[derive(Default)]
struct WriterCounts {
    registered: u64,
    removed: u64,
    worst_register: Duration,
    worst_remove: Duration,
}

/// Registers every filter one by one, then removes them one by one, until told to stop.
fn churn(engine: &Engine, prepared: &Prepared, stop: &AtomicBool) -> WriterCounts {
    let collection = collection();
    let mut counts = WriterCounts::default();
    while !stop.load(Ordering::Relaxed) {
        for n in &prepared.normalized {
            if stop.load(Ordering::Relaxed) {
                return counts;
            }
            let t = Instant::now();
            engine.register(&collection, n.id, &n.canonical);
            counts.worst_register = counts.worst_register.max(t.elapsed());
            counts.registered += 1;
        }
        for id in &prepared.distinct {
            if stop.load(Ordering::Relaxed) {
                return counts;
            }
            let t = Instant::now();
            engine.remove(&collection, id);
            counts.worst_remove = counts.worst_remove.max(t.elapsed());
            counts.removed += 1;
        }
    }
    counts
}

fn concurrent(c: &mut Criterion) {
    let engine = Engine::new();
    let stop = AtomicBool::new(false);
    let mut group = c.benchmark_group("concurrent");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5))
        .throughput(Throughput::Elements(1));
    thread::scope(|scope| {
        let mut writer = None;
        let mut worst = Duration::ZERO;
        let mut over_1ms = 0u64;
        let mut tests = 0u64;
        let mut measured = Duration::ZERO;
        group.bench_function("test_while_registering", |b| {
            let prepared = realistic_100k();
            // The writer starts with the first run of this closure (so only when selected).
            writer.get_or_insert_with(|| {
                let (engine, stop) = (&engine, &stop);
                scope.spawn(move || churn(engine, prepared, stop))
            });
            let collection = collection();
            let docs = &prepared.docs;
            let mut out: Vec<FilterId> = Vec::new();
            b.iter_custom(|iters| {
                let start = Instant::now();
                for i in 0..iters {
                    let doc = &docs[(tests + i) as usize % docs.len()];
                    out.clear();
                    let t = Instant::now();
                    engine.test(&collection, black_box(doc), &mut out);
                    let latency = t.elapsed();
                    worst = worst.max(latency);
                    over_1ms += u64::from(latency > Duration::from_millis(1));
                    black_box(out.len());
                }
                let elapsed = start.elapsed();
                tests += iters;
                measured += elapsed;
                elapsed
            });
        });
        stop.store(true, Ordering::Relaxed);
        if let Some(writer) = writer {
            let counts = writer.join().expect("the writer panicked");
            let us = |d: Duration| d.as_secs_f64() * 1e6;
            eprintln!(
                "concurrent/test_while_registering: worst single test {:.1} us over {tests} \
                 tests (mean {:.2} us, {over_1ms} over 1 ms); the writer registered {} filters \
                 (worst {:.1} us) and removed {} (worst {:.1} us)",
                us(worst),
                us(measured) / tests.max(1) as f64,
                counts.registered,
                us(counts.worst_register),
                counts.removed,
                us(counts.worst_remove),
            );
        }
    });
    group.finish();
}

criterion_group!(
    benches,
    koncorde_scenarios,
    realistic_matching,
    heavy_matching,
    alerts_matching,
    registration,
    concurrent,
);
criterion_main!(benches);
