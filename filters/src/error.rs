//! The one error type of the filter language.
//!
//! Every rejection names *where* the problem is (`path`, e.g. `and[1].range.age.gt`) and *what*
//! it is (`message`, worded like Koncorde's where Koncorde has a message for it). Array positions
//! appear in paths (`and[1]`), which Koncorde omits: with them a user finds the offending
//! sub-filter in one look.

use std::fmt;

/// A filter Herald refuses, with the path to the offending part.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilterError {
    /// Dotted path from the root of the filter, with `[i]` for array positions. Empty when the
    /// error concerns the filter as a whole.
    pub path: String,
    /// What is wrong, in words.
    pub message: String,
}

impl FilterError {
    pub(crate) fn new(path: impl Into<String>, message: impl Into<String>) -> FilterError {
        FilterError {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "\"{}\": {}", self.path, self.message)
        }
    }
}

impl std::error::Error for FilterError {}
