//! `regexp` anchors filed under the grams their matches must contain (`crate::grams`).
//!
//! A document's string is looked up one three-byte window at a time; the anchors found are
//! only candidates, which the caller confirms by running their pattern (once per document:
//! literal results are cached). A pattern with several grams, or a string repeating a gram,
//! yields the same anchor more than once: callers deduplicate as they go (a long text
//! repeating a gram shared by many patterns would otherwise yield millions of candidates).

use smallvec::SmallVec;

use super::storage::{int_hash, ShardedTable};
use crate::grams::{for_each_gram, gram_len, MAX_GRAM};

type LitId = u32;

#[derive(Default)]
pub(crate) struct GramIndex {
    /// Anchors by gram. A table whose every insertion does bounded work (writes never stall
    /// matching); a gram shared by many patterns holds them all in one list.
    table: ShardedTable<(u64, SmallVec<[LitId; 2]>)>,
    /// Grams of each length: a string is looked up once per window per length present.
    per_length: [u32; MAX_GRAM + 1],
}

impl GramIndex {
    pub fn insert(&mut self, grams: &[u64], lit: LitId) {
        for &gram in grams {
            match self.table.find_mut(int_hash(gram), |(g, _)| *g == gram) {
                Some((_, lits)) => lits.push(lit),
                None => {
                    self.table.insert_unique(
                        int_hash(gram),
                        (gram, SmallVec::from_slice(&[lit])),
                        |(g, _)| int_hash(*g),
                    );
                    self.count_length(gram, 1);
                }
            }
        }
    }

    pub fn remove(&mut self, grams: &[u64], lit: LitId) {
        for &gram in grams {
            let Some((_, lits)) = self.table.find_mut(int_hash(gram), |(g, _)| *g == gram) else {
                continue;
            };
            if let Some(at) = lits.iter().position(|&l| l == lit) {
                lits.swap_remove(at);
            }
            if lits.is_empty() {
                self.table.remove(int_hash(gram), |(g, _)| *g == gram);
                self.count_length(gram, -1);
            }
        }
    }

    fn count_length(&mut self, gram: u64, delta: i32) {
        let count = &mut self.per_length[gram_len(gram).min(MAX_GRAM)];
        *count = count.saturating_add_signed(delta);
    }

    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// Calls `found` with every anchor filed under a gram of `text` (with repetitions).
    #[inline]
    pub fn for_each_candidate(&self, text: &str, mut found: impl FnMut(LitId)) {
        // Bit `n` set: grams of `n` bytes are filed.
        let lengths = (0..=MAX_GRAM)
            .filter(|&len| self.per_length[len] > 0)
            .fold(0u8, |mask, len| mask | 1 << len);
        for_each_gram(text, lengths, |gram| {
            if let Some((_, lits)) = self.table.find(int_hash(gram), |(g, _)| *g == gram) {
                lits.iter().for_each(|&lit| found(lit));
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grams::gram;

    #[test]
    fn finds_anchors_by_any_window_and_forgets_removed_ones() {
        let mut index = GramIndex::default();
        let (err, tim) = (gram(b"err"), gram(b"timeout"));
        index.insert(&[err], 1);
        index.insert(&[err, tim], 2);
        let candidates = |index: &GramIndex, text: &str| {
            let mut found = Vec::new();
            index.for_each_candidate(text, |lit| found.push(lit));
            found.sort_unstable();
            found
        };
        assert_eq!(candidates(&index, "An ERROR"), [1, 2]);
        assert_eq!(candidates(&index, "timeout"), [2]);
        assert!(candidates(&index, "timeou").is_empty());
        assert_eq!(candidates(&index, "error timeout error"), [1, 1, 2, 2, 2]);
        index.remove(&[err], 1);
        index.remove(&[err, tim], 2);
        assert!(index.is_empty());
        assert!(candidates(&index, "error timeout").is_empty());
    }
}
