//! Removing filters gives their memory back: register many filters, match documents, remove
//! them all, and the heap is back to where it started (counted by a global allocator wrapper,
//! so the figure is exact, not an RSS estimate).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

use herald_filters::engine::{CollectionName, Engine};
use herald_filters::{normalize, Options};
use serde_json::json;

struct Counting;

static ALLOCATED: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATED.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        ALLOCATED.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATED.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// A mix of every kind of index: equals, ranges, geo, regexps, arrays, nesting, negations.
fn filter(i: usize) -> serde_json::Value {
    match i % 8 {
        0 => json!({"equals": {"user.id": format!("u-{i}")}}),
        1 => {
            json!({"and": [{"equals": {"status": "active"}}, {"equals": {"room": format!("r-{}", i % 500)}}, {"range": {"price": {"gte": i % 1000, "lt": i % 1000 + 50}}}]})
        }
        2 => {
            json!({"geoDistance": {"loc": [(i % 90) as f64 * 0.5, (i % 180) as f64], "distance": "10km"}})
        }
        3 => json!({"regexp": {"title": format!("^item{}", i % 300)}}),
        4 => json!({"exists": format!("tags[\"t{}\"]", i % 700)}),
        5 => json!({"not": {"in": {"country": [format!("c{}", i % 50), "FR"]}}}),
        6 => {
            json!({"bool": {"must": [{"equals": {"category": format!("cat{}", i % 30)}}], "should": [{"range": {"price": {"lt": i % 2000}}}, {"exists": "promo"}]}})
        }
        _ => {
            json!({"geoBoundingBox": {"loc": {"top": 10.0 + (i % 50) as f64, "bottom": (i % 50) as f64, "left": (i % 100) as f64, "right": 5.0 + (i % 100) as f64}}})
        }
    }
}

#[test]
fn register_then_remove_returns_memory() {
    let options = Options::default();
    let docs = [
        json!({"user": {"id": "u-8"}, "status": "active", "room": "r-1", "price": 20, "loc": [1.0, 2.0]}),
        json!({"title": "item42", "tags": ["t4", "t5"], "country": "FR", "category": "cat3", "promo": true}),
    ];
    let engine = Engine::new();
    let collection = CollectionName::new("i", "c");
    // Large enough never to grow during the test (its growth would count as a leak).
    let mut out = Vec::with_capacity(1 << 16);
    // Warm lazy statics and the thread's scratch once, so the baseline includes them.
    let warm = normalize(&filter(0), &options).expect("valid");
    engine.register(&collection, warm.id, &warm.canonical);
    engine.test(&collection, &docs[0], &mut out);
    engine.remove(&collection, &warm.id);

    let before = ALLOCATED.load(Ordering::SeqCst);
    // The engine alone holds the filters: the caller keeps only their ids.
    let mut ids = std::collections::HashSet::new();
    for i in 0..40_000 {
        let n = normalize(&filter(i), &options).expect("valid");
        ids.insert(engine.register(&collection, n.id, &n.canonical));
    }
    let during = ALLOCATED.load(Ordering::SeqCst);
    for doc in &docs {
        out.clear();
        engine.test(&collection, doc, &mut out);
        assert!(!out.is_empty());
    }
    for id in &ids {
        assert!(engine.remove(&collection, id));
    }
    drop(ids);
    // The thread keeps working: its next match, on a small collection, gives back the
    // per-thread scratch that was sized for the large one.
    engine.register(&collection, warm.id, &warm.canonical);
    out.clear();
    engine.test(&collection, &docs[0], &mut out);
    engine.remove(&collection, &warm.id);
    let after = ALLOCATED.load(Ordering::SeqCst);
    assert!(
        during - before > 1_000_000,
        "registration allocated {}",
        during - before
    );
    // The thread's scratch may keep a few bytes per document field (its buffers for the
    // fields of the largest document it has seen); nothing proportional to the filters.
    assert!(
        after - before < 1024,
        "{} bytes still allocated after removing every filter (peak {})",
        after - before,
        during - before
    );
    assert!(engine.collections().is_empty());
}
