//! `herald serve`: runs the Kuzzle-compatible WebSocket and HTTP server until SIGINT/SIGTERM.
//!
//! The server itself is [`herald::server::run`]; this only builds the runtime, the store and
//! the logger, and turns signals into the shutdown future.

use std::io::{self, IsTerminal};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use herald::server::{self, Config};
use herald::store::{DocumentStore, MemoryStore, RedbStore};

pub struct ServeArgs {
    pub port: u16,
    pub data_dir: PathBuf,
    pub ephemeral: bool,
    pub max_frame_bytes: usize,
}

pub fn run(args: ServeArgs) -> io::Result<ExitCode> {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(io::stderr)
        .with_ansi(io::stderr().is_terminal())
        .try_init();
    let store: Arc<dyn DocumentStore> = if args.ephemeral {
        Arc::new(MemoryStore::new())
    } else {
        std::fs::create_dir_all(&args.data_dir)?;
        Arc::new(RedbStore::open(&args.data_dir).map_err(io::Error::other)?)
    };
    let config = Config {
        max_frame_bytes: args.max_frame_bytes,
        store,
        ..Config::default()
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = listen(args.port)?;
        tracing::info!(
            port = listener.local_addr()?.port(),
            store = if args.ephemeral {
                "memory".to_owned()
            } else {
                args.data_dir.display().to_string()
            },
            "starting herald"
        );
        server::run(listener, config, shutdown_signal()).await
    })?;
    Ok(ExitCode::SUCCESS)
}

/// The listening socket, with a backlog large enough for bursts of thousands of connects
/// (the kernel caps it at `net.core.somaxconn`).
fn listen(port: u16) -> io::Result<tokio::net::TcpListener> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket.bind(std::net::SocketAddr::from(([0, 0, 0, 0], port)))?;
    socket.listen(LISTEN_BACKLOG)
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
