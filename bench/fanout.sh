#!/usr/bin/env bash
# Fan-out cost of `herald serve`, measured from the outside (the issue's targets):
#
#   bash bench/fanout.sh
#
# 1. 1,000 subscribers in 100 rooms, 2 publishers, fixed 10,000 publishes/s (100,000
#    notifications/s) for 10 s: lost notifications, latency percentiles, and the server's CPU
#    time per delivered notification, read from /proc/<pid>/stat (utime + stime) around the run.
# 2. The same at maximum rate.
# 3. 10,000 idle subscribed connections: the server's RSS growth per connection.
# The load tool and the server share the machine's 2 cores: CPU per notification is the figure
# that does not depend on that.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet -p herald -p herald-bench --bin herald --bin herald-load
target=${CARGO_TARGET_DIR:-target}
port=${HERALD_BENCH_PORT:-17512}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }

run() { # label, herald-load args...
  local label=$1; shift
  "$target/release/herald" serve --ephemeral --port "$port" 2>/dev/null &
  local pid=$!
  sleep 1
  local t0; t0=$(cpu_ticks "$pid")
  local r0; r0=$(rss_kb "$pid")
  local load_cpu; load_cpu=$(mktemp)
  local out; out=$( { TIMEFORMAT='%U %S'; time "$target/release/herald-load" fanout --server "127.0.0.1:$port" "$@"; } 2>"$load_cpu")
  local t1; t1=$(cpu_ticks "$pid")
  kill -TERM "$pid"; wait "$pid" || true
  python3 - "$label" "$out" "$t0" "$t1" "$r0" "$(getconf CLK_TCK)" "$(tail -1 "$load_cpu")" "$(cut -d' ' -f1 /proc/loadavg)" <<'PY'
import json, sys
label, out, t0, t1, r0, hz = sys.argv[1], json.loads(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
load_user, load_sys = (float(x) for x in sys.argv[7].split())
cpu_s = (t1 - t0) / hz
received = out.get("received") or 0
out["label"] = label
out["server_cpu_s"] = round(cpu_s, 3)
out["server_cpu_us_per_notification"] = round(cpu_s * 1e6 / received, 3) if received else None
# The load tool shares the machine: its CPU (connects included) says how much was left.
out["load_tool_cpu_s"] = round(load_user + load_sys, 3)
out["machine_loadavg_1m"] = float(sys.argv[8])
print(json.dumps(out))
PY
  rm -f "$load_cpu"
}

run "fixed 100k notifications/s" --subscribers 1000 --rooms 100 --publishers 2 --rate 10000 --seconds 10
run "maximum rate" --subscribers 1000 --rooms 100 --publishers 2 --rate 0 --seconds 10

# Idle connections: subscribe 10,000 sockets, publish almost nothing, read the server's RSS
# while they are connected.
"$target/release/herald" serve --ephemeral --port "$port" 2>/dev/null &
pid=$!
sleep 1
r0=$(rss_kb "$pid")
"$target/release/herald-load" fanout --server "127.0.0.1:$port" --subscribers 10000 --rooms 100 \
  --publishers 1 --rate 1 --seconds 8 --local-addresses 8 > /tmp/herald-idle.json &
load=$!
sleep 6
r1=$(rss_kb "$pid")
wait "$load" || true
kill -TERM "$pid"; wait "$pid" || true
python3 -c "import json; print(json.dumps({'label': '10000 idle subscribed connections', 'rss_before_kb': $r0, 'rss_connected_kb': $r1, 'kib_per_connection': round(($r1 - $r0) / 10000, 2), 'load': json.load(open('/tmp/herald-idle.json'))}))"
