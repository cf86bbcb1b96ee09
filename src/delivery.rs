//! Delivery: the seam between the room engine and the network.
//!
//! The engine never writes to a socket. It serializes each notification once per channel into a
//! [`Frame`] (shared, reference-counted bytes) and hands the frame to every connection of that
//! channel through one trait, [`Delivery`]. That single entry point is where the server plugs its
//! transports in, and where a cluster bus wraps the local delivery (it forwards what other
//! nodes must deliver and calls the local [`Delivery`] for what arrives from them).
//!
//! [`Queues`] is the standard implementation: it routes each connection's frames to one of two
//! kinds of consumer, registered per connection by the transport that serves it:
//!
//! * a **queue** ([`Queues::open`] → [`Inbox`]): frames wait in a `tokio::sync::mpsc` channel
//!   drained by the connection's task (`recv`, `try_recv`, `drain`). Any transport can consume
//!   it (Server-Sent Events, long polling, tests).
//! * an **outlet** ([`Queues::attach`] with an [`Outlet`]): the connection takes frames itself,
//!   without waking a task. The WebSocket server's writer is one: it writes a frame straight
//!   into the socket when nothing waits before it, and keeps a bounded backlog for its task
//!   only when the socket would block. At a few notifications per second per connection
//!   (nothing to coalesce), this is what brings a notification close to the cost of one `send`.
//!
//! Both are bounded by the same [`QueueLimits`] on what a connection leaves waiting (frames and
//! bytes).
//!
//! # Invariants
//!
//! * Delivering never blocks and never waits for a connection: a frame is offered, never
//!   awaited (an outlet may make one non-blocking system call). A connection over its limits
//!   cannot keep up; it is then flagged *too slow* and detached: an [`Inbox`] yields the frames
//!   already queued, then `None`; an outlet wakes its owner. The server closes such a
//!   connection with code 1011 (never 1000: the SDK would not reconnect) and calls the engine's
//!   `disconnect`. Other connections are never slowed down by a slow one.
//! * Order: the frames of one connection are consumed in the order they were offered (the
//!   engine offers them in notification order, under its locks).
//! * A frame is shared: handing it to ten thousand connections copies a pointer ten thousand
//!   times, not the bytes.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use parking_lot::RwLock;
use tokio::sync::mpsc;

use crate::rooms::FoldMap;

/// One serialized server-to-client message (a JSON text frame), shared by every recipient.
pub type Frame = Bytes;

/// Identifies one client connection for the life of the process. Allocated by the engine
/// (`Hub::connect`); never reused.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnectionId(u64);

impl ConnectionId {
    pub fn new(raw: u64) -> ConnectionId {
        ConnectionId(raw)
    }

    pub fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Debug for ConnectionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "conn#{}", self.0)
    }
}

impl fmt::Display for ConnectionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// What became of one frame offered to one connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivered {
    /// Taken by the connection: queued, or already written to its socket.
    Queued,
    /// The connection left more than its limits waiting: it is now flagged too slow and
    /// detached.
    TooSlow,
    /// No such (or no longer such) connection: the frame was dropped.
    Gone,
}

/// The one way frames leave the engine.
///
/// The engine calls it while holding its room lock (and, for document changes, the document's
/// lock): an implementation must return promptly and must not call back into the engine (a
/// slow connection is reported through its inbox, and the server then calls `disconnect`).
pub trait Delivery: Send + Sync {
    /// Offers a frame to a connection. Must not block.
    fn deliver(&self, connection: ConnectionId, frame: &Frame) -> Delivered;

    /// Offers one frame to many connections (a channel's); returns how many were offered.
    /// Implementations may override it to amortize per-call costs (locks).
    fn deliver_all(
        &self,
        connections: &mut dyn Iterator<Item = ConnectionId>,
        frame: &Frame,
    ) -> usize {
        let mut n = 0;
        for connection in connections {
            self.deliver(connection, frame);
            n += 1;
        }
        n
    }

    /// The engine forgot a connection (after `disconnect`). Default: nothing to do.
    fn closed(&self, _connection: ConnectionId) {}
}

/// How much a connection may leave waiting before it is declared too slow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueueLimits {
    /// Frames waiting, at most.
    pub frames: usize,
    /// Bytes waiting, at most (frames are shared, so this bounds what the connection holds
    /// on to, not what it alone costs).
    pub bytes: usize,
}

impl QueueLimits {
    /// A limit on frames only.
    pub fn frames(frames: usize) -> QueueLimits {
        QueueLimits {
            frames,
            bytes: usize::MAX,
        }
    }
}

/// A connection that takes its frames itself, registered with [`Queues::attach`]: no queue
/// between the engine and the transport, no task woken per frame.
///
/// `offer` is called from whichever thread delivers (the engine's, under its locks): it must
/// not block (one non-blocking system call at most), must keep the frames of its connection in
/// the order they are offered, and must bound what it keeps waiting by `limits`. Over them it
/// returns [`Delivered::TooSlow`], refuses every later frame, and makes its owner close the
/// connection (the owner then calls the engine's `disconnect`).
pub trait Outlet: Send + Sync {
    /// Takes a frame: written, or kept waiting within `limits`.
    fn offer(&self, frame: &Frame, limits: QueueLimits) -> Delivered;

    /// Frames waiting now (taken but not written yet).
    fn waiting(&self) -> usize;
}

/// What a connection has waiting, shared by its outbox and its inbox.
#[derive(Default)]
struct Backlog {
    frames: AtomicUsize,
    bytes: AtomicUsize,
    /// Set once a limit is exceeded; never cleared (the queue is then detached).
    too_slow: AtomicBool,
}

/// The sending half kept for one connection.
struct Outbox {
    sender: mpsc::UnboundedSender<Frame>,
    backlog: Arc<Backlog>,
}

impl Outbox {
    /// Queues a frame within the limits; `false` if it was refused (limits exceeded: the
    /// backlog is now flagged too slow; or the inbox is gone). The backlog is counted before
    /// the frame is sent, so the inbox never takes away more than was counted.
    fn offer(&self, frame: &Frame, limits: QueueLimits) -> bool {
        let backlog = &self.backlog;
        let frames = backlog.frames.fetch_add(1, Ordering::Relaxed) + 1;
        let bytes = backlog.bytes.fetch_add(frame.len(), Ordering::Relaxed) + frame.len();
        if frames > limits.frames || bytes > limits.bytes {
            backlog.too_slow.store(true, Ordering::Release);
            return false;
        }
        self.sender.send(frame.clone()).is_ok()
    }
}

/// Where the frames of one connection go.
enum Route {
    Queue(Outbox),
    Outlet(Arc<dyn Outlet>),
}

impl Route {
    fn offer(&self, frame: &Frame, limits: QueueLimits) -> Delivered {
        match self {
            Route::Queue(outbox) if outbox.offer(frame, limits) => Delivered::Queued,
            Route::Queue(outbox) if outbox.backlog.too_slow.load(Ordering::Acquire) => {
                Delivered::TooSlow
            }
            Route::Queue(_) => Delivered::Gone,
            Route::Outlet(outlet) => outlet.offer(frame, limits),
        }
    }

    /// Identifies this route among the ones a connection may have had (a queue reopened
    /// meanwhile must survive the detachment of the one it replaced).
    fn key(&self) -> *const () {
        match self {
            Route::Queue(outbox) => Arc::as_ptr(&outbox.backlog).cast(),
            Route::Outlet(outlet) => Arc::as_ptr(outlet).cast(),
        }
    }

    fn waiting(&self) -> usize {
        match self {
            Route::Queue(outbox) => outbox.backlog.frames.load(Ordering::Relaxed),
            Route::Outlet(outlet) => outlet.waiting(),
        }
    }
}

/// Per-connection queues and outlets bounded by frames and bytes: the standard [`Delivery`].
///
/// The channels themselves are unbounded (no semaphore on the hot path); the bound is the
/// backlog each connection has not taken yet, counted here. So a burst bigger than a small
/// frame count (a batch write matching thousands of times) is fine for a client that reads,
/// and only one that leaves more than the limits waiting is cut off.
pub struct Queues {
    limits: QueueLimits,
    routes: RwLock<FoldMap<ConnectionId, Route>>,
    queued: AtomicU64,
    too_slow: AtomicU64,
}

impl Queues {
    /// Queues holding at most `capacity` frames each (at least 1).
    pub fn new(capacity: usize) -> Queues {
        Queues::with_limits(QueueLimits::frames(capacity))
    }

    /// Queues with the given limits (each at least 1).
    pub fn with_limits(limits: QueueLimits) -> Queues {
        Queues {
            limits: QueueLimits {
                frames: limits.frames.max(1),
                bytes: limits.bytes.max(1),
            },
            routes: RwLock::new(FoldMap::default()),
            queued: AtomicU64::new(0),
            too_slow: AtomicU64::new(0),
        }
    }

    /// Opens the queue of a connection and returns its receiving end. Opening it again replaces
    /// the previous queue (whose inbox then ends).
    pub fn open(&self, connection: ConnectionId) -> Inbox {
        let (sender, receiver) = mpsc::unbounded_channel();
        let backlog = Arc::new(Backlog::default());
        self.routes.write().insert(
            connection,
            Route::Queue(Outbox {
                sender,
                backlog: Arc::clone(&backlog),
            }),
        );
        Inbox {
            connection,
            receiver,
            backlog,
        }
    }

    /// Routes a connection's frames to its own [`Outlet`] (replacing its queue, if it had one).
    pub fn attach(&self, connection: ConnectionId, outlet: Arc<dyn Outlet>) {
        self.routes
            .write()
            .insert(connection, Route::Outlet(outlet));
    }

    /// Drops a connection's queue or outlet; an inbox yields what is left, then `None`.
    pub fn close(&self, connection: ConnectionId) {
        self.routes.write().remove(&connection);
    }

    /// Number of open queues and outlets.
    pub fn len(&self) -> usize {
        self.routes.read().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Frames waiting now, per connection (the admin dashboard, `/metrics`).
    pub fn depths(&self) -> Vec<(ConnectionId, usize)> {
        self.routes
            .read()
            .iter()
            .map(|(c, route)| (*c, route.waiting()))
            .collect()
    }

    /// Frames waiting now, all connections together.
    pub fn depth(&self) -> usize {
        self.routes.read().values().map(Route::waiting).sum()
    }

    /// Frames taken so far (queued or written), all connections together.
    pub fn queued(&self) -> u64 {
        self.queued.load(Ordering::Relaxed)
    }

    /// Connections flagged too slow so far.
    pub fn too_slow_count(&self) -> u64 {
        self.too_slow.load(Ordering::Relaxed)
    }

    /// After a refused offer: detaches the route identified by `key` (unless it was replaced
    /// meanwhile), so that an inbox drains what it holds, then ends.
    fn detach(&self, connection: ConnectionId, key: *const (), refused: Delivered) -> Delivered {
        let mut routes = self.routes.write();
        let detached = routes.get(&connection).is_some_and(|r| r.key() == key);
        if detached {
            routes.remove(&connection);
            if refused == Delivered::TooSlow {
                self.too_slow.fetch_add(1, Ordering::Relaxed);
            }
        }
        refused
    }
}

impl Delivery for Queues {
    fn deliver(&self, connection: ConnectionId, frame: &Frame) -> Delivered {
        let (refused, key) = {
            let routes = self.routes.read();
            let Some(route) = routes.get(&connection) else {
                return Delivered::Gone;
            };
            match route.offer(frame, self.limits) {
                Delivered::Queued => {
                    self.queued.fetch_add(1, Ordering::Relaxed);
                    return Delivered::Queued;
                }
                refused => (refused, route.key()),
            }
        };
        self.detach(connection, key, refused)
    }

    fn deliver_all(
        &self,
        connections: &mut dyn Iterator<Item = ConnectionId>,
        frame: &Frame,
    ) -> usize {
        let (mut n, mut taken) = (0, 0);
        let mut refused = Vec::new();
        {
            let routes = self.routes.read();
            for connection in connections {
                n += 1;
                if let Some(route) = routes.get(&connection) {
                    match route.offer(frame, self.limits) {
                        Delivered::Queued => taken += 1,
                        // Rare: detached below, outside the read lock.
                        other => refused.push((connection, route.key(), other)),
                    }
                }
            }
        }
        self.queued.fetch_add(taken, Ordering::Relaxed);
        for (connection, key, outcome) in refused {
            self.detach(connection, key, outcome);
        }
        n
    }

    fn closed(&self, connection: ConnectionId) {
        self.close(connection);
    }
}

/// The receiving end of a connection's queue, owned by the connection's task.
pub struct Inbox {
    connection: ConnectionId,
    receiver: mpsc::UnboundedReceiver<Frame>,
    backlog: Arc<Backlog>,
}

impl Inbox {
    pub fn connection(&self) -> ConnectionId {
        self.connection
    }

    /// The next frame; `None` once the queue is closed (connection closed, or too slow: check
    /// [`Inbox::is_too_slow`]) and drained.
    pub async fn recv(&mut self) -> Option<Frame> {
        let frame = self.receiver.recv().await?;
        self.taken(&frame);
        Some(frame)
    }

    /// The next frame if one is queued now.
    pub fn try_recv(&mut self) -> Option<Frame> {
        let frame = self.receiver.try_recv().ok()?;
        self.taken(&frame);
        Some(frame)
    }

    /// A frame left the backlog.
    fn taken(&self, frame: &Frame) {
        self.backlog.frames.fetch_sub(1, Ordering::Relaxed);
        self.backlog.bytes.fetch_sub(frame.len(), Ordering::Relaxed);
    }

    /// Every frame queued now.
    pub fn drain(&mut self) -> Vec<Frame> {
        let mut frames = Vec::new();
        while let Some(frame) = self.try_recv() {
            frames.push(frame);
        }
        frames
    }

    /// Whether the connection overflowed its queue: the server must close it (code 1011,
    /// reason `too much backpressure: client is too slow`).
    pub fn is_too_slow(&self) -> bool {
        self.backlog.too_slow.load(Ordering::Acquire)
    }
}

/// Allocates connection ids (process-wide, never reused).
#[derive(Default)]
pub(crate) struct ConnectionIds(AtomicU64);

impl ConnectionIds {
    pub(crate) fn next(&self) -> ConnectionId {
        ConnectionId(self.0.fetch_add(1, Ordering::Relaxed) + 1)
    }
}
