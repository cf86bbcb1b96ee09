//! Helpers of the identity tests: a server that verifies tokens, and tokens signed with the
//! test keys of `tests/fixtures/jwt/`.
#![allow(dead_code)]

use std::time::{SystemTime, UNIX_EPOCH};

use herald::identity::{AuthConfig, Rights, VerifyKey};
use herald::notify::HubConfig;
use herald::server::Config;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

use crate::server_support::{Client, Server};

pub const SECRET: &[u8] = b"herald-test-secret";
const RSA_PRIVATE: &[u8] = include_bytes!("../fixtures/jwt/rsa-private.pem");
const RSA_PUBLIC: &[u8] = include_bytes!("../fixtures/jwt/rsa-public.pem");
const EC_PRIVATE: &[u8] = include_bytes!("../fixtures/jwt/ec-private.pem");
const EC_PUBLIC: &[u8] = include_bytes!("../fixtures/jwt/ec-public.pem");

/// Seconds since the epoch.
pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs()
}

/// A server accepting HS256 (SECRET), RS256 and ES256 tokens; `anonymous` as given.
pub async fn server(anonymous: Option<Value>) -> Server {
    let keys = vec![
        VerifyKey::hmac(SECRET),
        VerifyKey::public_pem(RSA_PUBLIC).expect("rsa key"),
        VerifyKey::public_pem(EC_PUBLIC).expect("ec key"),
    ];
    let auth = AuthConfig {
        keys,
        anonymous: anonymous.map(|r| Rights::from_json(&r).expect("rights")),
        ..AuthConfig::default()
    };
    Server::start_with(Config {
        hub: HubConfig {
            auth,
            ..HubConfig::default()
        },
        ..Config::default()
    })
    .await
}

/// Claims for `user`, expiring in `ttl` seconds (negative: already expired), with `herald`
/// rights (omitted if null).
pub fn claims(user: &str, ttl: i64, herald: Value) -> Value {
    let exp = now_secs() as i64 + ttl;
    let mut claims = json!({"sub": user, "_id": user, "exp": exp});
    if !herald.is_null() {
        claims["herald"] = herald;
    }
    claims
}

pub fn sign(algorithm: Algorithm, claims: &Value) -> String {
    let key = match algorithm {
        Algorithm::HS256 => EncodingKey::from_secret(SECRET),
        Algorithm::RS256 => EncodingKey::from_rsa_pem(RSA_PRIVATE).expect("rsa private key"),
        Algorithm::ES256 => EncodingKey::from_ec_pem(EC_PRIVATE).expect("ec private key"),
        other => panic!("no test key for {other:?}"),
    };
    jsonwebtoken::encode(&Header::new(algorithm), claims, &key).expect("sign")
}

/// An HS256 token for `user` valid for an hour.
pub fn token(user: &str, herald: Value) -> String {
    sign(Algorithm::HS256, &claims(user, 3600, herald))
}

/// Every right, as a `herald` claim.
pub fn all_rights() -> Value {
    json!({"subscribe": "*", "publish": "*", "write": "*", "events": true})
}

/// Logs a client in with `auth:login` (strategy `jwt`); returns the result.
pub async fn login(client: &mut Client, token: &str) -> Value {
    client
        .ok(json!({"controller":"auth","action":"login","strategy":"jwt","body":{"token":token}}))
        .await
}

/// A new client logged in with `token`.
pub async fn logged_in(server: &Server, token: &str) -> Client {
    let mut client = server.client().await;
    login(&mut client, token).await;
    client
}

/// Subscribes to the events of the client's identity (`%herald/events`); returns the channel.
pub async fn listen(client: &mut Client, filter: Value) -> String {
    client
        .subscribe("%herald", "events", filter, json!({}))
        .await
        .1
}

/// `events:send` with `body`; returns the number of connections reached.
pub async fn send_event(client: &mut Client, body: Value) -> u64 {
    let result = client
        .ok(json!({"controller":"events","action":"send","body":body}))
        .await;
    result["delivered"].as_u64().expect("delivered")
}

/// Asserts a refused request's error id and status.
pub fn assert_error(error: &Value, id: &str, status: u16) {
    assert_eq!(error["id"], id, "{error}");
    assert_eq!(error["status"], status, "{error}");
}
