//! Where the oracle corpora are, for the integration tests of this crate.

use std::path::{Path, PathBuf};

/// `filters/tests/data/oracle/`: one directory per corpus (Koncorde 4.7.0's answers and the
/// intended semantics; see the README there). Part of the repository, so that a fresh clone
/// tests itself.
pub fn oracle_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/oracle")
}
