//! Notification shapes and their serialization into frames.
//!
//! A notification is serialized once per event (without its `room`), then completed once per
//! channel by appending `"room":"<channel>"` (and, for the rooms that have a history, the
//! `"position"` of the notification in the room's stream): one frame per channel, shared by
//! every connection of that channel. [`Prepared::frame_at`] is the only place a live frame is
//! made, and it counts; [`complete`] also makes the frames replayed from history.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::{BufMut, Bytes, BytesMut};
use serde::Serialize;
use serde_json::Value;

use crate::delivery::Frame;
use crate::history::Position;

/// A document notification (`type: "document"`), protocol section 6.2.
#[derive(Clone, Serialize)]
pub(crate) struct DocumentNotification<'a> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub status: u16,
    pub action: &'static str,
    pub scope: &'static str,
    pub event: &'static str,
    pub result: DocumentResult<'a>,
    pub controller: &'a str,
    pub index: &'a str,
    pub collection: &'a str,
    #[serde(rename = "requestId", skip_serializing_if = "Option::is_none")]
    pub request_id: Option<&'a str>,
    pub timestamp: u64,
    pub volatile: &'a Value,
    pub protocol: Option<&'a str>,
    pub node: &'a str,
}

/// The `result` of a document notification: `{_id, _source, _version?, _updatedFields?}`.
#[derive(Clone, Copy, Serialize)]
pub(crate) struct DocumentResult<'a> {
    #[serde(rename = "_id", skip_serializing_if = "Option::is_none")]
    pub id: Option<&'a str>,
    #[serde(rename = "_source")]
    pub source: &'a Value,
    #[serde(rename = "_version", skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
    #[serde(rename = "_updatedFields", skip_serializing_if = "Option::is_none")]
    pub updated_fields: Option<&'a [String]>,
}

/// A user (presence) notification (`type: "user"`), protocol section 6.3.
#[derive(Serialize)]
pub(crate) struct UserNotification<'a> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub status: u16,
    pub user: &'static str,
    pub result: UserCount,
    pub controller: &'static str,
    pub action: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub collection: Option<&'a str>,
    pub volatile: &'a Value,
    pub protocol: Option<&'a str>,
    pub timestamp: u64,
    pub node: &'a str,
}

#[derive(Serialize)]
pub(crate) struct UserCount {
    pub count: usize,
}

/// A notification serialized without its `room`, ready to be completed per channel.
pub(crate) struct Prepared {
    /// The JSON object without its closing brace (shared with the history).
    head: Bytes,
}

impl Prepared {
    /// Serializes a notification. `None` only if it does not serialize to a JSON object
    /// (impossible for the types above).
    pub(crate) fn new(notification: &impl Serialize) -> Option<Prepared> {
        let mut head = serde_json::to_vec(notification).ok()?;
        if head.pop() != Some(b'}') {
            return None;
        }
        Some(Prepared {
            head: Bytes::from(head),
        })
    }

    /// The notification without `room` (what a history entry keeps).
    pub(crate) fn head(&self) -> &Bytes {
        &self.head
    }

    /// The frame for one channel: the notification with `"room": <channel>`.
    pub(crate) fn frame(&self, channel: &str, counter: &AtomicU64) -> Frame {
        self.frame_at(channel, None, counter)
    }

    /// The frame for one channel, with the notification's position if it has one.
    pub(crate) fn frame_at(
        &self,
        channel: &str,
        position: Option<Position>,
        counter: &AtomicU64,
    ) -> Frame {
        counter.fetch_add(1, Ordering::Relaxed);
        complete(&self.head, channel, position)
    }
}

/// A notification's head completed with `"room": <channel>` and `"position"`.
pub(crate) fn complete(head: &[u8], channel: &str, position: Option<Position>) -> Frame {
    let mut buf = BytesMut::with_capacity(head.len() + channel.len() + 50);
    buf.put_slice(head);
    buf.put_slice(b",\"room\":");
    // Channel names are hex digits, '-' and digits; quote them properly all the same.
    match serde_json::to_writer((&mut buf).writer(), channel) {
        Ok(()) => {}
        Err(_) => buf.put_slice(b"\"\""),
    }
    if let Some(position) = position {
        // Hex digits, ':' and digits: nothing to escape. Writing to a BytesMut cannot fail.
        let _ = write!(buf, ",\"position\":\"{position}\"");
    }
    buf.put_u8(b'}');
    buf.freeze()
}
