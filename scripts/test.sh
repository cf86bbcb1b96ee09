#!/usr/bin/env bash
# The whole test suite: formatting, lints, and every test (unit, property, oracle, CLI).
# Works on a fresh clone with the Rust toolchain, Node.js and Chromium (`/usr/bin/chromium`, or
# CHROMIUM_BIN; .ci/run installs Debian's package): everything else the tests read is in the
# repository.
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

# The admin dashboard in a real browser (playwright-core, pinned by tests/browser's lock file,
# driving the system's chromium); screenshots land in target/browser/.
(cd tests/browser && npm ci --no-audit --no-fund)
(cd tests/browser && HERALD_BIN="$PWD/../../target/debug/herald" node --test --test-concurrency=1)
