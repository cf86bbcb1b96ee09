//! Persistent per-user inboxes: stored notifications, the other half of `events:send`.
//!
//! An event (`events:send`) reaches the connections open now and is never stored; a
//! notification (`notifications:send`) is stored in each recipient's inbox before the call
//! answers, whether or not the recipient is online, and stays there until it is deleted,
//! expires, or is pushed out by the retention limits. The user reads it later (`list`), and
//! its state (read, seen, archived) follows the user across devices: every change is pushed
//! to the user's listening connections with the new counts. The API is in
//! `docs/notifications.md`; the controller is [`crate::protocol::notifications`], the live
//! delivery [`crate::notify::Hub::inbox_sink`].
//!
//! # Model
//!
//! Each user has a counter and four sets of notification numbers ([`UserState`], in
//! `state.rs`, which also says why they are roaring bitmaps): `inbox`, `archived`, `unread`,
//! `unseen`. A notification's id is its number, unique within its user's inbox, never reused.
//! Its record ([`StoredNotification`]: type, priority, subject, payload, link, sender, times,
//! dedup key) is written once and never updated: reading, seeing and archiving change only
//! the sets, so "mark everything read" rewrites one small state, not every record.
//!
//! # Invariants
//!
//! * The sets of a user are exactly the numbers of the user's stored records (see
//!   `state.rs` for the relations between the sets). Records, indexes and the state change
//!   in one atomic commit of the store, and in memory only once that commit succeeded (a
//!   failed commit drops the cached state, which is then reloaded from the store).
//! * The operations of one user are serialized by that user's lock, held from the read of
//!   the state to the last push, so pushes reach the user's connections in commit order: the
//!   counts of the last push a client got are the current ones. Different users proceed in
//!   parallel (up to the store's commit). A send to several users takes their locks in the
//!   order of their ids, so two sends cannot deadlock.
//! * Counts are cardinalities of the sets, exact at every step; nothing is recounted.
//! * Nothing past its removal time is ever answered: every operation on a user first removes
//!   what is due (one range read of the user's removal index when something may be due), and
//!   a periodic sweep ([`Inbox::sweep`]) removes what is due for users nobody is looking at.
//!
//! # Bounds
//!
//! * Per user: at most `max_per_user` notifications (the oldest go first), none older than
//!   `max_age` (fixed at send time as the notification's removal time).
//! * Per call: [`MAX_RECIPIENTS`] recipients, [`MAX_IDS`] ids, [`MAX_PAGE`] hits and
//!   [`MAX_SCANNED`] records examined by a filtered `list`, [`MAX_NOTIFICATION_BYTES`] per
//!   notification and [`MAX_SEND_BYTES`] for a whole send.
//! * Memory: the states of at most [`CACHED_USERS`] users are kept (each is small: the sets
//!   of 1,000 notifications take a few KiB); the records stay in the store.

mod engine;
mod redb_store;
mod state;
mod store;

use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use engine::{Inbox, NoSink, Sink};
pub use redb_store::{RedbInboxStore, INBOX_FILE};
pub use state::{Counts, UserState};
pub use store::{InboxStore, Link, MemoryInboxStore, StoredNotification, Write};

/// Recipients of one `send`, at most.
pub const MAX_RECIPIENTS: usize = 1_000;
/// Ids named by one mark, archive or delete call, at most.
pub const MAX_IDS: usize = 1_000;
/// Hits of one `list` page, at most (and the default page size).
pub const MAX_PAGE: usize = 100;
pub const DEFAULT_PAGE: usize = 20;
/// Records a filtered `list` examines per call, at most: a selective filter may answer a
/// short page with a cursor to continue from.
pub const MAX_SCANNED: usize = 1_000;
/// Encoded size of one notification, at most: an inbox entry is a summary with a link, the
/// content itself belongs in a document.
pub const MAX_NOTIFICATION_BYTES: usize = 64 * 1024;
/// Encoded size of one notification times its recipients, at most (what one send writes).
pub const MAX_SEND_BYTES: usize = 16 << 20;
/// User states kept in memory, at most.
pub const CACHED_USERS: usize = 16_384;

const _: () = assert!(MAX_NOTIFICATION_BYTES <= MAX_SEND_BYTES && DEFAULT_PAGE <= MAX_PAGE);

/// Retention and sweeping.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InboxConfig {
    /// Notifications kept per user (the oldest are removed first). At least 1.
    pub max_per_user: u64,
    /// Age after which a notification is removed (`None`: no age limit).
    pub max_age: Option<Duration>,
    /// How often the sweep removes what expired.
    pub sweep_interval: Duration,
}

impl Default for InboxConfig {
    fn default() -> InboxConfig {
        InboxConfig {
            max_per_user: 1_000,
            max_age: Some(Duration::from_secs(90 * 24 * 3600)),
            sweep_interval: Duration::from_secs(60),
        }
    }
}

/// How urgent a notification is. `critical` ones are flagged (`critical: true`) so clients
/// can show them at once.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    Low,
    #[default]
    Normal,
    High,
    Critical,
}

impl Priority {
    pub const NAMES: &'static str = "low, normal, high or critical";

    pub fn parse(name: &str) -> Option<Priority> {
        Some(match name {
            "low" => Priority::Low,
            "normal" => Priority::Normal,
            "high" => Priority::High,
            "critical" => Priority::Critical,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Low => "low",
            Priority::Normal => "normal",
            Priority::High => "high",
            Priority::Critical => "critical",
        }
    }
}

/// What a sender writes: a notification before it has a recipient, a number and times.
#[derive(Clone, Debug, PartialEq)]
pub struct Draft {
    pub kind: String,
    pub priority: Priority,
    pub subject: Option<String>,
    pub payload: serde_json::Value,
    pub link: Option<Link>,
    /// The sender's user id.
    pub from: String,
    /// Epoch milliseconds.
    pub expires_at: Option<u64>,
    pub dedup_key: Option<String>,
}

impl Draft {
    /// The record stored for each recipient, sent at `now`.
    pub fn record(&self, now: u64, config: &InboxConfig) -> StoredNotification {
        let aged = config
            .max_age
            .map(|age| now.saturating_add(u64::try_from(age.as_millis()).unwrap_or(u64::MAX)));
        let purge_at = match (self.expires_at, aged) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        StoredNotification {
            kind: self.kind.clone(),
            priority: self.priority,
            subject: self.subject.clone(),
            payload: self.payload.clone(),
            link: self.link.clone(),
            from: self.from.clone(),
            created_at: now,
            expires_at: self.expires_at,
            purge_at,
            dedup_key: self.dedup_key.clone(),
        }
    }
}

/// One recipient's new notification.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sent {
    pub user: String,
    pub id: u64,
    /// The notification it replaced (same dedup key).
    pub replaced: Option<u64>,
}

/// A change of state asked for by the owner of an inbox.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Read,
    Unread,
    Seen,
    Archive,
    Unarchive,
    Delete,
}

impl Op {
    /// The API action.
    pub fn action(self) -> &'static str {
        match self {
            Op::Read => "markRead",
            Op::Unread => "markUnread",
            Op::Seen => "markSeen",
            Op::Archive => "archive",
            Op::Unarchive => "unarchive",
            Op::Delete => "delete",
        }
    }

    /// The `event` of its push.
    pub fn event(self) -> &'static str {
        match self {
            Op::Read => "read",
            Op::Unread => "unread",
            Op::Seen => "seen",
            Op::Archive => "archived",
            Op::Unarchive => "unarchived",
            Op::Delete => "deleted",
        }
    }
}

/// Which notifications a change applies to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Selector {
    /// These ids (unknown ones are ignored).
    Ids(Vec<u64>),
    /// Every notification of the view up to this id (included): the inbox, or the archive
    /// for `unarchive`.
    UpTo(u64),
    /// Every notification of the view.
    All,
}

/// Which part of the inbox `list` shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Archived {
    /// The inbox (not archived).
    #[default]
    No,
    /// The archive.
    Only,
    /// Both.
    Any,
}

/// A `list` call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListQuery {
    /// Continue below this number (the `cursor` of the previous page).
    pub cursor: Option<u64>,
    /// At most [`MAX_PAGE`].
    pub size: usize,
    pub unread_only: bool,
    pub archived: Archived,
    /// Any of these types (empty: any type).
    pub types: Vec<String>,
    /// Any of these priorities (empty: any).
    pub priorities: Vec<Priority>,
}

impl Default for ListQuery {
    fn default() -> ListQuery {
        ListQuery {
            cursor: None,
            size: DEFAULT_PAGE,
            unread_only: false,
            archived: Archived::No,
            types: Vec::new(),
            priorities: Vec::new(),
        }
    }
}

/// A `list` answer: newest first.
#[derive(Clone, Debug, PartialEq)]
pub struct Page {
    /// Each notification as clients see it (`docs/notifications.md`).
    pub hits: Vec<serde_json::Value>,
    /// Where the next page starts (`None`: nothing more).
    pub cursor: Option<u64>,
    pub counts: Counts,
}

/// A change's answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Updated {
    /// Notifications whose state changed.
    pub changed: u64,
    pub counts: Counts,
}

/// The public form of an id (numbers are an implementation detail clients must not rely on).
pub fn format_id(seq: u64) -> String {
    seq.to_string()
}

/// An id back to its number (`None`: not an id this server made).
pub fn parse_id(id: &str) -> Option<u64> {
    if id.is_empty() || id.len() > 20 || !id.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    id.parse().ok().filter(|&seq| seq > 0)
}
