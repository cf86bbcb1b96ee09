#!/usr/bin/env bash
# Cost of document writes on the embedded store (redb, fsync per commit), over HTTP:
#   bash bench/batch_writes.sh
# One `mCreate` of 1,000 and of 2,000 documents (one commit each) against 200 single creates
# (one commit each).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet -p herald --bin herald
target=${CARGO_TARGET_DIR:-target}
port=${HERALD_BENCH_PORT:-17610}
data=$(mktemp -d)
"$target/release/herald" serve --data-dir "$data" --port "$port" 2>/dev/null &
pid=$!
trap 'kill -TERM $pid; wait $pid || true; rm -rf "$data"' EXIT
sleep 1
python3 - "$port" <<'PY'
import json, sys, time, urllib.request
port = sys.argv[1]
def call(path, body):
    r = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=json.dumps(body).encode(),
                               method="POST", headers={"content-type": "application/json"})
    return json.load(urllib.request.urlopen(r))
for n in (1000, 2000):
    docs = [{"_id": f"d{n}-{i}", "body": {"n": i}} for i in range(n)]
    t = time.time()
    r = call("/bench/docs/_mCreate", {"documents": docs})
    ms = (time.time() - t) * 1000
    print(json.dumps({"test": "mCreate", "documents": n, "ms": round(ms, 1),
                      "created": len(r["result"]["successes"])}))
t = time.time()
for i in range(200):
    call(f"/bench/docs/s{i}/_create", {"n": i})
ms = (time.time() - t) * 1000
print(json.dumps({"test": "single creates", "documents": 200, "ms": round(ms, 1),
                  "ms_per_document": round(ms / 200, 2)}))
PY
