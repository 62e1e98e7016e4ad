#!/usr/bin/env python3
"""Markdown comparison of a bench/compare.sh output folder (stdlib only).

usage: compare_table.py OUTDIR [PEER ...]

Reads OUTDIR/sift/result.json (sift-bench, in process) and, for each peer,
OUTDIR/PEER-{or,and,phrase}/summary.json (the peers' harness), and prints
one row per engine.
"""
import json
import os
import sys

CLASSES = ("or", "and", "phrase")


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def num(value, fmt):
    return "-" if value is None else fmt % value


def sift_row(result):
    index = result["index"]
    # Until the last write was durable AND Close returned (flushes and
    # merges settled), as Lucene's figure includes forceMerge and commit.
    seconds = index["seconds_with_close"]
    row = {
        "engine": "sift",
        "docs": index["docs"],
        "index_s": seconds,
        "docs_per_s": index["docs"] / seconds if seconds else None,
        "index_mib": index["bytes"] / 1048576.0,
        "rss_mib": index["peak_rss_bytes"] / 1048576.0,
    }
    for c in CLASSES:
        q = result["query"][c]
        row[c] = None if q["count"] == 0 else {
            "queries": q["count"], "mean": q["mean_us"], "p50": q["p50_us"],
            "p99": q["p99_us"], "qps": q["qps"],
            "zero": q["zero_result_queries"], "errors": q["errors"],
        }
    return row


def peer_row(outdir, peer):
    row = {"engine": peer}
    for c in CLASSES:
        s = load(os.path.join(outdir, "%s-%s" % (peer, c), "summary.json"))
        if s is None:
            row[c] = None
            continue
        idx, search, extra = s["index"], s["search"], s.get("extra") or {}
        if "docs" not in row:
            row["docs"] = idx.get("docs_indexed")
            row["index_s"] = idx.get("index_seconds")
            row["docs_per_s"] = idx.get("docs_per_sec")
            b = idx.get("index_bytes")
            row["index_mib"] = b / 1048576.0 if b is not None else None
            rss = extra.get("index_peak_rss_kib")
            row["rss_mib"] = rss / 1024.0 if isinstance(rss, (int, float)) else None
        lt = search["latency_topk"]
        row[c] = {
            "queries": search.get("queries"), "mean": lt["mean_us"],
            "p50": lt["p50_us"], "p99": lt["p99_us"],
            "qps": search.get("qps_topk"),
            "zero": search.get("zero_result_queries"),
            "errors": search.get("query_errors"),
        }
    return row if "docs" in row else None


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    outdir, peers = sys.argv[1], sys.argv[2:]
    rows = []
    result = load(os.path.join(outdir, "sift", "result.json"))
    if result is not None:
        rows.append(sift_row(result))
    for peer in peers:
        row = peer_row(outdir, peer)
        if row is not None:
            rows.append(row)
    if not rows:
        sys.exit("nothing to compare under %s" % outdir)

    head = ["engine", "docs", "index s", "docs/s", "index MiB",
            "peak RSS indexing MiB"]
    for c in CLASSES:
        name = "phrase" if c == "phrase" else c.upper()
        head += ["%s mean / p50 / p99 us" % name, "%s q/s" % name]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for r in rows:
        cells = [r["engine"], num(r.get("docs"), "%d"),
                 num(r.get("index_s"), "%.2f"), num(r.get("docs_per_s"), "%.0f"),
                 num(r.get("index_mib"), "%.1f"), num(r.get("rss_mib"), "%.0f")]
        for c in CLASSES:
            q = r.get(c)
            if q is None:
                cells += ["-", "-"]
            else:
                cells += ["%.0f / %.0f / %.0f" % (q["mean"], q["p50"], q["p99"]),
                          num(q["qps"], "%.0f")]
        lines.append("| " + " | ".join(cells) + " |")

    lines += ["", "| engine | " + " | ".join(
        "%s queries / zero-result / errors" % c for c in CLASSES) + " |",
        "| --- |" + " --- |" * len(CLASSES)]
    for r in rows:
        cells = [r["engine"]]
        for c in CLASSES:
            q = r.get(c)
            cells.append("-" if q is None else "%s / %s / %s" % (
                q["queries"], q["zero"], q["errors"]))
        lines.append("| " + " | ".join(cells) + " |")

    notes = [""]
    if result is not None:
        index = result["index"]
        notes.append(
            "sift: index s = %.2f s until the last write was durable + %.2f s "
            "force merge to one segment + Close; Lucene's includes "
            "forceMerge(1) + commit, Xapian's commit + compact."
            % (index["seconds"], index["close_seconds"]))
        helpers = result.get("settings", {}).get("search_helpers", 0)
        notes.append(
            "sift: one process, in process, no network; latency = plan + "
            "statistics + search + hit ids. Peers: the median of their search "
            "processes (--forks). Queries one at a time, warm caches; the "
            "peers search on one thread, and so does Sift %s."
            % ("with --search_helpers 0" if helpers == 0 else
               "except that a query reading 50,000 postings or more may hand "
               "half of its largest segment to a second core while the "
               "machine is otherwise idle (--search_helpers, "
               "bench/README.md)"))
    print("\n".join(lines + notes))


if __name__ == "__main__":
    main()
