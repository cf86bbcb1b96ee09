//! Where the shared oracle corpora are, for the integration tests of this crate.

use std::path::{Path, PathBuf};

/// `shared/` sits beside the checkout (`../shared`), or wherever HERALD_SHARED points.
pub fn shared_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("HERALD_SHARED") {
        return PathBuf::from(dir);
    }
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .ancestors()
        .map(|a| a.join("shared"))
        .find(|p| p.join("oracle").is_dir())
        .expect("shared/oracle not found beside the checkout (set HERALD_SHARED)")
}
