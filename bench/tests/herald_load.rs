//! Smoke test of `herald-load fanout` against an in-process server.

use std::net::SocketAddr;
use std::time::Duration;

use herald::server::{self, Config};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// `herald serve` on port 0, in this process (as the server tests' `Server`).
struct Server {
    addr: SocketAddr,
    stop: oneshot::Sender<()>,
    handle: JoinHandle<std::io::Result<()>>,
}

impl Server {
    async fn start() -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (stop, stopped) = oneshot::channel::<()>();
        let handle = tokio::spawn(server::run(listener, Config::default(), async move {
            let _ = stopped.await;
        }));
        Server { addr, stop, handle }
    }

    /// Graceful shutdown; waits for `run` to return.
    async fn stop(self) {
        let _ = self.stop.send(());
        let result = tokio::time::timeout(Duration::from_secs(10), self.handle)
            .await
            .expect("server stops in time");
        result.expect("server task").expect("server result");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fanout_prints_one_json_line_with_no_loss() {
    let server = Server::start().await;
    let addr = server.addr.to_string();
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_herald-load"))
            .args(["fanout", "--server", &addr, "-s", "6", "-r", "3", "-p", "2"])
            .args(["--rate", "200", "-d", "0.5", "--local-addresses", "3"])
            .output()
    })
    .await
    .expect("join")
    .expect("run herald-load");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let line = String::from_utf8(output.stdout).expect("utf-8");
    let report: serde_json::Value = serde_json::from_str(line.trim()).expect("one JSON line");
    let expected = report["expected"].as_u64().expect("expected");
    assert!(expected > 0, "{report}");
    assert_eq!(report["received"], expected, "{report}");
    assert_eq!(report["lost"], 0);
    // 6 subscribers over 3 rooms: each publish reaches 2 of them.
    assert_eq!(
        expected,
        2 * report["published"].as_u64().expect("published")
    );
    for key in ["per_second", "p50_ms", "p99_ms", "p999_ms"] {
        assert!(report[key].is_number(), "{key}: {report}");
    }
    server.stop().await;
}
