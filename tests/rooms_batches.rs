//! Batch writes: planned in order, committed once, notified in order, all or nothing on a
//! store failure.

mod rooms_support;
mod server_support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use herald::notify::{ChangeError, DocumentChange as C};
use herald::rooms::{Scope, UsersOption};
use herald::store::{Catalog, DocKey, DocumentStore, MemoryStore, StoreError, StoredDocument};
use rooms_support::*;
use serde_json::json;

/// A memory store that counts commits and can be told to fail them.
#[derive(Default)]
struct Counting {
    inner: MemoryStore,
    commits: AtomicUsize,
    fail: std::sync::atomic::AtomicBool,
}

impl DocumentStore for Counting {
    fn get(&self, key: &DocKey) -> Result<Option<StoredDocument>, StoreError> {
        self.inner.get(key)
    }
    fn put(&self, key: &DocKey, value: &StoredDocument) -> Result<(), StoreError> {
        self.write_batch(&[(key, Some(value))])
    }
    fn remove(&self, key: &DocKey) -> Result<bool, StoreError> {
        let existed = self.inner.get(key)?.is_some();
        self.write_batch(&[(key, None)])?;
        Ok(existed)
    }
    fn write_batch(&self, writes: &[(&DocKey, Option<&StoredDocument>)]) -> Result<(), StoreError> {
        if self.fail.load(Ordering::Relaxed) {
            return Err(StoreError("disk full".into()));
        }
        self.commits.fetch_add(1, Ordering::Relaxed);
        self.inner.write_batch(writes)
    }
    fn len(&self) -> Result<u64, StoreError> {
        self.inner.len()
    }
    fn create(&self, index: &str, collection: Option<&str>) -> Result<bool, StoreError> {
        self.inner.create(index, collection)
    }
    fn catalog(&self) -> Result<Catalog, StoreError> {
        self.inner.catalog()
    }
    fn delete(&self, index: &str, collection: Option<&str>) -> Result<bool, StoreError> {
        self.inner.delete(index, collection)
    }
    fn truncate(&self, index: &str, collection: &str) -> Result<u64, StoreError> {
        self.inner.truncate(index, collection)
    }
}

#[test]
fn a_batch_commits_once_and_notifies_every_change_in_order() {
    let store = Arc::new(Counting::default());
    let h = Harness::with_store(store.clone(), 10_000);
    let mut sub = h.client();
    h.subscribe(&sub, red(), opts(Scope::All, UsersOption::None));
    let changes: Vec<C> = (0..500)
        .map(|i| {
            C::create(
                INDEX,
                COLLECTION,
                &format!("d{i}"),
                json!({"color": "red", "n": i}),
            )
        })
        .collect();
    let results = h.hub.apply_batch(&origin("document"), &changes);
    assert!(results.iter().all(Result::is_ok));
    assert_eq!(
        store.commits.load(Ordering::Relaxed),
        1,
        "one commit for the batch"
    );
    let frames = sub.frames();
    assert_eq!(frames.len(), 500);
    for (i, f) in frames.iter().enumerate() {
        assert_eq!(f["result"]["_source"]["n"], i, "{f}");
        assert_eq!(f["scope"], "in");
    }
    assert_eq!(store.len().unwrap(), 500);
}

#[test]
fn later_changes_of_a_batch_see_the_earlier_ones() {
    let h = Harness::new();
    let mut sub = h.client();
    h.subscribe(&sub, red(), opts(Scope::All, UsersOption::None));
    let changes = [
        C::create(INDEX, COLLECTION, "a", json!({"color": "red"})),
        // The same id again: refused, as a second create would be.
        C::create(INDEX, COLLECTION, "a", json!({"color": "blue"})),
        C::update(INDEX, COLLECTION, "a", json!({"color": "blue"})),
        C::update(INDEX, COLLECTION, "a", json!({"color": "red"})),
        C::delete(INDEX, COLLECTION, "a"),
        C::update(INDEX, COLLECTION, "a", json!({"color": "red"})),
    ];
    let results = h.hub.apply_batch(&origin("document"), &changes);
    assert!(results[0].is_ok());
    assert!(matches!(results[1], Err(ChangeError::AlreadyExists { .. })));
    let versions: Vec<u64> = results[2..5]
        .iter()
        .map(|r| r.as_ref().expect("applies").version)
        .collect();
    assert_eq!(versions, [2, 3, 3], "a delete reports the deleted version");
    assert!(matches!(results[5], Err(ChangeError::NotFound { .. })));
    // in (create), out (blue), in (red again), out (deleted).
    let scopes: Vec<String> = sub
        .frames()
        .iter()
        .map(|f| {
            format!(
                "{}:{}",
                f["action"].as_str().unwrap_or(""),
                f["scope"].as_str().unwrap_or("")
            )
        })
        .collect();
    assert_eq!(
        scopes,
        ["create:in", "update:out", "update:in", "delete:out"]
    );
    assert_eq!(h.hub.get(INDEX, COLLECTION, "a").unwrap(), None);
}

#[test]
fn a_failed_commit_fails_every_change_and_notifies_nothing() {
    let store = Arc::new(Counting::default());
    let h = Harness::with_store(store.clone(), 10_000);
    let mut sub = h.client();
    h.subscribe(&sub, json!({}), opts(Scope::All, UsersOption::None));
    store.fail.store(true, Ordering::Relaxed);
    let changes = [
        C::create(INDEX, COLLECTION, "a", json!({})),
        C::create(INDEX, COLLECTION, "b", json!({})),
    ];
    let results = h.hub.apply_batch(&origin("document"), &changes);
    assert!(results
        .iter()
        .all(|r| matches!(r, Err(ChangeError::Store(_)))));
    assert!(sub.frames().is_empty());
    assert_eq!(store.len().unwrap(), 0);
}

/// The `m*` actions of the protocol go through the batch: one commit per request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_m_request_over_the_socket_commits_once() {
    let store = Arc::new(Counting::default());
    let server = server_support::Server::start_with(herald::server::Config {
        store: store.clone(),
        ..herald::server::Config::default()
    })
    .await;
    let mut client = server.client().await;
    let documents: Vec<serde_json::Value> = (0..50)
        .map(|i| json!({"_id": format!("d{i}"), "body": {"n": i}}))
        .collect();
    client
        .ok(
            json!({"controller":"document","action":"mCreate","index":"i","collection":"c",
            "body":{"documents": documents}}),
        )
        .await;
    assert_eq!(store.commits.load(Ordering::Relaxed), 1);
    let ids: Vec<String> = (0..50).map(|i| format!("d{i}")).collect();
    let result = client
        .ok(
            json!({"controller":"document","action":"mDelete","index":"i","collection":"c",
            "body":{"ids": ids}}),
        )
        .await;
    assert_eq!(result["successes"].as_array().map(Vec::len), Some(50));
    assert_eq!(store.commits.load(Ordering::Relaxed), 2);
    server.stop().await;
}
