//! Inbox benchmark: sends per second to offline and online users, and the latency of `count`,
//! `list` and marks for a user holding 100,000 notifications, on the embedded store (redb in a
//! temporary directory: every commit is fsynced, as in `herald serve`).
//!
//! ```sh
//! cargo run --release --example inbox_bench
//! ```
//!
//! It drives the engine in process (the [`Hub`] with its delivery queues, no sockets): what it
//! measures is the inbox's own cost, to which a request adds the protocol's, like any other.
//! Figures and their reading: `docs/notifications.md`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use herald::delivery::{ConnectionId, Queues};
use herald::identity::{Identity, Rights};
use herald::inbox::{
    Archived, Draft, InboxConfig, InboxStore, ListQuery, MemoryInboxStore, Op, Priority,
    RedbInboxStore, Selector, StoredNotification, UserState, Write,
};
use herald::notify::{now_ms, Hub, HubConfig, Origin};
use herald::rooms::UserId;
use herald::store::MemoryStore;
use serde_json::json;

const USERS: usize = 10_000;
const SENDS: usize = 2_000;
const BIG: u64 = 100_000;

fn draft(kind: &str, n: usize) -> Draft {
    Draft {
        kind: kind.into(),
        priority: if n.is_multiple_of(50) {
            Priority::Critical
        } else {
            Priority::Normal
        },
        subject: Some(format!("Reminder #{n}")),
        payload: json!({"customer": "Smith", "n": n, "text": "Call Mr Smith back about the invoice"}),
        link: None,
        from: "erp".into(),
        expires_at: None,
        dedup_key: None,
    }
}

fn new_hub(store: Arc<dyn InboxStore>, queues: Arc<Queues>) -> Hub {
    let config = HubConfig {
        inbox: InboxConfig {
            max_per_user: 2 * BIG,
            ..InboxConfig::default()
        },
        ..HubConfig::default()
    };
    Hub::new(config, Arc::new(MemoryStore::new()), queues).with_inbox_store(store)
}

fn per_second(n: usize, elapsed: Duration) -> f64 {
    n as f64 / elapsed.as_secs_f64()
}

/// Sends `SENDS` notifications, each to one user (or `fanout` users) among `USERS`.
fn sends(hub: &Hub, fanout: usize, drain: &mut dyn FnMut()) -> Duration {
    let origin = Origin::new("notifications");
    let sink = hub.inbox_sink(&origin);
    let users: Vec<UserId> = (0..USERS)
        .map(|i| UserId::new(&format!("user-{i}")))
        .collect();
    let start = Instant::now();
    for n in 0..SENDS {
        let to: Vec<UserId> = (0..fanout)
            .map(|k| users[(n * 7919 + k * 104_729) % USERS].clone())
            .collect();
        if let Err(e) = hub.inbox().send(&to, &draft("MAIL", n), now_ms(), &sink) {
            eprintln!("send failed: {e}");
            std::process::exit(1);
        }
        drain();
    }
    start.elapsed()
}

/// The value, or the end of the benchmark.
fn ok<T>(result: Result<T, herald::store::StoreError>) -> T {
    match result {
        Ok(value) => value,
        Err(e) => {
            eprintln!("inbox bench: {e}");
            std::process::exit(1)
        }
    }
}

/// Median and p99 of `runs` calls of `op`, in microseconds.
fn latency(runs: usize, mut op: impl FnMut(usize)) -> (f64, f64) {
    let mut samples: Vec<f64> = (0..runs)
        .map(|i| {
            let start = Instant::now();
            op(i);
            start.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q) as usize];
    (at(0.5), at(0.99))
}

fn report(name: &str, (p50, p99): (f64, f64)) {
    println!("{{\"bench\":\"{name}\",\"p50_us\":{p50:.1},\"p99_us\":{p99:.1}}}");
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    println!(
        "# inbox bench: {USERS} users, {SENDS} sends per run, store in {}",
        dir.path().display()
    );

    // ---- sends to offline users ----
    for (label, store) in [
        (
            "redb",
            Arc::new(RedbInboxStore::open(&dir.path().join("a"))?) as Arc<dyn InboxStore>,
        ),
        (
            "memory",
            Arc::new(MemoryInboxStore::new()) as Arc<dyn InboxStore>,
        ),
    ] {
        for fanout in [1, 100] {
            let hub = new_hub(Arc::clone(&store), Arc::new(Queues::new(1 << 20)));
            let elapsed = sends(&hub, fanout, &mut || {});
            println!(
                "{{\"bench\":\"send_offline\",\"store\":\"{label}\",\"recipients_per_send\":{fanout},\"sends_per_s\":{:.0},\"stored_per_s\":{:.0}}}",
                per_second(SENDS, elapsed),
                per_second(SENDS * fanout, elapsed)
            );
        }
    }

    // ---- sends to online users: every user has a listening connection ----
    let queues = Arc::new(Queues::new(1 << 20));
    let hub = new_hub(
        Arc::new(RedbInboxStore::open(&dir.path().join("b"))?),
        Arc::clone(&queues),
    );
    let mut mailboxes = Vec::with_capacity(USERS);
    for i in 0..USERS {
        let connection: ConnectionId = hub.connect(None);
        let identity = Identity {
            kuid: UserId::new(&format!("user-{i}")),
            token: format!("token-{i}").into(),
            expires_at: u64::MAX,
            rights: Arc::new(Rights::none()),
        };
        hub.bind(connection, Arc::new(identity));
        hub.listen_notifications(connection, &json!({}))?;
        mailboxes.push(queues.open(connection));
    }
    for fanout in [1, 100] {
        let mut frames = 0usize;
        let elapsed = sends(&hub, fanout, &mut || {
            for mailbox in &mut mailboxes {
                while mailbox.try_recv().is_some() {
                    frames += 1;
                }
            }
        });
        println!(
            "{{\"bench\":\"send_online\",\"store\":\"redb\",\"recipients_per_send\":{fanout},\"sends_per_s\":{:.0},\"stored_per_s\":{:.0},\"frames_pushed\":{frames}}}",
            per_second(SENDS, elapsed),
            per_second(SENDS * fanout, elapsed)
        );
    }

    // ---- one user holding 100,000 notifications ----
    let store = Arc::new(RedbInboxStore::open(&dir.path().join("c"))?);
    let start = Instant::now();
    let user = "big";
    let mut state = UserState::default();
    let template = draft("MAIL", 1).record(now_ms(), &InboxConfig::default());
    let mut batch: Vec<(u64, StoredNotification)> = Vec::new();
    while state.next_seq <= BIG {
        let seq = state.add();
        let mut record = template.clone();
        // One notification in a thousand is of a rare type (for the filtered list).
        if seq.is_multiple_of(1_000) {
            record.kind = "RARE".into();
        }
        batch.push((seq, record));
        if batch.len() == 10_000 || state.next_seq > BIG {
            let mut writes: Vec<Write<'_>> = batch
                .iter()
                .map(|(seq, record)| Write::Insert(user, *seq, record))
                .collect();
            writes.push(Write::State(user, &state));
            store.commit(&writes)?;
            batch.clear();
        }
    }
    println!(
        "# filled {BIG} notifications in {:.1} s",
        start.elapsed().as_secs_f64()
    );
    let hub = new_hub(store, Arc::new(Queues::new(1 << 20)));
    let big = UserId::new(user);
    let origin = Origin::new("notifications");
    let sink = hub.inbox_sink(&origin);
    let inbox = hub.inbox();
    let cold = Instant::now();
    let counts = inbox.counts(&big, now_ms(), &sink)?;
    println!(
        "{{\"bench\":\"count_cold\",\"us\":{:.1},\"total\":{}}}",
        cold.elapsed().as_secs_f64() * 1e6,
        counts.total
    );
    report(
        "count_100k",
        latency(1_000, |_| {
            ok(inbox.counts(&big, now_ms(), &sink));
        }),
    );
    let query = ListQuery::default();
    report(
        "list_first_page_20_100k",
        latency(200, |_| {
            ok(inbox.list(&big, &query, now_ms(), &sink));
        }),
    );
    report(
        "list_page_100_at_random_cursor_100k",
        latency(200, |i| {
            let query = ListQuery {
                size: 100,
                cursor: Some(1 + (i as u64 * 7_919) % BIG),
                ..ListQuery::default()
            };
            ok(inbox.list(&big, &query, now_ms(), &sink));
        }),
    );
    let rare = ListQuery {
        types: vec!["RARE".into()],
        ..ListQuery::default()
    };
    report(
        "list_filtered_rare_type_100k",
        latency(100, |_| {
            ok(inbox.list(&big, &rare, now_ms(), &sink));
        }),
    );
    report(
        "mark_read_100_ids_100k",
        latency(200, |i| {
            let ids = (0..100)
                .map(|k| 1 + ((i * 100 + k) as u64 * 7_919) % BIG)
                .collect();
            ok(inbox.update(&big, Op::Read, &Selector::Ids(ids), now_ms(), &sink));
        }),
    );
    // After random reads the unread set is fragmented: the worst case for its size.
    report(
        "send_to_user_with_100k",
        latency(200, |n| {
            ok(inbox.send(
                std::slice::from_ref(&big),
                &draft("MAIL", n),
                now_ms(),
                &sink,
            ));
        }),
    );
    report(
        "mark_all_read_then_unread_100k",
        latency(50, |i| {
            let op = if i.is_multiple_of(2) {
                Op::Read
            } else {
                Op::Unread
            };
            ok(inbox.update(&big, op, &Selector::All, now_ms(), &sink));
        }),
    );
    let unread = ListQuery {
        unread_only: true,
        archived: Archived::No,
        ..ListQuery::default()
    };
    report(
        "list_unread_first_page_100k",
        latency(200, |_| {
            ok(inbox.list(&big, &unread, now_ms(), &sink));
        }),
    );
    // Someone else is not slowed down by the big inbox.
    let small = UserId::new("small");
    inbox.send(
        std::slice::from_ref(&small),
        &draft("MAIL", 0),
        now_ms(),
        &sink,
    )?;
    report(
        "count_other_user",
        latency(1_000, |_| {
            ok(inbox.counts(&small, now_ms(), &sink));
        }),
    );
    report(
        "list_other_user",
        latency(200, |_| {
            ok(inbox.list(&small, &query, now_ms(), &sink));
        }),
    );
    Ok(())
}
