#!/usr/bin/env bash
# The cost of copies, end to end on loopback: the same sift-bench runs (bulk
# ingest through sift-ingest, then, once the storage processes are at rest,
# searches through sift-query) against one shard with 1 copy and with 3
# copies (etcd on loopback), alternating ROUNDS times, and against a single
# node without etcd once as a baseline. Prints one line per run and the
# ratios of the medians.
#
# Usage: bench/replication.sh DOCS QUERIES OUTDIR [ROUNDS]
# Ports 7700, 7701, 7710-7712 and 7790-7791 must be free.
# Environment: BIN (default build/bin of this repository).
set -euo pipefail
usage() { sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; }
[ $# -ge 3 ] || { usage >&2; exit 2; }
DOCS="$1"; QUERIES="$2"; OUT="$3"; ROUNDS="${4:-2}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="${BIN:-$ROOT/build/bin}"
mkdir -p "$OUT"; OUT="$(cd "$OUT" && pwd)"
log() { printf '\033[1m[replication]\033[0m %s\n' "$*" >&2; }

pids=()
stop_all() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  pids=()
}
trap stop_all EXIT
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() { for _ in $(seq 1 600); do port_open "$1" && return 0; sleep 0.1; done; return 1; }

# settle PID...: waits (at most 60 s) until the processes use under 5% of a
# core over a second.
settle() {
  local ticks; ticks=$(getconf CLK_TCK)
  cpu() { local t=0 p; for p in "$@"; do
    t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0)))
  done; echo "$t"; }
  for _ in $(seq 1 60); do
    local before; before=$(cpu "$@"); sleep 1
    [ $(( $(cpu "$@") - before )) -le $((ticks / 20)) ] && return 0
  done
}

# run NAME COPIES: COPIES=0 is a single node without etcd.
run() {
  local name=$1 copies=$2 dir="$OUT/$1"
  rm -rf "$dir"; mkdir -p "$dir"
  local directory
  storage_pids=()
  if [ "$copies" -eq 0 ]; then
    "$BIN/sift-storage" --listen=127.0.0.1:7710 --data_dir="$dir/shard-0" \
      >"$dir/storage.log" 2>&1 &
    pids+=($!); storage_pids=($!)
    directory=(--shards=127.0.0.1:7710)
  else
    etcd --name bench --data-dir "$dir/etcd" \
      --listen-client-urls http://127.0.0.1:7790 --advertise-client-urls http://127.0.0.1:7790 \
      --listen-peer-urls http://127.0.0.1:7791 --initial-advertise-peer-urls http://127.0.0.1:7791 \
      --initial-cluster bench=http://127.0.0.1:7791 >"$dir/etcd.log" 2>&1 &
    pids+=($!)
    wait_port 7790
    for c in $(seq 0 $((copies - 1))); do
      "$BIN/sift-storage" --listen=127.0.0.1:$((7710 + c)) --data_dir="$dir/s0-$c" \
        --etcd=127.0.0.1:7790 --member="s0-$c" --shard=0 --shards=1 \
        --copies="$copies" >"$dir/s0-$c.log" 2>&1 &
      pids+=($!); storage_pids+=($!)
    done
    directory=(--etcd=127.0.0.1:7790)
  fi
  for c in $(seq 0 $(( copies > 0 ? copies - 1 : 0 ))); do wait_port $((7710 + c)); done
  "$BIN/sift-ingest" --listen=127.0.0.1:7701 "${directory[@]}" >"$dir/ingest.log" 2>&1 &
  pids+=($!)
  "$BIN/sift-query" --listen=127.0.0.1:7700 "${directory[@]}" >"$dir/query.log" 2>&1 &
  pids+=($!)
  wait_port 7701; wait_port 7700
  if [ "$copies" -gt 1 ]; then
    # Every copy in sync before the clock starts.
    for _ in $(seq 1 300); do
      n=$("$BIN/siftctl" stats --json 2>/dev/null | grep -c '"in_sync": true' || true)
      [ "$n" -ge "$copies" ] && break
      sleep 0.2
    done
  fi
  "$BIN/sift-bench" --ingest=127.0.0.1:7701 --docs="$DOCS" \
    >"$dir/ingest.json" 2>"$dir/bench.log"
  # Searches are timed at rest, on both sides: after the load, copies still
  # apply, flush and compact for a while, and that work is the ingest's.
  settle "${storage_pids[@]}"
  "$BIN/sift-bench" --target=127.0.0.1:7700 --queries="$QUERIES" \
    --clients=1,8 --seconds=10 >"$dir/search.json" 2>>"$dir/bench.log"
  python3 - "$dir" <<'PY'
import json, sys
d = sys.argv[1]
report = json.load(open(f"{d}/search.json"))
report["ingest"] = json.load(open(f"{d}/ingest.json"))["ingest"]
json.dump(report, open(f"{d}/report.json", "w"), indent=1)
PY
  stop_all
  python3 - "$dir/report.json" "$name" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
docs_per_s = r["ingest"]["docs_per_sec"]
lat = {str(s["clients"]): s for s in r["search"]["by_clients"]}
def p(c, q):
    return lat[c][q + "_us"] / 1000
print(f"{sys.argv[2]:<10} ingest {docs_per_s:8.0f} docs/s   "
      f"search 1 client p50 {p('1','p50'):.2f} ms p99 {p('1','p99'):.2f} ms   "
      f"8 clients {lat['8']['qps']:.0f} q/s p50 {p('8','p50'):.2f} ms  "
      f"errors {sum(x['errors'] for x in lat.values())}")
PY
}

run single-0 0
for r in $(seq 1 "$ROUNDS"); do
  run "copies1-$r" 1
  run "copies3-$r" 3
done
python3 - "$OUT" "$ROUNDS" <<'PY'
import json, statistics, sys
out, rounds = sys.argv[1], int(sys.argv[2])
def figures(name):
    r = json.load(open(f"{out}/{name}/report.json"))
    lat = {str(s["clients"]): s for s in r["search"]["by_clients"]}
    return (r["ingest"]["docs_per_sec"], lat["1"]["p50_us"], lat["8"]["qps"])
one = [figures(f"copies1-{i}") for i in range(1, rounds + 1)]
three = [figures(f"copies3-{i}") for i in range(1, rounds + 1)]
med = lambda xs, k: statistics.median(x[k] for x in xs)
print(f"3 copies / 1 copy: ingest {med(three,0)/med(one,0):.2f}x, "
      f"search p50 at 1 client {med(three,1)/med(one,1):.2f}x, "
      f"q/s at 8 clients {med(three,2)/med(one,2):.2f}x (medians of {rounds})")
PY
