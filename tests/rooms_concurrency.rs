//! Concurrent updates of the same documents: every subscriber's sequence of notifications for a
//! document is exactly the one the serialized history of that document implies (no lost, no
//! doubled, no reordered transition).

mod rooms_support;

use std::collections::BTreeMap;
use std::sync::Arc;

use herald::notify::DocumentChange as C;
use herald::rooms::{Scope, UsersOption};
use herald::store::{DocumentStore, MemoryStore, RedbStore};
use rand::{Rng, SeedableRng};
use rooms_support::*;
use serde_json::json;

const THREADS: usize = 8;
const UPDATES: usize = 400;
const DOCS: usize = 4;

fn matches(v: i64) -> bool {
    v < 50
}

#[test]
fn concurrent_updates_keep_every_transition() {
    run(Arc::new(MemoryStore::new()), THREADS, UPDATES);
}

#[test]
fn concurrent_updates_keep_every_transition_with_the_embedded_store() {
    // Fewer updates: every one is an fsynced commit.
    let dir = tempfile::tempdir().unwrap();
    run(Arc::new(RedbStore::open(dir.path()).unwrap()), 4, 40);
}

fn run(store: Arc<dyn DocumentStore>, threads: usize, updates: usize) {
    let h = Arc::new(Harness::with_store(store, 1_000_000));
    let filter = json!({"range": {"v": {"lt": 50}}});
    let mut subscribers: Vec<(Scope, Client)> = [Scope::All, Scope::In, Scope::Out]
        .into_iter()
        .map(|scope| {
            let c = h.client();
            h.subscribe(&c, filter.clone(), opts(scope, UsersOption::None));
            (scope, c)
        })
        .collect();

    // history[doc][version] = does that version match?
    let mut history: Vec<BTreeMap<u64, bool>> = vec![BTreeMap::new(); DOCS];
    for (d, hist) in history.iter_mut().enumerate() {
        let applied = h.write(C::create(
            INDEX,
            COLLECTION,
            &format!("d{d}"),
            json!({"v": 0}),
        ));
        hist.insert(applied.version, true);
    }

    let workers: Vec<_> = (0..threads)
        .map(|t| {
            let h = Arc::clone(&h);
            std::thread::spawn(move || {
                let mut rng = rand::rngs::SmallRng::seed_from_u64(t as u64);
                let mut seen = Vec::new();
                for i in 0..updates {
                    let d = rng.gen_range(0..DOCS);
                    let v: i64 = rng.gen_range(0..100);
                    let applied = h.write(C::update(
                        INDEX,
                        COLLECTION,
                        &format!("d{d}"),
                        json!({"v": v, "writer": t, "i": i}),
                    ));
                    assert_eq!(applied.source["v"], v);
                    seen.push((d, applied.version, matches(v)));
                }
                seen
            })
        })
        .collect();
    for w in workers {
        for (d, version, is_in) in w.join().expect("worker") {
            assert!(
                history[d].insert(version, is_in).is_none(),
                "version {version} twice"
            );
        }
    }

    for (d, hist) in history.iter().enumerate() {
        // Versions are dense: every update got its own.
        let versions: Vec<u64> = hist.keys().copied().collect();
        assert_eq!(versions, (1..=versions.len() as u64).collect::<Vec<_>>());
        // Final state agrees with the last version.
        let stored = h
            .hub
            .get(INDEX, COLLECTION, &format!("d{d}"))
            .unwrap()
            .unwrap();
        assert_eq!(stored.version, *versions.last().unwrap());
        let final_in = matches(stored.document["v"].as_i64().unwrap());
        assert_eq!(final_in, hist[&stored.version]);
        assert_eq!(stored.rooms.len(), usize::from(final_in));
    }

    for (scope, client) in &mut subscribers {
        let frames = client.frames();
        assert!(!client.inbox.is_too_slow());
        let mut got: Vec<Vec<(u64, String)>> = vec![Vec::new(); DOCS];
        for f in &frames {
            let d: usize = f["result"]["_id"].as_str().unwrap()[1..].parse().unwrap();
            let version = f["result"]["_version"].as_u64().unwrap();
            let s = f["scope"].as_str().unwrap().to_string();
            if version > 1 {
                // The source notified is the one of that version.
                assert_eq!(
                    matches(f["result"]["_source"]["v"].as_i64().unwrap()),
                    s == "in"
                );
            }
            got[d].push((version, s));
        }
        for (d, hist) in history.iter().enumerate() {
            let mut expected = Vec::new();
            let mut was_in = false;
            for (&version, &is_in) in hist {
                let notification = if is_in {
                    Some("in")
                } else if was_in {
                    Some("out")
                } else {
                    None
                };
                if let Some(s) = notification {
                    let wanted = match scope {
                        Scope::All => true,
                        Scope::In => s == "in",
                        _ => s == "out",
                    };
                    if wanted {
                        expected.push((version, s.to_string()));
                    }
                }
                was_in = is_in;
            }
            assert_eq!(got[d], expected, "scope {scope:?}, document d{d}");
        }
    }
}

#[test]
fn subscriptions_racing_with_changes_stay_consistent() {
    // Subscribing and leaving while documents change: no panic, no ghost room, counts right.
    let h = Arc::new(Harness::new());
    let writers: Vec<_> = (0..4)
        .map(|t| {
            let h = Arc::clone(&h);
            std::thread::spawn(move || {
                for i in 0..300 {
                    let id = format!("w{t}-{}", i % 10);
                    let _ = h.hub.apply(
                        &origin("document"),
                        &C::create_or_replace(INDEX, COLLECTION, &id, json!({"v": i})),
                    );
                    if i % 7 == 0 {
                        let _ = h
                            .hub
                            .apply(&origin("document"), &C::delete(INDEX, COLLECTION, &id));
                    }
                }
            })
        })
        .collect();
    let subscribers: Vec<_> = (0..4)
        .map(|t| {
            let h = Arc::clone(&h);
            std::thread::spawn(move || {
                for i in 0..200 {
                    let c = h.client();
                    let filter = json!({"range": {"v": {"gte": (i * t) % 300}}});
                    h.subscribe(&c, filter, opts(Scope::All, UsersOption::All));
                    if i % 2 == 0 {
                        h.hub.disconnect(c.id);
                    }
                }
            })
        })
        .collect();
    for t in writers.into_iter().chain(subscribers) {
        t.join().expect("thread");
    }
    let total: usize = h
        .hub
        .list()
        .values()
        .flat_map(|c| c.values())
        .flat_map(|r| r.values())
        .sum();
    assert_eq!(total, 400, "half of the 800 subscribers stayed");
    let collection = herald_filters::engine::CollectionName::new(INDEX, COLLECTION);
    assert_eq!(
        h.hub.rooms().matcher().len(&collection),
        h.hub.rooms().len()
    );
}
