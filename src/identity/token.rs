//! Token verification: a JWT string to an [`Identity`], or the reason it is refused.

use std::sync::Arc;

use herald_filters::Options;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::Validation;
use serde_json::Value;

use super::{AuthConfig, Identity, Rights};
use crate::rooms::UserId;

/// Why a token was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TokenError {
    /// Past its `exp` (Kuzzle: 401 `security.token.expired`).
    Expired,
    /// Malformed, wrongly signed, wrong issuer or audience, or bad claims (401
    /// `security.token.invalid`); the reason is for the client.
    Invalid(String),
}

impl std::fmt::Display for TokenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TokenError::Expired => f.write_str("token expired"),
            TokenError::Invalid(reason) => write!(f, "invalid token: {reason}"),
        }
    }
}

/// Verifies a token's signature and standard claims with the configured keys, then reads the
/// identity from its claims.
pub(crate) fn verify(
    config: &AuthConfig,
    filters: &Options,
    token: &str,
) -> Result<Identity, TokenError> {
    let header = jsonwebtoken::decode_header(token)
        .map_err(|_| TokenError::Invalid("malformed token".into()))?;
    let candidates: Vec<_> = config
        .keys
        .iter()
        .filter(|k| k.algorithms.contains(&header.alg))
        .collect();
    if candidates.is_empty() {
        return Err(TokenError::Invalid(format!(
            "no key configured for algorithm {:?}",
            header.alg
        )));
    }
    let mut last = TokenError::Invalid("invalid signature".into());
    for key in candidates {
        let mut validation = Validation::new(header.alg);
        validation.algorithms = key.algorithms.clone();
        validation.leeway = 0;
        validation.validate_aud = config.audience.is_some();
        if let Some(audience) = &config.audience {
            validation.set_audience(&[audience]);
        }
        if let Some(issuer) = &config.issuer {
            validation.set_issuer(&[issuer]);
            validation.required_spec_claims.insert("iss".into());
        }
        match jsonwebtoken::decode::<Value>(token, &key.key, &validation) {
            Ok(data) => return identity(config, filters, token, &data.claims),
            Err(e) => {
                last = match e.kind() {
                    ErrorKind::ExpiredSignature => return Err(TokenError::Expired),
                    ErrorKind::InvalidSignature => TokenError::Invalid("invalid signature".into()),
                    ErrorKind::InvalidIssuer => TokenError::Invalid("wrong issuer".into()),
                    ErrorKind::InvalidAudience => TokenError::Invalid("wrong audience".into()),
                    ErrorKind::MissingRequiredClaim(c) => {
                        TokenError::Invalid(format!("missing claim \"{c}\""))
                    }
                    _ => TokenError::Invalid(e.to_string()),
                };
            }
        }
    }
    Err(last)
}

/// The identity in verified claims: `sub` (or Kuzzle's `_id`), `exp`, and the `herald` rights.
fn identity(
    config: &AuthConfig,
    filters: &Options,
    token: &str,
    claims: &Value,
) -> Result<Identity, TokenError> {
    let invalid = |reason: String| TokenError::Invalid(reason);
    let kuid = ["sub", "_id"]
        .iter()
        .find_map(|k| claims.get(*k).and_then(Value::as_str))
        .filter(|s| !s.is_empty())
        .ok_or_else(|| invalid("missing claim \"sub\" (the user id)".into()))?;
    if kuid == "-1" {
        return Err(invalid("\"-1\" is the anonymous user id".into()));
    }
    let exp = claims
        .get("exp")
        .and_then(Value::as_f64)
        .filter(|e| e.is_finite() && *e > 0.0)
        .ok_or_else(|| invalid("claim \"exp\" must be a number".into()))?;
    let rights = match claims.get("herald") {
        None | Some(Value::Null) => config.default_rights.clone(),
        Some(value) => {
            let rights =
                Rights::from_json(value).map_err(|e| invalid(format!("claim \"herald\": {e}")))?;
            for (pattern, filter) in &rights.restrict {
                herald_filters::standardize(filter, filters).map_err(|e| {
                    invalid(format!(
                        "claim \"herald\": restriction of \"{}\": {e}",
                        pattern.as_str()
                    ))
                })?;
            }
            rights
        }
    };
    Ok(Identity {
        kuid: UserId::new(kuid),
        token: token.into(),
        expires_at: (exp * 1000.0) as u64,
        rights: Arc::new(rights),
    })
}
