#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test with ctest.
# Usage: ./scripts/test.sh [ctest arguments, e.g. -R end_to_end]
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"

sift_install_deps
sift_build
log "running the test suite"
cd "$SIFT_BUILD_DIR"
ctest --output-on-failure -j "${SIFT_TEST_JOBS:-2}" --timeout 600 "$@"
