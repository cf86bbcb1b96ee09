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
//! **Expansion bound** (spec 15, decision 10). The DNF of an `and` of `or`s is a product and
//! can be exponential in the filter's size (an `and` of k two-term `or`s has 2^k subfilters),
//! so the condition limit of the written filter does not bound it. Expansion is therefore
//! bounded by [`Options::max_subfilters`]: each conjunction's product size is computed from
//! its (already reduced) operands *before* it is built, and the filter is refused as soon as
//! one would exceed the bound. Intermediate results are reduced (contradictions dropped,
//! duplicates and absorbed subfilters removed) as they are built, so the bound applies to what
//! the canonical form really holds, not to a naive expansion full of repetitions. Time and
//! memory are thus bounded by the bound times the condition limit, whatever the input.

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

pub(crate) fn canonicalize(nnf: &Nnf, options: &Options) -> Result<Canonical, FilterError> {
    let max = options.max_subfilters.max(1);
    let subfilters = dnf(nnf, max).map_err(|at_least| {
        FilterError::new(
            "",
            format!(
                "Filter too complex: its canonical form would hold at least {at_least} subfilters (max: {max} subfilters)"
            ),
        )
    })?;
    Ok(Canonical { subfilters })
}

/// The reduced DNF of a tree (see [`reduce`]), or, when some step would exceed `max`
/// subfilters, the size of that step.
fn dnf(nnf: &Nnf, max: usize) -> Result<Vec<Subfilter>, u64> {
    Ok(match nnf {
        Nnf::True => vec![Subfilter {
            literals: Vec::new(),
        }],
        Nnf::False => Vec::new(),
        Nnf::Literal(l) => vec![Subfilter {
            literals: vec![l.clone()],
        }],
        Nnf::Or(children) => {
            let mut out = Vec::new();
            for child in children {
                out.extend(dnf(child, max)?);
                if out.len() > max {
                    out = reduce(out);
                    if out.len() > max {
                        return Err(out.len() as u64);
                    }
                }
            }
            reduce(out)
        }
        Nnf::And(children) => {
            let mut acc = vec![Subfilter {
                literals: Vec::new(),
            }];
            for child in children {
                let right = dnf(child, max)?;
                let size = (acc.len() as u64).saturating_mul(right.len() as u64);
                if size > max as u64 {
                    return Err(size);
                }
                let mut next = Vec::with_capacity(acc.len() * right.len());
                for left in &acc {
                    for r in &right {
                        next.push(Subfilter {
                            literals: merge(&left.literals, &r.literals),
                        });
                    }
                }
                acc = reduce(next);
                if acc.is_empty() {
                    break; // a contradiction: the rest cannot revive it
                }
            }
            acc
        }
    })
}

/// The sorted union of two sorted, deduplicated literal lists.
fn merge(a: &[Literal], b: &[Literal]) -> Vec<Literal> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => {
                out.push(a[i].clone());
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                out.push(b[j].clone());
                j += 1;
            }
            std::cmp::Ordering::Equal => {
                out.push(a[i].clone());
                i += 1;
                j += 1;
            }
        }
    }
    out.extend_from_slice(&a[i..]);
    out.extend_from_slice(&b[j..]);
    out
}

/// Drops contradictions, duplicates and absorbed subfilters (`a or (a and b)` is `a`), and
/// sorts what is left. Subfilters come in with sorted, deduplicated literals.
fn reduce(mut subfilters: Vec<Subfilter>) -> Vec<Subfilter> {
    subfilters.retain(|s| !is_contradiction(s));
    if subfilters.len() <= 1 {
        return subfilters;
    }
    // Shorter first, so that a subfilter can only be absorbed by one already kept.
    subfilters.sort_by(|a, b| {
        a.literals
            .len()
            .cmp(&b.literals.len())
            .then_with(|| a.cmp(b))
    });
    subfilters.dedup();
    // A 64-bit signature (one bit per literal) rejects most subset tests with one AND; only
    // strictly shorter subfilters can absorb (equal ones were deduplicated), so a form whose
    // subfilters all have the same length (an `and` of `or`s) costs no test at all.
    let mut kept: Vec<(u64, Subfilter)> = Vec::with_capacity(subfilters.len());
    let mut shorter = 0; // kept[..shorter] are strictly shorter than the current subfilter
    for sub in subfilters {
        while shorter < kept.len() && kept[shorter].1.literals.len() < sub.literals.len() {
            shorter += 1;
        }
        let signature = signature(&sub);
        let absorbed = kept[..shorter]
            .iter()
            .any(|(sig, k)| sig & !signature == 0 && k.is_subset_of(&sub));
        if !absorbed {
            kept.push((signature, sub));
        }
    }
    let mut out: Vec<Subfilter> = kept.into_iter().map(|(_, s)| s).collect();
    out.sort();
    out
}

fn signature(sub: &Subfilter) -> u64 {
    sub.literals
        .iter()
        .fold(0, |sig, l| sig | 1 << (l.digest() as u64 % 64))
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
