//! Authentication settings: the keys tokens are verified with, the optional issuer and
//! audience, and what anonymous connections may do.

use std::fmt;
use std::sync::Arc;

use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey};

use super::Rights;

/// One verification key and the algorithms it accepts.
#[derive(Clone)]
pub struct VerifyKey {
    pub(crate) key: Arc<DecodingKey>,
    pub(crate) algorithms: Vec<Algorithm>,
}

impl VerifyKey {
    /// A shared HMAC secret (HS256, HS384, HS512).
    pub fn hmac(secret: &[u8]) -> VerifyKey {
        VerifyKey::of_family(DecodingKey::from_secret(secret), AlgorithmFamily::Hmac)
    }

    /// A PEM public key: RSA (RS256/384/512, PS256/384/512) or elliptic-curve (ES256, ES384).
    pub fn public_pem(pem: &[u8]) -> Result<VerifyKey, String> {
        if let Ok(key) = DecodingKey::from_rsa_pem(pem) {
            return Ok(VerifyKey::of_family(key, AlgorithmFamily::Rsa));
        }
        DecodingKey::from_ec_pem(pem)
            .map(|key| VerifyKey::of_family(key, AlgorithmFamily::Ec))
            .map_err(|e| format!("not an RSA or EC public key in PEM format: {e}"))
    }

    fn of_family(key: DecodingKey, family: AlgorithmFamily) -> VerifyKey {
        VerifyKey {
            key: Arc::new(key),
            algorithms: family.algorithms().to_vec(),
        }
    }
}

impl fmt::Debug for VerifyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print key material.
        f.debug_struct("VerifyKey")
            .field("algorithms", &self.algorithms)
            .finish_non_exhaustive()
    }
}

/// Authentication and anonymous access.
#[derive(Clone, Debug)]
pub struct AuthConfig {
    /// Keys a token may be signed with (tried in order among those of the token's algorithm).
    /// None: every token is refused, everyone is anonymous.
    pub keys: Vec<VerifyKey>,
    /// Required `iss` claim, if set.
    pub issuer: Option<String>,
    /// Required `aud` claim, if set.
    pub audience: Option<String>,
    /// What connections without a token may do; `None` refuses them everything but the `auth`
    /// and `server` controllers (401 `security.rights.unauthorized`).
    pub anonymous: Option<Rights>,
    /// Rights of a valid token without a `herald` claim.
    pub default_rights: Rights,
}

impl Default for AuthConfig {
    /// No keys, anonymous connections and tokens without a `herald` claim allowed everything:
    /// `herald serve` just works. Lock it down with `anonymous: None` and explicit rights.
    fn default() -> AuthConfig {
        AuthConfig {
            keys: Vec::new(),
            issuer: None,
            audience: None,
            anonymous: Some(Rights::all()),
            default_rights: Rights::all(),
        }
    }
}
