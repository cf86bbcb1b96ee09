//! One WebSocket connection: a reader and a writer running side by side.
//!
//! * The reader parses each frame, answers heartbeats, dispatches requests to the engine and
//!   hands the responses to the writer (bounded: a client that does not read its responses
//!   stops being read).
//! * The writer sends the connection's notifications (its [`Inbox`]) and the responses. It
//!   always takes queued notifications first, so notifications caused by a request go out
//!   before that request's response, as in Kuzzle. Frames are written in batches and flushed
//!   when nothing else is ready.
//! * A client that cannot keep up overflows its bounded queue; the engine then flags it and
//!   detaches its queue, and the writer closes the socket with 1011 and a reason. Nothing
//!   else waits for it. A write that stalls longer than the write timeout drops the socket.
//! * When either side ends, the connection leaves the engine (`Hub::disconnect`: presence
//!   `out` to the remaining members) and the socket is closed.
//!
//! Nothing from the client can panic this task: bad frames get error responses.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use warp::ws::{Message, WebSocket};

use super::{blocking, State};
use crate::delivery::{Frame, Inbox};
use crate::protocol::{self, Context, Incoming, KuzzleError};

/// Close codes. Never 1000 for a server-side close: the SDK would not reconnect.
const GOING_AWAY: u16 = 1001;
const TOO_BIG: u16 = 1009;
const TRY_AGAIN: u16 = 1011;

/// Responses waiting for the writer, per connection.
const RESPONSE_QUEUE: usize = 64;
/// Frames written before a flush.
const BATCH: usize = 64;

pub(crate) async fn serve(socket: WebSocket, state: Arc<State>, peer: Option<SocketAddr>) {
    let connection = state.hub.connect(None);
    let inbox = state.queues.open(connection);
    let peer = peer.map_or_else(|| "unknown".to_owned(), |p| p.to_string());
    tracing::debug!(%connection, %peer, "websocket open");
    let (sink, stream) = socket.split();
    let (responses, pending) = mpsc::channel(RESPONSE_QUEUE);
    // Cancelled when the writer is done (it alone handles shutdown, so that the close frame
    // goes out before the socket is dropped), so the reader stops too.
    let done = CancellationToken::new();
    let reader = read(stream, &state, connection, responses, done.clone());
    let writer = write(sink, inbox, pending, &state, done.clone());
    let (_, close) = tokio::join!(
        async {
            reader.await;
            // Leave the rooms as soon as the client is gone (presence `out`), which also
            // closes the inbox and lets the writer finish.
            state.hub.disconnect(connection);
        },
        writer
    );
    match close {
        Some((code, reason)) => {
            tracing::info!(%connection, %peer, code, reason, "websocket closed by the server")
        }
        None => tracing::debug!(%connection, %peer, "websocket closed"),
    }
}

async fn read(
    mut stream: SplitStream<WebSocket>,
    state: &State,
    connection: crate::delivery::ConnectionId,
    responses: mpsc::Sender<Message>,
    done: CancellationToken,
) {
    let limit = state.config.max_frame_bytes;
    let node = state.hub.config().node.clone();
    loop {
        let next = tokio::select! {
            () = done.cancelled() => return,
            next = tokio::time::timeout(state.config.idle_timeout, stream.next()) => match next {
                Ok(next) => next,
                Err(_) => {
                    tracing::debug!(%connection, "idle timeout");
                    let _ = responses.send(Message::close_with(GOING_AWAY, "idle timeout")).await;
                    return;
                }
            },
        };
        let message = match next {
            None => return,
            Some(Ok(message)) => message,
            Some(Err(e)) => {
                let text = e.to_string();
                if text.contains("too long") || text.contains("Space limit") {
                    let _ = responses
                        .send(Message::close_with(TOO_BIG, "message too big"))
                        .await;
                }
                tracing::debug!(%connection, error = %text, "websocket read error");
                return;
            }
        };
        if message.is_close() {
            return;
        }
        // Pings are answered by the WebSocket layer (flushed on the next read); pongs ignored.
        if !message.is_text() && !message.is_binary() {
            continue;
        }
        let bytes = message.as_bytes();
        let reply = if bytes.len() > limit {
            let error = KuzzleError::request_too_large(bytes.len(), limit);
            serde_json::json!({"status": error.status, "error": error.to_json(), "result": null})
                .to_string()
        } else {
            match protocol::parse(bytes) {
                Incoming::Ping => protocol::PONG.to_owned(),
                Incoming::Rejected(value) => value.to_string(),
                Incoming::Request(request) => {
                    let ctx = Context {
                        hub: &state.hub,
                        connection: Some(connection),
                        protocol: "websocket",
                    };
                    let outcome = blocking(|| protocol::dispatch(&ctx, &request));
                    if let Err(e) = &outcome {
                        tracing::debug!(%connection, controller = %request.controller, action = %request.action, error = %e, "request failed");
                    }
                    protocol::response(&request, &outcome, &node, true).to_string()
                }
            }
        };
        if responses.send(Message::text(reply)).await.is_err() {
            return;
        }
    }
}

/// Writes until the connection ends; returns the close code and reason it sent, if any.
async fn write(
    mut sink: SplitSink<WebSocket, Message>,
    mut inbox: Inbox,
    mut responses: mpsc::Receiver<Message>,
    state: &State,
    done: CancellationToken,
) -> Option<(u16, &'static str)> {
    const TOO_SLOW: (u16, &str) = (TRY_AGAIN, "too much backpressure: client is too slow");
    let timeout = state.config.write_timeout;
    // False once the engine forgot the connection (the reader ended): the last responses
    // (a close frame, say) still go out.
    let mut subscribed = true;
    let close = loop {
        let first = tokio::select! {
            biased;
            () = state.shutdown.cancelled() => break Some((GOING_AWAY, "server shutting down")),
            frame = inbox.recv(), if subscribed => match frame {
                Some(frame) => frame_message(frame),
                None if inbox.is_too_slow() => break Some(TOO_SLOW),
                None if state.shutdown.is_cancelled() => break Some((GOING_AWAY, "server shutting down")),
                None => {
                    subscribed = false;
                    continue;
                }
            },
            response = responses.recv() => match response {
                Some(message) => message,
                None => break None,
            },
        };
        if inbox.is_too_slow() {
            break Some(TOO_SLOW);
        }
        let batch = gather(first, &mut inbox, &mut responses);
        let closing = batch.last().is_some_and(Message::is_close);
        let send = async {
            for message in batch {
                sink.feed(message).await?;
            }
            sink.flush().await
        };
        // A write blocked by a client that does not read must not hide that its queue
        // overflowed meanwhile.
        let overflow = async {
            while !inbox.is_too_slow() {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        };
        tokio::select! {
            sent = tokio::time::timeout(timeout, send) => match sent {
                Ok(Ok(())) if !closing => {}
                _ => break None,
            },
            () = overflow => break Some(TOO_SLOW),
        }
    };
    // Stop the reader first: the connection leaves its rooms now, not after the close frame.
    done.cancel();
    if let Some((code, reason)) = close {
        // A client too slow to read may not take the close frame either: bounded wait.
        let _ = tokio::time::timeout(timeout, sink.send(Message::close_with(code, reason))).await;
    }
    close
}

/// One message and whatever else is ready now (notifications first), up to a batch.
fn gather(
    first: Message,
    inbox: &mut Inbox,
    responses: &mut mpsc::Receiver<Message>,
) -> Vec<Message> {
    let mut batch = vec![first];
    if batch[0].is_close() {
        return batch;
    }
    while batch.len() < BATCH {
        let next = match inbox.try_recv() {
            Some(frame) => frame_message(frame),
            None => match responses.try_recv() {
                Ok(message) => message,
                Err(_) => break,
            },
        };
        let closing = next.is_close();
        batch.push(next);
        if closing {
            break;
        }
    }
    batch
}

/// A queued notification as a text message (frames are serialized JSON, so valid UTF-8).
fn frame_message(frame: Frame) -> Message {
    match String::from_utf8(frame.to_vec()) {
        Ok(text) => Message::text(text),
        Err(_) => Message::binary(frame),
    }
}
