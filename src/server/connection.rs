//! One WebSocket connection, served by one task and written by whoever has a frame for it.
//!
//! The socket is split: the task reads requests (tungstenite parses the frames), and every
//! write goes through the connection's [`SocketWriter`], which the engine's fan-out also uses
//! directly (it is the connection's [`crate::delivery::Outlet`]): a notification is written into
//! the socket by the thread that produced it, with no queue and no wake-up of this task, unless
//! the socket would block; then the writer keeps a bounded backlog and wakes this task to write
//! it as the socket drains.
//!
//! The task waits on four things at once: a frame from the client, its writer asking for it
//! (a backlog, too slow, broken), the server's shutdown, and the idle timer.
//!
//! * Requests are answered in order, inline, in rounds: the task holds the writer while it
//!   answers the requests already received (up to a batch), then lets go, and what waits goes
//!   out in one `writev`. Notifications a request causes for this same connection are written
//!   (or wait) before its response, as in Kuzzle.
//! * A connection whose socket stays blocked (its client does not read) is not read meanwhile
//!   either, which back-pressure wants anyway; the wait is bounded by the write timeout and by
//!   the writer's limits.
//! * A client that cannot keep up overflows its writer's limits; the writer refuses further
//!   frames and wakes the task, which closes the connection with 1011 and a reason. Nothing
//!   else waits for it.
//! * When the connection ends, it leaves the engine (`Hub::disconnect`: presence `out` to the
//!   remaining members) before the close frame is written, then the socket is dropped.
//! * tungstenite reads into a buffer it zeroes before every read: [`socket_config`] keeps it
//!   small (most requests are a few hundred bytes), which is also what keeps an idle
//!   connection cheap.
//!
//! Nothing from the client can panic this task: bad frames get error responses.

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::pin::{pin, Pin};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

use bytes::{Buf, Bytes};
use futures_util::{FutureExt, SinkExt, StreamExt};
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::tcp::OwnedReadHalf;
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::WebSocketStream;

use super::limits::RateLimit;
use super::socket_writer::{Pressure, SocketWriter};
use super::{blocking, State};
use crate::delivery::ConnectionId;
use crate::protocol::{self, Context, Incoming, KuzzleError, Request};

/// The socket of one connection as tungstenite sees it: reads from the socket, writes (its
/// pongs and close frames) into the connection's writer.
type Socket = WebSocketStream<Split>;

/// Why the server ends a connection: the close code and reason to send, or `None` when the
/// client is gone (or the socket failed) and there is nobody to tell.
type Close = Option<(u16, &'static str)>;

/// Close codes. Never 1000 for a server-side close: the SDK would not reconnect.
const GOING_AWAY: u16 = 1001;
const INVALID_DATA: u16 = 1007;
const TOO_BIG: u16 = 1009;
const TRY_AGAIN: u16 = 1011;
const SHUTTING_DOWN: Close = Some((GOING_AWAY, "server shutting down"));
const TOO_SLOW: Close = Some((TRY_AGAIN, "too much backpressure: client is too slow"));

/// Requests answered per round (one write), at most.
const BATCH: usize = 64;
/// tungstenite's read buffer, allocated per connection and zeroed before each read.
const READ_BUFFER: usize = 1024;

/// The WebSocket settings of every connection.
pub(crate) fn socket_config(max_frame_bytes: usize) -> WebSocketConfig {
    // Above the protocol limit, messages are answered with an error; far above it, the
    // WebSocket layer refuses to buffer them and the socket is closed (1009).
    let hard_limit = max_frame_bytes.saturating_mul(4).max(1 << 16);
    WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER)
        // tungstenite writes only control frames, each straight into the writer.
        .write_buffer_size(0)
        .max_message_size(Some(hard_limit))
        .max_frame_size(Some(hard_limit))
}

/// Serves an upgraded connection until it ends.
pub(crate) async fn serve(upgraded: Upgraded, state: Arc<State>, peer: SocketAddr) {
    // The server's own accept loop hands hyper plain TCP streams: the socket is split so that
    // the engine can write into it while this task reads.
    let parts = match upgraded.downcast::<TokioIo<TcpStream>>() {
        Ok(parts) => parts,
        Err(_) => {
            tracing::warn!(%peer, "websocket upgrade on an unexpected transport: closed");
            return;
        }
    };
    let (read, write) = parts.io.into_inner().into_split();
    let writer = Arc::new(SocketWriter::new(write));
    let split = Split {
        read,
        // Bytes the client sent right after its handshake, already read by hyper: copied, so
        // that hyper's read buffer, which they share, is freed now.
        early: Bytes::copy_from_slice(&parts.read_buf),
        writer: Arc::clone(&writer),
    };
    let config = socket_config(state.config.max_frame_bytes);
    let socket = WebSocketStream::from_raw_socket(split, Role::Server, Some(config)).await;
    let connection = state.hub.connect(None);
    state.queues.attach(connection, writer.clone());
    state.hub.metrics().websocket(1);
    tracing::debug!(%connection, %peer, "websocket open");
    let mut session = Session {
        socket,
        writer,
        state: &state,
        connection,
        flush_pending: false,
        rate: RateLimit::new(state.config.max_requests_per_second),
    };
    let close = match session.run().await {
        Err(close) => close,
        Ok(never) => match never {},
    };
    // Leave the rooms now (presence `out` to the others), not after the close frame.
    state.hub.disconnect(connection);
    session.close(close).await;
    state.hub.metrics().websocket(-1);
    match close {
        Some((code, reason)) => {
            tracing::info!(%connection, %peer, code, reason, "websocket closed by the server")
        }
        None => tracing::debug!(%connection, %peer, "websocket closed"),
    }
}

/// What woke the connection task.
enum Event {
    Shutdown,
    Writer,
    Read(Option<Result<Message, WsError>>),
    IdleCheck,
}

struct Session<'a> {
    socket: Socket,
    writer: Arc<SocketWriter>,
    state: &'a State,
    connection: ConnectionId,
    /// tungstenite queued a reply of its own (a pong, a close) that only a flush sends.
    flush_pending: bool,
    /// Requests this connection may still send now.
    rate: RateLimit,
}

impl Session<'_> {
    /// Serves the connection until it ends; returns how to close it.
    async fn run(&mut self) -> Result<Infallible, Close> {
        let idle_timeout = self.state.config.idle_timeout;
        let shutdown = self.state.shutdown.clone();
        // Created once: re-creating these futures on every wake-up costs more than the
        // wake-up itself.
        let mut shutdown = pin!(shutdown.cancelled());
        let mut idle = pin!(tokio::time::sleep(idle_timeout));
        let mut last_read = Instant::now();
        loop {
            // The shutdown future is polled only when nothing else is ready: the flag checked
            // below catches a shutdown under constant traffic.
            let event = tokio::select! {
                biased;
                read = self.socket.next() => Event::Read(read),
                () = self.writer.wanted() => Event::Writer,
                () = &mut shutdown => Event::Shutdown,
                () = &mut idle => Event::IdleCheck,
            };
            if self.state.stopping.load(Ordering::Acquire) {
                return Err(SHUTTING_DOWN);
            }
            match event {
                Event::Shutdown => return Err(SHUTTING_DOWN),
                // Checked below, as after every round.
                Event::Writer => {}
                Event::Read(read) => {
                    last_read = Instant::now();
                    self.writer.hold();
                    let answered = self.answer_round(read);
                    self.writer.release();
                    answered?;
                }
                Event::IdleCheck => {
                    let deadline = last_read + idle_timeout;
                    if Instant::now() >= deadline {
                        tracing::debug!(connection = %self.connection, "idle timeout");
                        return Err(Some((GOING_AWAY, "idle timeout")));
                    }
                    idle.as_mut().reset(deadline);
                    continue;
                }
            }
            self.flush().await?;
        }
    }

    /// Answers a read and the requests already received after it (pipelined), up to a batch.
    /// Finding more than one means this task is behind: its deliveries are then batched
    /// ([`Pressure`]).
    fn answer_round(&mut self, read: Option<Result<Message, WsError>>) -> Result<(), Close> {
        let mut reads = vec![read];
        while reads.len() < BATCH {
            match self.socket.next().now_or_never() {
                Some(read) => reads.push(read),
                None => break,
            }
        }
        let _pressure = Pressure::new(reads.len() > 1);
        reads.into_iter().try_for_each(|read| self.on_read(read))
    }

    /// Handles one read from the socket.
    fn on_read(&mut self, read: Option<Result<Message, WsError>>) -> Result<(), Close> {
        let message = match read {
            None => return Err(None),
            Some(Ok(message)) => message,
            Some(Err(WsError::Capacity(e))) => {
                tracing::debug!(connection = %self.connection, error = %e, "message too big");
                return Err(Some((TOO_BIG, "message too big")));
            }
            // RFC 6455 7.4.1: 1007 for a text message that is not UTF-8.
            Some(Err(WsError::Utf8(e))) => {
                tracing::debug!(connection = %self.connection, error = %e, "invalid UTF-8");
                return Err(Some((INVALID_DATA, "text message is not valid UTF-8")));
            }
            Some(Err(e)) => {
                tracing::debug!(connection = %self.connection, error = %e, "websocket read error");
                return Err(None);
            }
        };
        let bytes: &[u8] = match &message {
            Message::Text(text) => text.as_bytes(),
            Message::Binary(bytes) => bytes,
            // tungstenite queued the answer (pong, or the close handshake's reply).
            Message::Ping(_) => {
                self.flush_pending = true;
                return Ok(());
            }
            Message::Close(_) => {
                self.flush_pending = true;
                return Err(None);
            }
            Message::Pong(_) | Message::Frame(_) => return Ok(()),
        };
        let reply = self.answer(bytes);
        // Notifications this request caused for this connection are already in the writer,
        // before its response.
        self.writer.send(Bytes::from(reply));
        Ok(())
    }

    /// The response frame to one request frame.
    fn answer(&mut self, bytes: &[u8]) -> String {
        let limit = self.state.config.max_frame_bytes;
        if bytes.len() > limit {
            return protocol::too_large(bytes, limit).to_string();
        }
        match protocol::parse(bytes) {
            Incoming::Ping => protocol::PONG.to_owned(),
            Incoming::Rejected(value) => value.to_string(),
            Incoming::Request(request) => {
                let ctx = Context {
                    hub: &self.state.hub,
                    connection: Some(self.connection),
                    protocol: "websocket",
                };
                let started = std::time::Instant::now();
                // Over its budget, a request is answered without being run.
                let outcome = if let Some(refused) = self.rate_refusal(&request) {
                    Err(refused)
                } else if touches_store(&request) {
                    blocking(|| protocol::dispatch(&ctx, &request))
                } else {
                    protocol::dispatch(&ctx, &request)
                };
                if let Err(e) = &outcome {
                    tracing::debug!(connection = %self.connection, controller = %request.controller, action = %request.action, error = %e, "request failed");
                }
                let status = outcome.as_ref().map_or_else(|e| e.status, |_| 200);
                let metrics = self.state.hub.metrics();
                metrics.request(
                    &request.controller,
                    &request.action,
                    status,
                    started.elapsed(),
                );
                let node = &self.state.hub.config().node;
                protocol::response(&request, &outcome, node, true).to_string()
            }
        }
    }

    /// The 429 answer when this connection, or the user it is bound to, has no request left
    /// in its budget.
    fn rate_refusal(&mut self, request: &Request) -> Option<KuzzleError> {
        let config = &self.state.config;
        if !self.rate.take() {
            return Some(KuzzleError::too_many_requests(
                "this connection",
                config.max_requests_per_second,
            ));
        }
        let identity = self
            .state
            .hub
            .identities()
            .identity(self.connection, request.timestamp)?;
        (!self.state.user_rates.take(identity.kuid.as_arc())).then(|| {
            KuzzleError::too_many_requests("this user", config.max_requests_per_second_per_user)
        })
    }

    /// After a round or a wake-up: ends a connection the writer gave up on, and writes what
    /// waits (tungstenite's replies, a backlog the socket did not take). A blocked socket is
    /// waited for, bounded by the write timeout, and abandoned as soon as the connection turns
    /// out too slow meanwhile.
    async fn flush(&mut self) -> Result<(), Close> {
        if self.writer.is_too_slow() {
            return Err(TOO_SLOW);
        }
        if self.writer.is_broken() {
            return Err(None);
        }
        if self.flush_pending {
            self.flush_pending = false;
            // Never waits: tungstenite's bytes go into the writer.
            self.socket.flush().await.map_err(|_| None)?;
        }
        if !self.writer.must_drain() {
            return Ok(());
        }
        let writer = &self.writer;
        let mut drained = pin!(tokio::time::timeout(
            self.state.config.write_timeout,
            writer.drain()
        ));
        loop {
            tokio::select! {
                drained = &mut drained => return match drained {
                    Ok(Ok(())) => Ok(()),
                    Ok(Err(_)) | Err(_) => Err(None),
                },
                () = writer.wanted() => if writer.is_too_slow() {
                    return Err(TOO_SLOW);
                },
            }
        }
    }

    /// Ends the connection: the close frame if there is one to send, or whatever reply
    /// tungstenite still holds. Bounded: a client too slow to read may not take it.
    async fn close(&mut self, close: Close) {
        let timeout = self.state.config.write_timeout;
        if close == TOO_SLOW {
            self.writer.discard_backlog();
        }
        let written = match close {
            Some((code, reason)) => {
                let frame = CloseFrame {
                    code: CloseCode::from(code),
                    reason: reason.into(),
                };
                self.socket.send(Message::Close(Some(frame))).await
            }
            None if self.flush_pending => self.socket.flush().await,
            None => return,
        };
        if written.is_ok() {
            let _ = tokio::time::timeout(timeout, self.writer.drain()).await;
        }
    }
}

/// Whether a request may wait on the disk (document writes are durable when answered) or
/// compute for a while (a subscription compiles its filter: bounded by the filter limits, but
/// up to tens of milliseconds for a large polygon or many regexps): it then runs where
/// blocking is allowed, so that the other connections of this worker are not held up.
/// Everything else is in memory and quick, and runs inline.
fn touches_store(request: &Request) -> bool {
    matches!(
        request.controller.as_str(),
        "document" | "index" | "collection" | "notifications"
    ) || (request.controller == "realtime" && request.action == "subscribe")
}

/// The socket as tungstenite sees it: reads come from the read half (after the bytes hyper
/// read past the handshake), writes go into the connection's [`SocketWriter`] and never wait.
struct Split {
    read: OwnedReadHalf,
    early: Bytes,
    writer: Arc<SocketWriter>,
}

impl AsyncRead for Split {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.early.has_remaining() {
            let n = self.early.len().min(buf.remaining());
            buf.put_slice(&self.early[..n]);
            self.early.advance(n);
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.read).poll_read(cx, buf)
    }
}

impl AsyncWrite for Split {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut TaskContext<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Poll::Ready(if self.writer.send_framed(buf) {
            Ok(buf.len())
        } else {
            Err(io::ErrorKind::BrokenPipe.into())
        })
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut TaskContext<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut TaskContext<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
