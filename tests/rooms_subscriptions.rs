//! Rooms and channels: sharing, ids, channel names, count, list, join, unsubscribe,
//! disconnect and what they leave in the matcher.

mod rooms_support;

use herald::notify::SubscribeError;
use herald::rooms::{ChannelOptions, RoomError, RoomId, Scope, UsersOption};
use herald_filters::engine::CollectionName;
use rooms_support::*;
use serde_json::json;

fn collection() -> CollectionName {
    CollectionName::new(INDEX, COLLECTION)
}

#[test]
fn identical_filters_share_a_room_and_a_matcher_entry() {
    let h = Harness::new();
    let a = h.client();
    let b = h.client();
    let sa = h.subscribe(
        &a,
        json!({"and": [{"equals": {"x": 1}}, {"exists": "y"}]}),
        opts(Scope::All, UsersOption::None),
    );
    // Same filter written differently: same canonical form, same room, same channel.
    let sb = h.subscribe(
        &b,
        json!({"and": [{"exists": {"field": "y"}}, {"equals": {"x": 1}}]}),
        opts(Scope::All, UsersOption::None),
    );
    assert_eq!(sa, sb);
    assert_eq!(h.hub.rooms().len(), 1);
    assert_eq!(h.hub.rooms().matcher().len(&collection()), 1);
    assert_eq!(h.hub.count(&sa.room_id), 2);
    // Same filter on another collection or index: another room.
    let other = h
        .hub
        .subscribe(
            a.id,
            &origin("realtime"),
            INDEX,
            "other",
            &json!({"equals": {"x": 1}}),
            ChannelOptions::default(),
        )
        .unwrap();
    let other_index = h
        .hub
        .subscribe(
            a.id,
            &origin("realtime"),
            "idx2",
            COLLECTION,
            &json!({"equals": {"x": 1}}),
            ChannelOptions::default(),
        )
        .unwrap();
    let here = h.subscribe(&a, json!({"equals": {"x": 1}}), ChannelOptions::default());
    assert_ne!(other.room_id, here.room_id);
    assert_ne!(other_index.room_id, here.room_id);
    assert_ne!(other.room_id, other_index.room_id);
    assert_eq!(h.hub.rooms().len(), 4);
}

#[test]
fn room_ids_are_stable_hex_and_channels_follow_the_options() {
    let h1 = Harness::new();
    let h2 = Harness::new();
    let a = h1.client();
    let b = h2.client();
    let s1 = h1.subscribe(&a, red(), ChannelOptions::default());
    let s2 = h2.subscribe(&b, red(), ChannelOptions::default());
    assert_eq!(s1.room_id, s2.room_id, "every process derives the same id");
    assert_eq!(
        serde_json::to_value(&s1).unwrap(),
        json!({"roomId": s1.room_id, "channel": s1.channel})
    );
    assert_eq!(s1.room_id.len(), 64);
    assert!(s1
        .room_id
        .bytes()
        .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
    let normalized = herald_filters::normalize(&red(), &Default::default()).unwrap();
    assert_eq!(
        RoomId::derive(&collection(), &normalized.canonical).to_hex(),
        s1.room_id
    );
    // A fixed vector: changing the derivation would split rooms across versions of a cluster.
    // (It also pins the filter crate's canonical form: if that changes on purpose, update it.)
    assert_eq!(
        s1.room_id, "b2377701e7c72168b75af9b1e120f23f45110364a5b81c2aec8ec6a2d02ba1b2",
        "room ids changed: nodes of different versions would disagree"
    );

    let r = &s1.room_id;
    let cases = [
        (Scope::All, UsersOption::None, "411"),
        (Scope::All, UsersOption::All, "111"),
        (Scope::In, UsersOption::None, "412"),
        (Scope::Out, UsersOption::In, "213"),
        (Scope::None, UsersOption::All, "11"),
        (Scope::None, UsersOption::Out, "31"),
    ];
    for (scope, users, digits) in cases {
        let s = h1.subscribe(&a, red(), opts(scope, users));
        assert_eq!(s.channel, format!("{r}-{digits}"));
    }
    // Options parse from their wire names.
    assert_eq!("out".parse::<Scope>(), Ok(Scope::Out));
    assert_eq!("none".parse::<UsersOption>(), Ok(UsersOption::None));
    assert!("sometimes".parse::<Scope>().is_err());
    assert!("null".parse::<UsersOption>().is_err());
}

#[test]
fn one_frame_per_channel_per_connection() {
    // A connection in two channels of a room gets one frame per channel; two subscriptions
    // with identical options share the channel and get one.
    let h = Harness::new();
    let mut a = h.client();
    h.subscribe(&a, red(), opts(Scope::All, UsersOption::None));
    h.subscribe(&a, red(), opts(Scope::All, UsersOption::None));
    h.subscribe(&a, red(), opts(Scope::In, UsersOption::None));
    h.write(herald::notify::DocumentChange::create(
        INDEX,
        COLLECTION,
        "d",
        json!({"color": "red"}),
    ));
    let rooms: Vec<String> = a
        .frames()
        .iter()
        .map(|f| f["room"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(rooms.len(), 2);
    assert_ne!(rooms[0], rooms[1]);
}

#[test]
fn invalid_filters_are_rejected_without_a_room() {
    let h = Harness::new();
    let a = h.client();
    let err = h
        .hub
        .subscribe(
            a.id,
            &origin("realtime"),
            INDEX,
            COLLECTION,
            &json!({"foo": {}}),
            ChannelOptions::default(),
        )
        .unwrap_err();
    assert!(matches!(err, SubscribeError::Filter(_)), "{err:?}");
    assert!(h.hub.rooms().is_empty());
}

#[test]
fn unknown_connections_cannot_subscribe() {
    let h = Harness::new();
    let a = h.client();
    h.hub.disconnect(a.id);
    let err = h.hub.subscribe(
        a.id,
        &origin("realtime"),
        INDEX,
        COLLECTION,
        &json!({}),
        ChannelOptions::default(),
    );
    assert_eq!(err, Err(SubscribeError::Room(RoomError::UnknownConnection)));
    assert!(h.hub.rooms().is_empty());
}

#[test]
fn unsubscribe_leaves_every_channel_and_empty_rooms_leave_the_matcher() {
    let h = Harness::new();
    let mut a = h.client();
    let b = h.client();
    let s = h.subscribe(&a, red(), opts(Scope::All, UsersOption::None));
    h.subscribe(&a, red(), opts(Scope::In, UsersOption::None));
    h.subscribe(&b, red(), opts(Scope::All, UsersOption::None));
    assert_eq!(h.hub.unsubscribe(a.id, &s.room_id), Ok(s.room_id.clone()));
    assert_eq!(h.hub.count(&s.room_id), 1);
    h.write(herald::notify::DocumentChange::create(
        INDEX,
        COLLECTION,
        "d",
        json!({"color": "red"}),
    ));
    assert!(a.frames().is_empty(), "no channel of the room left");
    assert_eq!(
        h.hub.unsubscribe(a.id, &s.room_id),
        Err(RoomError::NotSubscribed)
    );
    assert_eq!(
        h.hub.unsubscribe(a.id, "no-such-room"),
        Err(RoomError::NotSubscribed)
    );
    h.hub.unsubscribe(b.id, &s.room_id).unwrap();
    assert!(h.hub.rooms().is_empty());
    assert_eq!(h.hub.rooms().matcher().len(&collection()), 0);
    assert!(h.hub.rooms().matcher().collections().is_empty());
    assert_eq!(h.hub.count(&s.room_id), 0, "unknown room counts 0");
}

#[test]
fn disconnect_removes_the_connection_everywhere() {
    let h = Harness::new();
    let a = h.client();
    let b = h.client();
    let shared = h.subscribe(&a, red(), ChannelOptions::default());
    h.subscribe(&b, red(), ChannelOptions::default());
    let own = h.subscribe(&a, json!({"exists": "z"}), ChannelOptions::default());
    h.hub
        .subscribe(
            a.id,
            &origin("realtime"),
            "i2",
            "c2",
            &json!({}),
            ChannelOptions::default(),
        )
        .unwrap();
    assert_eq!(h.hub.rooms().len(), 3);
    assert_eq!(h.hub.disconnect(a.id), 3);
    assert_eq!(h.hub.rooms().len(), 1);
    assert_eq!(h.hub.count(&shared.room_id), 1);
    assert_eq!(h.hub.count(&own.room_id), 0);
    assert_eq!(h.hub.rooms().matcher().collections(), vec![collection()]);
    assert_eq!(h.hub.rooms().matcher().len(&collection()), 1);
    assert!(!h.hub.rooms().is_connected(a.id));
    assert_eq!(h.hub.disconnect(a.id), 0, "disconnecting twice is harmless");
    assert_eq!(
        h.queues.len(),
        1,
        "the delivery forgot the connection's queue"
    );
}

#[test]
fn join_needs_an_existing_room() {
    let h = Harness::new();
    let a = h.client();
    let mut b = h.client();
    assert_eq!(
        h.hub
            .join(b.id, &origin("realtime"), "0000", ChannelOptions::default()),
        Err(SubscribeError::Room(RoomError::RoomNotFound))
    );
    let s = h.subscribe(&a, red(), ChannelOptions::default());
    let j = h
        .hub
        .join(
            b.id,
            &origin("realtime"),
            &s.room_id,
            opts(Scope::In, UsersOption::None),
        )
        .unwrap();
    assert_eq!(j.room_id, s.room_id);
    assert_eq!(j.channel, format!("{}-412", s.room_id));
    assert_eq!(h.hub.count(&s.room_id), 2);
    h.write(herald::notify::DocumentChange::create(
        INDEX,
        COLLECTION,
        "d",
        json!({"color": "red"}),
    ));
    assert_eq!(b.frames().len(), 1);
}

#[test]
fn list_gives_rooms_and_counts_per_index_and_collection() {
    let h = Harness::new();
    let a = h.client();
    let b = h.client();
    let r1 = h.subscribe(&a, red(), ChannelOptions::default());
    h.subscribe(&b, red(), ChannelOptions::default());
    let r2 = h
        .hub
        .subscribe(
            b.id,
            &origin("realtime"),
            "i2",
            "c2",
            &json!({}),
            ChannelOptions::default(),
        )
        .unwrap();
    let list = serde_json::to_value(h.hub.list()).unwrap();
    assert_eq!(
        list,
        json!({INDEX: {COLLECTION: {r1.room_id.clone(): 2}}, "i2": {"c2": {r2.room_id.clone(): 1}}})
    );
}

#[test]
fn the_room_limit_is_enforced() {
    let queues = std::sync::Arc::new(herald::delivery::Queues::new(8));
    let config = herald::notify::HubConfig {
        max_rooms: 2,
        ..Default::default()
    };
    let hub = herald::notify::Hub::new(
        config,
        std::sync::Arc::new(herald::store::MemoryStore::new()),
        queues,
    );
    let a = hub.connect(None);
    let o = origin("realtime");
    hub.subscribe(
        a,
        &o,
        INDEX,
        COLLECTION,
        &json!({"exists": "a"}),
        ChannelOptions::default(),
    )
    .unwrap();
    hub.subscribe(
        a,
        &o,
        INDEX,
        COLLECTION,
        &json!({"exists": "b"}),
        ChannelOptions::default(),
    )
    .unwrap();
    assert_eq!(
        hub.subscribe(
            a,
            &o,
            INDEX,
            COLLECTION,
            &json!({"exists": "c"}),
            ChannelOptions::default()
        ),
        Err(SubscribeError::Room(RoomError::TooManyRooms))
    );
    // Existing rooms still accept members.
    hub.subscribe(
        a,
        &o,
        INDEX,
        COLLECTION,
        &json!({"exists": "a"}),
        opts(Scope::In, UsersOption::None),
    )
    .unwrap();
}

#[test]
fn connections_carry_an_optional_user() {
    let h = Harness::new();
    let id = h.hub.connect(Some(herald::rooms::UserId::new("alice")));
    assert_eq!(
        h.hub.rooms().user(id).map(|u| u.as_str().to_string()),
        Some("alice".into())
    );
    assert!(h.hub.set_user(id, None));
    assert_eq!(h.hub.rooms().user(id), None);
}
