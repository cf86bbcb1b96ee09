//! Filter identity: a stable hash of the canonical form.
//!
//! The id is SHA-256 of the canonical JSON (`Canonical::write_canonical`), printed as 64
//! lower-case hex digits. The canonical JSON is built only from deterministic pieces (sorted
//! literals, JavaScript number formatting, serde_json string escaping), so the id is the same
//! on every machine, process and version as long as the canonical form itself does not
//! change. A cryptographic hash is used because ids name rooms: a user who could forge a
//! collision would share a room with a filter they did not write. It is computed once per
//! subscription, never while matching.

use std::fmt;

use sha2::{Digest, Sha256};

use super::canonical::Canonical;

/// The identity of a canonical filter.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FilterId([u8; 32]);

impl FilterId {
    pub fn of(canonical: &Canonical) -> FilterId {
        FilterId::of_bytes(canonical.to_canonical_string().as_bytes())
    }

    /// Hash of arbitrary canonical bytes (used to derive ids that include a namespace).
    pub fn of_bytes(bytes: &[u8]) -> FilterId {
        FilterId(Sha256::digest(bytes).into())
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// 64 lower-case hex digits.
    pub fn to_hex(&self) -> String {
        let mut s = String::with_capacity(64);
        for b in self.0 {
            s.push(char::from_digit(u32::from(b >> 4), 16).unwrap_or('0'));
            s.push(char::from_digit(u32::from(b & 15), 16).unwrap_or('0'));
        }
        s
    }
}

impl fmt::Display for FilterId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for FilterId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FilterId({})", self.to_hex())
    }
}
