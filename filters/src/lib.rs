//! Herald's filter language: Koncorde-compatible filters, their canonical form, and matching.
//!
//! Subscribers describe the documents they want with JSON filters in the language of Koncorde
//! (the engine behind Kuzzle's realtime API). This crate is the language and nothing else: pure,
//! synchronous, no I/O. Its modules follow the data flow:
//!
//! * [`transform`] — JSON -> validated tree -> negation normal form -> canonical form -> id.
//!   Validation names the path to any offending part ([`FilterError`]); the canonical form is
//!   semantic (operand order and repetition do not matter), so logically equal filters share an
//!   id ([`FilterId`]).
//! * [`condition`] — the leaves: one keyword on one field ([`Condition`]) with a polarity
//!   ([`Literal`]), and their canonical keys.
//! * [`document`] — documents as the language sees them: flattened dotted paths.
//! * [`eval`] — the reference evaluator: plain, obviously right, the oracle for the matcher.
//! * [`geo`], [`regexp`], [`jsstring`], [`scalar`] — argument types: geopoints and shapes with
//!   Boost-compatible geodesy, RE2-compatible regexps, JavaScript string conversions, and JSON
//!   scalars with strict equality.
//!
//! The specification is `shared/spec/filter-dsl.md`; where it describes a Koncorde defect, this
//! crate implements the intended semantics of its section 15.

pub mod condition;
pub mod document;
pub mod engine;
mod error;
pub mod eval;
pub mod geo;
mod grams;
pub mod jsstring;
pub mod regexp;
pub mod scalar;
pub mod transform;

pub use condition::{Condition, Literal};
pub use error::FilterError;
pub use transform::{
    normalize, standardize, Canonical, FilterId, Normalized, Standardized, KEYWORDS,
};

/// Limits applied to every filter.
#[derive(Clone, Debug)]
pub struct Options {
    /// Maximum number of conditions in a filter's canonical form (every literal of every
    /// subfilter, counted before deduplication), checked before the form is expanded. Each leaf
    /// of the written filter (each value of `in`/`ids`) also counts towards it as it is read.
    pub max_conditions: usize,
    /// Maximum nesting of operators (and of `match` arguments).
    pub max_depth: usize,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            max_conditions: 100,
            max_depth: 128,
        }
    }
}
