//! Shared helpers of the server tests: a real server on port 0, a raw WebSocket client
//! (tokio-tungstenite) and a minimal HTTP/1.1 client.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use herald::server::{self, Config};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub const WAIT: Duration = Duration::from_secs(5);

/// Spawns `herald serve` (the built binary) with `args` (which should include `--port 0`);
/// returns the child and its address, read from its logs (which keep being drained).
pub fn spawn_serve(args: &[&std::ffi::OsStr]) -> (std::process::Child, SocketAddr) {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_herald"))
        .arg("serve")
        .args(args)
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn herald");
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = BufReader::new(stderr).lines();
    let port = loop {
        let line = lines.next().expect("a log line").expect("readable log");
        if let Some(at) = line.find("address=") {
            let addr: SocketAddr = line[at + "address=".len()..]
                .split_whitespace()
                .next()
                .and_then(|a| a.parse().ok())
                .expect("listening address");
            break addr.port();
        }
    };
    // Keep draining the logs so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (child, SocketAddr::from(([127, 0, 0, 1], port)))
}

pub struct Server {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    handle: JoinHandle<std::io::Result<()>>,
}

impl Server {
    pub async fn start() -> Server {
        Server::start_with(Config::default()).await
    }

    pub async fn start_with(config: Config) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (stop, stopped) = oneshot::channel::<()>();
        let handle = tokio::spawn(server::run(listener, config, async move {
            let _ = stopped.await;
        }));
        Server {
            addr,
            stop: Some(stop),
            handle,
        }
    }

    pub async fn client(&self) -> Client {
        Client::connect(self.addr).await
    }

    /// Graceful shutdown; waits for `run` to return.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let result = tokio::time::timeout(Duration::from_secs(10), &mut self.handle)
            .await
            .expect("server stops in time");
        result.expect("server task").expect("server result");
    }
}

pub struct Client {
    pub ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    pending: VecDeque<Value>,
    next_id: u64,
}

impl Client {
    pub async fn connect(addr: SocketAddr) -> Client {
        let (ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/"))
            .await
            .expect("websocket connect");
        Client::from_socket(ws)
    }

    /// A client on a WebSocket opened by the test itself.
    pub fn from_socket(ws: WebSocketStream<MaybeTlsStream<TcpStream>>) -> Client {
        Client {
            ws,
            pending: VecDeque::new(),
            next_id: 0,
        }
    }

    pub async fn send_text(&mut self, text: &str) {
        self.ws
            .send(Message::text(text.to_owned()))
            .await
            .expect("send");
    }

    /// The next JSON frame from the socket (ignoring control frames), or `None` if the socket
    /// closed (with its close frame, if any).
    pub async fn read(&mut self) -> Result<Value, Option<(CloseCode, String)>> {
        loop {
            let next = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("a frame in time");
            match next {
                Some(Ok(Message::Text(t))) => {
                    return Ok(serde_json::from_str(t.as_str()).expect("json frame"))
                }
                Some(Ok(Message::Binary(b))) => {
                    return Ok(serde_json::from_slice(&b).expect("json frame"))
                }
                Some(Ok(Message::Close(frame))) => {
                    return Err(frame.map(|f| (f.code, f.reason.as_str().to_owned())))
                }
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return Err(None),
            }
        }
    }

    /// The next frame, queued ones first.
    pub async fn next_frame(&mut self) -> Value {
        if let Some(v) = self.pending.pop_front() {
            return v;
        }
        self.read().await.expect("socket open")
    }

    /// Sends a request (a `requestId` is added if missing) and returns its response; other
    /// frames received meanwhile are kept for `next_frame`.
    pub async fn request(&mut self, mut request: Value) -> Value {
        if request.get("requestId").is_none() {
            self.next_id += 1;
            request["requestId"] = json!(format!("req-{}", self.next_id));
        }
        let id = request["requestId"].clone();
        self.send_text(&request.to_string()).await;
        loop {
            let frame = self.read().await.expect("socket open");
            if frame.get("requestId") == Some(&id) && frame.get("type").is_none() {
                return frame;
            }
            self.pending.push_back(frame);
        }
    }

    /// A request expected to succeed: its `result`.
    pub async fn ok(&mut self, request: Value) -> Value {
        let response = self.request(request).await;
        assert_eq!(response["status"], 200, "{response}");
        assert_eq!(response["error"], Value::Null);
        response["result"].clone()
    }

    /// A request expected to fail: its `error`.
    pub async fn fail(&mut self, request: Value) -> Value {
        let response = self.request(request).await;
        assert_ne!(response["status"], 200, "{response}");
        assert_eq!(response["error"]["status"], response["status"]);
        assert_eq!(response["room"], response["requestId"]);
        response["error"].clone()
    }

    /// Subscribes; returns (roomId, channel).
    pub async fn subscribe(
        &mut self,
        index: &str,
        collection: &str,
        filter: Value,
        extra: Value,
    ) -> (String, String) {
        let mut request = json!({"controller":"realtime","action":"subscribe","index":index,"collection":collection,"body":filter});
        if let Value::Object(extra) = extra {
            for (k, v) in extra {
                request[k] = v;
            }
        }
        let result = self.ok(request).await;
        (
            result["roomId"].as_str().expect("roomId").to_owned(),
            result["channel"].as_str().expect("channel").to_owned(),
        )
    }

    /// Asserts that no frame arrives within `ms` milliseconds.
    pub async fn silent(&mut self, ms: u64) {
        assert!(
            self.pending.is_empty(),
            "unexpected frame {:?}",
            self.pending
        );
        if let Ok(next) = tokio::time::timeout(Duration::from_millis(ms), self.ws.next()).await {
            match next {
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                other => panic!("unexpected frame {other:?}"),
            }
        }
    }

    /// Waits for the server to close the socket; returns the close code and reason.
    pub async fn closed(&mut self) -> Option<(CloseCode, String)> {
        loop {
            match self.read().await {
                Ok(_) => continue,
                Err(close) => return close,
            }
        }
    }
}

/// One HTTP/1.1 request (`Connection: close`); returns the status and the JSON body.
pub async fn http(addr: SocketAddr, method: &str, path: &str, body: Option<&str>) -> (u16, Value) {
    http_with(addr, method, path, "", body).await
}

/// Same, with extra header lines (each ending with `\r\n`).
pub async fn http_with(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &str,
    body: Option<&str>,
) -> (u16, Value) {
    let body = body.unwrap_or("");
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: herald\r\nConnection: close\r\nContent-Type: application/json\r\n{headers}Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let (status, head, rest) = exchange(addr, &request).await;
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(&rest)
    } else {
        rest
    };
    let value = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&body).expect("json body")
    };
    (status, value)
}

fn dechunk(mut rest: &str) -> String {
    let mut out = String::new();
    while let Some((size, tail)) = rest.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).expect("chunk size");
        if n == 0 {
            break;
        }
        out.push_str(&tail[..n]);
        rest = &tail[n + 2..];
    }
    out
}

/// One raw HTTP/1.1 request; returns the status and the body as text.
pub async fn get(addr: SocketAddr, path: &str, headers: &str) -> (u16, String) {
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: herald\r\nConnection: close\r\n{headers}\r\n");
    let (status, head, body) = exchange(addr, &request).await;
    assert!(
        !head.to_ascii_lowercase().contains("chunked"),
        "plain body expected"
    );
    (status, body)
}

/// Sends a raw request on a new connection; returns the status, the head and the raw body.
async fn exchange(addr: SocketAddr, request: &str) -> (u16, String, String) {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut raw = Vec::new();
    tokio::time::timeout(WAIT, stream.read_to_end(&mut raw))
        .await
        .expect("response in time")
        .expect("read");
    let text = String::from_utf8(raw).expect("utf-8 response");
    let (head, body) = text.split_once("\r\n\r\n").expect("headers");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status");
    (status, head.to_owned(), body.to_owned())
}

/// The samples of an exposition: `name{labels}` -> value.
pub fn samples(text: &str) -> std::collections::BTreeMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| {
            let (name, value) = l.rsplit_once(' ')?;
            Some((name.to_owned(), value.parse().ok()?))
        })
        .collect()
}

pub async fn scrape(addr: SocketAddr) -> std::collections::BTreeMap<String, f64> {
    let (status, text) = get(addr, "/metrics", "").await;
    assert_eq!(status, 200, "{text}");
    assert!(text.ends_with("# EOF\n"), "OpenMetrics text: {text}");
    samples(&text)
}
