//! From JSON to canonical form: validate -> standardize -> canonicalize -> identify.
//!
//! Koncorde's own seam, kept here: this module only *transforms* filters; it knows nothing of
//! indexes or matching (that is `engine`). Each stage has its own module:
//!
//! * `parse`: the user's JSON -> a validated tree (every keyword and argument checked, sugar
//!   such as `in`, `ids`, `missing` and `bool` rewritten);
//! * [`standardize`]: negations pushed down to the conditions, constants folded (negation
//!   normal form, [`Nnf`]);
//! * `canonical`: the sorted, deduplicated disjunction of conjunctions ([`Canonical`]), with
//!   the size limit checked before expansion;
//! * `id`: the stable hash of the canonical form ([`FilterId`]).

mod canonical;
mod id;
mod parse;
mod standardize;

use std::sync::Arc;

use serde_json::Value;

use crate::error::FilterError;
use crate::Options;

pub use canonical::{Canonical, Subfilter};
pub use id::FilterId;
pub use standardize::Nnf;

pub(crate) use parse::is_truthy;
pub use parse::KEYWORDS;

/// A filter that passed validation, in negation normal form: what the reference evaluator
/// walks.
#[derive(Clone, Debug)]
pub struct Standardized {
    nnf: Nnf,
}

impl Standardized {
    pub fn nnf(&self) -> &Nnf {
        &self.nnf
    }
}

/// A filter ready to be registered: its canonical form and id.
#[derive(Clone, Debug)]
pub struct Normalized {
    pub id: FilterId,
    pub canonical: Arc<Canonical>,
    pub standardized: Standardized,
}

/// Validates a filter and puts it in negation normal form.
pub fn standardize(filter: &Value, options: &Options) -> Result<Standardized, FilterError> {
    let ast = parse::parse(filter, options)?;
    Ok(Standardized {
        nnf: standardize::standardize(ast),
    })
}

/// Validates, standardizes and canonicalizes a filter, and computes its id.
pub fn normalize(filter: &Value, options: &Options) -> Result<Normalized, FilterError> {
    let standardized = standardize(filter, options)?;
    let canonical = canonical::canonicalize(&standardized.nnf, options)?;
    Ok(Normalized {
        id: FilterId::of(&canonical),
        canonical: Arc::new(canonical),
        standardized,
    })
}
