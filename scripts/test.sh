#!/usr/bin/env bash
# The whole test suite: formatting, lints, and every test (unit, property, oracle, CLI).
# Works on a fresh machine with the Rust toolchain; `shared/` (oracle corpora) must sit beside
# the checkout, as it does in CI, or be named by HERALD_SHARED.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
cargo test --workspace --all-targets
cargo test --workspace --doc
