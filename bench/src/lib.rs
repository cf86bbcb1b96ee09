//! Herald's benchmark crate: what measures the server and its matcher, kept out of the server
//! library (`herald`) since no server user needs it.
//!
//! * [`workload`] — seeded benchmark workloads (filters and documents), written to files by
//!   `herald-workload` and read by `herald bench-match` and the Koncorde harness
//!   (`bench/koncorde/`), generated in place by the criterion benches (`bench/benches/`).
//!
//! Binaries (`bench/src/bin/`): `herald-workload` writes a workload as `filters.jsonl` and
//! `docs.jsonl`; `herald-load` measures a running server's fanout over real sockets. The shell
//! scripts next to this crate (`bench/*.sh`) drive them.
pub mod workload;
