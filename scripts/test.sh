#!/usr/bin/env bash
# The whole test suite: formatting, lints, and every test (unit, property, oracle, CLI).
# Works on a fresh clone with the Rust toolchain and Node.js: everything the tests read is in
# the repository.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
cargo test --workspace --all-targets
cargo test --workspace --doc

# Compatibility with the official Kuzzle SDK (kuzzle-sdk 7.17.1, pinned by tests/sdk's lock file):
# the SDK drives a real `herald serve` binary.
cargo build --bin herald
(cd tests/sdk && npm ci --no-audit --no-fund)
(cd tests/sdk && HERALD_BIN="$PWD/../../target/debug/herald" node --test --test-concurrency=1)
