//! `herald serve`: runs the Kuzzle-compatible WebSocket and HTTP server until SIGINT/SIGTERM.
//!
//! The server itself is [`herald::server::run`]; this only builds the runtime, the store and
//! the logger, and turns signals into the shutdown future.

use std::io::{self, IsTerminal};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use herald::cluster::{Cluster, ClusterConfig};
use herald::history::{History, HistoryConfig, MemoryHistory, RedbHistory};
use herald::identity::{AuthConfig, Rights, VerifyKey};
use herald::inbox::{InboxConfig, InboxStore, MemoryInboxStore, RedbInboxStore};
use herald::notify::{Bus, HubConfig, LocalBus};
use herald::server::{self, Config, SseConfig};
use herald::store::{DocumentStore, MemoryStore, RedbStore};

/// `herald serve` options.
#[derive(clap::Args)]
pub struct ServeArgs {
    /// Address to listen on (`0.0.0.0`: every interface; `127.0.0.1`: this machine only).
    #[arg(long, env = "HERALD_HOST", default_value = "0.0.0.0")]
    pub host: std::net::IpAddr,
    /// Port to listen on.
    #[arg(long, env = "HERALD_PORT", default_value_t = 7512)]
    pub port: u16,
    /// Directory of the embedded document store.
    #[arg(long, env = "HERALD_DATA_DIR", default_value = "./herald-data")]
    pub data_dir: PathBuf,
    /// Keep documents in memory only (nothing survives a restart).
    #[arg(long)]
    pub ephemeral: bool,
    /// Join a cluster: the nodes started with the same Redis (`redis://host:port`) keep
    /// their documents there and notify each other's subscribers (docs/cluster.md).
    #[arg(long, env = "HERALD_REDIS")]
    pub redis: Option<String>,
    /// This node's name, in every notification's `node` (name each node of a cluster).
    #[arg(long, env = "HERALD_NODE_ID", default_value = "herald")]
    pub node_id: String,
    /// Bound on each Redis connect, read and write, in milliseconds: requests made while
    /// Redis is unreachable fail after it with 503.
    #[arg(long, env = "HERALD_REDIS_TIMEOUT_MS", default_value_t = 2_000)]
    pub redis_timeout_ms: u64,
    /// Largest accepted WebSocket message or HTTP body, in bytes.
    #[arg(long, default_value_t = 1 << 20)]
    pub max_frame_bytes: usize,
    /// Notifications a connection may leave unread before it is closed as too slow
    /// (code 1011).
    #[arg(long, default_value_t = herald::server::Config::default().queue_capacity)]
    pub queue_frames: usize,
    /// Bytes of notifications a connection may leave unread before it is closed.
    #[arg(long, default_value_t = herald::server::Config::default().queue_bytes)]
    pub queue_bytes: usize,
    /// Open connections at most (kept below the file-descriptor limit, which is raised to
    /// its hard maximum at start).
    #[arg(long, env = "HERALD_MAX_CONNECTIONS", default_value_t = herald::server::Config::default().max_connections)]
    pub max_connections: usize,
    /// Open connections from one IP address at most (0: unlimited). Loopback peers are
    /// exempt (a reverse proxy on this machine), unless --limit-loopback.
    #[arg(long, env = "HERALD_MAX_CONNECTIONS_PER_ADDRESS", default_value_t = herald::server::Config::default().max_connections_per_address)]
    pub max_connections_per_address: usize,
    /// Apply --max-connections-per-address to loopback peers too.
    #[arg(long)]
    pub limit_loopback: bool,
    /// Requests a WebSocket connection may send per second (bursts of as many); beyond it
    /// they are answered 429. 0: unlimited.
    #[arg(long, env = "HERALD_MAX_REQUESTS_PER_SECOND", default_value_t = herald::server::Config::default().max_requests_per_second)]
    pub max_requests_per_second: u32,
    /// The same for all the WebSocket connections of one user together (0: unlimited).
    #[arg(long, env = "HERALD_MAX_REQUESTS_PER_SECOND_PER_USER", default_value_t = herald::server::Config::default().max_requests_per_second_per_user)]
    pub max_requests_per_second_per_user: u32,
    /// Rooms the connections of one user may be subscribed to at once, together (0:
    /// unlimited).
    #[arg(long, env = "HERALD_MAX_SUBSCRIPTIONS_PER_USER", default_value_t = HubConfig::DEFAULT_MAX_SUBSCRIPTIONS_PER_USER)]
    pub max_subscriptions_per_user: usize,
    /// Rooms one connection may be subscribed to at once (0: unlimited).
    #[arg(long, env = "HERALD_MAX_SUBSCRIPTIONS", default_value_t = HubConfig::DEFAULT_MAX_SUBSCRIPTIONS_PER_CONNECTION)]
    pub max_subscriptions: usize,
    #[command(flatten)]
    pub limits: super::FilterLimits,
    #[command(flatten)]
    pub auth: AuthArgs,
    #[command(flatten)]
    pub inbox: InboxArgs,
    #[command(flatten)]
    pub history: HistoryArgs,
}

/// History and Server-Sent Events options (docs/realtime.md).
#[derive(clap::Args)]
pub struct HistoryArgs {
    /// Notifications kept per room for resuming subscriptions (0, the default: no history,
    /// no positions; 100 is a good start). Off by default: every room then costs memory and
    /// stays matched for the TTL after its last subscriber left (docs/realtime.md).
    #[arg(long, env = "HERALD_HISTORY_SIZE", default_value_t = 0)]
    pub history_size: usize,
    /// Bytes of notifications kept per room, at most.
    #[arg(long, env = "HERALD_HISTORY_BYTES", default_value_t = HistoryConfig::DEFAULT_BYTES)]
    pub history_bytes: usize,
    /// Seconds a notification is kept, and a room stays matched after its last subscriber
    /// left.
    #[arg(long, env = "HERALD_HISTORY_TTL_SECONDS", default_value_t = HistoryConfig::DEFAULT_TTL.as_secs())]
    pub history_ttl_seconds: u64,
    /// Seconds between two heartbeat comments on an idle Server-Sent Events stream.
    #[arg(long, env = "HERALD_SSE_HEARTBEAT_SECONDS", default_value_t = 15,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub sse_heartbeat_seconds: u64,
    /// Reconnection delay suggested to Server-Sent Events clients (`retry:`), in milliseconds.
    #[arg(long, env = "HERALD_SSE_RETRY_MS", default_value_t = 2000)]
    pub sse_retry_ms: u64,
    /// An origin whose pages may read Server-Sent Events streams with their cookies
    /// (repeatable). Without any, every origin may read streams authenticated by token.
    #[arg(long = "cors-origin", env = "HERALD_CORS_ORIGIN")]
    pub cors_origins: Vec<String>,
}

impl HistoryArgs {
    /// The history bounds, `None` if history is off.
    pub fn config(&self) -> Option<HistoryConfig> {
        (self.history_size > 0).then(|| HistoryConfig {
            size: self.history_size,
            bytes: self.history_bytes,
            ttl: Duration::from_secs(self.history_ttl_seconds),
        })
    }

    pub fn sse(&self) -> SseConfig {
        SseConfig {
            heartbeat: Duration::from_secs(self.sse_heartbeat_seconds),
            retry: Duration::from_millis(self.sse_retry_ms),
            cors_origins: self.cors_origins.clone(),
        }
    }
}

/// Inbox retention options (docs/notifications.md).
#[derive(clap::Args)]
pub struct InboxArgs {
    /// Notifications kept per user; the oldest are removed first.
    #[arg(long, env = "HERALD_INBOX_MAX_PER_USER", default_value_t = 1_000,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub inbox_max_per_user: u64,
    /// Days after which a notification is removed (0: no age limit).
    #[arg(long, env = "HERALD_INBOX_MAX_AGE_DAYS", default_value_t = 90)]
    pub inbox_max_age_days: u64,
    /// Seconds between two sweeps of expired notifications (0: only on access).
    #[arg(long, env = "HERALD_INBOX_SWEEP_SECONDS", default_value_t = 60)]
    pub inbox_sweep_seconds: u64,
}

impl InboxArgs {
    pub fn config(&self) -> InboxConfig {
        let days = self.inbox_max_age_days;
        InboxConfig {
            max_per_user: self.inbox_max_per_user,
            max_age: (days > 0).then(|| Duration::from_secs(days.saturating_mul(86_400))),
            sweep_interval: Duration::from_secs(self.inbox_sweep_seconds),
        }
    }
}

/// Authentication options (docs/identity.md).
#[derive(clap::Args)]
pub struct AuthArgs {
    /// HMAC secret that tokens may be signed with (HS256/384/512). Repeat to accept several.
    #[arg(long = "jwt-secret", env = "HERALD_JWT_SECRET")]
    pub jwt_secrets: Vec<String>,
    /// PEM file of a public key that tokens may be signed with (RSA: RS256..., EC: ES256...).
    /// Repeat to accept several.
    #[arg(long = "jwt-public-key", env = "HERALD_JWT_PUBLIC_KEY")]
    pub jwt_public_keys: Vec<PathBuf>,
    /// Required `iss` claim.
    #[arg(long, env = "HERALD_JWT_ISSUER")]
    pub jwt_issuer: Option<String>,
    /// Required `aud` claim.
    #[arg(long, env = "HERALD_JWT_AUDIENCE")]
    pub jwt_audience: Option<String>,
    /// What connections without a token may do: `all`, `none` (refused), or rights as JSON
    /// (`{"subscribe":["public/*"]}`).
    #[arg(long, env = "HERALD_ANONYMOUS", default_value = "all")]
    pub anonymous: String,
    /// Rights of a valid token that has no `herald` claim: `all`, `none`, or rights as JSON.
    #[arg(long, env = "HERALD_DEFAULT_RIGHTS", default_value = "all")]
    pub default_rights: String,
}

impl AuthArgs {
    /// The engine's authentication settings; an error names the bad option.
    pub fn config(&self) -> Result<AuthConfig, String> {
        let mut keys: Vec<VerifyKey> = self
            .jwt_secrets
            .iter()
            .filter(|s| !s.is_empty())
            .map(|s| VerifyKey::hmac(s.as_bytes()))
            .collect();
        for path in &self.jwt_public_keys {
            let pem = std::fs::read(path)
                .map_err(|e| format!("--jwt-public-key {}: {e}", path.display()))?;
            keys.push(
                VerifyKey::public_pem(&pem)
                    .map_err(|e| format!("--jwt-public-key {}: {e}", path.display()))?,
            );
        }
        let anonymous = match self.anonymous.as_str() {
            "none" => None,
            other => Some(rights("--anonymous", other)?),
        };
        Ok(AuthConfig {
            keys,
            issuer: self.jwt_issuer.clone(),
            audience: self.jwt_audience.clone(),
            anonymous,
            default_rights: rights("--default-rights", &self.default_rights)?,
        })
    }
}

/// `all`, `none`, or the JSON form of [`Rights`] (restriction filters validated).
fn rights(option: &str, value: &str) -> Result<Rights, String> {
    match value {
        "all" => Ok(Rights::all()),
        "none" => Ok(Rights::none()),
        json => {
            let value: serde_json::Value = serde_json::from_str(json)
                .map_err(|e| format!("{option}: expected all, none or JSON rights: {e}"))?;
            let rights = Rights::from_json(&value).map_err(|e| format!("{option}: {e}"))?;
            for (pattern, filter) in &rights.restrict {
                herald_filters::standardize(filter, &herald_filters::Options::default()).map_err(
                    |e| format!("{option}: restriction of \"{}\": {e}", pattern.as_str()),
                )?;
            }
            Ok(rights)
        }
    }
}

pub fn run(args: ServeArgs) -> io::Result<ExitCode> {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(io::stderr)
        .with_ansi(io::stderr().is_terminal())
        .try_init();
    // Start-up errors name what failed: the path, the address.
    // With --redis the documents are in Redis: no embedded document store is opened.
    let (store, inbox_store): (Arc<dyn DocumentStore>, Arc<dyn InboxStore>) = if args.ephemeral {
        (
            Arc::new(MemoryStore::new()),
            Arc::new(MemoryInboxStore::new()),
        )
    } else if args.redis.is_some() {
        std::fs::create_dir_all(&args.data_dir)
            .map_err(|e| with_context(e, &format!("--data-dir {}", args.data_dir.display())))?;
        let inbox = RedbInboxStore::open(&args.data_dir).map_err(|e| {
            io::Error::other(format!("--data-dir {}: {e}", args.data_dir.display()))
        })?;
        (Arc::new(MemoryStore::new()), Arc::new(inbox))
    } else {
        let data_dir = args.data_dir.display();
        std::fs::create_dir_all(&args.data_dir)
            .map_err(|e| with_context(e, &format!("--data-dir {data_dir}")))?;
        let opened =
            |e: herald::store::StoreError| io::Error::other(format!("--data-dir {data_dir}: {e}"));
        (
            Arc::new(RedbStore::open(&args.data_dir).map_err(opened)?),
            Arc::new(RedbInboxStore::open(&args.data_dir).map_err(opened)?),
        )
    };
    let history: Option<Arc<dyn History>> = match args.history.config() {
        None => None,
        Some(config) if args.ephemeral => Some(Arc::new(MemoryHistory::new(config))),
        Some(config) => Some(Arc::new(
            RedbHistory::open(&args.data_dir, config).map_err(|e| {
                io::Error::other(format!("--data-dir {}: {e}", args.data_dir.display()))
            })?,
        )),
    };
    // A cluster keeps the documents in Redis (the inbox stays on this node).
    let cluster = match &args.redis {
        Some(url) => Some(
            Cluster::new(&ClusterConfig {
                url: url.clone(),
                timeout: Duration::from_millis(args.redis_timeout_ms.max(1)),
            })
            .map_err(io::Error::other)?,
        ),
        None => None,
    };
    let (store, bus): (Arc<dyn DocumentStore>, Arc<dyn Bus>) = match &cluster {
        Some(cluster) => (cluster.store.clone(), cluster.bus.clone()),
        None => (store, Arc::new(LocalBus)),
    };
    let auth = args.auth.config().map_err(io::Error::other)?;
    if auth.keys.is_empty() {
        tracing::info!("no --jwt-secret or --jwt-public-key: every token will be refused");
    }
    let anonymous_writes = auth
        .anonymous
        .as_ref()
        .is_some_and(|r| !r.write.is_empty() || !r.publish.is_empty());
    if anonymous_writes && !args.host.is_loopback() {
        tracing::warn!(
            host = %args.host,
            "anonymous connections may write and publish, and the server listens beyond this \
             machine: lock it down with --anonymous none (or --host 127.0.0.1), see docs/security.md"
        );
    }
    let config = Config {
        max_frame_bytes: args.max_frame_bytes,
        max_connections: args.max_connections,
        max_connections_per_address: args.max_connections_per_address,
        limit_loopback: args.limit_loopback,
        max_requests_per_second: args.max_requests_per_second,
        max_requests_per_second_per_user: args.max_requests_per_second_per_user,
        queue_capacity: args.queue_frames,
        queue_bytes: args.queue_bytes,
        store,
        bus,
        inbox_store,
        history,
        sse: args.history.sse(),
        hub: HubConfig {
            node: args.node_id.clone(),
            auth,
            filters: args.limits.options(),
            max_subscriptions_per_connection: args.max_subscriptions,
            max_subscriptions_per_user: args.max_subscriptions_per_user,
            inbox: args.inbox.config(),
            ..HubConfig::default()
        },
        ..Config::default()
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let served = runtime.block_on(async move {
        let address = std::net::SocketAddr::new(args.host, args.port);
        let listener =
            listen(address).map_err(|e| with_context(e, &format!("listen on {address}")))?;
        tracing::info!(
            port = listener.local_addr()?.port(),
            store = if let Some(url) = &args.redis {
                format!("redis {url}")
            } else if args.ephemeral {
                "memory".to_owned()
            } else {
                args.data_dir.display().to_string()
            },
            "starting herald"
        );
        server::run(listener, config, shutdown_signal()).await
    });
    // A request still computing (it cannot be interrupted) must not hold the exit: the
    // server has already closed every connection by now.
    runtime.shutdown_timeout(std::time::Duration::from_secs(2));
    served?;
    Ok(ExitCode::SUCCESS)
}

/// The listening socket, with a backlog large enough for bursts of thousands of connects
/// (the kernel caps it at `net.core.somaxconn`).
fn listen(address: std::net::SocketAddr) -> io::Result<tokio::net::TcpListener> {
    let socket = if address.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(address)?;
    socket.listen(LISTEN_BACKLOG)
}

/// The error with what it is about in front (`listen on 0.0.0.0:7512: Address already in use`).
fn with_context(e: io::Error, what: &str) -> io::Error {
    io::Error::new(e.kind(), format!("{what}: {e}"))
}

const LISTEN_BACKLOG: u32 = 8192;

/// Completes on SIGINT or SIGTERM.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
    tracing::info!("shutdown signal received");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(anonymous: &str, default_rights: &str) -> AuthArgs {
        AuthArgs {
            jwt_secrets: vec!["s".into()],
            jwt_public_keys: Vec::new(),
            jwt_issuer: None,
            jwt_audience: None,
            anonymous: anonymous.into(),
            default_rights: default_rights.into(),
        }
    }

    #[test]
    fn rights_options() {
        let config = args("all", "none").config().expect("config");
        assert_eq!(config.keys.len(), 1);
        assert_eq!(config.anonymous, Some(Rights::all()));
        assert_eq!(config.default_rights, Rights::none());
        let config = args("none", r#"{"subscribe":["a/*"]}"#)
            .config()
            .expect("config");
        assert_eq!(config.anonymous, None);
        assert!(config
            .default_rights
            .allows(herald::identity::Right::Subscribe, "a", "b"));
        for (anonymous, default) in [
            ("{bad", "all"),
            ("all", r#"{"restrict":{"a/b":{"nope":1}}}"#),
            ("all", r#"{"write":1}"#),
        ] {
            assert!(args(anonymous, default).config().is_err());
        }
        let mut missing = args("all", "all");
        missing.jwt_public_keys.push("/nonexistent/key.pem".into());
        let error = missing.config().expect_err("missing key file");
        assert!(error.contains("--jwt-public-key"), "{error}");
    }
}
