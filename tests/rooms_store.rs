//! Document state: the embedded store survives a restart (an update after a restart still
//! produces its `out`), deletes leave nothing behind, both stores behave alike.

mod rooms_support;

use std::sync::Arc;

use herald::notify::DocumentChange as C;
use herald::rooms::{Scope, UsersOption};
use herald::store::{DocKey, DocumentStore, MemoryStore, RedbStore, StoredDocument};
use rooms_support::*;
use serde_json::json;

#[test]
fn out_after_a_restart_with_the_embedded_store() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let room_before;
    {
        let h = Harness::with_store(Arc::new(RedbStore::open(&data).unwrap()), 64);
        let mut c = h.client();
        room_before = h
            .subscribe(&c, red(), opts(Scope::All, UsersOption::None))
            .room_id;
        h.write(C::create(
            INDEX,
            COLLECTION,
            "d",
            json!({"color": "red", "n": 1}),
        ));
        h.write(C::create(
            INDEX,
            COLLECTION,
            "gone",
            json!({"color": "red"}),
        ));
        h.write(C::delete(INDEX, COLLECTION, "gone"));
        assert_eq!(c.frames().len(), 3);
    } // the process "stops": hub, rooms and database closed.
    assert!(data.join("documents.redb").is_file());

    let store = Arc::new(RedbStore::open(&data).unwrap());
    assert_eq!(store.len().unwrap(), 1, "live documents only");
    let h = Harness::with_store(store, 64);
    let mut c = h.client();
    let room_after = h
        .subscribe(&c, red(), opts(Scope::All, UsersOption::None))
        .room_id;
    assert_eq!(room_before, room_after, "room ids survive restarts");
    // A partial update: the filter needs the stored `color`, and `out` needs the remembered rooms.
    h.write(C::update(INDEX, COLLECTION, "d", json!({"n": 2})));
    let frames = c.frames();
    assert_eq!(frames.len(), 1);
    assert_eq!(
        (frames[0]["action"].as_str(), frames[0]["scope"].as_str()),
        (Some("update"), Some("in"))
    );
    assert_eq!(frames[0]["result"]["_version"], 2);
    h.write(C::update(INDEX, COLLECTION, "d", json!({"color": "blue"})));
    let frames = c.frames();
    assert_eq!(frames.len(), 1);
    assert_eq!(
        (frames[0]["action"].as_str(), frames[0]["scope"].as_str()),
        (Some("update"), Some("out"))
    );
    assert_eq!(
        frames[0]["result"]["_source"],
        json!({
            "color": "blue", "n": 2, "_kuzzle_info": frames[0]["result"]["_source"]["_kuzzle_info"].clone()
        })
    );
    // Kuzzle's rule still holds across a restart: out only for rooms the document was in.
    h.write(C::update(INDEX, COLLECTION, "d", json!({"n": 3})));
    assert!(c.frames().is_empty());
}

#[test]
fn out_after_a_restart_reaches_the_room_only_once_it_exists_again() {
    let dir = tempfile::tempdir().unwrap();
    {
        let h = Harness::with_store(Arc::new(RedbStore::open(dir.path()).unwrap()), 64);
        let c = h.client();
        h.subscribe(&c, red(), opts(Scope::All, UsersOption::None));
        h.write(C::create(INDEX, COLLECTION, "d", json!({"color": "red"})));
    }
    let h = Harness::with_store(Arc::new(RedbStore::open(dir.path()).unwrap()), 64);
    // Nobody subscribed yet: the change is stored, nobody notified, nothing fails.
    let applied = h.write(C::update(INDEX, COLLECTION, "d", json!({"size": 1})));
    assert_eq!(applied.channels_notified, 0);
    let stored = h.hub.get(INDEX, COLLECTION, "d").unwrap().unwrap();
    assert!(
        stored.rooms.is_empty(),
        "rooms matched at the last notification: none"
    );
}

fn exercise(store: &dyn DocumentStore) {
    let key = DocKey::new("i", "c", "d");
    let other = DocKey::new("i", "c2", "d");
    assert_eq!(store.get(&key).unwrap(), None);
    let value = StoredDocument {
        document: json!({"a": [1, 2], "b": {"c": "é"}}),
        rooms: vec!["ab".repeat(32)],
        version: 7,
    };
    store.put(&key, &value).unwrap();
    store
        .put(
            &other,
            &StoredDocument {
                version: 1,
                ..value.clone()
            },
        )
        .unwrap();
    assert_eq!(store.get(&key).unwrap(), Some(value.clone()));
    assert_eq!(store.len().unwrap(), 2);
    let newer = StoredDocument {
        version: 8,
        rooms: vec![],
        ..value
    };
    store.put(&key, &newer).unwrap();
    assert_eq!(store.get(&key).unwrap(), Some(newer));
    assert!(store.remove(&key).unwrap());
    assert!(!store.remove(&key).unwrap());
    assert_eq!(store.get(&key).unwrap(), None);
    assert_eq!(store.len().unwrap(), 1);
    assert_eq!(store.get(&other).unwrap().map(|v| v.version), Some(1));
}

#[test]
fn both_stores_implement_the_same_contract() {
    exercise(&MemoryStore::new());
    let dir = tempfile::tempdir().unwrap();
    exercise(&RedbStore::open(dir.path()).unwrap());
}

#[test]
fn deletes_leave_no_entry() {
    let h = Harness::new();
    for i in 0..50 {
        let id = format!("d{i}");
        h.write(C::create(INDEX, COLLECTION, &id, json!({"i": i})));
        h.write(C::update(INDEX, COLLECTION, &id, json!({"j": i})));
        h.write(C::delete(INDEX, COLLECTION, &id));
    }
    assert_eq!(h.hub.store().len().unwrap(), 0);
}

#[test]
fn a_second_process_cannot_open_the_same_data_dir() {
    let dir = tempfile::tempdir().unwrap();
    let _first = RedbStore::open(dir.path()).unwrap();
    assert!(RedbStore::open(dir.path()).is_err());
}

#[test]
fn an_unusable_data_dir_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plain-file");
    std::fs::write(&file, b"not a directory").unwrap();
    assert!(RedbStore::open(&file).is_err());
    // A corrupt database file.
    let bad = dir.path().join("bad");
    std::fs::create_dir(&bad).unwrap();
    std::fs::write(bad.join("documents.redb"), b"garbage garbage garbage").unwrap();
    assert!(RedbStore::open(&bad).is_err());
}
