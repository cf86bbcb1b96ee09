//! History: what each room was notified recently, so that a client that lost its connection
//! can resume a subscription without missing or repeating a notification.
//!
//! # Layout: one stream per room
//!
//! Every notification a room is sent (document changes and publishes, scope `in` and `out`,
//! presence `user:in/out`) is appended to the room's stream and gets a [`Position`]: the
//! stream's *epoch* (random, chosen when the stream starts) and an *offset* (1, 2, 3... in the
//! order the room's subscribers receive them). The position travels in the notification frame
//! (`"position":"<epoch>:<offset>"`), and a client hands the last one it saw back to resume.
//!
//! Why per room rather than per collection or per connection (the trade-offs of issue 16):
//!
//! * A room is what a channel is made of, so a room's stream holds exactly what its channels
//!   were sent, scope `out` and restriction redaction included: a resume filters the stream
//!   by the channel's `scope`/`users` options and replays it, with no matching to redo and no
//!   per-entry list of rooms entered and left (which a per-collection stream needs).
//! * A restricted tenant's rooms include its restriction in their filter, so its streams
//!   only ever hold its own documents (and out-of-restriction `out` notifications redacted to
//!   their id, as they were sent live): history cannot leak across tenants.
//! * The price: one change matching many rooms appends to each of them. The entry's bytes
//!   are shared (reference counted) by the rooms of one change, so the cost per extra room is
//!   an entry header and a pointer, not a copy of the notification.
//! * A stream per connection would replay exactly too, but costs memory per connection even
//!   for the rooms nobody misses, and dies with the node.
//!
//! # Invariants
//!
//! * Appends to a room's stream happen while the engine holds its room registry lock (read),
//!   and a resuming subscription joins the room and reads the stream under the same lock
//!   (write): the replayed entries are exactly those before the join, the live ones exactly
//!   those after. Delivery of an entry happens while its stream is locked, so each connection
//!   receives a room's notifications in offset order.
//! * A stream is bounded by entries ([`HistoryConfig::size`]), bytes
//!   ([`HistoryConfig::bytes`]) and age ([`HistoryConfig::ttl`]); the oldest entries go
//!   first. A position older than what is kept, from another epoch or from the future is
//!   *not recoverable*: nothing is replayed and the client is told so.
//! * A room is kept matched for `ttl` after its last subscriber leaves (see
//!   [`crate::rooms::Rooms::set_linger`]), so the changes made while a client reconnects are
//!   recorded. When the room goes, its stream goes ([`History::forget`]): a room made again
//!   later starts a new epoch, since the changes in between were not recorded.
//!
//! Implementations (one is chosen at start-up): [`MemoryHistory`] (tests, `--ephemeral`) and
//! [`RedbHistory`] (`herald serve`: the streams are saved at shutdown in the data directory
//! and restored at start, with the rooms they belong to, so that epochs survive a restart). A
//! cluster implementation (Redis streams, appended and published atomically) plugs in here.

mod memory;
mod redb_history;

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::rooms::{ChannelOptions, NotificationScope, Presence, RoomId};

pub use memory::MemoryHistory;
pub use redb_history::RedbHistory;

/// A place in a room's stream: its epoch and the offset of a notification (0: before the
/// first). Written `"<epoch as 16 hex digits>:<offset>"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Position {
    pub epoch: u64,
    pub offset: u64,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}:{}", self.epoch, self.offset)
    }
}

/// A position string that is not `<16 hex digits>:<offset>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidPosition;

impl fmt::Display for InvalidPosition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a position is \"<16 hexadecimal digits>:<offset>\"")
    }
}

impl std::error::Error for InvalidPosition {}

impl FromStr for Position {
    type Err = InvalidPosition;

    fn from_str(s: &str) -> Result<Position, InvalidPosition> {
        let (epoch, offset) = s.split_once(':').ok_or(InvalidPosition)?;
        if epoch.len() != 16 {
            return Err(InvalidPosition);
        }
        Ok(Position {
            epoch: u64::from_str_radix(epoch, 16).map_err(|_| InvalidPosition)?,
            offset: offset.parse().map_err(|_| InvalidPosition)?,
        })
    }
}

/// What kind of notification an entry is: what a channel's options are tested on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryKind {
    /// A document notification (or a publish) of scope `in` or `out`.
    Document(NotificationScope),
    /// A presence notification.
    Presence(Presence),
}

impl EntryKind {
    /// Whether a channel with these options was sent this entry.
    pub fn accepted_by(self, options: ChannelOptions) -> bool {
        match self {
            EntryKind::Document(scope) => options.scope.accepts(scope),
            EntryKind::Presence(presence) => options.users.accepts(presence),
        }
    }

    fn code(self) -> u8 {
        match self {
            EntryKind::Document(NotificationScope::In) => 0,
            EntryKind::Document(NotificationScope::Out) => 1,
            EntryKind::Presence(Presence::In) => 2,
            EntryKind::Presence(Presence::Out) => 3,
        }
    }

    fn from_code(code: u8) -> Option<EntryKind> {
        Some(match code {
            0 => EntryKind::Document(NotificationScope::In),
            1 => EntryKind::Document(NotificationScope::Out),
            2 => EntryKind::Presence(Presence::In),
            3 => EntryKind::Presence(Presence::Out),
            _ => return None,
        })
    }
}

/// One notification of a room, as sent: its JSON without `room`, `position` and the closing
/// brace (completed per channel, as live frames are).
#[derive(Clone, Debug)]
pub struct Entry {
    pub offset: u64,
    /// When it was appended, epoch milliseconds.
    pub at: u64,
    pub kind: EntryKind,
    pub head: Bytes,
}

/// What a room is, so that a restarted server can match it again before anyone subscribes:
/// the filter as subscribed (the restriction already ANDed in) and the restriction filters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RoomSpec {
    pub index: String,
    pub collection: String,
    pub filter: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restriction: Option<Vec<Value>>,
}

/// The bounds of every stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HistoryConfig {
    /// Entries kept per room, at most.
    pub size: usize,
    /// Bytes of notifications kept per room, at most.
    pub bytes: usize,
    /// How long an entry is kept; also how long a room stays matched after its last
    /// subscriber left.
    pub ttl: Duration,
}

impl HistoryConfig {
    pub const DEFAULT_SIZE: usize = 100;
    pub const DEFAULT_BYTES: usize = 256 * 1024;
    pub const DEFAULT_TTL: Duration = Duration::from_secs(120);

    pub fn ttl_ms(&self) -> u64 {
        u64::try_from(self.ttl.as_millis()).unwrap_or(u64::MAX)
    }
}

impl Default for HistoryConfig {
    fn default() -> HistoryConfig {
        HistoryConfig {
            size: HistoryConfig::DEFAULT_SIZE,
            bytes: HistoryConfig::DEFAULT_BYTES,
            ttl: HistoryConfig::DEFAULT_TTL,
        }
    }
}

/// What the streams hold now (`/metrics`, benchmarks).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HistoryStats {
    pub streams: usize,
    pub entries: usize,
    pub bytes: usize,
}

/// The seam: where room streams live.
pub trait History: Send + Sync {
    fn config(&self) -> HistoryConfig;

    /// The current position of a room's stream, starting the stream (with a new epoch) if
    /// there is none; `spec` describes the room for implementations that persist it.
    fn position(&self, room: RoomId, spec: &dyn Fn() -> Option<RoomSpec>) -> Position;

    /// Appends a notification to a room's stream (starting it if needed) and calls `deliver`
    /// with its position while the stream is still locked, so that the room's subscribers get
    /// its notifications in offset order. `deliver` must not block.
    fn append(
        &self,
        room: RoomId,
        kind: EntryKind,
        head: &Bytes,
        now_ms: u64,
        deliver: &mut dyn FnMut(Position),
    );

    /// The entries after `from` and the current position, or `None` if `from` is not
    /// recoverable (another epoch, older than what is kept, or ahead of the stream).
    fn since(&self, room: RoomId, from: Position, now_ms: u64) -> Option<(Vec<Entry>, Position)>;

    /// The room is gone: its stream is dropped.
    fn forget(&self, room: RoomId);

    /// Drops the entries older than the age bound.
    fn sweep(&self, now_ms: u64);

    /// Hands each stream restored at start to `revive`, which makes its room again (matched,
    /// with no subscriber yet) and returns its id; a stream is kept only if that id is the
    /// one it was saved under (the filter limits may have changed meanwhile).
    fn restore(&self, _revive: &mut dyn FnMut(&RoomSpec) -> Option<RoomId>) {}

    /// Saves what must survive a restart (at shutdown).
    fn close(&self) -> Result<(), String> {
        Ok(())
    }

    fn stats(&self) -> HistoryStats;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_round_trip() {
        let p = Position {
            epoch: 0xabc,
            offset: 42,
        };
        assert_eq!(p.to_string(), "0000000000000abc:42");
        assert_eq!(p.to_string().parse::<Position>(), Ok(p));
        for bad in [
            "",
            "abc:1",
            "0000000000000abc",
            "0000000000000abc:x",
            "zzzzzzzzzzzzzzzz:1",
        ] {
            assert_eq!(bad.parse::<Position>(), Err(InvalidPosition), "{bad}");
        }
    }

    #[test]
    fn kinds_round_trip() {
        for code in 0..4 {
            let kind = EntryKind::from_code(code).expect("kind");
            assert_eq!(kind.code(), code);
        }
        assert_eq!(EntryKind::from_code(4), None);
    }
}
