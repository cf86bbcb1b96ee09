//! Notification shapes and their serialization into frames.
//!
//! A notification is serialized once per event (without its `room`), then completed once per
//! channel by appending `"room":"<channel>"`: one frame per channel, shared by every connection
//! of that channel. [`Prepared::frame`] is the only place a frame is made, and it counts.

use std::sync::atomic::{AtomicU64, Ordering};

use bytes::{BufMut, BytesMut};
use serde::Serialize;
use serde_json::Value;

use crate::delivery::Frame;

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
    /// The JSON object without its closing brace.
    head: Vec<u8>,
}

impl Prepared {
    /// Serializes a notification. `None` only if it does not serialize to a JSON object
    /// (impossible for the types above).
    pub(crate) fn new(notification: &impl Serialize) -> Option<Prepared> {
        let mut head = serde_json::to_vec(notification).ok()?;
        if head.pop() != Some(b'}') {
            return None;
        }
        Some(Prepared { head })
    }

    /// The frame for one channel: the notification with `"room": <channel>`.
    pub(crate) fn frame(&self, channel: &str, counter: &AtomicU64) -> Frame {
        counter.fetch_add(1, Ordering::Relaxed);
        let mut buf = BytesMut::with_capacity(self.head.len() + channel.len() + 12);
        buf.put_slice(&self.head);
        buf.put_slice(b",\"room\":");
        // Channel names are hex digits, '-' and digits; quote them properly all the same.
        match serde_json::to_writer((&mut buf).writer(), channel) {
            Ok(()) => {}
            Err(_) => buf.put_slice(b"\"\""),
        }
        buf.put_u8(b'}');
        buf.freeze()
    }
}
