//! One WebSocket connection, served by one task.
//!
//! The task waits on three things at once: a frame from the client, a notification in the
//! connection's [`Inbox`], and the server's shutdown. Whatever wakes it, it then takes what
//! else is ready without waiting (more notifications, more pipelined requests, up to a
//! batch), writes it all and flushes once: one `write` system call per wake-up rather than per
//! frame, which is most of what a notification costs.
//!
//! * Requests are answered in order, inline. Notifications a request causes for this same
//!   connection land in its inbox during dispatch, and the inbox is drained before the
//!   response is written, so they precede the response, as in Kuzzle.
//! * One task rather than a reader and a writer: no channel between them and no lock around a
//!   split socket. The price is that a connection whose write is blocked (its client does not
//!   read) is not read meanwhile either, which back-pressure wants anyway; such a write is
//!   bounded by the write timeout and by the overflow of the connection's queue.
//! * A client that cannot keep up overflows its bounded queue; the engine then flags it and
//!   detaches its queue, and the connection is closed with 1011 and a reason. Nothing else
//!   waits for it.
//! * When the connection ends, it leaves the engine (`Hub::disconnect`: presence `out` to the
//!   remaining members) before the close frame is written, then the socket is dropped.
//! * tungstenite reads into a buffer it zeroes before every read: [`socket_config`] keeps it
//!   small (most requests are a few hundred bytes), which is also what keeps an idle
//!   connection cheap.
//!
//! Nothing from the client can panic this task: bad frames get error responses.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{FutureExt, SinkExt, StreamExt};
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Error as WsError, Message, Utf8Bytes};
use tokio_tungstenite::WebSocketStream;

use super::limits::RateLimit;
use super::{blocking, State};
use crate::delivery::{ConnectionId, Frame, Inbox};
use crate::protocol::{self, Context, Incoming, KuzzleError, Request};

/// The socket of one connection, after the HTTP upgrade.
pub(crate) type Socket = WebSocketStream<TokioIo<Upgraded>>;

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

/// Frames written per flush, at most.
const BATCH: usize = 64;
/// tungstenite's read buffer, allocated per connection and zeroed before each read.
const READ_BUFFER: usize = 1024;
/// Bytes tungstenite buffers before writing on its own; batches are flushed explicitly.
const WRITE_BUFFER: usize = 64 * 1024;

/// The WebSocket settings of every connection.
pub(crate) fn socket_config(max_frame_bytes: usize) -> WebSocketConfig {
    // Above the protocol limit, messages are answered with an error; far above it, the
    // WebSocket layer refuses to buffer them and the socket is closed (1009).
    let hard_limit = max_frame_bytes.saturating_mul(4).max(1 << 16);
    WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(WRITE_BUFFER)
        .max_message_size(Some(hard_limit))
        .max_frame_size(Some(hard_limit))
}

pub(crate) async fn serve(socket: Socket, state: Arc<State>, peer: SocketAddr) {
    let connection = state.hub.connect(None);
    let inbox = state.queues.open(connection);
    state.hub.metrics().websocket(1);
    tracing::debug!(%connection, %peer, "websocket open");
    let mut session = Session {
        socket,
        inbox,
        state: &state,
        connection,
        out: Vec::with_capacity(4),
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
    Notification(Option<Frame>),
    Read(Option<Result<Message, WsError>>),
    IdleCheck,
}

struct Session<'a> {
    socket: Socket,
    inbox: Inbox,
    state: &'a State,
    connection: ConnectionId,
    /// Frames to write at the next flush, in order.
    out: Vec<Message>,
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
                frame = self.inbox.recv() => Event::Notification(frame),
                () = &mut shutdown => Event::Shutdown,
                () = &mut idle => Event::IdleCheck,
            };
            if self.state.stopping.load(Ordering::Acquire) {
                return Err(SHUTTING_DOWN);
            }
            match event {
                Event::Shutdown => return Err(SHUTTING_DOWN),
                Event::Notification(Some(frame)) => self.out.push(text(frame)),
                // The queue is gone: the client was too slow, or the engine is shutting down
                // (the connection itself leaves the engine only after this loop).
                Event::Notification(None) => {
                    return Err(if self.inbox.is_too_slow() {
                        TOO_SLOW
                    } else {
                        SHUTTING_DOWN
                    });
                }
                Event::Read(read) => {
                    last_read = Instant::now();
                    self.on_read(read)?;
                    // Pipelined requests already received: answer them in the same write.
                    while self.out.len() < BATCH {
                        match self.socket.next().now_or_never() {
                            Some(read) => self.on_read(read)?,
                            None => break,
                        }
                    }
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
            self.take_notifications()?;
            self.flush().await?;
        }
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
        // Notifications this request caused for this connection go out before its response.
        self.take_notifications()?;
        self.out.push(Message::Text(reply.into()));
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

    /// Moves the notifications queued now into the batch. A connection flagged too slow is
    /// closed rather than served what is left.
    fn take_notifications(&mut self) -> Result<(), Close> {
        while self.out.len() < BATCH {
            match self.inbox.try_recv() {
                Some(frame) => self.out.push(text(frame)),
                None => break,
            }
        }
        if self.inbox.is_too_slow() {
            return Err(TOO_SLOW);
        }
        Ok(())
    }

    /// Writes the batch. Usually the socket takes it at once; a write that blocks is bounded
    /// by the write timeout, and abandoned as soon as the queue overflows meanwhile.
    async fn flush(&mut self) -> Result<(), Close> {
        if self.out.is_empty() && !self.flush_pending {
            return Ok(());
        }
        self.flush_pending = false;
        let write_timeout = self.state.config.write_timeout;
        let Session {
            socket, out, inbox, ..
        } = &mut *self;
        let mut send = pin!(async {
            for message in out.drain(..) {
                socket.feed(message).await?;
            }
            socket.flush().await
        });
        let sent = match send.as_mut().now_or_never() {
            Some(sent) => sent,
            None => {
                let overflow = async {
                    while !inbox.is_too_slow() {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                };
                tokio::select! {
                    sent = tokio::time::timeout(write_timeout, send) => match sent {
                        Ok(sent) => sent,
                        Err(_) => return Err(None),
                    },
                    () = overflow => return Err(TOO_SLOW),
                }
            }
        };
        sent.map_err(|_| None)
    }

    /// Ends the connection: the close frame if there is one to send, or whatever reply
    /// tungstenite still holds. Bounded: a client too slow to read may not take it.
    async fn close(&mut self, close: Close) {
        let timeout = self.state.config.write_timeout;
        let _ = match close {
            Some((code, reason)) => {
                let frame = CloseFrame {
                    code: CloseCode::from(code),
                    reason: reason.into(),
                };
                tokio::time::timeout(timeout, self.socket.send(Message::Close(Some(frame)))).await
            }
            None if self.flush_pending => tokio::time::timeout(timeout, self.socket.flush()).await,
            None => return,
        };
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

/// A queued notification as a text message, sharing its bytes (frames are serialized JSON,
/// so valid UTF-8; checked all the same, since any [`crate::delivery::Delivery`] user may
/// queue frames).
fn text(frame: Frame) -> Message {
    match Utf8Bytes::try_from(frame.clone()) {
        Ok(text) => Message::Text(text),
        Err(_) => Message::Binary(frame),
    }
}
