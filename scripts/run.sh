#!/usr/bin/env bash
# Builds Sift and runs it on this machine, on loopback, data under ./data:
# N storage shards, ingest and query; with --replicas R (R copies of each
# shard), also etcd, as the Kubernetes cluster overlay runs them. Loads the
# sample articles, shows a search, and serves until Ctrl-C, which stops
# every process it started. A storage member of a replicated cluster that
# dies is started again after 2 s, as a StatefulSet would.
#
# Usage: ./scripts/run.sh [--data DIR] [--shards N] [--replicas R] [--no-samples]
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"

DATA="$SIFT_ROOT/data"
SHARDS=1
SAMPLES=1
REPLICAS=0
usage() {
  sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'
}
while [ $# -gt 0 ]; do
  case "$1" in
    --data) [ $# -ge 2 ] || die "--data needs a folder"; DATA="$2"; shift 2 ;;
    --data=*) DATA="${1#*=}"; shift ;;
    --shards) [ $# -ge 2 ] || die "--shards needs a number"; SHARDS="$2"; shift 2 ;;
    --shards=*) SHARDS="${1#*=}"; shift ;;
    --replicas) [ $# -ge 2 ] || die "--replicas needs a number"; REPLICAS="$2"; shift 2 ;;
    --replicas=*) REPLICAS="${1#*=}"; shift ;;
    --no-samples) SAMPLES=0; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown option $1" ;;
  esac
done
[[ "$SHARDS" =~ ^[1-9][0-9]*$ ]] && [ "$SHARDS" -le 64 ] || die "--shards must be 1..64, not '$SHARDS'"
[[ "$REPLICAS" =~ ^[0-9]+$ ]] && [ "$REPLICAS" -le 9 ] || die "--replicas must be 1..9, not '$REPLICAS'"

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
# A single node's data and a replicated cluster's are laid out differently.
MODE="single"
[ "$REPLICAS" -ge 1 ] && MODE="replicated:$REPLICAS"
if [ -f "$DATA/MODE" ]; then
  [ "$(cat "$DATA/MODE")" = "$MODE" ] || die "$DATA holds a $(cat "$DATA/MODE") setup; run it the same way or use another --data folder"
else
  echo "$MODE" > "$DATA/MODE"
fi
MEMBERS=$SHARDS
[ "$REPLICAS" -ge 1 ] && MEMBERS=$((SHARDS * REPLICAS))
ETCD_PORT=7790

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
busy_ports="$QUERY_PORT $INGEST_PORT $(seq $STORAGE_BASE $((STORAGE_BASE + MEMBERS - 1)))"
[ "$REPLICAS" -ge 1 ] && busy_ports="$busy_ports $ETCD_PORT $((ETCD_PORT + 1))"
for p in $busy_ports; do
  if port_busy "$p"; then die "port $p on 127.0.0.1 is in use: is Sift already running?"; fi
done

PIDS=()
declare -A MEMBER_PID=()
cleanup() {
  trap - INT TERM EXIT
  local all=("${PIDS[@]}")
  for pid in "${MEMBER_PID[@]}"; do all+=("$pid"); done
  if [ ${#all[@]} -gt 0 ]; then
    log "stopping"
    # Storage first (a primary hands over while etcd still runs), then the
    # rest.
    for pid in "${MEMBER_PID[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${MEMBER_PID[@]}"; do wait "$pid" 2>/dev/null || true; done
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

if [ "$REPLICAS" -ge 1 ]; then
  command -v etcd >/dev/null || die "etcd is missing: install Debian's etcd-server"
  etcd --name sift-local --data-dir "$DATA/etcd" \
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$((ETCD_PORT + 1))" --initial-advertise-peer-urls "http://127.0.0.1:$((ETCD_PORT + 1))" \
    --initial-cluster "sift-local=http://127.0.0.1:$((ETCD_PORT + 1))" \
    >>"$DATA/logs/etcd.log" 2>&1 &
  PIDS+=($!)
  wait_port $ETCD_PORT etcd
  DIRECTORY=(--etcd="127.0.0.1:$ETCD_PORT")
  # Member s<shard>-<copy> listens on STORAGE_BASE + shard * REPLICAS + copy.
  start_member() {
    local shard=$1 copy=$2
    local name="s$shard-$copy" port=$((STORAGE_BASE + shard * REPLICAS + copy))
    "$BIN/sift-storage" --listen="127.0.0.1:$port" --data_dir="$DATA/$name" \
      --etcd="127.0.0.1:$ETCD_PORT" --member="$name" \
      --shard="$shard" --shards="$SHARDS" --copies="$REPLICAS" \
      >>"$DATA/logs/$name.log" 2>&1 &
    MEMBER_PID[$name]=$!
  }
  for i in $(seq 0 $((SHARDS - 1))); do
    for c in $(seq 0 $((REPLICAS - 1))); do start_member "$i" "$c"; done
  done
else
  SHARD_LIST=""
  for i in $(seq 0 $((SHARDS - 1))); do
    port=$((STORAGE_BASE + i))
    "$BIN/sift-storage" --listen="127.0.0.1:$port" --data_dir="$DATA/shard-$i" \
      --shard="$i" --shards="$SHARDS" \
      >>"$DATA/logs/storage-$i.log" 2>&1 &
    PIDS+=($!)
    SHARD_LIST="${SHARD_LIST:+$SHARD_LIST,}127.0.0.1:$port"
  done
  DIRECTORY=(--shards="$SHARD_LIST")
fi
for p in $(seq $STORAGE_BASE $((STORAGE_BASE + MEMBERS - 1))); do wait_port "$p" "storage"; done
"$BIN/sift-ingest" --listen="127.0.0.1:$INGEST_PORT" "${DIRECTORY[@]}" >>"$DATA/logs/ingest.log" 2>&1 &
PIDS+=($!)
"$BIN/sift-query" --listen="127.0.0.1:$QUERY_PORT" "${DIRECTORY[@]}" >>"$DATA/logs/query.log" 2>&1 &
PIDS+=($!)
wait_port $INGEST_PORT ingest
wait_port $QUERY_PORT query
if [ "$REPLICAS" -ge 1 ]; then
  log "serving: query 127.0.0.1:$QUERY_PORT, ingest 127.0.0.1:$INGEST_PORT, $SHARDS shard(s) x $REPLICAS copies from 127.0.0.1:$STORAGE_BASE, etcd 127.0.0.1:$ETCD_PORT; data in $DATA"
else
  log "serving: query 127.0.0.1:$QUERY_PORT, ingest 127.0.0.1:$INGEST_PORT, $SHARDS storage shard(s) from 127.0.0.1:$STORAGE_BASE; data in $DATA"
fi

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
# Serve until Ctrl-C, or until a service dies; a storage member of a
# replicated cluster is started again instead.
while true; do
  for pid in "${PIDS[@]}"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      die "a Sift process ($pid) exited; see $DATA/logs/"
    fi
  done
  for name in "${!MEMBER_PID[@]}"; do
    if ! kill -0 "${MEMBER_PID[$name]}" 2>/dev/null; then
      log "storage member $name exited; starting it again in 2 s (see $DATA/logs/$name.log)"
      sleep 2
      shard="${name#s}"; shard="${shard%-*}"; copy="${name##*-}"
      start_member "$shard" "$copy"
    fi
  done
  sleep 1
done
