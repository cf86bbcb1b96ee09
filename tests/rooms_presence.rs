//! Presence: user in/out notifications, to the channels whose `users` option asks for them,
//! with the room's count (protocol section 6.3 and 6.4).

mod rooms_support;

use herald::notify::Origin;
use herald::rooms::{Scope, UsersOption};
use rooms_support::*;
use serde_json::{json, Value};

fn sub_origin(volatile: Value) -> Origin {
    let mut o = Origin::new("realtime")
        .with_request_id("sub")
        .with_volatile(volatile);
    o.timestamp = 5000;
    o
}

#[test]
fn each_users_option_gets_what_it_asks_for() {
    for users in USERS {
        let h = Harness::new();
        let mut listener = h.client();
        let sub = h.subscribe(&listener, red(), opts(Scope::All, users));
        let mut newcomer = h.client();
        h.hub
            .subscribe(
                newcomer.id,
                &sub_origin(json!({"name": "bob"})),
                INDEX,
                COLLECTION,
                &red(),
                opts(Scope::All, UsersOption::None),
            )
            .unwrap();
        let frames = listener.frames();
        if matches!(users, UsersOption::All | UsersOption::In) {
            assert_eq!(
                frames,
                vec![json!({
                    "type": "user", "status": 200, "user": "in", "result": {"count": 2},
                    "controller": "realtime", "action": "subscribe",
                    "index": INDEX, "collection": COLLECTION,
                    "volatile": {"name": "bob"}, "protocol": "websocket",
                    "timestamp": 5000, "node": "node-1", "room": sub.channel,
                })],
                "users {users:?}"
            );
        } else {
            assert!(frames.is_empty(), "users {users:?}: {frames:?}");
        }
        assert!(newcomer.frames().is_empty(), "never its own in");

        h.hub.unsubscribe(newcomer.id, &sub.room_id).unwrap();
        let frames = listener.frames();
        if matches!(users, UsersOption::All | UsersOption::Out) {
            assert_eq!(frames.len(), 1, "users {users:?}");
            let f = &frames[0];
            assert_eq!(f["type"], "user");
            assert_eq!(f["user"], "out");
            assert_eq!(f["result"]["count"], 1);
            assert_eq!(f["action"], "unsubscribe");
            assert_eq!(f["index"], INDEX);
            assert_eq!(f["collection"], COLLECTION);
            // The volatile remembered from the leaver's subscription; no protocol.
            assert_eq!(f["volatile"], json!({"name": "bob"}));
            assert_eq!(f["protocol"], Value::Null);
            assert_eq!(f["room"], sub.channel.as_str());
            assert!(f.get("requestId").is_none() && f.get("scope").is_none());
        } else {
            assert!(frames.is_empty(), "users {users:?}: {frames:?}");
        }
        assert!(newcomer.frames().is_empty(), "never its own out");
    }
}

#[test]
fn newcomer_sharing_a_channel_does_not_get_its_own_in() {
    let h = Harness::new();
    let mut a = h.client();
    let mut b = h.client();
    let sa = h.subscribe(&a, red(), opts(Scope::All, UsersOption::All));
    let sb = h.subscribe(&b, red(), opts(Scope::All, UsersOption::All));
    assert_eq!(sa, sb);
    assert_eq!(a.frames().len(), 1);
    assert!(b.frames().is_empty());
    // Presence is serialized once per channel that has a recipient.
    assert_eq!(h.hub.stats().frames, 1);
}

#[test]
fn subscribing_again_to_the_same_room_is_silent() {
    let h = Harness::new();
    let mut a = h.client();
    let b = h.client();
    let sub = h.subscribe(&a, red(), opts(Scope::All, UsersOption::All));
    h.subscribe(&b, red(), opts(Scope::All, UsersOption::None));
    assert_eq!(a.frames().len(), 1);
    // b again, other options: a new channel, no presence, same count; volatile kept.
    let b2 = h
        .hub
        .subscribe(
            b.id,
            &sub_origin(json!({"second": true})),
            INDEX,
            COLLECTION,
            &red(),
            opts(Scope::In, UsersOption::All),
        )
        .unwrap();
    assert_eq!(b2.room_id, sub.room_id);
    assert_ne!(b2.channel, sub.channel);
    assert!(a.frames().is_empty());
    assert_eq!(h.hub.count(&sub.room_id), 2);
    h.hub.unsubscribe(b.id, &sub.room_id).unwrap();
    let frames = a.frames();
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0]["volatile"], json!({"sdkInstanceId": "writer"}));
    assert_eq!(frames[0]["result"]["count"], 1);
}

#[test]
fn join_reports_action_join_without_index_and_collection() {
    let h = Harness::new();
    let mut a = h.client();
    let b = h.client();
    let sub = h.subscribe(&a, red(), opts(Scope::All, UsersOption::In));
    let joined = h
        .hub
        .join(
            b.id,
            &sub_origin(json!({"j": 1})),
            &sub.room_id,
            opts(Scope::All, UsersOption::None),
        )
        .unwrap();
    assert_eq!(joined.room_id, sub.room_id);
    let frames = a.frames();
    assert_eq!(frames.len(), 1);
    let f = &frames[0];
    assert_eq!(f["action"], "join");
    assert_eq!(f["user"], "in");
    assert_eq!(f["result"]["count"], 2);
    assert!(f.get("index").is_none() && f.get("collection").is_none());
}

#[test]
fn disconnect_sends_out_to_every_room_of_the_leaver() {
    let h = Harness::new();
    let mut a = h.client();
    let b = h.client();
    let r1 = h.subscribe(&a, red(), opts(Scope::All, UsersOption::Out));
    let r2 = h.subscribe(&a, json!({}), opts(Scope::None, UsersOption::All));
    h.hub
        .subscribe(
            b.id,
            &sub_origin(json!({"who": "b"})),
            INDEX,
            COLLECTION,
            &red(),
            opts(Scope::All, UsersOption::None),
        )
        .unwrap();
    h.hub
        .subscribe(
            b.id,
            &sub_origin(json!({"who": "b2"})),
            INDEX,
            COLLECTION,
            &json!({}),
            opts(Scope::All, UsersOption::None),
        )
        .unwrap();
    let ins = a.frames();
    assert_eq!(
        ins.len(),
        1,
        "users:out does not hear in; users:all does: {ins:?}"
    );
    assert_eq!(ins[0]["room"], r2.channel.as_str());
    assert_eq!(h.hub.disconnect(b.id), 2);
    let mut outs: Vec<(Value, Value)> = a
        .frames()
        .iter()
        .map(|f| (f["room"].clone(), f["volatile"]["who"].clone()))
        .collect();
    outs.sort_by_key(|(room, _)| room.to_string());
    let mut expected = vec![
        (json!(r1.channel), json!("b")),
        (json!(r2.channel), json!("b2")),
    ];
    expected.sort_by_key(|(room, _)| room.to_string());
    assert_eq!(outs, expected);
    assert_eq!(h.hub.count(&r1.room_id), 1);
}

#[test]
fn counts_follow_membership() {
    let h = Harness::new();
    let mut watcher = h.client();
    let sub = h.subscribe(&watcher, red(), opts(Scope::None, UsersOption::All));
    let others: Vec<Client> = (0..3).map(|_| h.client()).collect();
    for c in &others {
        h.subscribe(c, red(), opts(Scope::All, UsersOption::None));
    }
    for c in &others {
        h.hub.disconnect(c.id);
    }
    let counts: Vec<(Value, Value)> = watcher
        .frames()
        .iter()
        .map(|f| (f["user"].clone(), f["result"]["count"].clone()))
        .collect();
    assert_eq!(
        counts,
        vec![
            (json!("in"), json!(2)),
            (json!("in"), json!(3)),
            (json!("in"), json!(4)),
            (json!("out"), json!(3)),
            (json!("out"), json!(2)),
            (json!("out"), json!(1)),
        ]
    );
    assert_eq!(h.hub.count(&sub.room_id), 1);
}

#[test]
fn shutdown_drops_everyone_silently() {
    let h = Harness::new();
    let mut a = h.client();
    let b = h.client();
    h.subscribe(&a, red(), opts(Scope::All, UsersOption::All));
    h.subscribe(&b, red(), opts(Scope::All, UsersOption::All));
    a.frames();
    h.hub.shutdown();
    assert!(a.frames().is_empty());
    assert!(h.hub.rooms().is_empty());
    assert_eq!(h.hub.rooms().connections(), 0);
    assert!(h.hub.rooms().matcher().collections().is_empty());
    assert!(h.queues.is_empty());
}
