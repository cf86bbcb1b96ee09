#!/usr/bin/env bash
# Fan-out cost of `herald serve`, side by side with a Node.js peer and with the kernel's floor,
# in one run (the targets of docs/performance.md, "Server fan-out"):
#
#   bash bench/fanout.sh
#
# Scenarios, each against Herald then the Node peer (bench/koncorde/fanout-server.js: `ws` +
# Koncorde 4.7.0, the same protocol subset), driven by the same `herald-load fanout`:
#   fixed     1,000 subscribers in 100 rooms, 2 publishers, 10,000 publishes/s
#             (100,000 notifications/s)
#   low-rate  10,000 subscribers in 100 rooms, 2 publishers, 100 publishes/s: each subscriber
#             receives 1 notification/s (10,000 notifications/s)
#   max       1,000 subscribers in 100 rooms, 2 publishers, as fast as acknowledged (Herald only)
#   idle      10,000 idle subscribed connections: Herald's RSS per connection
#   floor     bench/sendto_floor.py with the sockets and rates of `fixed` and `low-rate`: the
#             kernel CPU of one bare loopback `send` of a 300-byte message
# For each server run: lost notifications, latency percentiles, and the server's CPU time
# (utime + stime from /proc/<pid>/stat, between herald-load's `subscribed` and `drained` marks)
# per delivered notification. Every line
# is JSON; a table of the ratios follows. The load tool shares the machine with the server: CPU
# per notification is the figure that depends least on that, and the ratios compare runs made
# minutes apart on the same machine.
#
# Environment: HERALD_FANOUT_SECONDS (publishing time per run, default 10), HERALD_FANOUT_ONLY
# (a regex on scenario names, e.g. 'fixed|floor'), HERALD_BENCH_PORT (default 17512).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet -p herald -p herald-bench --bin herald --bin herald-load
target=${CARGO_TARGET_DIR:-target}
port=${HERALD_BENCH_PORT:-17512}
seconds=${HERALD_FANOUT_SECONDS:-10}
only=${HERALD_FANOUT_ONLY:-.}
# 10,000 subscribers: the Node peer needs the descriptors (Herald raises its own limit).
ulimit -n "$(ulimit -Hn)"
if [ ! -d bench/koncorde/node_modules/ws ]; then
  (cd bench/koncorde && npm ci --no-audit --no-fund >&2)
fi
results=$(mktemp)
trap 'rm -f "$results"' EXIT

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
wanted() { [[ $1 =~ $only ]]; }

start_server() { # herald|node; sets $pid
  case $1 in
    herald) "$target/release/herald" serve --ephemeral --port "$port" 2>/dev/null & ;;
    node) node bench/koncorde/fanout-server.js --port "$port" 2>/dev/null & ;;
  esac
  pid=$!
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return
    sleep 0.1
  done
  echo "fanout.sh: $1 did not start" >&2
  exit 1
}

stop_server() {
  kill -TERM "$pid"
  wait "$pid" || true
}

wait_for() { # file, line: waits until herald-load wrote that phase mark (or ended)
  while ! grep -q "$2" "$1" 2>/dev/null; do
    kill -0 "$load" 2>/dev/null || return 0
    sleep 0.05
  done
}

run() { # scenario, server, herald-load args...
  local scenario=$1 server=$2
  shift 2
  start_server "$server"
  local out err t0 t1 l1
  out=$(mktemp)
  err=$(mktemp)
  "$target/release/herald-load" fanout --server "127.0.0.1:$port" "$@" >"$out" 2>"$err" &
  load=$!
  # The server's CPU over the fan-out alone: from every subscriber in to every notification
  # out (connecting 10,000 sockets and closing them are left out).
  wait_for "$err" "herald-load: subscribed"
  t0=$(cpu_ticks "$pid")
  wait_for "$err" "herald-load: drained"
  t1=$(cpu_ticks "$pid")
  l1=$(cpu_ticks "$load" 2>/dev/null || echo 0)
  wait "$load" || { cat "$err" >&2; exit 1; }
  stop_server
  python3 - "$scenario" "$server" "$(cat "$out")" "$t0" "$t1" "$(getconf CLK_TCK)" "$l1" "$(cut -d' ' -f1 /proc/loadavg)" <<'PY' | tee -a "$results"
import json, sys
scenario, server, out = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
t0, t1, hz, l1 = int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7])
cpu_s = (t1 - t0) / hz
received = out.get("received") or 0
out = {"scenario": scenario, "server": server, **out}
out["server_cpu_s"] = round(cpu_s, 3)
out["server_cpu_us_per_notification"] = round(cpu_s * 1e6 / received, 3) if received else None
# The load tool shares the machine: its CPU (connects included) says how much was left.
out["load_tool_cpu_s"] = round(l1 / hz, 3)
out["machine_loadavg_1m"] = float(sys.argv[8])
print(json.dumps(out))
PY
  rm -f "$out" "$err"
}

floor() { # scenario, sendto_floor.py args...
  local scenario=$1
  shift
  python3 bench/sendto_floor.py "$@" | python3 -c '
import json, sys
line = json.loads(sys.stdin.read())
print(json.dumps({"scenario": sys.argv[1], "server": "floor", **line}))' "$scenario" | tee -a "$results"
}

fixed=(--subscribers 1000 --rooms 100 --publishers 2 --rate 10000 --seconds "$seconds")
low=(--subscribers 10000 --rooms 100 --publishers 2 --rate 100 --seconds "$seconds" --local-addresses 8)
if wanted fixed; then
  run fixed herald "${fixed[@]}"
  run fixed node "${fixed[@]}"
fi
if wanted low-rate; then
  run low-rate herald "${low[@]}"
  run low-rate node "${low[@]}"
fi
if wanted floor; then
  floor fixed --sockets 1000 --rate 100000 --seconds 5
  floor low-rate --sockets 10000 --rate 10000 --seconds 5
fi
if wanted max; then
  run max herald --subscribers 1000 --rooms 100 --publishers 2 --rate 0 --seconds "$seconds"
fi

if wanted idle; then
  # Subscribe 10,000 sockets, publish almost nothing, read the server's RSS while they are
  # connected.
  start_server herald
  r0=$(rss_kb "$pid")
  idle_out=$(mktemp)
  "$target/release/herald-load" fanout --server "127.0.0.1:$port" --subscribers 10000 --rooms 100 \
    --publishers 1 --rate 1 --seconds 8 --local-addresses 8 > "$idle_out" 2>/dev/null &
  load=$!
  sleep 6
  r1=$(rss_kb "$pid")
  wait "$load" || true
  stop_server
  python3 -c "import json, sys; print(json.dumps({'scenario': 'idle', 'server': 'herald', 'connections': 10000, 'rss_before_kb': $r0, 'rss_connected_kb': $r1, 'kib_per_connection': round(($r1 - $r0) / 10000, 2), 'load': json.load(open(sys.argv[1]))}))" "$idle_out" | tee -a "$results"
  rm -f "$idle_out"
fi

python3 - "$results" <<'PY'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
def get(scenario, server):
    return next((r for r in rows if r["scenario"] == scenario and r["server"] == server), None)
print()
print(f"{'scenario':<9} {'server':<7} {'delivered/s':>11} {'lost':>6} {'p50 ms':>7} {'p99 ms':>7} {'µs/notif':>9}")
for r in rows:
    if "received" in r:
        print(f"{r['scenario']:<9} {r['server']:<7} {r['per_second']:>11.0f} {r['lost']:>6} {r['p50_ms']:>7.1f} {r['p99_ms']:>7.1f} {r['server_cpu_us_per_notification'] or 0:>9.2f}")
    elif r["server"] == "floor":
        print(f"{r['scenario']:<9} {'floor':<7} {r['per_second']:>11.0f} {'':>6} {'':>7} {'':>7} {r['sender_kernel_us_per_send']:>9.2f}  (kernel CPU per send)")
print()
for scenario, floor_target in (("fixed", 1.5), ("low-rate", 2.0)):
    herald, node, floor = get(scenario, "herald"), get(scenario, "node"), get(scenario, "floor")
    if not herald:
        continue
    h = herald["server_cpu_us_per_notification"]
    parts = [f"{scenario}:"]
    if node and node["server_cpu_us_per_notification"] and h:
        parts.append(f"Node/Herald CPU per notification {node['server_cpu_us_per_notification'] / h:.2f}x (target >= 3)")
        parts.append(f"p99 {herald['p99_ms']} ms vs Node {node['p99_ms']} ms")
    if floor and h:
        parts.append(f"Herald/floor {h / floor['sender_kernel_us_per_send']:.2f}x (target <= {floor_target})")
    print("  ".join(parts))
PY
