//! The network server: Kuzzle's WebSocket and HTTP APIs on one port.
//!
//! [`run`] owns the accept loop (so every socket gets `TCP_NODELAY` and its peer address is
//! known) and serves each TCP connection with hyper's HTTP/1 server: a WebSocket upgrade on
//! any path is answered by `handshake` and becomes a `connection` task, anything else is
//! an HTTP API call served by a warp filter (`http::routes`). Both end up in [`crate::protocol::dispatch`] against one shared
//! [`Hub`].
//!
//! Shutdown is explicit: when the `shutdown` future completes the listener is closed, the
//! engine drops every room silently (Kuzzle sends no `user:"out"` then), every WebSocket is
//! closed with code 1001 (the SDK reconnects after any code but 1000), HTTP connections finish
//! their current request, and `run` returns once they are gone (or after a grace period).

mod admin;
mod connection;
mod expiry;
mod handshake;
mod history_sweep;
mod http;
mod inbox_sweep;
mod limits;
mod socket_writer;
mod sse;

pub use sse::SseConfig;

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::Either;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower_service::Service;

use crate::delivery::{QueueLimits, Queues};
use crate::history::History;
use crate::inbox::{InboxStore, MemoryInboxStore};
use crate::notify::{Bus, Hub, HubConfig, HubHandle, LocalBus};
use crate::store::{DocumentStore, MemoryStore};

/// Server settings.
#[derive(Clone)]
pub struct Config {
    /// Largest accepted WebSocket message or HTTP body, in bytes (larger ones are answered
    /// with a 413 error). Messages above four times this size close the socket (code 1009).
    pub max_frame_bytes: usize,
    /// Frames a connection may leave waiting before it is declared too slow and closed
    /// (code 1011).
    pub queue_capacity: usize,
    /// Bytes a connection may leave waiting before it is declared too slow (frames are
    /// shared between connections: this bounds what one client holds on to).
    pub queue_bytes: usize,
    /// How long one write to a socket may take before the connection is dropped.
    pub write_timeout: Duration,
    /// A WebSocket that sends nothing for this long is closed (the SDK pings every 2 s).
    pub idle_timeout: Duration,
    /// How long shutdown waits for connections to close.
    pub shutdown_grace: Duration,
    /// How long a client may take to send a request's headers (a WebSocket upgrade included):
    /// a connection that trickles them in (slowloris) is closed.
    pub header_timeout: Duration,
    /// How long one HTTP request may take, body included, before it is answered 408.
    pub request_timeout: Duration,
    /// Open connections (HTTP and WebSocket) at most; above it new ones are closed at once.
    /// `run` lowers it below the process's file-descriptor limit.
    pub max_connections: usize,
    /// Open connections from one IP address at most (0 = unlimited).
    pub max_connections_per_address: usize,
    /// Whether the per-address limit also applies to loopback peers. Off by default: behind a
    /// reverse proxy on the same machine, every client comes from 127.0.0.1.
    pub limit_loopback: bool,
    /// Requests a WebSocket connection may send per second, on average (bursts of as many are
    /// allowed); beyond it requests are answered 429 `api.process.too_many_requests` without
    /// being run. 0 = unlimited.
    pub max_requests_per_second: u32,
    /// The same for all the WebSocket connections of one user together (0 = unlimited).
    pub max_requests_per_second_per_user: u32,
    /// The document store of the engine.
    pub store: Arc<dyn DocumentStore>,
    /// Where committed changes go: this node only, or the cluster's bus.
    pub bus: Arc<dyn Bus>,
    /// Where the users' inboxes are stored (`notifications` controller).
    pub inbox_store: Arc<dyn InboxStore>,
    /// The rooms' recent notifications, for resuming subscriptions (`None`: history off).
    pub history: Option<Arc<dyn History>>,
    /// Server-Sent Events settings (`GET /_sse`).
    pub sse: sse::SseConfig,
    /// Engine settings (node id, room limit, filter limits).
    pub hub: HubConfig,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            max_frame_bytes: 1 << 20,
            // Large enough for a batch write that matches thousands of times (the client
            // reads it in a few milliseconds); small enough that a client that stopped
            // reading cannot hold on to much.
            queue_capacity: 16 * 1024,
            queue_bytes: 16 << 20,
            write_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            shutdown_grace: Duration::from_secs(5),
            header_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            max_connections: 100_000,
            max_connections_per_address: 1_000,
            limit_loopback: false,
            max_requests_per_second: 10_000,
            max_requests_per_second_per_user: 20_000,
            store: Arc::new(MemoryStore::new()),
            bus: Arc::new(LocalBus),
            inbox_store: Arc::new(MemoryInboxStore::new()),
            history: None,
            sse: sse::SseConfig::default(),
            hub: HubConfig::default(),
        }
    }
}

/// What every connection task shares.
pub(crate) struct State {
    pub hub: Hub,
    pub queues: Arc<Queues>,
    pub config: Config,
    /// Cancelled at shutdown.
    pub shutdown: CancellationToken,
    /// Set just before `shutdown` is cancelled: a lock-free check for the connection tasks,
    /// which look at it after every wake-up (polling the token takes a mutex).
    pub stopping: AtomicBool,
    /// Every connection task (HTTP and WebSocket), awaited at shutdown.
    pub tasks: TaskTracker,
    /// Open TCP connections, in total and per address.
    pub connections: limits::Connections,
    /// Request budgets of the users.
    pub user_rates: limits::UserRates,
}

impl HubHandle for State {
    fn hub(&self) -> &Hub {
        &self.hub
    }
}

/// Serves connections from `listener` until `shutdown` completes, then closes everything.
pub async fn run(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let queues = Arc::new(Queues::with_limits(QueueLimits {
        frames: config.queue_capacity,
        bytes: config.queue_bytes,
    }));
    let per_user_rate = config.max_requests_per_second_per_user;
    let (config_max_connections, max_per_address, limit_loopback) = (
        config.max_connections,
        config.max_connections_per_address,
        config.limit_loopback,
    );
    let mut hub = Hub::new(
        config.hub.clone(),
        Arc::clone(&config.store),
        queues.clone(),
    )
    .with_inbox_store(Arc::clone(&config.inbox_store))
    .with_bus(Arc::clone(&config.bus));
    if let Some(history) = &config.history {
        hub = hub.with_history(Arc::clone(history));
    }
    let state = Arc::new(State {
        hub,
        queues,
        config,
        shutdown: CancellationToken::new(),
        stopping: AtomicBool::new(false),
        tasks: TaskTracker::new(),
        user_rates: limits::UserRates::new(per_user_rate),
        connections: limits::Connections::new(
            limits::below_descriptor_limit(config_max_connections),
            max_per_address,
            limit_loopback,
        ),
    });
    state
        .hub
        .bus()
        .attach(Arc::clone(&state) as Arc<dyn HubHandle>);
    state.tasks.spawn(expiry::sweep(Arc::clone(&state)));
    state.tasks.spawn(inbox_sweep::sweep(Arc::clone(&state)));
    state.tasks.spawn(history_sweep::sweep(Arc::clone(&state)));
    tracing::info!(address = %listener.local_addr()?, "herald listening");
    admin::announce(listener.local_addr()?);
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(pair) => pair,
            Err(e) => {
                // Out of file descriptors and the like: back off instead of spinning.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        // Over a limit: closed at once, so the limits hold whatever a client opens.
        let Some(permit) = state.connections.admit(peer.ip()) else {
            tracing::debug!(%peer, "connection limit reached: closed");
            continue;
        };
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(%peer, error = %e, "cannot set TCP_NODELAY");
        }
        state.tasks.spawn(serve_tcp(
            stream,
            peer,
            Arc::clone(&state),
            Arc::new(permit),
        ));
    }
    drop(listener);
    tracing::info!("shutting down: closing connections");
    state.hub.shutdown();
    state.stopping.store(true, Ordering::Release);
    state.shutdown.cancel();
    state.tasks.close();
    if tokio::time::timeout(state.config.shutdown_grace, state.tasks.wait())
        .await
        .is_err()
    {
        tracing::warn!("some connections did not close in time");
    }
    if let Some(Err(e)) = state.hub.history().map(|h| h.close()) {
        tracing::warn!(error = %e, "history not saved: clients will not resume after the restart");
    }
    tracing::info!("server stopped");
    Ok(())
}

/// One TCP connection: HTTP/1 with upgrades, finished gracefully at shutdown. `permit` counts
/// it against the connection limits until it ends, a WebSocket it became included.
async fn serve_tcp(
    stream: TcpStream,
    peer: SocketAddr,
    state: Arc<State>,
    permit: Arc<limits::Permit>,
) {
    let shutdown = state.shutdown.clone();
    let header_timeout = state.config.header_timeout;
    // Cancelled to drop this connection at once (an SSE client too slow to read).
    let abort = CancellationToken::new();
    let routes = warp::service(http::routes(Arc::clone(&state), abort.clone()));
    let request_timeout = state.config.request_timeout;
    let service = hyper::service::service_fn(move |request: ::http::Request<Incoming>| {
        if handshake::is_upgrade(&request) {
            let response = handshake::accept(request, &state, peer, Arc::clone(&permit));
            Either::Left(std::future::ready(Ok::<_, Infallible>(response)))
        } else {
            // Bounds a body sent one byte at a time, as the header timeout bounds headers.
            let call = routes.clone().call(request);
            Either::Right(async move {
                match tokio::time::timeout(request_timeout, call).await {
                    Ok(response) => response,
                    Err(_) => Ok(http::request_timeout()),
                }
            })
        }
    });
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(header_timeout)
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades();
    tokio::pin!(connection);
    let result = tokio::select! {
        result = connection.as_mut() => result,
        () = abort.cancelled() => return,
        () = shutdown.cancelled() => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(e) = result {
        tracing::debug!(%peer, error = %e, "http connection ended with an error");
    }
}

/// Runs engine work that may wait on the disk (document writes are durable on return) without
/// stalling the other connections of this runtime worker, when the runtime allows it.
pub(crate) fn blocking<T>(work: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(work)
        }
        _ => work(),
    }
}
