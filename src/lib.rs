//! Herald: a realtime room engine speaking Kuzzle's realtime protocol.
//!
//! Clients subscribe with Koncorde filters; identical filters share a room; every document
//! change or published message is matched against all rooms at once and turned into
//! notifications. The filter language and the matcher live in their own crate,
//! [`herald_filters`]; this crate builds the engine around them. Modules, in the order data
//! flows through them:
//!
//! * [`rooms`] — rooms, channels, subscriptions and presence counts; the matcher holds one
//!   entry per room (the room id is a stable hash of index, collection and canonical filter).
//! * [`notify`] — the engine ([`notify::Hub`]): document changes (planned in order, committed
//!   once per batch, notified in order) and publishes become notifications (scope in/out,
//!   presence, events to users), serialized once per channel.
//! * [`store`] — document state (latest document and the rooms it matched at its last
//!   notification) and the registered index and collection names, behind one trait: redb on
//!   disk, or in memory.
//! * [`history`] — the recent notifications of each room (a bounded stream per room, a
//!   position per notification), for subscriptions that resume after a reconnect; in memory,
//!   saved in redb at shutdown.
//! * [`cluster`] — several nodes over one Redis: the Redis implementations of the document
//!   store and of the bus (committed changes routed per collection to the nodes that listen).
//! * [`delivery`] — the seam to the network: shared frames routed per connection to a queue
//!   its task drains or to an outlet that writes them itself (WebSocket), bounded by what each
//!   connection leaves unread.
//! * [`identity`] — JWT verification, per-collection rights and restriction filters, the
//!   binding of connections to users, and the listeners of events addressed to users.
//! * [`inbox`] — persistent per-user notifications (`notifications:*`): stored before they
//!   are acknowledged, read/seen/archived state as roaring bitmaps per user, retention and
//!   expiry; their changes are pushed to the user's listeners by [`notify`].
//! * [`protocol`] — Kuzzle's API protocol without transport: envelope validation, one module
//!   per controller, Kuzzle's error ids and codes, the response envelope.
//! * [`metrics`] — operational metrics (`GET /metrics`, Prometheus text): atomics on the hot
//!   paths, engine counters read at scrape time, closed label sets. The admin dashboard
//!   (`/_admin`) is served next to them by the server (`docs/operations.md`).
//! * [`server`] — `herald serve`: one port for WebSocket and HTTP (own accept loop on hyper;
//!   WebSocket upgrades answered before warp's HTTP routes), one task per WebSocket
//!   connection with batched writes, slow-client closing, token expiry, graceful shutdown.
//!
//! The `herald` binary (`src/main.rs`, `src/cli/`) exposes the offline filter tools
//! (`normalize`, `match`, `bench-match`) and `serve`, the network server. The benchmark tools
//! (workload generators, `herald-workload`, the `herald-load` fanout tool, criterion benches)
//! are the `herald-bench` crate, in `bench/`.
pub mod cluster;
pub mod delivery;
pub mod history;
pub mod identity;
pub mod inbox;
pub mod metrics;
pub mod notify;
pub mod protocol;
pub mod rooms;
pub mod server;
pub mod store;
