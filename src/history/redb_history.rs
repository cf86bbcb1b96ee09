//! Room streams in memory, saved in the data directory at shutdown and restored at start.
//!
//! ```text
//! <data dir>/
//!   history.redb   table "streams": room id (hex) -> JSON {epoch, last, spec, entries}
//!                  table "meta":    "clean" -> 1 once the streams were saved by a shutdown
//! ```
//!
//! Why save at shutdown rather than on every append: an append happens on the notification
//! path, under the room lock, once per notified room; a durable write there would cost an
//! fsync per notification. Saving at shutdown costs nothing while serving, and a restart
//! (deploy, upgrade) keeps every epoch, so clients resume across it.
//!
//! The price is a crash: the streams written since the last start are lost, and reusing
//! their epochs would then replay the wrong notifications. So the file is marked *clean* only
//! by a completed save, the mark is cleared at start, and streams are restored only from a
//! clean file: after a crash every stream starts a new epoch and resuming clients are told
//! "not recovered" (they reload), never given a wrong replay.
//!
//! Restored streams come with their rooms' definitions ([`RoomSpec`]): the engine matches
//! those rooms again at start, before anyone subscribes, so the changes made between the
//! restart and a client's return are recorded too.

use std::collections::{HashMap, VecDeque};
use std::path::Path;

use bytes::Bytes;
use parking_lot::Mutex;
use redb::{Database, ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};

use super::memory::{MemoryHistory, Stream};
use super::{Entry, EntryKind, History, HistoryConfig, HistoryStats, Position, RoomSpec};
use crate::rooms::RoomId;

/// File name of the history inside the data directory.
pub const HISTORY_FILE: &str = "history.redb";

const STREAMS: TableDefinition<&str, &[u8]> = TableDefinition::new("streams");
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
const CLEAN: &str = "clean";

/// A stream as saved.
#[derive(Serialize, Deserialize)]
struct Saved {
    epoch: u64,
    last: u64,
    spec: RoomSpec,
    /// `(offset, at, kind, head)`.
    entries: Vec<(u64, u64, u8, String)>,
}

/// [`MemoryHistory`] saved in `<data dir>/history.redb` at shutdown.
pub struct RedbHistory {
    memory: MemoryHistory,
    db: Database,
    /// Streams read at start, until the engine revives their rooms.
    pending: Mutex<HashMap<String, Saved>>,
}

fn err(context: &'static str) -> impl Fn(redb::Error) -> String {
    move |e| format!("{HISTORY_FILE}: {context}: {e}")
}

impl RedbHistory {
    /// Opens (creating if needed) the history of a data directory; restores its streams if
    /// it was saved by a clean shutdown.
    pub fn open(data_dir: &Path, config: HistoryConfig) -> Result<RedbHistory, String> {
        std::fs::create_dir_all(data_dir)
            .map_err(|e| format!("cannot create {}: {e}", data_dir.display()))?;
        let path = data_dir.join(HISTORY_FILE);
        let db =
            Database::create(&path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        let mut pending = HashMap::new();
        let txn = db.begin_write().map_err(|e| err("begin")(e.into()))?;
        {
            let mut meta = txn
                .open_table(META)
                .map_err(|e| err("open table")(e.into()))?;
            let clean = meta
                .remove(CLEAN)
                .map_err(|e| err("read")(e.into()))?
                .is_some_and(|v| v.value() == 1);
            let mut streams = txn
                .open_table(STREAMS)
                .map_err(|e| err("open table")(e.into()))?;
            if clean {
                for row in streams.iter().map_err(|e| err("read")(e.into()))? {
                    let (key, value) = row.map_err(|e| err("read")(e.into()))?;
                    // An entry that does not decode is dropped: its room starts a new epoch.
                    if let Ok(saved) = serde_json::from_slice::<Saved>(value.value()) {
                        pending.insert(key.value().to_owned(), saved);
                    }
                }
            }
            streams
                .retain(|_, _| false)
                .map_err(|e| err("clear")(e.into()))?;
        }
        // The clean mark is gone before anything is served: a crash from now on is seen.
        txn.commit().map_err(|e| err("commit")(e.into()))?;
        Ok(RedbHistory {
            memory: MemoryHistory::new(config),
            db,
            pending: Mutex::new(pending),
        })
    }

    fn save(&self) -> Result<usize, String> {
        let txn = self.db.begin_write().map_err(|e| err("begin")(e.into()))?;
        let mut saved = 0;
        {
            let mut table = txn
                .open_table(STREAMS)
                .map_err(|e| err("open table")(e.into()))?;
            for (room, stream) in self.memory.snapshot() {
                let stream = stream.lock();
                // A stream whose room definition is unknown could not be matched again.
                let Some(spec) = stream.spec.clone() else {
                    continue;
                };
                let entries = stream
                    .entries
                    .iter()
                    .map(|e| {
                        let head = String::from_utf8_lossy(&e.head).into_owned();
                        (e.offset, e.at, e.kind.code(), head)
                    })
                    .collect();
                let value = Saved {
                    epoch: stream.epoch,
                    last: stream.last,
                    spec,
                    entries,
                };
                let bytes = serde_json::to_vec(&value).map_err(|e| e.to_string())?;
                table
                    .insert(room.to_hex().as_str(), bytes.as_slice())
                    .map_err(|e| err("write")(e.into()))?;
                saved += 1;
            }
            let mut meta = txn
                .open_table(META)
                .map_err(|e| err("open table")(e.into()))?;
            meta.insert(CLEAN, 1).map_err(|e| err("write")(e.into()))?;
        }
        txn.commit().map_err(|e| err("commit")(e.into()))?;
        Ok(saved)
    }
}

impl History for RedbHistory {
    fn config(&self) -> HistoryConfig {
        self.memory.config()
    }

    fn position(&self, room: RoomId, spec: &dyn Fn() -> Option<RoomSpec>) -> Position {
        self.memory.position(room, spec)
    }

    fn append(
        &self,
        room: RoomId,
        kind: EntryKind,
        head: &Bytes,
        now_ms: u64,
        deliver: &mut dyn FnMut(Position),
    ) {
        self.memory.append(room, kind, head, now_ms, deliver);
    }

    fn since(&self, room: RoomId, from: Position, now_ms: u64) -> Option<(Vec<Entry>, Position)> {
        self.memory.since(room, from, now_ms)
    }

    fn forget(&self, room: RoomId) {
        self.memory.forget(room);
    }

    fn sweep(&self, now_ms: u64) {
        self.memory.sweep(now_ms);
    }

    fn restore(&self, revive: &mut dyn FnMut(&RoomSpec) -> Option<RoomId>) {
        let pending = std::mem::take(&mut *self.pending.lock());
        for (key, saved) in pending {
            let Some(room) = revive(&saved.spec).filter(|id| id.to_hex() == key) else {
                continue;
            };
            let entries: VecDeque<Entry> = saved
                .entries
                .into_iter()
                .filter_map(|(offset, at, kind, head)| {
                    Some(Entry {
                        offset,
                        at,
                        kind: EntryKind::from_code(kind)?,
                        head: Bytes::from(head),
                    })
                })
                .collect();
            let bytes = entries.iter().map(|e| e.head.len()).sum();
            self.memory.restore(
                room,
                Stream {
                    epoch: saved.epoch,
                    last: saved.last,
                    entries,
                    bytes,
                    spec: Some(saved.spec),
                },
            );
        }
    }

    fn close(&self) -> Result<(), String> {
        let saved = self.save()?;
        tracing::info!(streams = saved, "history saved");
        Ok(())
    }

    fn stats(&self) -> HistoryStats {
        self.memory.stats()
    }
}
