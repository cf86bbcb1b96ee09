//! Real parts for the cluster tests: a `redis-server` of the test's own (a free port, a
//! temporary directory, AOF on, never 6379 and never a server the test did not start) and
//! `herald serve` nodes (the built binary, port 0) joined to it. Uses `server_support`
//! (declare both modules in the test).

#![allow(dead_code)]

use std::ffi::OsStr;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A `redis-server` started by the test; killed when dropped.
pub struct Redis {
    child: Option<Child>,
    pub port: u16,
    dir: tempfile::TempDir,
}

impl Redis {
    /// Starts one with AOF on (`appendfsync always`: an acknowledged write is on disk).
    pub fn start() -> Redis {
        let dir = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        let mut redis = Redis {
            child: None,
            port,
            dir,
        };
        redis.spawn();
        redis
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    fn spawn(&mut self) {
        assert_ne!(self.port, 6379, "never the default Redis port");
        let child = Command::new(redis_binary())
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "yes"])
            .args(["--appendfsync", "always", "--dir"])
            .arg(self.dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn redis-server (install it: apt-get install redis-server)");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self.ping() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Whether it answers PING (and has finished loading its AOF).
    pub fn ping(&self) -> bool {
        let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
        if stream.write_all(b"PING\r\n").is_err() {
            return false;
        }
        let mut buf = [0u8; 64];
        matches!(stream.read(&mut buf), Ok(n) if buf[..n].starts_with(b"+PONG"))
    }

    /// SIGKILL: the server dies without a chance to flush anything more.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGSTOP (`false`) or SIGCONT (`true`): a server that hangs without closing anything.
    pub fn run(&self, running: bool) {
        let Some(child) = &self.child else { return };
        let signal = if running { "-CONT" } else { "-STOP" };
        let status = Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
    }

    /// Starts it again on the same port and directory (its AOF is replayed).
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.kill();
    }
}

fn redis_binary() -> PathBuf {
    std::env::var_os("REDIS_SERVER")
        .map(PathBuf::from)
        .unwrap_or_else(|| "redis-server".into())
}

fn free_port() -> u16 {
    loop {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        if port != 6379 {
            return port;
        }
    }
}

/// A `herald serve --redis` process; SIGKILLed when dropped.
pub struct Node {
    child: Child,
    pub addr: SocketAddr,
    _data: tempfile::TempDir,
}

impl Node {
    pub fn start(redis: &Redis, extra: &[&str]) -> Node {
        let data = tempfile::tempdir().expect("temp dir");
        let url = redis.url();
        let mut args: Vec<&OsStr> = ["--host", "127.0.0.1", "--port", "0", "--data-dir"]
            .map(OsStr::new)
            .to_vec();
        args.push(data.path().as_os_str());
        args.extend(["--redis", &url, "--redis-timeout-ms", "500"].map(OsStr::new));
        args.extend(extra.iter().map(OsStr::new));
        let (child, addr) = crate::server_support::spawn_serve(&args);
        Node {
            child,
            addr,
            _data: data,
        }
    }

    /// SIGKILL, no goodbye.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Whether the process is still running.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}
