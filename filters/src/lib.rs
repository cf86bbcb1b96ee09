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
//! The specification is `docs/spec/filter-dsl.md`; where it describes a Koncorde defect, this
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

/// Limits applied to every filter (spec section 15, decision 10).
///
/// Two different things are bounded, because they grow differently:
///
/// * `max_conditions` counts what Kuzzle counts: the conditions of the *written* filter, each
///   value of `in`/`ids` counting one. Its default is Kuzzle's, so every filter a default
///   Kuzzle accepts is accepted.
/// * `max_subfilters` bounds the *canonical form*, which can be exponential in the condition
///   count (an `and` of k two-term `or`s has 2^k subfilters). It is checked before and during
///   expansion, so refusing a filter costs no more than the bound, whatever its size.
#[derive(Clone, Debug)]
pub struct Options {
    /// Maximum number of conditions of the written filter (each `in`/`ids` value is one).
    pub max_conditions: usize,
    /// Maximum number of subfilters of the canonical form.
    pub max_subfilters: usize,
    /// Maximum nesting of operators (and of `match` arguments).
    pub max_depth: usize,
    /// Maximum number of points of one `geoPolygon` (registering a polygon costs time and
    /// memory in proportion to its points).
    pub max_polygon_points: usize,
    /// Maximum estimated memory of a filter's compiled regexps, in bytes
    /// ([`regexp::Pattern::memory`]): each pattern is bounded by the regexp module's limits,
    /// this bounds what a filter of many patterns holds.
    pub max_regexp_bytes: usize,
}

impl Options {
    /// Kuzzle's `limits.subscriptionConditionsCount`.
    pub const DEFAULT_MAX_CONDITIONS: usize = 100;
    /// Large enough for any hand-written filter (the spec asks for at least 4,096); a form of
    /// this size holds at most `max_conditions` literals per subfilter.
    pub const DEFAULT_MAX_SUBFILTERS: usize = 4096;
    /// Far above real use (a detailed city boundary has a few hundred points).
    pub const DEFAULT_MAX_POLYGON_POINTS: usize = 1000;
    /// A hundred typical patterns (a few KB each) fit many times over; a hundred patterns of
    /// the largest size one may have do not.
    pub const DEFAULT_MAX_REGEXP_BYTES: usize = 4 << 20;
}

impl Default for Options {
    fn default() -> Options {
        Options {
            max_conditions: Options::DEFAULT_MAX_CONDITIONS,
            max_subfilters: Options::DEFAULT_MAX_SUBFILTERS,
            max_depth: 128,
            max_polygon_points: Options::DEFAULT_MAX_POLYGON_POINTS,
            max_regexp_bytes: Options::DEFAULT_MAX_REGEXP_BYTES,
        }
    }
}
