//! A user's inbox state: the sequence counter and four sets of sequence numbers.
//!
//! # Why roaring bitmaps
//!
//! The state a badge needs (how many unread, how many unseen) and the bulk changes an inbox
//! offers ("mark everything read", "up to here") are set operations over the user's
//! notification numbers. Sequence numbers are allocated densely per user (1, 2, 3...), and a
//! user's live notifications are a window of recent numbers with holes where some were
//! deleted, so compressed bitmaps fit them exactly:
//!
//! * cardinalities are kept per container (one container per 65,536 numbers), so a count is
//!   a sum over a handful of containers — maintained incrementally by every insert and
//!   removal, never recomputed from the notifications;
//! * "mark all read" is `clear`, "read up to n" is `remove_range`: work per container, not per
//!   notification;
//! * the serialized form is compact (a run of 100,000 unread numbers after `optimize` is a
//!   few bytes; the worst case, alternating bits, is 8 KiB per 65,536 numbers), so the whole
//!   state is rewritten with each change and loads in one read.
//!
//! A `Vec<bool>` per notification or flags inside the notification records would make a
//! count a scan and "mark all read" a rewrite of every record. The 64-bit treemap is used so
//! that a user's counter can never wrap; below 2^32 it is a single 32-bit bitmap.
//!
//! # Invariants
//!
//! * `inbox` and `archived` are disjoint; their union is the set of stored notifications of
//!   the user (each has a record in the store, and nothing else has).
//! * `unread ⊆ inbox` and `unseen ⊆ inbox`: an archived notification counts as read and
//!   seen, so every count is a plain cardinality.
//! * Every stored number is below `next_seq`; numbers are never reused.

use std::io::Read;

use roaring::RoaringTreemap;
use serde::Serialize;

use crate::store::StoreError;

/// Version byte of the serialized state.
const FORMAT: u8 = 1;

/// The counts a client shows (every one an exact cardinality).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Unread notifications in the inbox (archived ones are read).
    pub unread: u64,
    /// Unseen notifications in the inbox.
    pub unseen: u64,
    /// Notifications in the inbox (not archived).
    pub total: u64,
    /// Archived notifications.
    pub archived: u64,
}

/// One user's sets; see the module docs for the invariants.
#[derive(Clone, Debug, PartialEq)]
pub struct UserState {
    /// The number of the next notification (the first one is 1).
    pub next_seq: u64,
    pub inbox: RoaringTreemap,
    pub archived: RoaringTreemap,
    pub unread: RoaringTreemap,
    pub unseen: RoaringTreemap,
}

impl Default for UserState {
    fn default() -> UserState {
        UserState {
            next_seq: 1,
            inbox: RoaringTreemap::new(),
            archived: RoaringTreemap::new(),
            unread: RoaringTreemap::new(),
            unseen: RoaringTreemap::new(),
        }
    }
}

impl UserState {
    pub fn counts(&self) -> Counts {
        Counts {
            unread: self.unread.len(),
            unseen: self.unseen.len(),
            total: self.inbox.len(),
            archived: self.archived.len(),
        }
    }

    /// Number of stored notifications (inbox and archived).
    pub fn stored(&self) -> u64 {
        self.inbox.len() + self.archived.len()
    }

    /// Whether `seq` is a stored notification.
    pub fn contains(&self, seq: u64) -> bool {
        self.inbox.contains(seq) || self.archived.contains(seq)
    }

    /// The oldest stored notification.
    pub fn oldest(&self) -> Option<u64> {
        match (self.inbox.min(), self.archived.min()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Allocates the number of a new notification, unread and unseen in the inbox.
    pub fn add(&mut self) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.inbox.insert(seq);
        self.unread.insert(seq);
        self.unseen.insert(seq);
        seq
    }

    /// Forgets a notification; false if it was not stored.
    pub fn remove(&mut self, seq: u64) -> bool {
        self.unread.remove(seq);
        self.unseen.remove(seq);
        self.inbox.remove(seq) | self.archived.remove(seq)
    }

    /// Compacts the sets (runs become run containers) before they are written.
    pub fn optimize(&mut self) {
        for set in [
            &mut self.inbox,
            &mut self.archived,
            &mut self.unread,
            &mut self.unseen,
        ] {
            set.optimize();
        }
    }

    /// The stored form: a version byte, `next_seq` (u64 LE), then each set (inbox, archived,
    /// unread, unseen) as its byte length (u32 LE) and roaring's portable serialization.
    pub fn encode(&self) -> Result<Vec<u8>, StoreError> {
        let sets = [&self.inbox, &self.archived, &self.unread, &self.unseen];
        let size: usize = sets.iter().map(|s| 4 + s.serialized_size()).sum();
        let mut out = Vec::with_capacity(9 + size);
        out.push(FORMAT);
        out.extend_from_slice(&self.next_seq.to_le_bytes());
        for set in sets {
            let len = u32::try_from(set.serialized_size())
                .map_err(|_| StoreError("inbox state too large".into()))?;
            out.extend_from_slice(&len.to_le_bytes());
            set.serialize_into(&mut out)
                .map_err(|e| StoreError(format!("cannot encode an inbox state: {e}")))?;
        }
        Ok(out)
    }

    pub fn decode(bytes: &[u8]) -> Result<UserState, StoreError> {
        let corrupt = |what: &str| StoreError(format!("corrupt inbox state: {what}"));
        let mut reader = bytes;
        let mut byte = [0u8; 1];
        reader.read_exact(&mut byte).map_err(|_| corrupt("empty"))?;
        if byte[0] != FORMAT {
            return Err(corrupt("unknown format"));
        }
        let mut word = [0u8; 8];
        reader
            .read_exact(&mut word)
            .map_err(|_| corrupt("truncated"))?;
        let next_seq = u64::from_le_bytes(word);
        let mut set = || -> Result<RoaringTreemap, StoreError> {
            let mut len = [0u8; 4];
            reader
                .read_exact(&mut len)
                .map_err(|_| corrupt("truncated"))?;
            let len = u32::from_le_bytes(len) as usize;
            if reader.len() < len {
                return Err(corrupt("truncated set"));
            }
            let (head, tail) = reader.split_at(len);
            reader = tail;
            RoaringTreemap::deserialize_from(head).map_err(|e| corrupt(&e.to_string()))
        };
        let state = UserState {
            next_seq,
            inbox: set()?,
            archived: set()?,
            unread: set()?,
            unseen: set()?,
        };
        if !reader.is_empty() {
            return Err(corrupt("trailing bytes"));
        }
        Ok(state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trips_and_keeps_its_invariants() {
        let mut state = UserState::default();
        let ids: Vec<u64> = (0..5).map(|_| state.add()).collect();
        assert_eq!(ids, vec![1, 2, 3, 4, 5]);
        state.unread.remove_range(..=2);
        state.unseen.clear();
        // Archive 4: it leaves the inbox, read and seen.
        state.inbox.remove(4);
        state.archived.insert(4);
        state.unread.remove(4);
        assert!(state.remove(1));
        assert!(!state.remove(1));
        assert_eq!(
            state.counts(),
            Counts {
                unread: 2,
                unseen: 0,
                total: 3,
                archived: 1
            }
        );
        assert_eq!(state.oldest(), Some(2));
        assert_eq!(state.stored(), 4);
        state.optimize();
        let bytes = state.encode().expect("encode");
        assert_eq!(UserState::decode(&bytes).expect("decode"), state);
        assert!(UserState::decode(&bytes[..bytes.len() - 1]).is_err());
        assert!(UserState::decode(&[]).is_err());
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(UserState::decode(&longer).is_err());
    }

    #[test]
    fn a_long_run_is_small_once_optimized() {
        let mut state = UserState::default();
        for _ in 0..100_000 {
            state.add();
        }
        state.optimize();
        let bytes = state.encode().expect("encode");
        assert!(bytes.len() < 200, "{} bytes", bytes.len());
    }
}
