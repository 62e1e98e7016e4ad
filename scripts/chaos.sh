#!/usr/bin/env bash
# The chaos run of a replicated cluster (docs/replication.md, "Chaos"): 3
# shards x 3 copies and etcd on loopback, continuous writes (new documents,
# replacements, deletes) and 4 search clients for 10 minutes while a random
# storage member is killed with SIGKILL every 20-40 s and started again, then
# every member restarted in turn with SIGTERM. Prints a JSON report and exits
# non-zero when an acknowledged write was lost or stale, a failover took over
# 5 s, or a search failed while a copy of every shard was alive.
#
# Usage: ./scripts/chaos.sh [--minutes=10] [--shards=3] [--copies=3] [--seed=1]
#                           [--dir=/tmp/sift-chaos]   (flags of sift-chaos)
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"

sift_install_deps
SIFT_BUILD_TARGETS="sift-chaos sift-storage sift-ingest sift-query" sift_build
exec "$SIFT_BUILD_DIR/bin/sift-chaos" "$@"
