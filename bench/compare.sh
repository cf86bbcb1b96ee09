#!/usr/bin/env bash
# Herald vs Koncorde 4.7.0, side by side, on identical files and the same loop shape
# (register everything, then match pre-parsed documents round-robin).
#
#   bash bench/compare.sh [OUT_DIR] [SECONDS]
#
# Generates the workloads with `herald-workload` (seed 1), runs `herald bench-match` and
# `node bench/koncorde/bench-match.js` on each, one after the other (never concurrently), and
# prints one JSON line per run plus a ratio table. Needs Node.js and a C++ toolchain for
# Koncorde's native add-ons (`npm ci` in bench/koncorde). The 1M realistic run registers a
# million filters in Koncorde: expect several minutes and a few GB of memory for it; skip it
# with HERALD_COMPARE_SKIP_1M=1. HERALD_COMPARE_ONLY=REGEX keeps the runs whose "name n" matches
# REGEX (e.g. `HERALD_COMPARE_ONLY='^koncorde-'`); HERALD_COMPARE_REPEAT=N runs each pair N times.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-/tmp/herald-compare}
seconds=${2:-5}
mkdir -p "$out"

cargo build --release --quiet -p herald -p herald-bench --bin herald --bin herald-workload
target=${CARGO_TARGET_DIR:-target}
herald=$target/release/herald
herald_workload=$target/release/herald-workload
(cd bench/koncorde && [ -d node_modules/koncorde ] || npm ci --no-audit --no-fund)

runs=()
for kw in equals exists geoBoundingBox geoDistance geoDistanceRange geoPolygon in range; do
  runs+=("koncorde-$kw 10000")
done
runs+=("realistic 10000" "realistic 100000" "heavy 10000" "heavy 100000" "alerts 10000" "alerts 100000")
runs+=("geo 10000" "geo 100000" "feeds 10000" "feeds 100000" "realistic-geo 10000" "realistic-geo 100000")
[ "${HERALD_COMPARE_SKIP_1M:-0}" = 1 ] || runs+=("realistic 1000000" "geo 1000000" "realistic-geo 1000000")

results="$out/results.jsonl"
: > "$results"
for run in "${runs[@]}"; do
  [[ -z "${HERALD_COMPARE_ONLY:-}" || "$run" =~ $HERALD_COMPARE_ONLY ]] || continue
  set -- $run
  name=$1 n=$2
  dir="$out/$name-$n"
  [ -f "$dir/filters.jsonl" ] || "$herald_workload" --name "$name" --filters "$n" --docs 1000 --out "$dir" 2>/dev/null
  for _ in $(seq "${HERALD_COMPARE_REPEAT:-1}"); do
    h=$("$herald" bench-match --filters "$dir/filters.jsonl" --docs "$dir/docs.jsonl" --seconds "$seconds")
    k=$(node --max-old-space-size=16384 bench/koncorde/bench-match.js --filters "$dir/filters.jsonl" --docs "$dir/docs.jsonl" --seconds "$seconds")
    echo "{\"workload\":\"$name\",\"n\":$n,\"herald\":$h,\"koncorde\":$k}" | tee -a "$results"
  done
done

python3 - "$results" <<'PY'
import json, sys
print()
print("| workload | filters | Herald docs/s | Koncorde docs/s | ratio | matches/doc (H / K) | register s (H / K) | RSS MB (H / K) |")
print("|---|---|---|---|---|---|---|---|")
for line in open(sys.argv[1]):
    r = json.loads(line)
    h, k = r["herald"], r["koncorde"]
    ratio = h["docs_per_s"] / k["docs_per_s"] if k["docs_per_s"] else float("inf")
    print(f"| {r['workload']} | {r['n']:,} | {h['docs_per_s']:,.0f} | {k['docs_per_s']:,.0f} | {ratio:,.1f}x | "
          f"{h['matches_per_doc']:.1f} / {k['matches_per_doc']:.1f} | {h['register_s']:.2f} / {k['register_s']:.2f} | "
          f"{h['rss_mb']:.0f} / {k['rss_mb']:.0f} |")
PY
