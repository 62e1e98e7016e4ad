#!/usr/bin/env bash
# Relevance of Sift's ranking on a judged test collection, the way trec_eval
# measures it: indexes DOCS in process with sift-bench, runs every query of
# QUERIES (qid<TAB>text, OR, 1000 hits deep) into OUTDIR/sift.trec, and
# scores the run against QRELS with ../shared/peers/eval.py (nDCG@10 with
# linear gain, MAP, P@10, Recall@100, ...). With --peers lucene it runs
# Lucene 8.8 (EnglishAnalyzer, BM25 k1 1.2 b 0.75) on the same files and
# prints both.
#
# Usage: bench/relevance.sh DOCS QUERIES QRELS OUTDIR [--peers lucene]
#          [sift-bench scoring flags: --k1 X --b X --title_b X --body_b X
#           --title_weight X --body_weight X
#           --proximity_weight X]
# Example (the tuning collection):
#   C=../shared/corpora/cranfield
#   bench/relevance.sh $C/docs.jsonl $C/queries.tsv $C/qrels.txt /tmp/cran --peers lucene
set -euo pipefail

usage() { sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; }
[ $# -ge 1 ] && { [ "$1" = -h ] || [ "$1" = --help ]; } && { usage; exit 0; }
[ $# -ge 4 ] || { usage >&2; exit 2; }
DOCS="$1"; QUERIES="$2"; QRELS="$3"; OUT="$4"; shift 4
PEERS=""; SCORING=()
while [ $# -gt 0 ]; do
  case "$1" in
    --peers) PEERS="$2"; shift 2 ;;
    --k1|--b|--title_b|--body_b|--title_weight|--body_weight|--proximity_weight)
      SCORING+=("$1" "$2"); shift 2 ;;
    *) echo "relevance.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SIFT_BENCH="${SIFT_BENCH:-$ROOT/build/bin/sift-bench}"
PEERS_DIR="${PEERS_DIR:-$ROOT/../shared/peers}"
EVAL="$PEERS_DIR/eval.py"
[ -x "$SIFT_BENCH" ] || { echo "relevance.sh: build $SIFT_BENCH first" >&2; exit 2; }
[ -f "$EVAL" ] || { echo "relevance.sh: $EVAL not found" >&2; exit 2; }
mkdir -p "$OUT"

"$SIFT_BENCH" --docs "$DOCS" --queries "$QUERIES" --k 10 \
  --run "$OUT/sift.trec" --run_k 1000 --warmup_min 0 --warmup_max_s 0 \
  --reps 1 "${SCORING[@]}" --out "$OUT/sift-bench.json" >/dev/null
python3 "$EVAL" "$QRELS" "$OUT/sift.trec" --json >"$OUT/sift.eval.json"
runs=(sift)
for peer in $PEERS; do
  "$PEERS_DIR/run_$peer.sh" "$DOCS" "$QUERIES" "$OUT/$peer" --k 10 \
    --run-k 1000 --bm25 default --warmup-min 0 --warmup-max-s 0 --reps 1 \
    --forks 1 >"$OUT/$peer.log" 2>&1
  python3 "$EVAL" "$QRELS" "$OUT/$peer/run.trec" --json >"$OUT/$peer.eval.json"
  runs+=("$peer")
done

python3 - "$OUT" "${runs[@]}" <<'PY'
import json, sys
out, runs = sys.argv[1], sys.argv[2:]
metrics = ("ndcg@10", "map", "p@10", "recall@100", "recall@1000")
print("| engine | " + " | ".join(metrics) + " | queries |")
print("| --- " * (len(metrics) + 2) + "|")
for run in runs:
    m = json.load(open(f"{out}/{run}.eval.json"))
    print(f"| {run} | " + " | ".join(f"{m[k]:.4f}" for k in metrics) +
          f" | {m['queries']} |")
PY
