//! The delivery seam: one serialization per channel, the same bytes for every connection of a
//! channel, bounded queues that flag a slow client without holding anyone else back.

mod rooms_support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use herald::delivery::{ConnectionId, Delivered, Delivery, Frame, Queues};
use herald::notify::{DocumentChange as C, Hub, HubConfig};
use herald::rooms::{Scope, UsersOption};
use herald::store::MemoryStore;
use rooms_support::*;
use serde_json::json;

#[test]
fn one_serialization_per_channel_shared_by_its_connections() {
    let h = Harness::new();
    let option_sets = [
        opts(Scope::All, UsersOption::None),
        opts(Scope::In, UsersOption::None),
        opts(Scope::Out, UsersOption::None), // not notified by an `in`
    ];
    let mut clients = Vec::new();
    for options in option_sets {
        for _ in 0..5 {
            let c = h.client();
            let sub = h.subscribe(&c, red(), options);
            clients.push((options, c, sub.channel));
        }
    }
    // A second room matching too.
    let extra = h.client();
    h.subscribe(
        &extra,
        json!({"exists": "color"}),
        opts(Scope::All, UsersOption::None),
    );
    let before = h.hub.stats();
    let applied = h.write(C::create(INDEX, COLLECTION, "d", json!({"color": "red"})));
    let after = h.hub.stats();
    assert_eq!(applied.channels_notified, 3);
    assert_eq!(
        after.frames - before.frames,
        3,
        "serializations == channels notified"
    );
    assert_eq!(after.deliveries - before.deliveries, 11);

    let mut pointers: Vec<(String, *const u8)> = Vec::new();
    for (options, c, channel) in &mut clients {
        let frames: Vec<Frame> = c.inbox.drain();
        if options.scope == Scope::Out {
            assert!(frames.is_empty());
        } else {
            assert_eq!(frames.len(), 1);
            pointers.push((channel.clone(), frames[0].as_ptr()));
        }
    }
    // Every connection of a channel holds the very same bytes.
    for (channel, ptr) in &pointers {
        for (other_channel, other_ptr) in &pointers {
            assert_eq!(channel == other_channel, ptr == other_ptr);
        }
    }
}

#[test]
fn a_full_queue_flags_the_slow_connection_only() {
    let h = Harness::with_store(Arc::new(MemoryStore::new()), 2);
    let mut slow = h.client();
    let mut fast = h.client();
    h.subscribe(&slow, json!({}), opts(Scope::All, UsersOption::None));
    h.subscribe(&fast, json!({}), opts(Scope::All, UsersOption::None));
    let o = origin("realtime");
    for i in 0..5 {
        h.hub
            .publish(&o, INDEX, COLLECTION, None, &json!({"i": i}))
            .unwrap();
        assert_eq!(fast.frames().len(), 1, "the fast client keeps up");
    }
    assert!(slow.inbox.is_too_slow());
    assert!(!fast.inbox.is_too_slow());
    assert_eq!(h.queues.too_slow_count(), 1);
    // The slow client's inbox yields what was queued, then ends.
    assert_eq!(slow.inbox.drain().len(), 2);
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    assert_eq!(rt.block_on(slow.inbox.recv()), None);
    // The server then drops it (and would close its socket with 1011).
    h.hub.disconnect(slow.id);
    assert_eq!(
        h.hub.count(
            &h.hub.list()[INDEX][COLLECTION]
                .keys()
                .next()
                .unwrap()
                .clone()
        ),
        1
    );
}

#[tokio::test]
async fn an_inbox_is_an_async_stream_of_frames() {
    let h = Harness::new();
    let mut c = h.client();
    h.subscribe(&c, json!({}), opts(Scope::All, UsersOption::None));
    let hub = &h.hub;
    hub.publish(
        &origin("realtime"),
        INDEX,
        COLLECTION,
        Some("x"),
        &json!({}),
    )
    .unwrap();
    let frame = c.inbox.recv().await.unwrap();
    let value: serde_json::Value = serde_json::from_slice(&frame).unwrap();
    assert_eq!(value["result"]["_id"], "x");
    assert_eq!(c.inbox.connection(), c.id);
}

/// A delivery that wraps another, as a cluster transport would.
struct Counting {
    inner: Queues,
    seen: AtomicUsize,
}

impl Delivery for Counting {
    fn deliver(&self, connection: ConnectionId, frame: &Frame) -> Delivered {
        self.seen.fetch_add(1, Ordering::Relaxed);
        self.inner.deliver(connection, frame)
    }
}

#[test]
fn delivery_goes_through_one_wrappable_trait() {
    let delivery = Arc::new(Counting {
        inner: Queues::new(16),
        seen: AtomicUsize::new(0),
    });
    let hub = Hub::new(
        HubConfig::default(),
        Arc::new(MemoryStore::new()),
        delivery.clone(),
    );
    let a = hub.connect(None);
    let b = hub.connect(None);
    let mut inbox = delivery.inner.open(a);
    let o = origin("realtime");
    hub.subscribe(
        a,
        &o,
        INDEX,
        COLLECTION,
        &json!({}),
        opts(Scope::All, UsersOption::All),
    )
    .unwrap();
    hub.subscribe(
        b,
        &o,
        INDEX,
        COLLECTION,
        &json!({}),
        opts(Scope::All, UsersOption::None),
    )
    .unwrap();
    hub.publish(&o, INDEX, COLLECTION, None, &json!({}))
        .unwrap();
    // a: user in + publish; b (no queue open): publish, dropped as Gone.
    assert_eq!(delivery.seen.load(Ordering::Relaxed), 3);
    assert_eq!(inbox.drain().len(), 2);
    assert_eq!(
        delivery.inner.deliver(b, &Frame::from_static(b"{}")),
        Delivered::Gone
    );
}

#[test]
fn queues_bound_what_a_connection_leaves_waiting_in_frames_and_bytes() {
    use herald::delivery::QueueLimits;
    let frame = Frame::from(vec![b' '; 300]);
    let queues = Queues::with_limits(QueueLimits {
        frames: 100,
        bytes: 1000,
    });
    let c = ConnectionId::new(1);
    let mut inbox = queues.open(c);
    // What the client takes no longer counts: it may receive far more than the limits.
    for _ in 0..50 {
        for _ in 0..3 {
            assert_eq!(queues.deliver(c, &frame), Delivered::Queued);
        }
        assert_eq!(inbox.drain().len(), 3);
    }
    assert!(!inbox.is_too_slow());
    // Leaving more than 1000 bytes waiting: the fourth 300-byte frame is refused.
    for _ in 0..3 {
        assert_eq!(queues.deliver(c, &frame), Delivered::Queued);
    }
    assert_eq!(queues.deliver(c, &frame), Delivered::TooSlow);
    assert!(inbox.is_too_slow());
    assert_eq!(queues.too_slow_count(), 1);
    // The queue is detached: what was queued drains, then the inbox ends.
    assert_eq!(inbox.drain().len(), 3);
    assert_eq!(queues.deliver(c, &frame), Delivered::Gone);

    // The frame limit, with small frames.
    let queues = Queues::with_limits(QueueLimits {
        frames: 2,
        bytes: usize::MAX,
    });
    let _inbox = queues.open(c);
    let tiny = Frame::from_static(b"{}");
    assert_eq!(queues.deliver(c, &tiny), Delivered::Queued);
    assert_eq!(queues.deliver(c, &tiny), Delivered::Queued);
    assert_eq!(queues.deliver(c, &tiny), Delivered::TooSlow);
}
