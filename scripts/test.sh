#!/usr/bin/env bash
# The whole test suite: formatting, lints, and every test (unit, property, oracle, CLI, SDK,
# browser). Works on a fresh clone with the Rust toolchain and Node.js: everything the tests
# read is in the repository, and the browser the dashboard test drives (Debian's chromium) and
# the Redis the cluster tests start (Debian's redis-server) are installed here when missing (as
# root; otherwise set CHROMIUM_BIN / REDIS_SERVER or install them).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${CHROMIUM_BIN:-}" ] && ! command -v chromium >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium
  else
    echo "scripts/test.sh: the dashboard test needs chromium (apt-get install chromium, or CHROMIUM_BIN)" >&2
    exit 1
  fi
fi

if [ -z "${REDIS_SERVER:-}" ] && ! command -v redis-server >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q redis-server
  else
    echo "scripts/test.sh: the cluster tests need redis-server (apt-get install redis-server, or REDIS_SERVER)" >&2
    exit 1
  fi
fi

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
