#!/usr/bin/env bash
# Runs sift-bench (in process) and the peer engines (Lucene, Xapian) on the
# same corpus and the same query classes, one after the other, and prints a
# Markdown comparison table (also written to OUTDIR/comparison.md).
#
# Usage: bench/compare.sh DOCS QUERIES OUTDIR [options]
#   --k N             hits per query (default 10)
#   --warmup-min N    warm-up queries per class (default 20000, as the peers)
#   --warmup-max-s S  ...or seconds (default 60)
#   --reps N          timed passes (default 3)
#   --forks N         peers: search processes, the median one reported (default 3)
#   --run-k N         depth of the run files (default 1000; the peers time a
#                     pass at this depth too, which is slow on large corpora)
#   --peers "A B"     which peers to run (default "lucene xapian")
#   --keep-indexes    keep the indexes under OUTDIR/index (default: delete them)
# Environment: SIFT_BENCH (default build/bin/sift-bench of this repository),
# PEERS_DIR (default ../shared/peers next to this repository).
set -euo pipefail

usage() { sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; }
die() { printf 'compare.sh: %s\n' "$*" >&2; exit 2; }
log() { printf '\033[1m[compare]\033[0m %s\n' "$*" >&2; }

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SIFT_BENCH="${SIFT_BENCH:-$ROOT/build/bin/sift-bench}"
PEERS_DIR="${PEERS_DIR:-$ROOT/../shared/peers}"

[ $# -ge 1 ] && { [ "$1" = -h ] || [ "$1" = --help ]; } && { usage; exit 0; }
[ $# -ge 3 ] || { usage >&2; exit 2; }
DOCS="$1"; QUERIES="$2"; OUTDIR="$3"; shift 3
K=10; WARMUP_MIN=20000; WARMUP_MAX_S=60; REPS=3; FORKS=3; RUN_K=1000
PEERS="lucene xapian"; KEEP=0
while [ $# -gt 0 ]; do
  case "$1" in
    --k) K="$2"; shift 2 ;;
    --warmup-min) WARMUP_MIN="$2"; shift 2 ;;
    --warmup-max-s) WARMUP_MAX_S="$2"; shift 2 ;;
    --reps) REPS="$2"; shift 2 ;;
    --forks) FORKS="$2"; shift 2 ;;
    --run-k) RUN_K="$2"; shift 2 ;;
    --peers) PEERS="$2"; shift 2 ;;
    --keep-indexes) KEEP=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown option $1" ;;
  esac
done
[ -f "$DOCS" ] || die "no corpus at $DOCS"
[ -f "$QUERIES" ] || die "no query file at $QUERIES"
[ -x "$SIFT_BENCH" ] || die "no sift-bench at $SIFT_BENCH (build it, or set SIFT_BENCH)"
for peer in $PEERS; do
  [ -x "$PEERS_DIR/run_$peer.sh" ] || die "no $PEERS_DIR/run_$peer.sh (set PEERS_DIR)"
done

mkdir -p "$OUTDIR"
OUTDIR="$(cd "$OUTDIR" && pwd)"
if [ "$KEEP" = 0 ]; then
  trap 'rm -rf "$OUTDIR/index"' EXIT
fi

# The classes as sift-bench defines them, so that every engine runs exactly
# the same queries: or.tsv (no quotes), and.tsv (no quotes, 2+ terms),
# phrase.tsv (with a quoted phrase).
"$SIFT_BENCH" --queries "$QUERIES" --write-classes "$OUTDIR/queries"

log "sift: indexing and searching in process"
mkdir -p "$OUTDIR/sift"
"$SIFT_BENCH" --docs "$DOCS" --queries "$QUERIES" --k "$K" \
  --warmup-min "$WARMUP_MIN" --warmup-max-s "$WARMUP_MAX_S" --reps "$REPS" \
  --run "$OUTDIR/sift/run.trec" --run-k "$RUN_K" \
  --out "$OUTDIR/sift/result.json" >/dev/null

# The peers use BM25 k1 = 1.2, b = 0.75 (--bm25 default), Sift's defaults.
COMMON=(--k "$K" --warmup-min "$WARMUP_MIN" --warmup-max-s "$WARMUP_MAX_S"
        --reps "$REPS" --forks "$FORKS" --run-k "$RUN_K" --bm25 default)
for peer in $PEERS; do
  extra=()
  # A document store like Sift's, so that index sizes compare.
  if [ "$peer" = lucene ]; then extra=(--store-source); fi
  index="$OUTDIR/index/$peer"
  rm -rf "$index"
  mkdir -p "$OUTDIR/index"
  docs="$DOCS"
  built=0
  for class in or and phrase; do
    q="$OUTDIR/queries/$class.tsv"
    if [ ! -s "$q" ]; then
      log "$peer: no $class queries, skipped"
      continue
    fi
    op=or
    if [ "$class" = and ]; then op=and; fi
    log "$peer: $class queries"
    if [ "$built" = 0 ]; then
      "$PEERS_DIR/run_$peer.sh" "$docs" "$q" "$OUTDIR/$peer-$class" --op "$op" \
        "${COMMON[@]}" "${extra[@]}" --index-dir "$index" --keep-index >&2
      built=1
    else
      "$PEERS_DIR/run_$peer.sh" - "$q" "$OUTDIR/$peer-$class" --op "$op" \
        "${COMMON[@]}" --reuse-index "$index" >&2
    fi
  done
done

python3 "$ROOT/bench/compare_table.py" "$OUTDIR" $PEERS | tee "$OUTDIR/comparison.md"
