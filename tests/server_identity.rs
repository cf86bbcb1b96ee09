//! Identity over real sockets: token verification (HS256, RS256, ES256; expired, wrongly
//! signed, malformed), auth actions, per-collection rights and their refusals, restriction
//! filters, logout and token expiry.

mod identity_support;
mod server_support;

use identity_support::{
    all_rights, assert_error, claims, logged_in, login, now_secs, server, sign, token,
};
use jsonwebtoken::Algorithm;
use serde_json::{json, Value};
use server_support::http_with;

fn subscribe_request(index: &str, collection: &str, jwt: Option<&str>) -> Value {
    let mut request = json!({"controller":"realtime","action":"subscribe","index":index,
        "collection":collection,"body":{}});
    if let Some(jwt) = jwt {
        request["jwt"] = jwt.into();
    }
    request
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn valid_tokens_of_each_algorithm_identify_the_caller() {
    let server = server(None).await;
    for (algorithm, user) in [
        (Algorithm::HS256, "hs-user"),
        (Algorithm::RS256, "rs-user"),
        (Algorithm::ES256, "es-user"),
    ] {
        let jwt = sign(algorithm, &claims(user, 3600, all_rights()));
        let mut client = server.client().await;
        let me = client
            .ok(json!({"controller":"auth","action":"getCurrentUser","jwt":jwt}))
            .await;
        assert_eq!(me["_id"], user, "{algorithm:?}");
        client
            .ok(subscribe_request("shop", "orders", Some(&jwt)))
            .await;
        // The connection is now bound: requests without `jwt` run as the user.
        let me = client
            .ok(json!({"controller":"auth","action":"getCurrentUser"}))
            .await;
        assert_eq!(me["_id"], user);
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_tokens_are_refused_with_kuzzle_errors() {
    let server = server(Some(all_rights())).await;
    let mut client = server.client().await;
    let expired = sign(Algorithm::HS256, &claims("alice", -10, all_rights()));
    let forged = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(Algorithm::HS256),
        &claims("alice", 3600, all_rights()),
        &jsonwebtoken::EncodingKey::from_secret(b"not the secret"),
    )
    .expect("sign");
    let no_subject = sign(Algorithm::HS256, &json!({"exp": now_secs() + 60}));
    let bad_claim = token("alice", json!({"subscribe": 12}));
    let bad_restriction = token("alice", json!({"restrict": {"a/b": {"nope": 1}}}));
    let cases: [(&str, &str); 6] = [
        (&expired, "security.token.expired"),
        (&forged, "security.token.invalid"),
        ("not.a.jwt", "security.token.invalid"),
        (&no_subject, "security.token.invalid"),
        (&bad_claim, "security.token.invalid"),
        (&bad_restriction, "security.token.invalid"),
    ];
    for (jwt, id) in cases {
        let error = client
            .fail(subscribe_request("shop", "orders", Some(jwt)))
            .await;
        assert_error(&error, id, 401);
        let error = client
            .fail(
                json!({"controller":"auth","action":"login","strategy":"jwt","body":{"token":jwt}}),
            )
            .await;
        assert_error(&error, id, 401);
    }
    // Never downgraded to anonymous, and nothing bound: the connection is still anonymous.
    let me = client
        .ok(json!({"controller":"auth","action":"getCurrentUser"}))
        .await;
    assert_eq!(me["_id"], "-1");
    // checkToken reports rather than fails.
    let check =
        |token: &str| json!({"controller":"auth","action":"checkToken","body":{"token":token}});
    let result = client.ok(check(&expired)).await;
    assert_eq!(result, json!({"valid": false, "state": "Token expired"}));
    let result = client.ok(check(&forged)).await;
    assert_eq!(result["valid"], false);
    assert!(result["state"]
        .as_str()
        .expect("state")
        .contains("signature"));
    let good = token("alice", Value::Null);
    let result = client.ok(check(&good)).await;
    assert_eq!(result["valid"], true);
    assert_eq!(result["kuid"], "alice");
    assert!(result["expiresAt"].as_u64().expect("expiresAt") > now_secs() * 1000);
    let result = client
        .ok(json!({"controller":"auth","action":"checkToken","body":{}}))
        .await;
    assert_eq!(
        result,
        json!({"valid": true, "kuid": "-1", "expiresAt": -1})
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_returns_the_token_and_logout_unbinds() {
    let server = server(None).await;
    let jwt = token("alice", all_rights());
    let mut client = server.client().await;
    // Anonymous access refused: 401 unauthorized.
    let error = client.fail(subscribe_request("shop", "orders", None)).await;
    assert_error(&error, "security.rights.unauthorized", 401);
    let result = login(&mut client, &jwt).await;
    assert_eq!(result["_id"], "alice");
    assert_eq!(result["jwt"], jwt.as_str());
    assert!(result["ttl"].as_u64().expect("ttl") > 3_500_000);
    let (_, channel) = client
        .subscribe("shop", "orders", json!({}), json!({}))
        .await;
    client
        .ok(json!({"controller":"auth","action":"logout","jwt":jwt}))
        .await;
    let error = client.fail(subscribe_request("shop", "items", None)).await;
    assert_error(&error, "security.rights.unauthorized", 401);
    // Subscriptions stay after logout (they belong to the connection).
    let mut writer = logged_in(&server, &jwt).await;
    writer
        .ok(json!({"controller":"realtime","action":"publish","index":"shop","collection":"orders","body":{"n":1}}))
        .await;
    let frame = client.next_frame().await;
    assert_eq!(frame["room"], channel.as_str());
    assert_eq!(
        frame["result"]["_source"]["_kuzzle_info"]["author"],
        "alice"
    );
    let error = client
        .fail(json!({"controller":"auth","action":"login","strategy":"local","body":{"username":"x"}}))
        .await;
    assert_error(&error, "api.assert.invalid_argument", 400);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_right_is_refused_and_allowed() {
    let server = server(Some(json!({"subscribe": ["public/*"]}))).await;
    let rights =
        json!({"subscribe": ["shop/*"], "publish": ["chat/room-*"], "write": ["shop/orders"]});
    let jwt = token("bob", rights);
    let mut bob = logged_in(&server, &jwt).await;
    let mut anonymous = server.client().await;

    // subscribe
    bob.ok(subscribe_request("shop", "orders", None)).await;
    let error = bob.fail(subscribe_request("admin", "logs", None)).await;
    assert_error(&error, "security.rights.forbidden", 403);
    assert!(error["message"]
        .as_str()
        .expect("message")
        .contains("\"admin\":\"logs\""));
    anonymous
        .ok(subscribe_request("public", "news", None))
        .await;
    let error = anonymous
        .fail(subscribe_request("shop", "orders", None))
        .await;
    assert_error(&error, "security.rights.unauthorized", 401);

    // publish: refused publishes reach nobody.
    let (_, channel) = anonymous
        .subscribe("public", "news", json!({}), json!({}))
        .await;
    let publish = |index: &str, collection: &str| json!({"controller":"realtime","action":"publish","index":index,"collection":collection,"body":{"x":1}});
    let error = bob.fail(publish("public", "news")).await;
    assert_error(&error, "security.rights.forbidden", 403);
    let error = anonymous.fail(publish("public", "news")).await;
    assert_error(&error, "security.rights.unauthorized", 401);
    anonymous.silent(200).await;
    bob.ok(publish("chat", "room-1")).await;
    assert_error(
        &bob.fail(publish("chat", "lobby")).await,
        "security.rights.forbidden",
        403,
    );

    // write, and reads (subscribe right)
    let create = |collection: &str| json!({"controller":"document","action":"create","index":"shop","collection":collection,"_id":"d1","body":{"a":1}});
    bob.ok(create("orders")).await;
    assert_error(
        &bob.fail(create("items")).await,
        "security.rights.forbidden",
        403,
    );
    let get = json!({"controller":"document","action":"get","index":"shop","collection":"orders","_id":"d1"});
    assert_eq!(bob.ok(get.clone()).await["_source"]["a"], 1);
    assert_error(
        &anonymous.fail(get).await,
        "security.rights.unauthorized",
        401,
    );

    // events
    let error = bob
        .fail(json!({"controller":"events","action":"send","body":{"type":"MAIL","user":"x"}}))
        .await;
    assert_error(&error, "security.rights.forbidden", 403);

    // HTTP: the token rides in the Authorization header.
    let bearer = format!("Authorization: Bearer {jwt}\r\n");
    let (status, body) = http_with(
        server.addr,
        "POST",
        "/chat/room-9/_publish",
        &bearer,
        Some("{}"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = http_with(
        server.addr,
        "POST",
        "/public/news/_publish",
        &bearer,
        Some("{}"),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"]["id"], "security.rights.forbidden");
    let (status, body) =
        http_with(server.addr, "POST", "/public/news/_publish", "", Some("{}")).await;
    assert_eq!(status, 401, "{body}");
    let (status, body) = http_with(server.addr, "GET", "/_me", &bearer, None).await;
    assert_eq!((status, &body["result"]["_id"]), (200, &json!("bob")));
    anonymous.silent(200).await;
    let _ = channel;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restriction_filters_hide_other_tenants_documents() {
    let server = server(None).await;
    let tenant = |name: &str| json!({"subscribe": ["shop/*"], "write": ["shop/*"], "restrict": {"shop/orders": {"equals": {"tenant": name}}}});
    let mut acme = logged_in(&server, &token("acme-user", tenant("acme"))).await;
    let mut globex = logged_in(&server, &token("globex-user", tenant("globex"))).await;
    let mut admin = logged_in(&server, &token("admin", all_rights())).await;
    // Same filter, different rooms.
    let (acme_room, acme_channel) = acme.subscribe("shop", "orders", json!({}), json!({})).await;
    let (globex_room, globex_channel) = globex
        .subscribe("shop", "orders", json!({}), json!({}))
        .await;
    assert_ne!(acme_room, globex_room);
    // With a filter of their own too.
    let (_, acme_big) = acme
        .subscribe(
            "shop",
            "orders",
            json!({"range": {"total": {"gte": 100}}}),
            json!({}),
        )
        .await;
    for (id, tenant, total) in [
        ("o1", "acme", 10),
        ("o2", "globex", 20),
        ("o3", "acme", 500),
    ] {
        admin
            .ok(json!({"controller":"document","action":"create","index":"shop","collection":"orders",
                "_id":id,"body":{"tenant":tenant,"total":total}}))
            .await;
    }
    let seen = |frame: &Value| {
        (
            frame["room"].as_str().unwrap_or("").to_owned(),
            frame["result"]["_id"].as_str().unwrap_or("").to_owned(),
        )
    };
    let mut acme_frames = vec![
        seen(&acme.next_frame().await),
        seen(&acme.next_frame().await),
        seen(&acme.next_frame().await),
    ];
    acme_frames.sort();
    let mut expected = vec![
        (acme_channel.clone(), "o1".to_owned()),
        (acme_channel.clone(), "o3".to_owned()),
        (acme_big.clone(), "o3".to_owned()),
    ];
    expected.sort();
    assert_eq!(acme_frames, expected);
    assert_eq!(
        seen(&globex.next_frame().await),
        (globex_channel, "o2".to_owned())
    );
    acme.silent(200).await;
    globex.silent(100).await;
    // Restricted users cannot bypass their filter: no join of another room; other tenants'
    // documents do not exist for them (tests/server_tenants.rs covers every action).
    let error = globex
        .fail(json!({"controller":"realtime","action":"join","body":{"roomId":acme_room}}))
        .await;
    assert_error(&error, "security.rights.forbidden", 403);
    let error = globex
        .fail(json!({"controller":"document","action":"get","index":"shop","collection":"orders","_id":"o1"}))
        .await;
    assert_error(&error, "services.storage.not_found", 404);
    let own = globex
        .ok(json!({"controller":"document","action":"get","index":"shop","collection":"orders","_id":"o2"}))
        .await;
    assert_eq!(own["_source"]["tenant"], "globex");
    // Writes: inside the restriction only, new documents with server-chosen ids.
    let write = |action: &str, id: &str, tenant: &str| {
        json!({"controller":"document","action":action,"index":"shop","collection":"orders",
            "_id":id,"body":{"tenant":tenant,"total":1}})
    };
    let created = acme
        .ok(
            json!({"controller":"document","action":"create","index":"shop","collection":"orders",
            "body":{"tenant":"acme","total":1}}),
        )
        .await;
    let o4 = created["_id"].as_str().expect("generated id").to_owned();
    let frame = acme.next_frame().await;
    assert_eq!(seen(&frame), (acme_channel.clone(), o4.clone()));
    assert_eq!(
        frame["result"]["_source"]["_kuzzle_info"]["author"],
        "acme-user"
    );
    for (request, id, status) in [
        (
            write("create", "o5", "acme"),
            "security.rights.forbidden",
            403,
        ),
        (
            write("update", &o4, "globex"),
            "security.rights.forbidden",
            403,
        ),
        (
            write("update", "o2", "acme"),
            "services.storage.not_found",
            404,
        ),
        (
            write("createOrReplace", "o2", "acme"),
            "services.storage.not_found",
            404,
        ),
        (
            json!({"controller":"document","action":"delete","index":"shop","collection":"orders","_id":"o2"}),
            "services.storage.not_found",
            404,
        ),
    ] {
        let error = acme.fail(request).await;
        assert_error(&error, id, status);
    }
    globex.silent(100).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_expiry_notifies_and_drops_subscriptions() {
    let server = server(None).await;
    let short = sign(Algorithm::HS256, &claims("carol", 2, all_rights()));
    let mut carol = server.client().await;
    login(&mut carol, &short).await;
    let (room, _) = carol.subscribe("chat", "lobby", json!({}), json!({})).await;
    listen_any(&mut carol).await;
    let mut dave = server.client().await;
    login(&mut dave, &token("dave", all_rights())).await;
    let (_, dave_channel) = dave
        .subscribe("chat", "lobby", json!({}), json!({"users": "all"}))
        .await;
    // Carol's expiry: TokenExpired to her, user "out" to Dave; her socket stays open.
    let frame = carol.next_frame().await;
    assert_eq!(frame["type"], "TokenExpired", "{frame}");
    assert_eq!(frame["room"], "kuzzle:notification:server");
    assert_eq!(frame["message"], "Authentication Token Expired");
    let out = dave.next_frame().await;
    assert_eq!(
        (out["type"].as_str(), out["user"].as_str()),
        (Some("user"), Some("out"))
    );
    assert_eq!(out["room"], dave_channel.as_str());
    assert_eq!(out["result"]["count"], 1);
    let count = dave
        .ok(json!({"controller":"realtime","action":"count","body":{"roomId":room}}))
        .await;
    assert_eq!(count["count"], 1);
    // Her events listener is gone too, and she is anonymous again (refused here).
    let delivered =
        identity_support::send_event(&mut dave, json!({"type":"MAIL","user":"carol"})).await;
    assert_eq!(delivered, 0);
    let error = carol.fail(subscribe_request("chat", "lobby", None)).await;
    assert_error(&error, "security.rights.unauthorized", 401);
    let error = carol
        .fail(subscribe_request("chat", "lobby", Some(&short)))
        .await;
    assert_error(&error, "security.token.expired", 401);
    carol.silent(100).await;
    server.stop().await;
}

async fn listen_any(client: &mut server_support::Client) {
    identity_support::listen(client, json!({})).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn index_and_collection_administration_needs_write_rights() {
    let server = server(Some(json!({"subscribe": ["*"]}))).await;
    let mut admin = logged_in(&server, &token("admin", json!({"write": ["shop/*"]}))).await;
    let mut clerk = logged_in(&server, &token("clerk", json!({"write": ["shop/orders"]}))).await;
    let tenant_rights =
        json!({"write": ["*"], "restrict": {"shop/*": {"equals": {"tenant": "a"}}}});
    let mut tenant = logged_in(&server, &token("tenant", tenant_rights)).await;
    let mut anonymous = server.client().await;
    let index =
        |action: &str, name: &str| json!({"controller":"index","action":action,"index":name});
    let collection = |action: &str, name: &str| json!({"controller":"collection","action":action,"index":"shop","collection":name});
    // Anonymous: may look, not change.
    let e = anonymous.fail(index("create", "shop")).await;
    assert_error(&e, "security.rights.unauthorized", 401);
    assert_eq!(anonymous.ok(index("exists", "shop")).await, json!(false));
    // An index needs write on all of it; a collection on itself.
    let e = clerk.fail(index("create", "shop")).await;
    assert_error(&e, "security.rights.forbidden", 403);
    admin.ok(index("create", "shop")).await;
    clerk.ok(collection("create", "orders")).await;
    let e = clerk.fail(collection("create", "items")).await;
    assert_error(&e, "security.rights.forbidden", 403);
    let e = clerk.fail(collection("truncate", "items")).await;
    assert_error(&e, "security.rights.forbidden", 403);
    // A restricted user may not truncate or delete what other tenants share.
    let e = tenant.fail(collection("truncate", "orders")).await;
    assert_error(&e, "security.rights.forbidden", 403);
    let e = tenant.fail(index("delete", "shop")).await;
    assert_error(&e, "security.rights.forbidden", 403);
    let e = clerk
        .fail(json!({"controller":"index","action":"mDelete","body":{"indexes":["shop"]}}))
        .await;
    assert_error(&e, "security.rights.forbidden", 403);
    clerk.ok(collection("truncate", "orders")).await;
    admin.ok(index("delete", "shop")).await;
    server.stop().await;
}
