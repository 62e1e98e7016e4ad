#!/usr/bin/env bash
# The end-to-end run of one node on loopback: starts the storage shards
# (--shards, default 1), the ingest and the query service from build/bin in
# a fresh directory, runs `sift-bench --ingest` (bulk ingest), waits for the
# shards to settle (a shard merges its segments once no write came for
# --settle seconds, as after a load), runs `sift-bench --target` (search at
# 1, 8 and 32 clients, highlighting off, then 1 client with highlighting
# on), reports the largest shard peak RSS, then kills shard 0 with SIGKILL,
# restarts it and times how long until the cluster answers `siftctl stats`
# again, and with how many documents.
#
# Usage: bench/e2e.sh DOCS QUERIES OUTDIR [--seconds S] [--clients LIST]
#                     [--settle S] [--shards N]
# Ports 7700 (query), 7701 (ingest) and 7710 onwards (storage) must be free.
# Environment: BIN (default build/bin of this repository).
set -euo pipefail

usage() { sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; }
[ $# -ge 1 ] && { [ "$1" = -h ] || [ "$1" = --help ]; } && { usage; exit 0; }
[ $# -ge 3 ] || { usage >&2; exit 2; }
DOCS="$1"; QUERIES="$2"; OUT="$3"; shift 3
SECONDS_PER_LEVEL=10; CLIENTS=1,8,32; SETTLE=5; SHARDS=1
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) SECONDS_PER_LEVEL="$2"; shift 2 ;;
    --clients) CLIENTS="$2"; shift 2 ;;
    --settle) SETTLE="$2"; shift 2 ;;
    --shards) SHARDS="$2"; shift 2 ;;
    *) echo "e2e.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="${BIN:-$ROOT/build/bin}"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
[ ! -e "$OUT/shard-0" ] || { echo "e2e.sh: $OUT/shard-0 exists" >&2; exit 2; }
log() { printf '\033[1m[e2e]\033[0m %s\n' "$*" >&2; }

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

# Starts shard $1; its pid goes to storage[$1].
storage=()
SHARD_LIST=""
for i in $(seq 0 $((SHARDS - 1))); do
  SHARD_LIST="${SHARD_LIST:+$SHARD_LIST,}127.0.0.1:$((7710 + i))"
done
start_storage() {
  local identity=()
  [ "$SHARDS" = 1 ] || identity=(--shard "$1" --shards "$SHARDS")
  "$BIN/sift-storage" --listen "127.0.0.1:$((7710 + $1))" \
    --data_dir "$OUT/shard-$1" "${identity[@]}" \
    --settle_after_seconds "$SETTLE" >>"$OUT/storage-$1.log" 2>&1 &
  storage[$1]=$!
  pids+=("$!")
}
wait_for_stats() {
  for _ in $(seq 1 1200); do
    if "$BIN/siftctl" --query_addr 127.0.0.1:7700 stats --json \
      >"$OUT/stats.json" 2>/dev/null; then
      return 0
    fi
    sleep 0.05
  done
  return 1
}

for i in $(seq 0 $((SHARDS - 1))); do start_storage "$i"; done
"$BIN/sift-ingest" --listen 127.0.0.1:7701 --shards "$SHARD_LIST" \
  >"$OUT/ingest.log" 2>&1 &
pids+=($!)
"$BIN/sift-query" --listen 127.0.0.1:7700 --shards "$SHARD_LIST" \
  >"$OUT/query.log" 2>&1 &
pids+=($!)
wait_for_stats || { echo "e2e.sh: the node did not come up" >&2; exit 1; }

# CPU ticks the storage processes have used.
storage_ticks() {
  local pid total=0
  for pid in "${storage[@]}"; do
    total=$((total + $(awk '{print $14 + $15}' "/proc/$pid/stat")))
  done
  echo "$total"
}
# Waits until the shards have been quiet for --settle seconds and then used
# (almost) no CPU for three 2-second spans in a row: their settling merges
# are done. One quiet span is not enough: a shard notices that it has been
# quiet only on its next maintenance tick, seconds after --settle.
wait_settled() {
  sleep "$SETTLE"
  local before after quiet=0
  for _ in $(seq 1 1800); do
    before="$(storage_ticks)"; sleep 2; after="$(storage_ticks)"
    if [ $((after - before)) -le 4 ]; then
      quiet=$((quiet + 1))
      [ "$quiet" -ge 3 ] && return 0
    else
      quiet=0
    fi
  done
  return 1
}

log "ingest ($DOCS)"
"$BIN/sift-bench" --ingest 127.0.0.1:7701 --docs "$DOCS" \
  --out "$OUT/ingest.json" >/dev/null
log "waiting for the shard to settle"
settle_start="$(date +%s.%N)"
wait_settled || { echo "e2e.sh: the shard did not settle" >&2; exit 1; }
settle_end="$(date +%s.%N)"
log "search ($QUERIES), highlighting off"
"$BIN/sift-bench" --target 127.0.0.1:7700 --queries "$QUERIES" \
  --clients "$CLIENTS" --seconds "$SECONDS_PER_LEVEL" \
  --out "$OUT/search.json" >/dev/null
log "search, highlighting on, 1 client"
"$BIN/sift-bench" --target 127.0.0.1:7700 --queries "$QUERIES" --highlight \
  --clients 1 --seconds "$SECONDS_PER_LEVEL" \
  --out "$OUT/search-highlight.json" >/dev/null
python3 - "$OUT" "$settle_start" "$settle_end" <<'PY'
import json, sys
out, start, end = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
report = json.load(open(f"{out}/ingest.json"))
report["settle_seconds"] = round(end - start, 3)
report["search"] = json.load(open(f"{out}/search.json"))["search"]
report["search_highlight"] = json.load(open(f"{out}/search-highlight.json"))["search"]
json.dump(report, open(f"{out}/e2e.json", "w"), indent=2)
PY
peak_kib=0
for pid in "${storage[@]}"; do
  kib="$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")"
  [ "$kib" -gt "$peak_kib" ] && peak_kib="$kib"
done

log "kill -9 of storage shard 0, then a restart"
kill -9 "${storage[0]}"
wait "${storage[0]}" 2>/dev/null || true
started="$(date +%s.%N)"
start_storage 0
wait_for_stats || { echo "e2e.sh: the shard did not come back" >&2; exit 1; }
ended="$(date +%s.%N)"
python3 - "$OUT" "$peak_kib" "$started" "$ended" <<'PY'
import json, sys
out, peak_kib, started, ended = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
report = json.load(open(f"{out}/e2e.json"))
stats = json.load(open(f"{out}/stats.json"))
report["storage_peak_rss_bytes"] = peak_kib * 1024
report["restart"] = {"seconds_to_first_stats": round(ended - started, 3),
                     "stats": stats}
json.dump(report, open(f"{out}/e2e.json", "w"), indent=2)
def levels(search):
    return [{k: c.get(k) for k in ("clients", "qps", "mean_us", "p50_us", "p99_us")}
            for c in search.get("by_clients", [])]
print(json.dumps({"ingest": report.get("ingest"),
                  "settle_seconds": report.get("settle_seconds"),
                  "search": levels(report.get("search", {})),
                  "search_highlight": levels(report.get("search_highlight", {})),
                  "storage_peak_rss_bytes": report["storage_peak_rss_bytes"],
                  "restart": report["restart"]}, indent=2))
PY
