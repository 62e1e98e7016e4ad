#!/usr/bin/env bash
# Builds Sift and runs a single machine: N storage shards, ingest and query on
# loopback, data under ./data. Loads the sample articles, shows a search, and
# keeps serving until Ctrl-C, which stops every process it started.
#
# Usage: ./scripts/run.sh [--data DIR] [--shards N] [--no-samples]
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"

DATA="$SIFT_ROOT/data"
SHARDS=1
SAMPLES=1
usage() {
  sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'
}
while [ $# -gt 0 ]; do
  case "$1" in
    --data) [ $# -ge 2 ] || die "--data needs a folder"; DATA="$2"; shift 2 ;;
    --data=*) DATA="${1#*=}"; shift ;;
    --shards) [ $# -ge 2 ] || die "--shards needs a number"; SHARDS="$2"; shift 2 ;;
    --shards=*) SHARDS="${1#*=}"; shift ;;
    --no-samples) SAMPLES=0; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown option $1" ;;
  esac
done
[[ "$SHARDS" =~ ^[1-9][0-9]*$ ]] && [ "$SHARDS" -le 64 ] || die "--shards must be 1..64, not '$SHARDS'"

QUERY_PORT=7700
INGEST_PORT=7701
STORAGE_BASE=7710

sift_install_deps
sift_build
BIN="$SIFT_BUILD_DIR/bin"

mkdir -p "$DATA"
DATA="$(cd "$DATA" && pwd)"
# Documents live on shard hash(id) mod N: reopening the data with another N
# would hide documents, so refuse instead.
if [ -f "$DATA/SHARDS" ]; then
  existing="$(cat "$DATA/SHARDS")"
  [ "$existing" = "$SHARDS" ] || die "$DATA holds $existing shard(s); run with --shards $existing or use another --data folder"
else
  echo "$SHARDS" > "$DATA/SHARDS"
fi

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for p in $QUERY_PORT $INGEST_PORT $(seq $STORAGE_BASE $((STORAGE_BASE + SHARDS - 1))); do
  if port_busy "$p"; then die "port $p on 127.0.0.1 is in use: is Sift already running?"; fi
done

PIDS=()
cleanup() {
  trap - INT TERM EXIT
  if [ ${#PIDS[@]} -gt 0 ]; then
    log "stopping"
    kill -TERM "${PIDS[@]}" 2>/dev/null || true
    wait "${PIDS[@]}" 2>/dev/null || true
  fi
}
trap cleanup EXIT
trap 'exit 0' INT TERM

wait_port() {
  for _ in $(seq 1 300); do
    port_busy "$1" && return 0
    sleep 0.1
  done
  die "$2 did not start listening on port $1; see $DATA/logs/$2.log"
}

mkdir -p "$DATA/logs"
SHARD_LIST=""
for i in $(seq 0 $((SHARDS - 1))); do
  port=$((STORAGE_BASE + i))
  "$BIN/sift-storage" --listen="127.0.0.1:$port" --data_dir="$DATA/shard-$i" \
    --shard="$i" --shards="$SHARDS" \
    >>"$DATA/logs/storage-$i.log" 2>&1 &
  PIDS+=($!)
  SHARD_LIST="${SHARD_LIST:+$SHARD_LIST,}127.0.0.1:$port"
done
for i in $(seq 0 $((SHARDS - 1))); do wait_port $((STORAGE_BASE + i)) "storage-$i"; done
"$BIN/sift-ingest" --listen="127.0.0.1:$INGEST_PORT" --shards="$SHARD_LIST" >>"$DATA/logs/ingest.log" 2>&1 &
PIDS+=($!)
"$BIN/sift-query" --listen="127.0.0.1:$QUERY_PORT" --shards="$SHARD_LIST" >>"$DATA/logs/query.log" 2>&1 &
PIDS+=($!)
wait_port $INGEST_PORT ingest
wait_port $QUERY_PORT query
log "serving: query 127.0.0.1:$QUERY_PORT, ingest 127.0.0.1:$INGEST_PORT, $SHARDS storage shard(s) from 127.0.0.1:$STORAGE_BASE; data in $DATA"

if [ "$SAMPLES" -eq 1 ]; then
  log "loading the sample articles"
  "$BIN/siftctl" ingest "$SIFT_ROOT/samples/articles" || log "some samples were rejected (see above)"
  log "example: siftctl search \"solar power\""
  "$BIN/siftctl" search "solar power" --k 3 || true
fi
cat >&2 <<MSG

Sift is running. In another terminal:
  $BIN/siftctl ingest FILES-OR-FOLDERS...   # JSON lines (.jsonl, .jsonl.gz) or plain-text articles
  $BIN/siftctl search "your query"
  $BIN/siftctl stats
Logs: $DATA/logs/. Press Ctrl-C to stop.
MSG
# Serve until Ctrl-C, or until a service dies.
while true; do
  for pid in "${PIDS[@]}"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      die "a Sift process ($pid) exited; see $DATA/logs/"
    fi
  done
  sleep 1
done
