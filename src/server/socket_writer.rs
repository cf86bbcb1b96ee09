//! The write side of one WebSocket connection, shared by the engine's fan-out and the
//! connection's task: the [`Outlet`] the server attaches for each WebSocket.
//!
//! Why: at a few notifications per second per connection nothing coalesces, and handing each
//! notification to the connection's task (a queue push, a cross-thread wake-up, a task poll, a
//! copy into tungstenite's buffer, a flush) cost more than the `send` itself. So whoever
//! delivers a frame writes it into the socket at once: the WebSocket header is built on the
//! stack and goes out with the shared payload in one `writev`; no allocation, no wake-up.
//!
//! # Invariants
//!
//! * One byte stream, in order: every write (notifications from any thread, the task's
//!   responses, tungstenite's control frames) takes the writer's lock, and a frame is written
//!   directly only when nothing waits before it. Frames are never interleaved: what a write
//!   leaves of a frame waits at the head of the backlog.
//! * When the socket would block (possibly mid-frame), the rest waits in the backlog, bounded
//!   by the connection's [`QueueLimits`]; the connection's task, woken once, writes it as the
//!   socket drains, many frames per `writev`. Only that task writes while a backlog exists.
//! * Over the limits the writer is flagged too slow: every later frame is refused and the task
//!   is woken to close the connection (1011); what waits is dropped, except the rest of a frame
//!   already begun (the close frame must not land in the middle of one).
//! * While the task holds the writer (one round of requests), frames wait and go out together
//!   when it lets go: the responses and the notifications they caused in one write, the
//!   notifications first.
//! * A failed write (the peer is gone) marks the writer broken: later frames are dropped
//!   ([`Delivered::Gone`]) and the task is woken to end the connection.
//!
//! # Under load: batching instead of writing at once
//!
//! A direct write saves the hand-off, but it also gives up what the hand-off gave for free
//! when the machine is behind: frames piling up for a connection whose task has not run yet
//! go out together, one `send` for several. So a delivering task that is itself behind (it
//! found several requests waiting when it woke: [`Pressure`]) does not write at once: it
//! queues the frame and wakes the connection's task, which writes whatever waits by then in
//! one `writev`. At a steady rate the machine keeps up with, every round is one request and
//! every notification is written directly; at maximum rate or on a saturated machine, rounds
//! grow and writes coalesce.

use std::cell::Cell;
use std::collections::VecDeque;
use std::io::{self, IoSlice};

use bytes::Bytes;
use parking_lot::Mutex;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::sync::Notify;

use crate::delivery::{Delivered, Frame, Outlet, QueueLimits};

/// Frames gathered into one `writev` when the backlog is written.
const GATHER: usize = 32;

thread_local! {
    /// Whether the task running on this thread is behind (see the module documentation).
    static BEHIND: Cell<bool> = const { Cell::new(false) };
}

/// Marks the current thread's deliveries as made by a task that is behind, for as long as it
/// lives: frames are then queued for the connections' own tasks instead of written at once.
/// Held only across synchronous work (it is per thread).
pub(crate) struct Pressure {
    was: bool,
}

impl Pressure {
    pub(crate) fn new(behind: bool) -> Pressure {
        Pressure {
            was: BEHIND.with(|b| b.replace(behind)),
        }
    }
}

impl Drop for Pressure {
    fn drop(&mut self) {
        BEHIND.with(|b| b.set(self.was));
    }
}

/// One WebSocket frame to write: its header (empty for bytes tungstenite framed itself) and its
/// payload, shared.
struct Chunk {
    header: [u8; 10],
    header_len: u8,
    payload: Bytes,
}

impl Chunk {
    /// A final, unmasked (server-to-client) data frame around `payload`.
    fn message(payload: Bytes) -> Chunk {
        // Frames are serialized JSON; anything else any Delivery user offers goes as binary.
        let opcode = if std::str::from_utf8(&payload).is_ok() {
            0x1
        } else {
            0x2
        };
        let mut header = [0u8; 10];
        header[0] = 0x80 | opcode;
        let len = payload.len();
        let header_len = if len < 126 {
            header[1] = len as u8;
            2
        } else if let Ok(short) = u16::try_from(len) {
            header[1] = 126;
            header[2..4].copy_from_slice(&short.to_be_bytes());
            4
        } else {
            header[1] = 127;
            header[2..10].copy_from_slice(&(len as u64).to_be_bytes());
            10
        };
        Chunk {
            header,
            header_len,
            payload,
        }
    }

    /// Bytes already framed (tungstenite's control frames).
    fn framed(bytes: Bytes) -> Chunk {
        Chunk {
            header: [0; 10],
            header_len: 0,
            payload: bytes,
        }
    }

    fn header(&self) -> &[u8] {
        &self.header[..usize::from(self.header_len)]
    }

    fn len(&self) -> usize {
        usize::from(self.header_len) + self.payload.len()
    }

    /// The parts of this chunk not written yet, after `written` bytes.
    fn rest(&self, written: usize) -> [&[u8]; 2] {
        let header = self.header();
        if written < header.len() {
            [&header[written..], &self.payload]
        } else {
            [&[], &self.payload[written - header.len()..]]
        }
    }
}

/// What waits to be written, and why.
#[derive(Default)]
struct Backlog {
    chunks: VecDeque<Chunk>,
    /// Bytes of the first chunk already written.
    written: usize,
    /// Payload bytes of the chunks waiting (the limit on bytes).
    bytes: usize,
    /// The task holds the writer for a round: frames wait until it lets go.
    held: bool,
    /// The socket would block: the task writes the backlog as the socket drains.
    task_writes: bool,
    too_slow: bool,
    broken: bool,
}

impl Backlog {
    fn push(&mut self, chunk: Chunk) {
        self.bytes += chunk.payload.len();
        self.chunks.push_back(chunk);
    }

    /// `n` more bytes were written from the head of the backlog.
    fn advance(&mut self, mut n: usize) {
        while let Some(first) = self.chunks.front() {
            let left = first.len() - self.written;
            if n < left {
                self.written += n;
                return;
            }
            n -= left;
            self.written = 0;
            self.bytes -= first.payload.len();
            self.chunks.pop_front();
        }
    }
}

/// The shared write side of one WebSocket (see the module documentation).
pub(crate) struct SocketWriter {
    socket: OwnedWriteHalf,
    backlog: Mutex<Backlog>,
    /// Wakes the connection's task: a backlog to write, too slow, or broken. A wake-up sent
    /// while the task is busy is kept for its next wait.
    wake: Notify,
}

impl SocketWriter {
    pub(crate) fn new(socket: OwnedWriteHalf) -> SocketWriter {
        SocketWriter {
            socket,
            backlog: Mutex::new(Backlog::default()),
            wake: Notify::new(),
        }
    }

    /// Completes when the task has something to do (spurious wake-ups are possible).
    pub(crate) async fn wanted(&self) {
        self.wake.notified().await;
    }

    /// Writes a frame of the connection's own (a response), outside the queue limits: the
    /// task writes what waits before it reads more requests.
    pub(crate) fn send(&self, frame: Frame) {
        self.take(Chunk::message(frame), None);
    }

    /// Writes bytes tungstenite framed itself (pongs, close frames); false if the socket is
    /// gone.
    pub(crate) fn send_framed(&self, bytes: &[u8]) -> bool {
        self.take(Chunk::framed(Bytes::copy_from_slice(bytes)), None) != Delivered::Gone
    }

    /// Holds every write until [`SocketWriter::release`]: one round of the task.
    pub(crate) fn hold(&self) {
        self.backlog.lock().held = true;
    }

    /// Ends a round: writes what waits, as far as the socket takes it now. Whatever is left is
    /// the task's to write ([`SocketWriter::drain`]).
    pub(crate) fn release(&self) {
        let mut backlog = self.backlog.lock();
        backlog.held = false;
        if !backlog.chunks.is_empty() && !backlog.task_writes {
            if self.write_backlog(&mut backlog).is_err() {
                backlog.broken = true;
            }
            backlog.task_writes = !backlog.chunks.is_empty();
        }
    }

    /// Whether the task has a backlog to write.
    pub(crate) fn must_drain(&self) -> bool {
        let backlog = self.backlog.lock();
        backlog.task_writes && !backlog.broken
    }

    pub(crate) fn is_too_slow(&self) -> bool {
        self.backlog.lock().too_slow
    }

    pub(crate) fn is_broken(&self) -> bool {
        self.backlog.lock().broken
    }

    /// Before the close frame of a too-slow connection: drops what waits, except the rest of a
    /// frame already begun.
    pub(crate) fn discard_backlog(&self) {
        let mut backlog = self.backlog.lock();
        let keep = usize::from(backlog.written > 0);
        while backlog.chunks.len() > keep {
            if let Some(chunk) = backlog.chunks.pop_back() {
                backlog.bytes -= chunk.payload.len();
            }
        }
        // The close frame comes next, written by the task.
        backlog.task_writes = true;
    }

    /// Writes the backlog until it is empty, waiting for the socket to drain: the task's side.
    pub(crate) async fn drain(&self) -> io::Result<()> {
        loop {
            {
                let mut backlog = self.backlog.lock();
                if backlog.broken {
                    return Err(io::ErrorKind::BrokenPipe.into());
                }
                if let Err(e) = self.write_backlog(&mut backlog) {
                    backlog.broken = true;
                    return Err(e);
                }
                if backlog.chunks.is_empty() {
                    backlog.task_writes = false;
                    return Ok(());
                }
            }
            self.socket.writable().await?;
        }
    }

    /// Takes a chunk: written now if nothing waits before it, else queued (within `limits`,
    /// when given).
    fn take(&self, chunk: Chunk, limits: Option<QueueLimits>) -> Delivered {
        let mut backlog = self.backlog.lock();
        if backlog.broken {
            return Delivered::Gone;
        }
        if backlog.too_slow && limits.is_some() {
            return Delivered::TooSlow;
        }
        if backlog.chunks.is_empty() && !backlog.held {
            if limits.is_none() || !BEHIND.with(Cell::get) {
                return self.write_now(&mut backlog, chunk);
            }
            // Behind: the connection's task writes it, with whatever follows meanwhile.
            backlog.push(chunk);
            backlog.task_writes = true;
            self.wake.notify_one();
            return Delivered::Queued;
        }
        if let Some(limits) = limits {
            if backlog.chunks.len() >= limits.frames
                || backlog.bytes + chunk.payload.len() > limits.bytes
            {
                backlog.too_slow = true;
                self.wake.notify_one();
                return Delivered::TooSlow;
            }
        }
        backlog.push(chunk);
        Delivered::Queued
    }

    /// Writes one chunk into the socket (nothing waits before it); what the socket does not
    /// take now waits, and the task is woken to write it.
    fn write_now(&self, backlog: &mut Backlog, chunk: Chunk) -> Delivered {
        let [header, payload] = chunk.rest(0);
        let written = match self
            .socket
            .try_write_vectored(&[IoSlice::new(header), IoSlice::new(payload)])
        {
            Ok(n) if n == chunk.len() => return Delivered::Queued,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => 0,
            Err(_) => {
                backlog.broken = true;
                self.wake.notify_one();
                return Delivered::Gone;
            }
        };
        backlog.push(chunk);
        backlog.written = written;
        backlog.task_writes = true;
        self.wake.notify_one();
        Delivered::Queued
    }

    /// Writes as much of the backlog as the socket takes now, many chunks per `writev`.
    fn write_backlog(&self, backlog: &mut Backlog) -> io::Result<()> {
        while !backlog.chunks.is_empty() {
            let mut slices = [IoSlice::new(&[]); 2 * GATHER];
            let mut n = 0;
            let mut written = backlog.written;
            for chunk in backlog.chunks.iter().take(GATHER) {
                for part in chunk.rest(written) {
                    if !part.is_empty() {
                        slices[n] = IoSlice::new(part);
                        n += 1;
                    }
                }
                written = 0;
            }
            match self.socket.try_write_vectored(&slices[..n]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => backlog.advance(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

impl Outlet for SocketWriter {
    fn offer(&self, frame: &Frame, limits: QueueLimits) -> Delivered {
        self.take(Chunk::message(frame.clone()), Some(limits))
    }

    fn waiting(&self) -> usize {
        self.backlog.lock().chunks.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;
    use tokio::net::{TcpListener, TcpSocket, TcpStream};

    /// A writer on one end of a loopback connection, and the other end (with a small receive
    /// buffer, so that a few MiB fill the connection).
    async fn pair() -> (SocketWriter, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let socket = TcpSocket::new_v4().expect("socket");
        socket.set_recv_buffer_size(4096).expect("SO_RCVBUF");
        let client = socket
            .connect(listener.local_addr().expect("addr"))
            .await
            .expect("connect");
        let (server, _) = listener.accept().await.expect("accept");
        let (_read, write) = server.into_split();
        (SocketWriter::new(write), client)
    }

    /// Reads one unmasked frame (the server's): opcode and payload.
    async fn read_frame(peer: &mut TcpStream) -> (u8, Vec<u8>) {
        let mut head = [0u8; 2];
        peer.read_exact(&mut head).await.expect("header");
        let len = match head[1] & 0x7f {
            126 => usize::from(peer.read_u16().await.expect("len16")),
            127 => peer.read_u64().await.expect("len64") as usize,
            n => usize::from(n),
        };
        let mut payload = vec![0; len];
        peer.read_exact(&mut payload).await.expect("payload");
        (head[0], payload)
    }

    fn limits() -> QueueLimits {
        QueueLimits {
            frames: 1000,
            bytes: 64 << 20,
        }
    }

    #[tokio::test]
    async fn frames_are_written_at_once_with_their_header() {
        let (writer, mut peer) = pair().await;
        for payload in [&b"{}"[..], &[b'a'; 300][..], &[b'b'; 70_000][..]] {
            let frame = Bytes::copy_from_slice(payload);
            assert_eq!(writer.offer(&frame, limits()), Delivered::Queued);
            assert_eq!(writer.waiting(), 0, "written directly");
            let (opcode, got) = read_frame(&mut peer).await;
            assert_eq!(opcode, 0x81);
            assert_eq!(got, payload);
        }
        let binary = Bytes::from_static(&[0xff, 0xfe]);
        writer.offer(&binary, limits());
        assert_eq!(read_frame(&mut peer).await, (0x82, vec![0xff, 0xfe]));
    }

    /// A peer that does not read: the socket blocks in the middle of a frame, the rest and the
    /// next frames wait, and once the peer reads, the task's drain writes them whole and in
    /// order; then frames are written directly again.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_socket_that_blocks_mid_frame_is_finished_in_order() {
        let (writer, mut peer) = pair().await;
        let writer = std::sync::Arc::new(writer);
        // More than the socket buffers hold (send buffer at most 4 MiB here, receive 4 KiB).
        let frames: Vec<Bytes> = (0..20u8)
            .map(|i| {
                Bytes::from(vec![
                    b'a' + i;
                    if i == 0 {
                        8 << 20
                    } else {
                        1000 + usize::from(i)
                    }
                ])
            })
            .collect();
        for frame in &frames {
            assert_eq!(writer.offer(frame, limits()), Delivered::Queued);
        }
        assert!(writer.backlog.lock().written > 0, "the first frame was cut");
        assert_eq!(writer.waiting(), frames.len(), "the rest waits behind it");
        assert!(writer.must_drain());
        let drain = tokio::spawn({
            let writer = std::sync::Arc::clone(&writer);
            async move { writer.drain().await }
        });
        for frame in &frames {
            let (opcode, payload) = read_frame(&mut peer).await;
            assert_eq!(opcode, 0x81);
            assert_eq!(payload, frame[..], "frames whole and in order");
        }
        drain.await.expect("task").expect("drained");
        assert_eq!(writer.waiting(), 0);
        assert!(!writer.must_drain());
        assert_eq!(writer.offer(&frames[1], limits()), Delivered::Queued);
        assert_eq!(writer.waiting(), 0, "direct again");
        assert_eq!(read_frame(&mut peer).await.1, frames[1][..]);
    }

    /// Over the limits: refused from then on, and the close keeps only the frame begun.
    #[tokio::test]
    async fn over_the_limits_it_is_too_slow_and_keeps_only_the_frame_begun() {
        let (writer, _peer) = pair().await;
        let limits = QueueLimits {
            frames: 3,
            bytes: usize::MAX,
        };
        let big = Bytes::from(vec![b'x'; 8 << 20]);
        assert_eq!(writer.offer(&big, limits), Delivered::Queued);
        let small = Bytes::from_static(b"{}");
        for _ in 0..2 {
            assert_eq!(writer.offer(&small, limits), Delivered::Queued);
        }
        assert_eq!(writer.offer(&small, limits), Delivered::TooSlow);
        assert!(writer.is_too_slow());
        assert_eq!(writer.offer(&small, limits), Delivered::TooSlow);
        assert_eq!(writer.waiting(), 3);
        writer.discard_backlog();
        assert_eq!(writer.waiting(), 1, "the frame begun stays");
    }

    /// Held for a round: frames wait, then go out in one write, in order.
    #[tokio::test]
    async fn a_held_round_goes_out_together_in_order() {
        let (writer, mut peer) = pair().await;
        writer.hold();
        writer.offer(&Bytes::from_static(b"notification"), limits());
        writer.send(Bytes::from_static(b"response"));
        assert_eq!(writer.waiting(), 2);
        writer.release();
        assert_eq!(writer.waiting(), 0);
        assert_eq!(read_frame(&mut peer).await.1, b"notification");
        assert_eq!(read_frame(&mut peer).await.1, b"response");
    }

    /// A delivering task that is behind queues and wakes the connection's task, whose drain
    /// writes everything waiting by then at once.
    #[tokio::test]
    async fn under_pressure_frames_wait_for_the_task_and_go_out_together() {
        let (writer, mut peer) = pair().await;
        {
            let _behind = Pressure::new(true);
            writer.offer(&Bytes::from_static(b"one"), limits());
            writer.offer(&Bytes::from_static(b"two"), limits());
        }
        assert_eq!(writer.waiting(), 2);
        assert!(writer.must_drain());
        tokio::time::timeout(std::time::Duration::from_secs(1), writer.wanted())
            .await
            .expect("the task is woken");
        writer.drain().await.expect("drained");
        assert_eq!(read_frame(&mut peer).await.1, b"one");
        assert_eq!(read_frame(&mut peer).await.1, b"two");
        writer.offer(&Bytes::from_static(b"three"), limits());
        assert_eq!(writer.waiting(), 0, "direct once the pressure is gone");
    }

    #[tokio::test]
    async fn a_closed_peer_breaks_the_writer() {
        let (writer, peer) = pair().await;
        drop(peer);
        let frame = Bytes::from(vec![b'x'; 4096]);
        let mut outcome = Delivered::Queued;
        for _ in 0..100 {
            outcome = writer.offer(&frame, limits());
            if outcome == Delivered::Gone {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        assert_eq!(outcome, Delivered::Gone);
        assert!(writer.is_broken());
    }
}
