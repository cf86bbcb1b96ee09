//! Operational metrics, exported at `GET /metrics` in the Prometheus (OpenMetrics) text format.
//!
//! Two kinds of values:
//!
//! * Counted as things happen: requests (by controller, action, status class, with a latency
//!   histogram by controller), matching time per document, store commit latency, token
//!   expiries. Each is one or two relaxed atomic additions; histograms are arrays of atomic
//!   buckets ([`AtomicHistogram`]), never a lock.
//! * Read at scrape time from what the engine already counts ([`Snapshot`]): open connections,
//!   subscriptions, rooms, queued frames, notifications delivered and dropped, slow clients
//!   closed. The notification path gets no extra work at all for these.
//!
//! Every label value comes from a closed set ([`request_labels`]): unknown controllers and
//! actions become `other`, so no client can create series. No label ever names a room, a user
//! or a connection.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::{EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::{Registry, Unit};

/// The controllers and actions of the protocol: the only label values of request metrics.
const ACTIONS: &[(&str, &[&str])] = &[
    ("auth", &["checkToken", "login", "logout", "getCurrentUser"]),
    (
        "collection",
        &[
            "create",
            "update",
            "updateMapping",
            "delete",
            "exists",
            "list",
            "truncate",
            "refresh",
            "getMapping",
        ],
    ),
    (
        "document",
        &[
            "create",
            "createOrReplace",
            "replace",
            "update",
            "upsert",
            "delete",
            "mCreate",
            "mCreateOrReplace",
            "mReplace",
            "mUpdate",
            "mUpsert",
            "mDelete",
            "get",
            "exists",
            "mGet",
        ],
    ),
    ("events", &["send"]),
    ("index", &["create", "delete", "exists", "list", "mDelete"]),
    (
        "realtime",
        &[
            "subscribe",
            "join",
            "unsubscribe",
            "count",
            "list",
            "publish",
        ],
    ),
    ("server", &["now", "healthCheck", "info"]),
];

/// Label of anything outside the closed sets.
pub const OTHER: &str = "other";

/// The (controller, action) labels of a request: the protocol's names, or `other`.
pub fn request_labels(controller: &str, action: &str) -> (&'static str, &'static str) {
    match ACTIONS.iter().find(|(c, _)| *c == controller) {
        Some((c, actions)) => (c, actions.iter().find(|a| **a == action).unwrap_or(&OTHER)),
        None => (OTHER, OTHER),
    }
}

/// The status class label of an HTTP-like status.
pub fn status_class(status: u16) -> &'static str {
    match status {
        200..=299 => "2xx",
        400..=499 => "4xx",
        500..=599 => "5xx",
        _ => OTHER,
    }
}

/// Upper bounds of the latency buckets, in seconds: 10 µs to 2.5 s.
const LATENCY_BUCKETS: [f64; 16] = [
    0.000_01, 0.000_025, 0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025,
    0.05, 0.1, 0.25, 1.0, 2.5,
];

/// A histogram of durations made of atomics only (prometheus-client's own takes a lock per
/// observation). Buckets are not cumulative: the encoder sums them.
#[derive(Debug, Default)]
pub struct AtomicHistogram {
    buckets: [AtomicU64; LATENCY_BUCKETS.len() + 1],
    count: AtomicU64,
    sum_nanos: AtomicU64,
}

impl AtomicHistogram {
    pub fn observe(&self, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        let i = LATENCY_BUCKETS
            .iter()
            .position(|&b| seconds <= b)
            .unwrap_or(LATENCY_BUCKETS.len());
        self.buckets[i].fetch_add(1, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
        let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        self.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    /// Observations so far.
    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    fn encode_into(&self, encoder: &mut MetricEncoder) -> Result<(), std::fmt::Error> {
        // Per-bucket counts: the encoder makes them cumulative.
        let mut count = 0;
        let mut buckets = Vec::with_capacity(LATENCY_BUCKETS.len() + 1);
        for (i, bucket) in self.buckets.iter().enumerate() {
            let n = bucket.load(Ordering::Relaxed);
            count += n;
            // f64::MAX is what the encoder writes as `+Inf`.
            let bound = LATENCY_BUCKETS.get(i).copied().unwrap_or(f64::MAX);
            buckets.push((bound, n));
        }
        let sum = self.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9;
        encoder.encode_histogram::<NoLabelSet>(sum, count, &buckets, None)
    }
}

/// A shared [`AtomicHistogram`], as registered.
#[derive(Debug, Default, Clone)]
struct SharedHistogram(Arc<AtomicHistogram>);

impl EncodeMetric for SharedHistogram {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        self.0.encode_into(&mut encoder)
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Histogram
    }
}

/// One latency histogram per controller (closed set, `other` last).
#[derive(Debug, Clone)]
struct ControllerHistograms(Arc<Vec<AtomicHistogram>>);

impl ControllerHistograms {
    fn new() -> ControllerHistograms {
        ControllerHistograms(Arc::new(
            (0..=ACTIONS.len())
                .map(|_| AtomicHistogram::default())
                .collect(),
        ))
    }

    fn get(&self, controller: &str) -> &AtomicHistogram {
        let i = ACTIONS
            .iter()
            .position(|(c, _)| *c == controller)
            .unwrap_or(ACTIONS.len());
        &self.0[i]
    }
}

impl EncodeMetric for ControllerHistograms {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        let names = ACTIONS.iter().map(|(c, _)| *c).chain([OTHER]);
        for (name, histogram) in names.zip(self.0.iter()) {
            let labels = [("controller", name)];
            let mut family = encoder.encode_family(&labels)?;
            histogram.encode_into(&mut family)?;
        }
        Ok(())
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Histogram
    }
}

/// A counter whose value is read from elsewhere at scrape time.
#[derive(Debug, Default, Clone)]
struct SampledCounter(Arc<AtomicU64>);

impl EncodeMetric for SampledCounter {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        encoder.encode_counter::<NoLabelSet, _, u64>(&self.0.load(Ordering::Relaxed), None)
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Counter
    }
}

/// What the engine and the server count on their own, read at scrape time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Snapshot {
    pub websocket_connections: u64,
    pub http_connections: u64,
    pub subscriptions: u64,
    pub rooms: u64,
    /// Frames queued to connections so far.
    pub delivered: u64,
    /// Frames offered to connections that were not queued (queue full, connection gone).
    pub dropped: u64,
    pub slow_clients_closed: u64,
    /// Frames waiting in outbound queues now, all connections together.
    pub queued_frames: u64,
    pub resident_bytes: u64,
}

type RequestLabels = [(&'static str, &'static str); 3];

/// Every metric of one server.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    request_seconds: ControllerHistograms,
    matching: SharedHistogram,
    store_commit: SharedHistogram,
    token_expiries: Counter,
    bus_messages: Counter,
    bus_bytes: Counter,
    websockets: Arc<AtomicI64>,
    connections: Family<[(&'static str, &'static str); 1], Gauge>,
    subscriptions: Gauge,
    rooms: Gauge,
    queued_frames: Gauge,
    resident: Gauge,
    delivered: SampledCounter,
    dropped: SampledCounter,
    slow_clients: SampledCounter,
    /// Serializes scrapes (the sampled values are set, then encoded).
    scrape: parking_lot::Mutex<()>,
    started: std::time::Instant,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut metrics = Metrics {
            registry: Registry::with_prefix("herald"),
            requests: Family::default(),
            request_seconds: ControllerHistograms::new(),
            matching: SharedHistogram::default(),
            store_commit: SharedHistogram::default(),
            token_expiries: Counter::default(),
            bus_messages: Counter::default(),
            bus_bytes: Counter::default(),
            websockets: Arc::default(),
            connections: Family::default(),
            subscriptions: Gauge::default(),
            rooms: Gauge::default(),
            queued_frames: Gauge::default(),
            resident: Gauge::default(),
            delivered: SampledCounter::default(),
            dropped: SampledCounter::default(),
            slow_clients: SampledCounter::default(),
            scrape: parking_lot::Mutex::new(()),
            started: std::time::Instant::now(),
        };
        let r = &mut metrics.registry;
        r.register(
            "connections_open",
            "Open connections, by transport (websocket, http)",
            metrics.connections.clone(),
        );
        r.register(
            "subscriptions",
            "Subscriptions (connection, room) pairs",
            metrics.subscriptions.clone(),
        );
        r.register("rooms", "Rooms", metrics.rooms.clone());
        r.register(
            "notifications_delivered",
            "Notification frames queued to connections",
            metrics.delivered.clone(),
        );
        r.register(
            "notifications_dropped",
            "Notification frames offered to a connection whose queue was full or gone",
            metrics.dropped.clone(),
        );
        r.register(
            "slow_clients_closed",
            "Connections closed for leaving too much unread (code 1011)",
            metrics.slow_clients.clone(),
        );
        r.register(
            "outbound_queue_frames",
            "Frames waiting in outbound queues, all connections together",
            metrics.queued_frames.clone(),
        );
        r.register(
            "requests",
            "API requests, by controller, action and status class",
            metrics.requests.clone(),
        );
        r.register_with_unit(
            "request_duration",
            "API request latency, by controller",
            Unit::Seconds,
            metrics.request_seconds.clone(),
        );
        r.register_with_unit(
            "matching_duration",
            "Time to match one document or message against the rooms of its collection",
            Unit::Seconds,
            metrics.matching.clone(),
        );
        r.register(
            "bus_received_messages",
            "Changes and publishes received from the other nodes (cluster; this node's own \
             writes included, as they come back through the bus)",
            metrics.bus_messages.clone(),
        );
        r.register_with_unit(
            "bus_received",
            "Bytes of the changes and publishes received from the bus (cluster)",
            Unit::Bytes,
            metrics.bus_bytes.clone(),
        );
        r.register_with_unit(
            "store_commit_duration",
            "Latency of one store commit (a batch of document changes)",
            Unit::Seconds,
            metrics.store_commit.clone(),
        );
        r.register(
            "token_expiries",
            "Connections whose token expired (TokenExpired sent)",
            metrics.token_expiries.clone(),
        );
        r.register_with_unit(
            "resident_memory",
            "Resident memory of the process",
            Unit::Bytes,
            metrics.resident.clone(),
        );
        metrics
    }

    /// One request answered.
    pub fn request(&self, controller: &str, action: &str, status: u16, elapsed: Duration) {
        let (controller, action) = request_labels(controller, action);
        self.requests
            .get_or_create(&[
                ("controller", controller),
                ("action", action),
                ("status", status_class(status)),
            ])
            .inc();
        self.request_seconds.get(controller).observe(elapsed);
    }

    /// Requests counted so far with these labels (tests, the dashboard).
    pub fn requests(&self, controller: &str, action: &str, status_class: &'static str) -> u64 {
        let (controller, action) = request_labels(controller, action);
        self.requests
            .get_or_create(&[
                ("controller", controller),
                ("action", action),
                ("status", status_class),
            ])
            .get()
    }

    /// Requests answered with a 4xx or 5xx status so far.
    pub fn errors(&self) -> u64 {
        // The family's entries are few (closed label sets): summing them is cheap.
        let mut errors = 0;
        for (c, actions) in ACTIONS.iter().chain([&(OTHER, &[][..])]) {
            for a in actions.iter().chain([&OTHER]) {
                for s in ["4xx", "5xx"] {
                    let labels = [("controller", *c), ("action", *a), ("status", s)];
                    errors += self.requests.get(&labels).map_or(0, |m| m.get());
                }
            }
        }
        errors
    }

    /// Time spent matching one document.
    pub fn matching(&self, elapsed: Duration) {
        self.matching.0.observe(elapsed);
    }

    /// Documents matched so far.
    pub fn matched(&self) -> u64 {
        self.matching.0.count()
    }

    /// One store commit.
    pub fn store_commit(&self, elapsed: Duration) {
        self.store_commit.0.observe(elapsed);
    }

    /// A message of `bytes` received from the cluster's bus.
    pub fn bus_received(&self, bytes: usize) {
        self.bus_messages.inc();
        self.bus_bytes.inc_by(bytes as u64);
    }

    /// Connections whose token expired.
    pub fn token_expired(&self, connections: usize) {
        self.token_expiries.inc_by(connections as u64);
    }

    /// Time since the metrics (the engine) were created.
    pub fn uptime(&self) -> Duration {
        self.started.elapsed()
    }

    /// A WebSocket connection opened (`+1`) or closed (`-1`).
    pub fn websocket(&self, delta: i64) {
        self.websockets.fetch_add(delta, Ordering::Relaxed);
    }

    /// WebSocket connections open now.
    pub fn websockets(&self) -> u64 {
        u64::try_from(self.websockets.load(Ordering::Relaxed)).unwrap_or(0)
    }

    /// The text exposition, with the sampled values of `snapshot`.
    pub fn encode(&self, snapshot: &Snapshot) -> String {
        let _one_at_a_time = self.scrape.lock();
        let gauge = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        self.connections
            .get_or_create(&[("transport", "websocket")])
            .set(gauge(snapshot.websocket_connections));
        self.connections
            .get_or_create(&[("transport", "http")])
            .set(gauge(snapshot.http_connections));
        self.subscriptions.set(gauge(snapshot.subscriptions));
        self.rooms.set(gauge(snapshot.rooms));
        self.queued_frames.set(gauge(snapshot.queued_frames));
        self.resident.set(gauge(snapshot.resident_bytes));
        self.delivered
            .0
            .store(snapshot.delivered, Ordering::Relaxed);
        self.dropped.0.store(snapshot.dropped, Ordering::Relaxed);
        self.slow_clients
            .0
            .store(snapshot.slow_clients_closed, Ordering::Relaxed);
        let mut text = String::new();
        if prometheus_client::encoding::text::encode(&mut text, &self.registry).is_err() {
            text.clear();
        }
        text
    }
}

/// Resident memory of this process (Linux: `/proc/self/statm`), 0 where unknown.
pub fn resident_bytes() -> u64 {
    let Ok(statm) = std::fs::read_to_string("/proc/self/statm") else {
        return 0;
    };
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    // SAFETY: sysconf has no preconditions.
    #[cfg(unix)]
    let page = u64::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).unwrap_or(4096);
    #[cfg(not(unix))]
    let page = 4096;
    pages * page
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_a_closed_set() {
        assert_eq!(
            request_labels("realtime", "publish"),
            ("realtime", "publish")
        );
        assert_eq!(request_labels("realtime", "bogus"), ("realtime", OTHER));
        assert_eq!(
            request_labels("x".repeat(100).as_str(), "y"),
            (OTHER, OTHER)
        );
        assert_eq!(status_class(200), "2xx");
        assert_eq!(status_class(429), "4xx");
        assert_eq!(status_class(503), "5xx");
        assert_eq!(status_class(0), OTHER);
    }

    #[test]
    fn encodes_counts_and_histograms() {
        let metrics = Metrics::new();
        metrics.request("realtime", "publish", 200, Duration::from_micros(30));
        metrics.request("nope", "nope", 404, Duration::from_millis(3));
        metrics.matching(Duration::from_micros(2));
        let text = metrics.encode(&Snapshot {
            websocket_connections: 2,
            rooms: 1,
            delivered: 7,
            ..Snapshot::default()
        });
        assert!(text.contains(
            "herald_requests_total{controller=\"realtime\",action=\"publish\",status=\"2xx\"} 1"
        ));
        assert!(text.contains(
            "herald_requests_total{controller=\"other\",action=\"other\",status=\"4xx\"} 1"
        ));
        assert!(text.contains("herald_connections_open{transport=\"websocket\"} 2"));
        assert!(text.contains("herald_notifications_delivered_total 7"));
        assert!(text.contains("herald_matching_duration_seconds_count 1"));
        for (le, n) in [("0.000025", 0), ("0.00005", 1), ("0.001", 1), ("+Inf", 1)] {
            let line = format!(
                "herald_request_duration_seconds_bucket{{le=\"{le}\",controller=\"realtime\"}} {n}\n"
            );
            assert!(text.contains(&line), "{line} in {text}");
        }
        assert_eq!(metrics.errors(), 1);
    }
}
