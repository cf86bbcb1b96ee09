//! `herald-load`: load generator for a running `herald serve`, over real sockets.
//!
//! `herald-load fanout` opens S subscriber WebSockets spread over R rooms (subscriber i listens
//! to room i mod R) and P publisher WebSockets, publishes for D seconds at a target rate (or as
//! fast as the server acknowledges), waits for the notifications to drain, and prints one JSON
//! line: notifications expected, received, lost, received per second, and p50/p99/p999
//! end-to-end latency (publish sent to notification received, one process clock).
//!
//! It marks its phases on standard error (`herald-load: subscribed` once every subscriber is
//! connected and subscribed, `herald-load: drained` once the notifications are in or the drain
//! time is over, before the sockets are closed), so that `bench/fanout.sh` can measure the
//! server's CPU time over the fan-out alone.
//!
//! Client sockets are bound to several loopback addresses (127.0.0.1, 127.0.0.2, ...) so that
//! many thousands of connections do not exhaust one address's ephemeral ports.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::json;
use tokio::net::TcpSocket;
use tokio::sync::Semaphore;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

#[derive(Parser)]
#[command(name = "herald-load", about = "Load generator for herald serve")]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Subscribers over rooms, publishers publishing; prints one JSON line.
    Fanout(Fanout),
}

#[derive(Parser, Clone)]
struct Fanout {
    /// Server address (host:port).
    #[arg(long, default_value = "127.0.0.1:7512")]
    server: SocketAddr,
    /// Subscriber sockets.
    #[arg(long, short = 's', default_value_t = 100)]
    subscribers: usize,
    /// Rooms (distinct filters).
    #[arg(long, short = 'r', default_value_t = 10)]
    rooms: usize,
    /// Publisher sockets.
    #[arg(long, short = 'p', default_value_t = 2)]
    publishers: usize,
    /// Publishes per second, all publishers together (0: as fast as acknowledged).
    #[arg(long, default_value_t = 1000)]
    rate: u64,
    /// Publishing duration, in seconds.
    #[arg(long, short = 'd', default_value_t = 5.0)]
    seconds: f64,
    /// Extra bytes of padding per message.
    #[arg(long, default_value_t = 0)]
    payload_bytes: usize,
    /// Local loopback addresses to spread client sockets over (127.0.0.1 ... 127.0.0.N).
    #[arg(long, default_value_t = 4)]
    local_addresses: u8,
    /// Requests in flight per publisher when publishing as fast as possible.
    #[arg(long, default_value_t = 64)]
    window: usize,
    /// How long to wait for late notifications after publishing stops, in seconds.
    #[arg(long, default_value_t = 3.0)]
    drain_seconds: f64,
}

type Ws = WebSocketStream<tokio::net::TcpStream>;

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("herald-load: {e}");
            return ExitCode::from(2);
        }
    };
    let result = match args.command {
        Command::Fanout(f) => runtime.block_on(fanout(f)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("herald-load: {e}");
            ExitCode::from(2)
        }
    }
}

type Error = Box<dyn std::error::Error + Send + Sync>;

/// Opens a WebSocket from the `n`-th local loopback address.
async fn open(server: SocketAddr, n: usize, addresses: u8) -> Result<Ws, Error> {
    let socket = TcpSocket::new_v4()?;
    if server.ip().is_loopback() && addresses > 1 {
        let last = 1 + (n % usize::from(addresses)) as u8;
        socket.bind(SocketAddr::new(
            IpAddr::V4(Ipv4Addr::new(127, 0, 0, last)),
            0,
        ))?;
    }
    let stream = socket.connect(server).await?;
    stream.set_nodelay(true)?;
    // tungstenite's default 128 KiB read buffer is zeroed before every read: with thousands
    // of sockets that would be most of this tool's CPU, taken from the server it measures.
    let config = WebSocketConfig::default().read_buffer_size(4096);
    let (ws, _) = tokio_tungstenite::client_async_with_config(
        format!("ws://{server}/"),
        stream,
        Some(config),
    )
    .await?;
    Ok(ws)
}

/// Sends one request and waits for its response (no other traffic expected yet).
async fn call(ws: &mut Ws, request: serde_json::Value) -> Result<serde_json::Value, Error> {
    ws.send(Message::text(request.to_string())).await?;
    while let Some(message) = ws.next().await {
        if let Message::Text(text) = message? {
            let value: serde_json::Value = serde_json::from_str(text.as_str())?;
            if value.get("requestId") == request.get("requestId") {
                if value["status"] != 200 {
                    return Err(format!("request failed: {}", value["error"]).into());
                }
                return Ok(value);
            }
        }
    }
    Err("connection closed".into())
}

#[derive(Deserialize)]
struct Notification {
    result: Option<NotificationResult>,
}

#[derive(Deserialize)]
struct NotificationResult {
    #[serde(rename = "_source")]
    source: Source,
}

#[derive(Deserialize)]
struct Source {
    /// Microseconds since the run's start, when the publish was sent.
    t: u64,
}

/// Log-linear latency histogram (microseconds, ~1.5% precision).
struct Histogram {
    counts: Vec<u64>,
}

impl Histogram {
    const LINEAR: u64 = 1024;
    const SUB: u64 = 64;

    fn new() -> Histogram {
        Histogram {
            counts: vec![0; (Self::LINEAR + 54 * Self::SUB) as usize],
        }
    }

    fn bucket(us: u64) -> usize {
        if us < Self::LINEAR {
            return us as usize;
        }
        let log = 63 - u64::from(us.leading_zeros());
        let mantissa = (us >> (log - 6)) & (Self::SUB - 1);
        (Self::LINEAR + (log - 10) * Self::SUB + mantissa) as usize
    }

    fn lower_bound(bucket: usize) -> u64 {
        let b = bucket as u64;
        if b < Self::LINEAR {
            return b;
        }
        let log = (b - Self::LINEAR) / Self::SUB + 10;
        let mantissa = (b - Self::LINEAR) % Self::SUB;
        (1 << log) | (mantissa << (log - 6))
    }

    fn record(&mut self, us: u64) {
        let b = Self::bucket(us).min(self.counts.len() - 1);
        self.counts[b] += 1;
    }

    fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
    }

    fn quantile(&self, q: f64) -> f64 {
        let total: u64 = self.counts.iter().sum();
        if total == 0 {
            return 0.0;
        }
        let rank = ((total as f64) * q).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return Self::lower_bound(i) as f64 / 1000.0;
            }
        }
        0.0
    }
}

async fn fanout(cfg: Fanout) -> Result<(), Error> {
    if cfg.rooms == 0 || cfg.publishers == 0 {
        return Err("--rooms and --publishers must be at least 1".into());
    }
    let start = Instant::now();
    // Subscribers, connected a few dozen at a time.
    let mut members = vec![0u64; cfg.rooms];
    let connecting = futures_util::stream::iter(0..cfg.subscribers)
        .map(|i| {
            let cfg = cfg.clone();
            async move {
                let mut ws = open(cfg.server, i, cfg.local_addresses).await?;
                let room = i % cfg.rooms;
                call(
                    &mut ws,
                    json!({"controller":"realtime","action":"subscribe","index":"load","collection":"fanout",
                        "body":{"equals":{"room":room}},"requestId":format!("s{i}")}),
                )
                .await?;
                Ok::<_, Error>((room, ws))
            }
        })
        .buffer_unordered(64);
    let connected: Vec<Result<(usize, Ws), Error>> = connecting.collect().await;
    let mut subscribers = Vec::with_capacity(cfg.subscribers);
    for result in connected {
        let (room, ws) = result?;
        members[room] += 1;
        subscribers.push(ws);
    }
    // Phase marks on standard error: a script measuring the server can read its CPU time
    // between them, leaving out connecting and closing.
    eprintln!("herald-load: subscribed");
    let received = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let mut readers = Vec::new();
    for mut ws in subscribers {
        let received = Arc::clone(&received);
        let stop = Arc::clone(&stop);
        readers.push(tokio::spawn(async move {
            let mut histogram = Histogram::new();
            // Polls the stop flag a few times a second without a timer per message.
            let mut tick = tokio::time::interval(Duration::from_millis(200));
            loop {
                let message = tokio::select! {
                    next = ws.next() => match next {
                        None | Some(Err(_)) => break,
                        Some(Ok(m)) => m,
                    },
                    _ = tick.tick() => {
                        if stop.load(Ordering::Relaxed) {
                            break;
                        }
                        continue;
                    }
                };
                let bytes = match &message {
                    Message::Text(t) => t.as_bytes(),
                    Message::Binary(b) => b,
                    _ => continue,
                };
                if let Ok(Notification {
                    result: Some(result),
                }) = serde_json::from_slice::<Notification>(bytes)
                {
                    let now = start.elapsed().as_micros() as u64;
                    histogram.record(now.saturating_sub(result.source.t));
                    received.fetch_add(1, Ordering::Relaxed);
                }
            }
            let _ = ws.close(None).await;
            histogram
        }));
    }

    // Publishers.
    let published = Arc::new(AtomicU64::new(0));
    let expected = Arc::new(AtomicU64::new(0));
    let members = Arc::new(members);
    let duration = Duration::from_secs_f64(cfg.seconds.max(0.0));
    let publish_start = Instant::now();
    let mut publishers = Vec::new();
    for p in 0..cfg.publishers {
        let ws = open(cfg.server, cfg.subscribers + p, cfg.local_addresses).await?;
        let cfg = cfg.clone();
        let published = Arc::clone(&published);
        let expected = Arc::clone(&expected);
        let members = Arc::clone(&members);
        publishers.push(tokio::spawn(async move {
            publish(ws, p, cfg, start, duration, published, expected, members).await
        }));
    }
    for p in publishers {
        p.await??;
    }
    let publishing = publish_start.elapsed().as_secs_f64();
    let expected = expected.load(Ordering::Relaxed);
    let drain_until = Instant::now() + Duration::from_secs_f64(cfg.drain_seconds.max(0.0));
    while received.load(Ordering::Relaxed) < expected && Instant::now() < drain_until {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    eprintln!("herald-load: drained");
    stop.store(true, Ordering::Relaxed);
    let mut histogram = Histogram::new();
    for r in readers {
        histogram.merge(&r.await?);
    }
    let received = received.load(Ordering::Relaxed);
    let line = json!({
        "test": "fanout",
        "subscribers": cfg.subscribers,
        "rooms": cfg.rooms,
        "publishers": cfg.publishers,
        "target_rate": cfg.rate,
        "seconds": publishing,
        "published": published.load(Ordering::Relaxed),
        "expected": expected,
        "received": received,
        "lost": expected.saturating_sub(received),
        "per_second": if publishing > 0.0 { (received as f64 / publishing).round() } else { 0.0 },
        "p50_ms": histogram.quantile(0.5),
        "p99_ms": histogram.quantile(0.99),
        "p999_ms": histogram.quantile(0.999),
    });
    println!("{line}");
    Ok(())
}

/// One publisher: sends publishes (paced, or windowed when the rate is 0) and counts the
/// acknowledged ones; `expected` grows by the room's members for each.
#[allow(clippy::too_many_arguments)]
async fn publish(
    ws: Ws,
    index: usize,
    cfg: Fanout,
    start: Instant,
    duration: Duration,
    published: Arc<AtomicU64>,
    expected: Arc<AtomicU64>,
    members: Arc<Vec<u64>>,
) -> Result<(), Error> {
    let (mut sink, mut stream) = ws.split();
    let window = Arc::new(Semaphore::new(cfg.window.max(1)));
    let acks = {
        let window = Arc::clone(&window);
        let members = Arc::clone(&members);
        let rooms = cfg.rooms;
        tokio::spawn(async move {
            let mut acked = 0u64;
            while let Some(Ok(message)) = stream.next().await {
                let Message::Text(text) = message else {
                    continue;
                };
                let Ok(value) = serde_json::from_str::<serde_json::Value>(text.as_str()) else {
                    continue;
                };
                let Some(id) = value["requestId"].as_str() else {
                    continue;
                };
                if value["status"] == 200 {
                    // requestId is "<publisher>-<seq>": the room is seq mod rooms.
                    if let Some(seq) = id.rsplit('-').next().and_then(|s| s.parse::<usize>().ok()) {
                        expected.fetch_add(members[seq % rooms], Ordering::Relaxed);
                        published.fetch_add(1, Ordering::Relaxed);
                    }
                }
                acked += 1;
                window.add_permits(1);
            }
            acked
        })
    };
    let per_publisher = cfg.rate as f64 / cfg.publishers as f64;
    let interval = (per_publisher > 0.0).then(|| Duration::from_secs_f64(1.0 / per_publisher));
    let pad = "x".repeat(cfg.payload_bytes);
    let began = Instant::now();
    let mut seq = index; // offsets publishers over rooms
    let mut sent = 0u64;
    while began.elapsed() < duration {
        if let Some(interval) = interval {
            let due = began + interval.mul_f64(sent as f64);
            tokio::time::sleep_until(due.into()).await;
        }
        let permit = window.acquire().await?;
        permit.forget();
        let t = start.elapsed().as_micros() as u64;
        let request = json!({"controller":"realtime","action":"publish","index":"load","collection":"fanout",
            "requestId": format!("{index}-{seq}"),
            "body":{"room": seq % cfg.rooms, "t": t, "pad": pad}});
        sink.send(Message::text(request.to_string())).await?;
        seq += cfg.publishers;
        sent += 1;
    }
    // Wait for the outstanding acknowledgements, then close.
    let _ = tokio::time::timeout(
        Duration::from_secs(5),
        window.acquire_many(cfg.window.max(1) as u32),
    )
    .await;
    let _ = sink.close().await;
    let _ = acks.await;
    Ok(())
}
