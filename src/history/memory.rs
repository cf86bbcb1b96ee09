//! Room streams in memory: a bounded deque of entries per room.

use std::collections::VecDeque;
use std::sync::Arc;

use bytes::Bytes;
use parking_lot::{Mutex, RwLock};

use super::{Entry, EntryKind, History, HistoryConfig, HistoryStats, Position, RoomSpec};
use crate::rooms::{FoldMap, RoomId};

/// One room's stream.
#[derive(Debug)]
pub(super) struct Stream {
    pub epoch: u64,
    /// The offset of the last entry appended (0: none yet).
    pub last: u64,
    pub entries: VecDeque<Entry>,
    pub bytes: usize,
    /// What the room is (persisted by [`super::RedbHistory`]).
    pub spec: Option<RoomSpec>,
}

impl Stream {
    fn new(spec: Option<RoomSpec>) -> Stream {
        Stream {
            epoch: rand::random(),
            last: 0,
            entries: VecDeque::new(),
            bytes: 0,
            spec,
        }
    }

    fn position(&self) -> Position {
        Position {
            epoch: self.epoch,
            offset: self.last,
        }
    }

    fn pop_front(&mut self) {
        if let Some(entry) = self.entries.pop_front() {
            self.bytes -= entry.head.len();
        }
    }

    fn expire(&mut self, now_ms: u64, ttl_ms: u64) {
        while self
            .entries
            .front()
            .is_some_and(|e| e.at.saturating_add(ttl_ms) <= now_ms)
        {
            self.pop_front();
        }
    }
}

/// Streams in memory; nothing survives a restart.
pub struct MemoryHistory {
    config: HistoryConfig,
    streams: RwLock<FoldMap<RoomId, Arc<Mutex<Stream>>>>,
}

impl MemoryHistory {
    pub fn new(config: HistoryConfig) -> MemoryHistory {
        MemoryHistory {
            config,
            streams: RwLock::new(FoldMap::default()),
        }
    }

    fn stream(
        &self,
        room: RoomId,
        spec: Option<&dyn Fn() -> Option<RoomSpec>>,
    ) -> Arc<Mutex<Stream>> {
        if let Some(stream) = self.streams.read().get(&room) {
            return Arc::clone(stream);
        }
        let mut streams = self.streams.write();
        Arc::clone(
            streams
                .entry(room)
                .or_insert_with(|| Arc::new(Mutex::new(Stream::new(spec.and_then(|f| f()))))),
        )
    }

    /// Every stream (for saving).
    pub(super) fn snapshot(&self) -> Vec<(RoomId, Arc<Mutex<Stream>>)> {
        self.streams
            .read()
            .iter()
            .map(|(id, s)| (*id, Arc::clone(s)))
            .collect()
    }

    /// Puts back a saved stream.
    pub(super) fn restore(&self, room: RoomId, stream: Stream) {
        self.streams
            .write()
            .insert(room, Arc::new(Mutex::new(stream)));
    }
}

impl History for MemoryHistory {
    fn config(&self) -> HistoryConfig {
        self.config
    }

    fn position(&self, room: RoomId, spec: &dyn Fn() -> Option<RoomSpec>) -> Position {
        let stream = self.stream(room, Some(spec));
        let mut stream = stream.lock();
        if stream.spec.is_none() {
            stream.spec = spec();
        }
        stream.position()
    }

    fn append(
        &self,
        room: RoomId,
        kind: EntryKind,
        head: &Bytes,
        now_ms: u64,
        deliver: &mut dyn FnMut(Position),
    ) {
        let stream = self.stream(room, None);
        let mut stream = stream.lock();
        stream.last += 1;
        let entry = Entry {
            offset: stream.last,
            at: now_ms,
            kind,
            head: head.clone(),
        };
        stream.bytes += entry.head.len();
        stream.entries.push_back(entry);
        while stream.entries.len() > self.config.size || stream.bytes > self.config.bytes {
            stream.pop_front();
        }
        deliver(stream.position());
    }

    fn since(&self, room: RoomId, from: Position, now_ms: u64) -> Option<(Vec<Entry>, Position)> {
        let stream = Arc::clone(self.streams.read().get(&room)?);
        let mut stream = stream.lock();
        stream.expire(now_ms, self.config.ttl_ms());
        let first = stream.entries.front().map_or(stream.last + 1, |e| e.offset);
        // Every entry after `from` must still be here: the next one (`from + 1`) at least.
        let recoverable = from.epoch == stream.epoch
            && from.offset <= stream.last
            && from.offset.saturating_add(1) >= first;
        if !recoverable {
            return None;
        }
        let entries = stream
            .entries
            .iter()
            .filter(|e| e.offset > from.offset)
            .cloned()
            .collect();
        Some((entries, stream.position()))
    }

    fn forget(&self, room: RoomId) {
        self.streams.write().remove(&room);
    }

    fn sweep(&self, now_ms: u64) {
        let ttl = self.config.ttl_ms();
        for (_, stream) in self.snapshot() {
            stream.lock().expire(now_ms, ttl);
        }
    }

    fn stats(&self) -> HistoryStats {
        let mut stats = HistoryStats::default();
        for (_, stream) in self.snapshot() {
            let stream = stream.lock();
            stats.streams += 1;
            stats.entries += stream.entries.len();
            stats.bytes += stream.bytes;
        }
        stats
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use herald_filters::engine::CollectionName;

    use super::*;

    fn room() -> RoomId {
        let canonical = herald_filters::normalize(
            &serde_json::json!({"equals": {"a": 1}}),
            &herald_filters::Options::default(),
        )
        .expect("filter")
        .canonical;
        RoomId::derive(&CollectionName::new("i", "c"), &canonical)
    }

    fn append(history: &MemoryHistory, room: RoomId, at: u64) -> Position {
        let mut position = None;
        let kind = EntryKind::Document(crate::rooms::NotificationScope::In);
        history.append(room, kind, &Bytes::from_static(b"{\"a\":1"), at, &mut |p| {
            position = Some(p)
        });
        position.expect("delivered")
    }

    #[test]
    fn bounded_by_count_and_age() {
        let history = MemoryHistory::new(HistoryConfig {
            size: 3,
            bytes: usize::MAX,
            ttl: Duration::from_millis(100),
        });
        let room = room();
        let start = history.position(room, &|| None);
        assert_eq!(start.offset, 0);
        let positions: Vec<Position> = (0..5).map(|i| append(&history, room, 1000 + i)).collect();
        assert_eq!(positions[4].offset, 5);
        // Entries 3, 4, 5 are kept: resuming from 2 works, from 1 does not.
        let (entries, now) = history
            .since(room, positions[1], 1010)
            .expect("recoverable");
        assert_eq!(
            entries.iter().map(|e| e.offset).collect::<Vec<_>>(),
            [3, 4, 5]
        );
        assert_eq!(now, positions[4]);
        assert!(history.since(room, positions[0], 1010).is_none());
        assert!(history.since(room, start, 1010).is_none());
        // Ahead of the stream, or another epoch.
        let ahead = Position {
            offset: 6,
            ..positions[4]
        };
        assert!(history.since(room, ahead, 1010).is_none());
        let other = Position {
            epoch: positions[4].epoch ^ 1,
            ..positions[4]
        };
        assert!(history.since(room, other, 1010).is_none());
        // Up to date: nothing to replay.
        let (entries, _) = history.since(room, positions[4], 1010).expect("current");
        assert!(entries.is_empty());
        // After the age bound, only the current position is recoverable.
        assert!(history.since(room, positions[3], 1200).is_none());
        assert!(history
            .since(room, positions[4], 1200)
            .is_some_and(|(e, _)| e.is_empty()));
        history.forget(room);
        assert!(history.since(room, positions[4], 1200).is_none());
    }

    #[test]
    fn bounded_by_bytes() {
        let history = MemoryHistory::new(HistoryConfig {
            size: 100,
            bytes: 13,
            ttl: Duration::from_secs(60),
        });
        let room = room();
        for i in 0..4 {
            append(&history, room, i);
        }
        // 6 bytes per entry: two fit.
        assert_eq!(history.stats().entries, 2);
        assert_eq!(history.stats().bytes, 12);
    }
}
