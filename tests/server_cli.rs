//! `herald serve` as a process: port 0, the embedded store under --data-dir, graceful exit on
//! SIGTERM, and documents still there after a restart.

mod server_support;

use std::net::SocketAddr;
use std::process::{Child, Command};

use serde_json::json;
use server_support::http;

/// Starts `herald serve` on a free port; returns the child and its address (from its logs).
fn start(data_dir: &std::path::Path) -> (Child, SocketAddr) {
    server_support::spawn_serve(&[
        "--port".as_ref(),
        "0".as_ref(),
        "--data-dir".as_ref(),
        data_dir.as_os_str(),
    ])
}

fn terminate(child: &mut Child) -> std::process::ExitStatus {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    child.wait().expect("wait")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_persists_documents_and_exits_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let (mut child, addr) = start(&data);
    let (status, _) = http(addr, "GET", "/_healthCheck", None).await;
    assert_eq!(status, 200);
    let mut ws = server_support::Client::connect(addr).await;
    let r = ws
        .ok(json!({"controller":"document","action":"create","index":"i","collection":"c","_id":"d","body":{"v":7}}))
        .await;
    assert_eq!(r["_id"], "d");
    let exit = terminate(&mut child);
    assert!(exit.success(), "{exit:?}");
    // The socket was closed with a code the SDK reconnects after.
    let close = ws.closed().await.expect("a close frame");
    assert_eq!(u16::from(close.0), 1001);
    assert!(data.exists());

    let (mut child, addr) = start(&data);
    let (status, r) = http(addr, "GET", "/i/c/d", None).await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["result"]["_source"]["v"], 7);
    assert!(terminate(&mut child).success());
}

/// Runs `herald serve` with `args`, expecting it to fail at start; its standard error.
fn failed_start(args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_herald"))
        .arg("serve")
        .args(args)
        .output()
        .expect("run herald");
    assert!(!output.status.success());
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn start_up_errors_name_what_failed() {
    let stderr = failed_start(&["--data-dir", "/proc/herald-cannot-be-here"]);
    assert!(
        stderr.contains("--data-dir /proc/herald-cannot-be-here"),
        "{stderr}"
    );
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").port().to_string();
    let stderr = failed_start(&["--ephemeral", "--host", "127.0.0.1", "--port", &port]);
    assert!(
        stderr.contains(&format!("listen on 127.0.0.1:{port}")),
        "{stderr}"
    );
    drop(taken);
}
