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
        validation.validate_nbf = true;
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
                    ErrorKind::ImmatureSignature => TokenError::Invalid("not valid yet".into()),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::VerifyKey;
    use jsonwebtoken::{EncodingKey, Header};
    use serde_json::json;

    const SECRET: &[u8] = b"unit-secret";

    fn sign(claims: &Value) -> String {
        let key = EncodingKey::from_secret(SECRET);
        jsonwebtoken::encode(&Header::default(), claims, &key).expect("sign")
    }

    fn now() -> u64 {
        crate::notify::now_ms() / 1000
    }

    fn config() -> AuthConfig {
        AuthConfig {
            keys: vec![VerifyKey::hmac(SECRET)],
            issuer: Some("erp".into()),
            audience: Some("herald".into()),
            ..AuthConfig::default()
        }
    }

    fn check(claims: Value) -> Result<Identity, TokenError> {
        verify(&config(), &Options::default(), &sign(&claims))
    }

    #[test]
    fn standard_claims_are_checked() {
        let exp = now() + 60;
        let good = json!({"sub":"alice","exp":exp,"iss":"erp","aud":"herald"});
        let identity = check(good.clone()).expect("valid");
        assert_eq!(identity.kuid.as_str(), "alice");
        assert_eq!(identity.expires_at, exp * 1000);
        assert_eq!(*identity.rights, Rights::all(), "default rights");
        let with = |key: &str, value: Value| {
            let mut claims = good.clone();
            claims[key] = value;
            check(claims)
        };
        let invalid = |r: Result<Identity, TokenError>| matches!(r, Err(TokenError::Invalid(_)));
        assert!(invalid(with("iss", json!("someone else"))));
        assert!(invalid(with("aud", json!("another app"))));
        assert!(invalid(with("nbf", json!(now() + 600))));
        assert!(invalid(with("sub", json!("-1"))));
        assert!(invalid(with("herald", json!({"events": "yes"}))));
        assert_eq!(
            with("exp", json!(now() - 1)).err(),
            Some(TokenError::Expired)
        );
        let kuzzle_style = json!({"_id":"bob","exp":exp,"iss":"erp","aud":"herald"});
        assert_eq!(check(kuzzle_style).expect("valid").kuid.as_str(), "bob");
        let no_user = json!({"exp":exp,"iss":"erp","aud":"herald"});
        assert!(invalid(check(no_user)));
        // A key for another algorithm family never verifies an HMAC token.
        let pem = include_bytes!("../../tests/fixtures/jwt/rsa-public.pem");
        let rsa_only = AuthConfig {
            keys: vec![VerifyKey::public_pem(pem).expect("rsa key")],
            ..config()
        };
        assert!(invalid(verify(
            &rsa_only,
            &Options::default(),
            &sign(&good)
        )));
        assert!(invalid(verify(&config(), &Options::default(), "a.b")));
    }
}
