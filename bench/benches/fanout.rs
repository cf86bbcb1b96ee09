//! Criterion benchmark of the room engine's fan-out: one document change delivered to 10,000
//! subscribers in 1,000 rooms.
//!
//! Run it with `cargo bench -p herald-bench --bench fanout`. Setup (outside the timed part): an
//! in-memory store, bounded queues, 1,000 rooms on one collection
//! (`{"range": {"v": {"lt": 1000 + i}}}`, all matching the document `{"v": 0}`), each with 10
//! connections in one channel (scope all).
//!
//! * `fanout/update`: one `update` of the stored document (lock, read, merge, match, store,
//!   notify): 1,000 `in` notifications, each serialized once for its channel and queued to its
//!   10 connections (10,000 deliveries).
//! * `fanout/publish`: the same fan-out for a `realtime:publish` (no store).
//!
//! * `fanout/update_history`, `fanout/publish_history`: the same with history on (every
//!   notification appended to its room's stream, frames carrying positions), measured in the
//!   same run for the ratio; the setup prints the memory the history holds per room once full.
//! * `resume/replay_1000`: a subscription resuming from the start of a room's stream of 1,000
//!   notifications (join, read the history, queue 1,000 frames).
//!
//! Every iteration's frames are drained from the 10,000 queues outside the timed part. Before
//! measuring, the setup checks with the engine's counters that one change costs exactly 1,000
//! serializations (one per channel) and 10,000 deliveries, and prints them.

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use herald::delivery::{Inbox, Queues};
use herald::history::{HistoryConfig, MemoryHistory};
use herald::notify::{DocumentChange, Hub, HubConfig, Origin, Subscribed};
use herald::rooms::ChannelOptions;
use herald::store::MemoryStore;
use serde_json::json;

const ROOMS: usize = 1_000;
const PER_ROOM: usize = 10;

struct Setup {
    hub: Hub,
    inboxes: Vec<Inbox>,
    origin: Origin,
}

impl Setup {
    fn new(history: Option<HistoryConfig>) -> Setup {
        let queues = Arc::new(Queues::new(64));
        let mut hub = Hub::new(
            HubConfig::default(),
            Arc::new(MemoryStore::new()),
            queues.clone(),
        );
        if let Some(config) = history {
            hub = hub.with_history(Arc::new(MemoryHistory::new(config)));
        }
        let origin = Origin::new("document").with_volatile(json!({"sdkInstanceId": "bench"}));
        let mut inboxes = Vec::with_capacity(ROOMS * PER_ROOM);
        for room in 0..ROOMS {
            let filter = json!({"range": {"v": {"lt": 1000 + room}}});
            for _ in 0..PER_ROOM {
                let connection = hub.connect(None);
                inboxes.push(queues.open(connection));
                hub.subscribe(
                    connection,
                    &origin,
                    "bench",
                    "fanout",
                    &filter,
                    ChannelOptions::default(),
                )
                .expect("valid filter");
            }
        }
        assert_eq!(hub.rooms().len(), ROOMS);
        hub.apply(
            &origin,
            &DocumentChange::create("bench", "fanout", "doc", json!({"v": 0, "n": 0})),
        )
        .expect("create");
        let mut setup = Setup {
            hub,
            inboxes,
            origin,
        };
        setup.drain();
        setup
    }

    fn update(&self, n: u64) {
        let change = DocumentChange::update("bench", "fanout", "doc", json!({"n": n}));
        if let Err(e) = self.hub.apply(&self.origin, &change) {
            panic!("update failed: {e}");
        }
    }

    fn publish(&self, n: u64) {
        let message = json!({"v": 0, "n": n});
        if self
            .hub
            .publish(&self.origin, "bench", "fanout", None, &message)
            .is_err()
        {
            panic!("publish failed");
        }
    }

    fn drain(&mut self) -> usize {
        self.inboxes.iter_mut().map(|i| i.drain().len()).sum()
    }
}

fn fanout(c: &mut Criterion) {
    let mut setup = Setup::new(None);
    let mut with_history = Setup::new(Some(HistoryConfig::default()));
    for i in 0..HistoryConfig::DEFAULT_SIZE as u64 {
        with_history.publish(i);
        with_history.drain();
    }
    if let Some(history) = with_history.hub.history() {
        let stats = history.stats();
        println!(
            "history full (defaults): {} streams, {} entries, {} bytes of notifications, {} bytes per room",
            stats.streams,
            stats.entries,
            stats.bytes,
            stats.bytes / stats.streams.max(1)
        );
    }
    let before = setup.hub.stats();
    setup.update(1);
    let after = setup.hub.stats();
    let received = setup.drain();
    println!(
        "fanout: one change -> {} serializations (channels), {} deliveries, {} frames received",
        after.frames - before.frames,
        after.deliveries - before.deliveries,
        received
    );
    assert_eq!(after.frames - before.frames, ROOMS as u64);
    assert_eq!(
        after.deliveries - before.deliveries,
        (ROOMS * PER_ROOM) as u64
    );
    assert_eq!(received, ROOMS * PER_ROOM);

    let mut group = c.benchmark_group("fanout");
    group.throughput(Throughput::Elements((ROOMS * PER_ROOM) as u64));
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(4));
    for (name, setup) in [("", &mut setup), ("_history", &mut with_history)] {
        for (action, change) in [
            ("update", Setup::update as fn(&Setup, u64)),
            ("publish", Setup::publish),
        ] {
            group.bench_function(format!("{action}{name}"), |b| {
                b.iter_custom(|iters| {
                    let mut total = Duration::ZERO;
                    for i in 0..iters {
                        let start = Instant::now();
                        change(setup, i);
                        total += start.elapsed();
                        setup.drain();
                    }
                    total
                })
            });
        }
    }
    group.finish();
}

/// A room with a history of 1,000 publishes, made afresh for each resume (outside the timed
/// part): a resume adds its own presence entries to the stream.
struct Resumable {
    hub: Hub,
    queues: Arc<Queues>,
    start: herald::history::Position,
}

const KEPT: usize = 1_000;

fn resume_target() -> Subscribed<'static> {
    static FILTER: std::sync::OnceLock<serde_json::Value> = std::sync::OnceLock::new();
    Subscribed {
        index: "bench",
        collection: "resume",
        filter: FILTER.get_or_init(|| json!({})),
        options: ChannelOptions::default(),
    }
}

impl Resumable {
    fn new() -> Resumable {
        let queues = Arc::new(Queues::with_limits(herald::delivery::QueueLimits::frames(
            KEPT * 2,
        )));
        let config = HistoryConfig {
            // The holder's own `user: in` is the stream's first entry.
            size: KEPT + 1,
            bytes: usize::MAX,
            ttl: Duration::from_secs(3600),
        };
        let hub = Hub::new(
            HubConfig::default(),
            Arc::new(MemoryStore::new()),
            queues.clone(),
        )
        .with_history(Arc::new(MemoryHistory::new(config)));
        let origin = Origin::new("realtime");
        let holder = hub.connect(None);
        let (_, resumed) = hub
            .subscribe_from(holder, &origin, &resume_target(), None)
            .expect("subscribe");
        let start = resumed.position.expect("history on");
        for n in 0..KEPT {
            let message = json!({"n": n, "text": "a message"});
            hub.publish(&origin, "bench", "resume", None, &message)
                .expect("publish");
        }
        Resumable { hub, queues, start }
    }
}

fn resume(c: &mut Criterion) {
    let origin = Origin::new("realtime");
    let mut group = c.benchmark_group("resume");
    group.throughput(Throughput::Elements(KEPT as u64));
    group.sample_size(20);
    group.bench_function("replay_1000", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let Resumable { hub, queues, start } = Resumable::new();
                let connection = hub.connect(None);
                let mut inbox = queues.open(connection);
                let begin = Instant::now();
                let (_, resumed) = hub
                    .subscribe_from(connection, &origin, &resume_target(), Some(start))
                    .expect("resume");
                total += begin.elapsed();
                assert_eq!(resumed.replayed, KEPT, "{resumed:?} from {start}");
                assert_eq!(inbox.drain().len(), KEPT);
            }
            total
        })
    });
    group.finish();
}

criterion_group!(benches, fanout, resume);
criterion_main!(benches);
