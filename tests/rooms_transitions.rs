//! Document changes -> notifications: the transition tables (operation x was in x is in x
//! scope option), the exact notification shapes, batches and publish.

mod rooms_support;

use herald::notify::{Action, ChangeError, DocumentChange as C, Origin};
use herald::rooms::{Scope, UsersOption};
use rooms_support::*;
use serde_json::{json, Value};

/// Four clients in one room (filter: color is red), one per scope option.
struct Table {
    h: Harness,
    clients: Vec<(Scope, Client, String)>,
}

impl Table {
    fn new() -> Table {
        let h = Harness::new();
        let clients = SCOPES
            .iter()
            .map(|&scope| {
                let c = h.client();
                let sub = h.subscribe(&c, red(), opts(scope, UsersOption::None));
                (scope, c, sub.channel)
            })
            .collect();
        Table { h, clients }
    }

    fn drain(&mut self) {
        for (_, c, _) in &mut self.clients {
            c.frames();
        }
    }

    /// Asserts each client got exactly the expected notification (or nothing).
    fn expect(&mut self, what: &str, id: &str, expected: Option<(&str, &str)>) {
        for (scope, client, channel) in &mut self.clients {
            let frames = client.frames();
            let wanted = expected.filter(|(_, s)| match *s {
                "in" => matches!(scope, Scope::All | Scope::In),
                _ => matches!(scope, Scope::All | Scope::Out),
            });
            match wanted {
                None => assert!(frames.is_empty(), "{what}: scope {scope:?} got {frames:?}"),
                Some((action, notification_scope)) => {
                    assert_eq!(frames.len(), 1, "{what}: scope {scope:?} got {frames:?}");
                    let f = &frames[0];
                    assert_eq!(f["type"], "document", "{what}");
                    assert_eq!(f["action"], action, "{what}: scope {scope:?}");
                    assert_eq!(f["scope"], notification_scope, "{what}: scope {scope:?}");
                    assert_eq!(f["room"], channel.as_str(), "{what}");
                    assert_eq!(f["result"]["_id"], id, "{what}");
                }
            }
        }
    }
}

fn color(is_red: bool) -> Value {
    json!({"color": if is_red { "red" } else { "blue" }, "n": 1})
}

const BOOLS: [bool; 2] = [false, true];

#[test]
fn create_table() {
    for is_in in BOOLS {
        let mut t = Table::new();
        t.h.write(C::create(INDEX, COLLECTION, "d", color(is_in)));
        t.expect(
            &format!("create is_in={is_in}"),
            "d",
            is_in.then_some(("create", "in")),
        );
    }
}

/// Runs a write on a document that exists and was notified as `was_in`, to become `is_in`.
fn existing_table(name: &str, action: &str, change: impl Fn(bool) -> C) {
    for was_in in BOOLS {
        for is_in in BOOLS {
            let mut t = Table::new();
            t.h.write(C::create(INDEX, COLLECTION, "d", color(was_in)));
            t.drain();
            t.h.write(change(is_in));
            let expected = if is_in {
                Some((action, "in"))
            } else if was_in {
                Some((action, "out"))
            } else {
                None
            };
            t.expect(
                &format!("{name} was_in={was_in} is_in={is_in}"),
                "d",
                expected,
            );
        }
    }
}

#[test]
fn replace_table() {
    existing_table("replace", "replace", |is_in| {
        C::replace(INDEX, COLLECTION, "d", color(is_in))
    });
}

#[test]
fn create_or_replace_table() {
    existing_table("createOrReplace(existing)", "replace", |is_in| {
        C::create_or_replace(INDEX, COLLECTION, "d", color(is_in))
    });
    for is_in in BOOLS {
        let mut t = Table::new();
        let applied =
            t.h.write(C::create_or_replace(INDEX, COLLECTION, "d", color(is_in)));
        assert!(applied.created);
        t.expect(
            "createOrReplace(new)",
            "d",
            is_in.then_some(("create", "in")),
        );
    }
}

#[test]
fn update_table() {
    existing_table("update", "update", |is_in| {
        C::update(
            INDEX,
            COLLECTION,
            "d",
            json!({"color": if is_in { "red" } else { "blue" }}),
        )
    });
}

#[test]
fn upsert_table() {
    existing_table("upsert(existing)", "update", |is_in| {
        C::upsert(
            INDEX,
            COLLECTION,
            "d",
            json!({"color": if is_in { "red" } else { "blue" }}),
            json!({"color": "green"}),
        )
    });
    for is_in in BOOLS {
        let mut t = Table::new();
        let applied = t.h.write(C::upsert(
            INDEX,
            COLLECTION,
            "d",
            json!({"n": 2}),
            color(is_in),
        ));
        assert!(applied.created);
        assert_eq!(applied.source["n"], 2);
        t.expect("upsert(new)", "d", is_in.then_some(("create", "in")));
    }
}

#[test]
fn delete_table() {
    // A delete is matched on the document before the change: "is in" is "was in".
    for was_in in BOOLS {
        let mut t = Table::new();
        t.h.write(C::create(INDEX, COLLECTION, "d", color(was_in)));
        t.drain();
        t.h.write(C::delete(INDEX, COLLECTION, "d"));
        t.expect(
            &format!("delete was_in={was_in}"),
            "d",
            was_in.then_some(("delete", "out")),
        );
    }
}

#[test]
fn update_is_matched_on_the_full_stored_document() {
    let mut t = Table::new();
    t.h.write(C::create(
        INDEX,
        COLLECTION,
        "d",
        json!({"color": "red", "size": 1}),
    ));
    t.drain();
    // The partial body does not mention `color`: the stored document still matches.
    t.h.write(C::update(INDEX, COLLECTION, "d", json!({"size": 3})));
    t.expect("update untouched field", "d", Some(("update", "in")));
    // Out, then nothing more while it stays out, then in again.
    t.h.write(C::update(INDEX, COLLECTION, "d", json!({"color": "blue"})));
    t.expect("leave", "d", Some(("update", "out")));
    t.h.write(C::update(INDEX, COLLECTION, "d", json!({"size": 4})));
    t.expect("stay out", "d", None);
    t.h.write(C::update(INDEX, COLLECTION, "d", json!({"color": "red"})));
    t.expect("re-enter", "d", Some(("update", "in")));
}

#[test]
fn filters_see_the_document_id() {
    let h = Harness::new();
    let mut c = h.client();
    h.subscribe(
        &c,
        json!({"ids": {"values": ["a"]}}),
        opts(Scope::All, UsersOption::None),
    );
    h.write(C::create(INDEX, COLLECTION, "a", json!({})));
    h.write(C::create(INDEX, COLLECTION, "b", json!({})));
    let frames = c.frames();
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0]["result"]["_id"], "a");
}

#[test]
fn no_out_for_a_room_created_after_the_last_notification() {
    // Protocol section 8: `out` only goes to rooms the document matched at its last write.
    let h = Harness::new();
    h.write(C::create(INDEX, COLLECTION, "d", json!({"color": "red"})));
    let mut late = h.client();
    h.subscribe(&late, red(), opts(Scope::All, UsersOption::None));
    h.write(C::update(INDEX, COLLECTION, "d", json!({"color": "blue"})));
    assert!(late.frames().is_empty());
}

#[test]
fn other_collections_and_indexes_are_not_notified() {
    let h = Harness::new();
    let mut c = h.client();
    h.subscribe(&c, json!({}), opts(Scope::All, UsersOption::None));
    h.write(C::create(INDEX, "other", "d", json!({})));
    h.write(C::create("other", COLLECTION, "d", json!({})));
    assert!(c.frames().is_empty());
    h.write(C::create(INDEX, COLLECTION, "d", json!({})));
    assert_eq!(c.frames().len(), 1);
}

#[test]
fn document_notification_shapes() {
    let h = Harness::new();
    let mut c = h.client();
    let sub = h.subscribe(&c, red(), opts(Scope::All, UsersOption::None));
    let mut origin = Origin::new("document")
        .with_request_id("req-42")
        .with_volatile(json!({"sdkInstanceId": "abc", "sdkName": "js@7.17.1-beta.1"}));
    origin.timestamp = 1_795_456_135_027;
    let created = h
        .hub
        .apply(
            &origin,
            &C::create(
                INDEX,
                COLLECTION,
                "doc1",
                json!({"color": "red", "size": 1}),
            ),
        )
        .unwrap();
    assert_eq!(created.action, Action::Create);
    assert_eq!(created.version, 1);
    let info = json!({"author": "-1", "createdAt": 1_795_456_135_027u64, "updatedAt": null, "updater": null});
    assert_eq!(
        c.frames(),
        vec![json!({
            "type": "document", "status": 200, "action": "create", "scope": "in", "event": "write",
            "result": {"_id": "doc1", "_source": {"color": "red", "size": 1, "_kuzzle_info": info}, "_version": 1},
            "controller": "document", "index": INDEX, "collection": COLLECTION,
            "requestId": "req-42", "timestamp": 1_795_456_135_027u64,
            "volatile": {"sdkInstanceId": "abc", "sdkName": "js@7.17.1-beta.1"},
            "protocol": "websocket", "node": "node-1", "room": sub.channel,
        })]
    );

    origin.timestamp += 1;
    let updated = h
        .hub
        .apply(
            &origin,
            &C::update(
                INDEX,
                COLLECTION,
                "doc1",
                json!({"size": 3, "nested": {"a": 1}}),
            ),
        )
        .unwrap();
    assert_eq!(
        updated.updated_fields,
        Some(vec!["size".to_string(), "nested.a".to_string()])
    );
    let frames = c.frames();
    assert_eq!(frames.len(), 1);
    let f = &frames[0];
    assert_eq!(f["action"], "update");
    assert_eq!(f["event"], "write");
    assert_eq!(f["scope"], "in");
    assert_eq!(f["result"]["_updatedFields"], json!(["size", "nested.a"]));
    assert_eq!(f["result"]["_version"], 2);
    assert_eq!(
        f["result"]["_source"],
        json!({"color": "red", "size": 3, "nested": {"a": 1}, "_kuzzle_info": {
            "author": "-1", "createdAt": 1_795_456_135_027u64,
            "updatedAt": 1_795_456_135_028u64, "updater": "-1"}})
    );

    h.hub
        .apply(
            &origin,
            &C::update(INDEX, COLLECTION, "doc1", json!({"color": "blue"})),
        )
        .unwrap();
    let frames = c.frames();
    assert_eq!(frames[0]["action"], "update");
    assert_eq!(frames[0]["scope"], "out");
    assert_eq!(frames[0]["result"]["_source"]["color"], "blue");

    h.hub
        .apply(
            &origin,
            &C::update(INDEX, COLLECTION, "doc1", json!({"color": "red"})),
        )
        .unwrap();
    c.frames();
    let deleted = h
        .hub
        .apply(&origin, &C::delete(INDEX, COLLECTION, "doc1"))
        .unwrap();
    assert_eq!(deleted.action, Action::Delete);
    let frames = c.frames();
    assert_eq!(frames.len(), 1);
    let f = &frames[0];
    assert_eq!(f["action"], "delete");
    assert_eq!(f["event"], "delete");
    assert_eq!(f["scope"], "out");
    assert_eq!(f["result"]["_id"], "doc1");
    assert_eq!(f["result"]["_source"]["size"], 3);
    assert_eq!(f["result"]["_version"], 4);
    assert_eq!(f["volatile"]["sdkInstanceId"], "abc");
}

#[test]
fn change_errors_write_and_notify_nothing() {
    let h = Harness::new();
    let mut c = h.client();
    h.subscribe(&c, json!({}), opts(Scope::All, UsersOption::None));
    let o = origin("document");
    for change in [
        C::replace(INDEX, COLLECTION, "x", json!({})),
        C::update(INDEX, COLLECTION, "x", json!({})),
        C::delete(INDEX, COLLECTION, "x"),
    ] {
        assert_eq!(
            h.hub.apply(&o, &change),
            Err(ChangeError::NotFound { id: "x".into() })
        );
    }
    h.write(C::create(INDEX, COLLECTION, "x", json!({"a": 1})));
    c.frames();
    assert_eq!(
        h.hub
            .apply(&o, &C::create(INDEX, COLLECTION, "x", json!({}))),
        Err(ChangeError::AlreadyExists { id: "x".into() })
    );
    assert!(matches!(
        h.hub
            .apply(&o, &C::update(INDEX, COLLECTION, "x", json!([1]))),
        Err(ChangeError::NotAnObject { .. })
    ));
    assert!(matches!(
        h.hub
            .apply(&o, &C::create(INDEX, COLLECTION, "y", json!("text"))),
        Err(ChangeError::NotAnObject { .. })
    ));
    let no_id = herald::notify::DocumentChange::new(
        INDEX,
        COLLECTION,
        None,
        herald::notify::Operation::Delete,
    );
    assert_eq!(h.hub.apply(&o, &no_id), Err(ChangeError::MissingId));
    assert!(c.frames().is_empty());
    assert_eq!(
        h.hub.get(INDEX, COLLECTION, "x").unwrap().unwrap().document["a"],
        1
    );
}

#[test]
fn create_without_id_generates_one() {
    let h = Harness::new();
    let mut c = h.client();
    h.subscribe(&c, json!({}), opts(Scope::All, UsersOption::None));
    let change = herald::notify::DocumentChange::new(
        INDEX,
        COLLECTION,
        None,
        herald::notify::Operation::Create {
            document: json!({"a": 1}),
        },
    );
    let applied = h.write(change);
    assert_eq!(applied.id.len(), 20);
    assert_eq!(c.frames()[0]["result"]["_id"], applied.id.as_str());
}

#[test]
fn silent_changes_notify_nobody() {
    let h = Harness::new();
    let mut c = h.client();
    h.subscribe(&c, red(), opts(Scope::All, UsersOption::None));
    let mut o = origin("document");
    o.silent = true;
    let applied = h
        .hub
        .apply(
            &o,
            &C::create(INDEX, COLLECTION, "d", json!({"color": "red"})),
        )
        .unwrap();
    assert_eq!(applied.channels_notified, 0);
    assert!(c.frames().is_empty());
}

#[test]
fn batch_changes_notify_per_document() {
    let h = Harness::new();
    let mut all = h.client();
    let mut outs = h.client();
    h.subscribe(&all, red(), opts(Scope::All, UsersOption::None));
    h.subscribe(&outs, red(), opts(Scope::Out, UsersOption::None));
    let o = origin("document");
    let results = h.hub.apply_batch(
        &o,
        &[
            C::create(INDEX, COLLECTION, "a", json!({"color": "red"})),
            C::create(INDEX, COLLECTION, "b", json!({"color": "blue"})),
            C::create(INDEX, COLLECTION, "c", json!({"color": "red"})),
            C::create(INDEX, COLLECTION, "a", json!({"color": "red"})), // already exists
        ],
    );
    assert!(results[0].is_ok() && results[1].is_ok() && results[2].is_ok());
    assert_eq!(
        results[3],
        Err(ChangeError::AlreadyExists { id: "a".into() })
    );
    let ids: Vec<Value> = all
        .frames()
        .iter()
        .map(|f| f["result"]["_id"].clone())
        .collect();
    assert_eq!(ids, vec![json!("a"), json!("c")]);
    assert!(outs.frames().is_empty());

    let results = h.hub.apply_batch(
        &o,
        &[
            C::update(INDEX, COLLECTION, "a", json!({"color": "blue"})),
            C::update(INDEX, COLLECTION, "b", json!({"color": "red"})),
            C::replace(INDEX, COLLECTION, "c", json!({"color": "red", "v": 2})),
            C::update(INDEX, COLLECTION, "zz", json!({})),
        ],
    );
    assert!(results[..3].iter().all(Result::is_ok));
    assert!(results[3].is_err());
    let got: Vec<(Value, Value, Value)> = all
        .frames()
        .iter()
        .map(|f| {
            (
                f["result"]["_id"].clone(),
                f["action"].clone(),
                f["scope"].clone(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (json!("a"), json!("update"), json!("out")),
            (json!("b"), json!("update"), json!("in")),
            (json!("c"), json!("replace"), json!("in")),
        ]
    );
    assert_eq!(outs.frames().len(), 1);

    let results = h.hub.apply_batch(
        &o,
        &[
            C::delete(INDEX, COLLECTION, "a"),
            C::delete(INDEX, COLLECTION, "b"),
            C::delete(INDEX, COLLECTION, "c"),
        ],
    );
    assert!(results.iter().all(Result::is_ok));
    let deleted: Vec<Value> = outs
        .frames()
        .iter()
        .map(|f| f["result"]["_id"].clone())
        .collect();
    assert_eq!(deleted, vec![json!("b"), json!("c")]);
    assert_eq!(h.hub.store().len().unwrap(), 0);
}

#[test]
fn publish_notifies_in_scopes_and_stores_nothing() {
    let h = Harness::new();
    let mut clients: Vec<(Scope, Client, String)> = SCOPES
        .iter()
        .map(|&s| {
            let c = h.client();
            let sub = h.subscribe(&c, red(), opts(s, UsersOption::None));
            (s, c, sub.channel)
        })
        .collect();
    let mut o = Origin::new("realtime")
        .with_request_id("pub-1")
        .with_volatile(json!({"v": 1}));
    o.timestamp = 1000;
    let n = h
        .hub
        .publish(
            &o,
            INDEX,
            COLLECTION,
            Some("m1"),
            &json!({"color": "red", "text": "hi"}),
        )
        .unwrap();
    assert_eq!(n, 2);
    for (scope, c, channel) in &mut clients {
        let frames = c.frames();
        if matches!(scope, Scope::All | Scope::In) {
            assert_eq!(
                frames,
                vec![json!({
                    "type": "document", "status": 200, "action": "publish", "scope": "in",
                    "event": "publish",
                    "result": {"_id": "m1", "_source": {"color": "red", "text": "hi",
                        "_kuzzle_info": {"author": "-1", "createdAt": 1000}}},
                    "controller": "realtime", "index": INDEX, "collection": COLLECTION,
                    "requestId": "pub-1", "timestamp": 1000, "volatile": {"v": 1},
                    "protocol": "websocket", "node": "node-1", "room": channel.as_str(),
                })]
            );
        } else {
            assert!(frames.is_empty());
        }
    }
    // No _id: the key is absent. Non-matching messages notify nobody. Nothing is stored.
    h.hub
        .publish(&o, INDEX, COLLECTION, None, &json!({"color": "red"}))
        .unwrap();
    let f = &clients[0].1.frames()[0];
    assert!(f["result"].get("_id").is_none());
    assert_eq!(
        h.hub
            .publish(&o, INDEX, COLLECTION, None, &json!({"color": "blue"})),
        Ok(0)
    );
    assert_eq!(
        h.hub
            .publish(&o, "any-index", "any-collection", None, &json!({})),
        Ok(0)
    );
    assert!(h
        .hub
        .publish(&o, INDEX, COLLECTION, None, &json!([1]))
        .is_err());
    assert_eq!(h.hub.store().len().unwrap(), 0);
}
