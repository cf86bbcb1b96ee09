//! Canonical form: negation normal form -> a sorted disjunction of sorted conjunctions.
//!
//! A canonical filter is a set of *subfilters*, each a set of literals; a document matches when
//! every literal of some subfilter holds. Herald's form is semantic where Koncorde's is
//! syntactic:
//!
//! * literals inside a subfilter are sorted and deduplicated, and so are subfilters: the order
//!   of `and`/`or`/`bool`/`in`/`ids` operands never changes the form, nor does repetition;
//! * a subfilter holding an exact contradiction is dropped (a literal and its negation, two
//!   `equals` of different values on one field, a positive term on a field that is also
//!   required missing, `exists` of an object or array value). These can never match, so dropping them changes no result (Herald
//!   decision 6: unlike Koncorde, no order-dependent or coercing pruning);
//! * a subfilter that contains all the literals of another one is absorbed by it (`a or (a and
//!   b)` is `a`).
//!
//! The empty filter is one empty subfilter; a filter that can never match has no subfilter.
//!
//! **Size limit.** The DNF of an `and` of `or`s is a product and can be exponential in the
//! filter's size. Before expanding, [`Size`] computes exactly how many subfilters and literals
//! the expansion produces (before deduplication, with saturating arithmetic), and the filter is
//! refused when the literal count exceeds `max_conditions`. Expansion therefore never allocates
//! more than the limit allows, whatever the input.

use std::collections::HashMap;

use crate::condition::{Condition, Literal};
use crate::error::FilterError;
use crate::Options;

use super::standardize::Nnf;

/// A filter in canonical form: an OR of subfilters, each an AND of literals.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Canonical {
    subfilters: Vec<Subfilter>,
}

/// A conjunction of literals, sorted by key and without duplicates.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Subfilter {
    literals: Vec<Literal>,
}

impl Subfilter {
    pub fn literals(&self) -> &[Literal] {
        &self.literals
    }

    /// Whether every literal of `self` is in `other` (both are sorted).
    fn is_subset_of(&self, other: &Subfilter) -> bool {
        let mut theirs = other.literals.iter();
        self.literals.iter().all(|mine| theirs.any(|t| t == mine))
    }
}

impl Canonical {
    /// The subfilters, sorted; empty for a filter that never matches.
    pub fn subfilters(&self) -> &[Subfilter] {
        &self.subfilters
    }

    /// Whether the filter matches every document (one empty subfilter).
    pub fn is_everything(&self) -> bool {
        matches!(self.subfilters.as_slice(), [only] if only.literals.is_empty())
    }

    /// Whether the filter can never match.
    pub fn is_nothing(&self) -> bool {
        self.subfilters.is_empty()
    }

    /// Number of literals over all subfilters.
    pub fn condition_count(&self) -> usize {
        self.subfilters.iter().map(|s| s.literals.len()).sum()
    }

    /// Writes the canonical JSON: `[[<literal>, ...], ...]`, each literal being
    /// `{"<keyword>": <argument>, "not": <bool>}` with sorted keys and JavaScript numbers.
    pub fn write_canonical(&self, out: &mut String) {
        out.push('[');
        for (i, sub) in self.subfilters.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push('[');
            for (j, lit) in sub.literals.iter().enumerate() {
                if j > 0 {
                    out.push(',');
                }
                out.push_str(lit.key());
            }
            out.push(']');
        }
        out.push(']');
    }

    /// The canonical JSON as a string.
    pub fn to_canonical_string(&self) -> String {
        let mut s = String::new();
        self.write_canonical(&mut s);
        s
    }
}

/// Exact size of a DNF expansion, before deduplication (saturating).
#[derive(Clone, Copy, Debug)]
struct Size {
    subfilters: u64,
    literals: u64,
}

impl Size {
    fn of(nnf: &Nnf) -> Size {
        match nnf {
            Nnf::True => Size {
                subfilters: 1,
                literals: 0,
            },
            Nnf::False => Size {
                subfilters: 0,
                literals: 0,
            },
            Nnf::Literal(_) => Size {
                subfilters: 1,
                literals: 1,
            },
            Nnf::Or(children) => children.iter().map(Size::of).fold(
                Size {
                    subfilters: 0,
                    literals: 0,
                },
                |a, b| Size {
                    subfilters: a.subfilters.saturating_add(b.subfilters),
                    literals: a.literals.saturating_add(b.literals),
                },
            ),
            // Each subfilter of the product takes one subfilter from each side.
            Nnf::And(children) => children.iter().map(Size::of).fold(
                Size {
                    subfilters: 1,
                    literals: 0,
                },
                |a, b| Size {
                    subfilters: a.subfilters.saturating_mul(b.subfilters),
                    literals: a
                        .literals
                        .saturating_mul(b.subfilters)
                        .saturating_add(b.literals.saturating_mul(a.subfilters)),
                },
            ),
        }
    }
}

pub(crate) fn canonicalize(nnf: &Nnf, options: &Options) -> Result<Canonical, FilterError> {
    let size = Size::of(nnf);
    let max = options.max_conditions as u64;
    if size.literals > max || size.subfilters > max.max(1) {
        return Err(FilterError::new(
            "",
            format!(
                "Filter too complex: its canonical form would hold {} conditions in {} subfilters (max: {max} conditions)",
                size.literals, size.subfilters
            ),
        ));
    }
    let mut subfilters: Vec<Subfilter> = expand(nnf)
        .into_iter()
        .filter_map(|mut literals| {
            literals.sort();
            literals.dedup();
            let sub = Subfilter { literals };
            (!is_contradiction(&sub)).then_some(sub)
        })
        .collect();
    subfilters.sort();
    subfilters.dedup();
    // Absorption: drop a subfilter when a smaller one is a subset of it. Subfilters are few
    // (bounded by the limit), so the quadratic pass is cheap.
    let mut kept: Vec<Subfilter> = Vec::with_capacity(subfilters.len());
    let mut by_len: Vec<&Subfilter> = subfilters.iter().collect();
    by_len.sort_by_key(|s| s.literals.len());
    for sub in by_len {
        if !kept.iter().any(|k| k.is_subset_of(sub)) {
            kept.push(sub.clone());
        }
    }
    kept.sort();
    Ok(Canonical { subfilters: kept })
}

/// The DNF of a tree, as lists of literals (unsorted, possibly with duplicates).
fn expand(nnf: &Nnf) -> Vec<Vec<Literal>> {
    match nnf {
        Nnf::True => vec![Vec::new()],
        Nnf::False => Vec::new(),
        Nnf::Literal(l) => vec![vec![l.clone()]],
        Nnf::Or(children) => children.iter().flat_map(expand).collect(),
        Nnf::And(children) => {
            let mut acc = vec![Vec::new()];
            for child in children {
                let right = expand(child);
                let mut next = Vec::with_capacity(acc.len() * right.len());
                for left in &acc {
                    for r in &right {
                        let mut conj = Vec::with_capacity(left.len() + r.len());
                        conj.extend_from_slice(left);
                        conj.extend_from_slice(r);
                        next.push(conj);
                    }
                }
                acc = next;
            }
            acc
        }
    }
}

/// Whether a subfilter can never be satisfied, by one of the exact rules of the module doc.
fn is_contradiction(sub: &Subfilter) -> bool {
    // Condition key -> polarities seen.
    let mut seen: HashMap<&str, (bool, bool)> = HashMap::new();
    // Field -> value required by a positive `equals`.
    let mut equals: HashMap<&str, &crate::scalar::Scalar> = HashMap::new();
    // Fields required present by a positive term / required missing by `not exists`.
    let mut present: Vec<&str> = Vec::new();
    let mut missing: Vec<&str> = Vec::new();
    for lit in &sub.literals {
        let entry = seen.entry(lit.condition_key()).or_default();
        if lit.negated() {
            entry.1 = true;
        } else {
            entry.0 = true;
        }
        if entry.0 && entry.1 {
            return true;
        }
        let cond = lit.condition().as_ref();
        match (cond, lit.negated()) {
            (Condition::Exists { field, value: None }, true) => missing.push(field),
            // `exists f[{...}]`: objects and arrays are never found in an array.
            (Condition::Exists { value: Some(v), .. }, false) if v.is_array() || v.is_object() => {
                return true
            }
            (Condition::Match { .. }, _) | (_, true) => {}
            (c, false) => {
                if let Some(field) = c.field() {
                    present.push(field);
                }
                if let Condition::Equals { field, value } = c {
                    if let Some(previous) = equals.insert(field, value) {
                        if previous != value {
                            return true;
                        }
                    }
                }
            }
        }
    }
    present.iter().any(|f| missing.contains(f))
}
