//! Stabbing queries over numeric ranges: "which registered intervals contain x?".
//!
//! Intervals are split by shape, so that a query touches little more than its answer:
//!
//! * lower-bounded only (`gte a`): every entry with `a <= x` matches, a prefix of a B-tree
//!   ordered by `a`;
//! * upper-bounded only (`lt b`): every entry with `b >= x`, a suffix of a B-tree ordered by
//!   `b`;
//! * bounded on both sides: grouped by *width class* (the binary exponent of `hi - lo`). In
//!   class `c` every width is below `2^(c+1)`, so an interval containing `x` starts in
//!   `[x - 2^(c+1), x]`: one B-tree range scan per non-empty class, and at least about half of
//!   what it scans matches. Real workloads use a handful of classes.
//!
//! Each scanned entry is checked against its exact bounds (strict or not), so the structure
//! only has to be conservative, never exact.

use std::collections::BTreeMap;

use crate::condition::Range;

/// Total order on finite doubles, as an integer key.
fn key(x: f64) -> u64 {
    let bits = (x + 0.0).to_bits();
    if bits >> 63 == 1 {
        !bits
    } else {
        bits | (1 << 63)
    }
}

/// What the index stores with each interval (a literal id).
pub(crate) type Item = u32;

/// Widths at or above this (or infinite) go to a list scanned on every query.
const HUGE_CLASS: i32 = 1000;

#[derive(Default)]
pub(crate) struct RangeIndex {
    lower_only: BTreeMap<(u64, Item), Range>,
    upper_only: BTreeMap<(u64, Item), Range>,
    /// Width class -> intervals keyed by lower bound.
    bounded: BTreeMap<i32, BTreeMap<(u64, Item), Range>>,
    huge: Vec<(Item, Range)>,
    len: usize,
}

fn class(range: &Range) -> Option<i32> {
    let (Some(lo), Some(hi)) = (range.lower, range.upper) else {
        return None;
    };
    let width = hi.value - lo.value;
    if !width.is_finite() {
        return Some(HUGE_CLASS);
    }
    // Exponent e with 2^e <= width < 2^(e+1); zero-width cannot occur (validation).
    let e = width.log2().floor() as i32;
    Some(e.min(HUGE_CLASS))
}

impl RangeIndex {
    pub fn insert(&mut self, range: Range, item: Item) {
        self.len += 1;
        match (range.lower, range.upper, class(&range)) {
            (Some(lo), None, _) => {
                self.lower_only.insert((key(lo.value), item), range);
            }
            (None, Some(hi), _) => {
                self.upper_only.insert((key(hi.value), item), range);
            }
            (_, _, Some(HUGE_CLASS)) => self.huge.push((item, range)),
            (Some(lo), Some(_), Some(c)) => {
                self.bounded
                    .entry(c)
                    .or_default()
                    .insert((key(lo.value), item), range);
            }
            _ => self.len -= 1,
        }
    }

    pub fn remove(&mut self, range: &Range, item: Item) {
        let removed = match (range.lower, range.upper, class(range)) {
            (Some(lo), None, _) => self.lower_only.remove(&(key(lo.value), item)).is_some(),
            (None, Some(hi), _) => self.upper_only.remove(&(key(hi.value), item)).is_some(),
            (_, _, Some(HUGE_CLASS)) => {
                let before = self.huge.len();
                self.huge.retain(|(i, _)| *i != item);
                before != self.huge.len()
            }
            (Some(lo), Some(_), Some(c)) => {
                let mut removed = false;
                if let Some(tree) = self.bounded.get_mut(&c) {
                    removed = tree.remove(&(key(lo.value), item)).is_some();
                    if tree.is_empty() {
                        self.bounded.remove(&c);
                    }
                }
                removed
            }
            _ => false,
        };
        if removed {
            self.len -= 1;
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Calls `found` for every interval containing `x`.
    pub fn stab(&self, x: f64, mut found: impl FnMut(Item)) {
        if !x.is_finite() {
            return;
        }
        let kx = key(x);
        for ((_, item), range) in self.lower_only.range(..=(kx, Item::MAX)) {
            if range.contains(x) {
                found(*item);
            }
        }
        for ((_, item), range) in self.upper_only.range((kx, Item::MIN)..) {
            if range.contains(x) {
                found(*item);
            }
        }
        for (&c, tree) in &self.bounded {
            let reach = 2f64.powi(c + 1);
            let from = key(x - reach);
            for ((_, item), range) in tree.range((from, Item::MIN)..=(kx, Item::MAX)) {
                if range.contains(x) {
                    found(*item);
                }
            }
        }
        for (item, range) in &self.huge {
            if range.contains(x) {
                found(*item);
            }
        }
    }
}
