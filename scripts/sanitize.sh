#!/usr/bin/env bash
# Builds Sift with a sanitizer in its own folder and runs the tests under it.
# Usage: ./scripts/sanitize.sh address|thread [--only GROUP,...] [ctest arguments]
#
#   --only storage,integration: build and run only those groups of tests
#            (a group is the folder a test is declared in; the target
#            tests-GROUP builds it and ctest's label GROUP selects it)
#   ctest arguments: e.g. -R Executor
#
#   address: AddressSanitizer + UndefinedBehaviorSanitizer + LeakSanitizer,
#            built in build-asan/
#   thread:  ThreadSanitizer, built in build-tsan/
#
# Every instrumented process (test binaries, and the sift-storage, sift-ingest
# and sift-query servers that the end-to-end tests start) writes its reports
# to files under <build folder>/sanitizer-logs/ instead of stderr, because a
# server's stderr goes to a log file in a temporary folder that the test
# removes, and a server stopped with SIGTERM has its exit status ignored. The
# run fails when ctest fails or when any report file exists; the reports are
# printed at the end.
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"

usage() { die "usage: $0 address|thread [ctest arguments]"; }
[ $# -ge 1 ] || usage
kind="$1"
shift
only=""
if [ "${1:-}" = "--only" ]; then
  [ $# -ge 2 ] || usage
  only="$2"
  shift 2
fi
case "$kind" in
  address) SIFT_BUILD_DIR="${SIFT_SANITIZE_BUILD_DIR:-$SIFT_ROOT/build-asan}" ;;
  thread) SIFT_BUILD_DIR="${SIFT_SANITIZE_BUILD_DIR:-$SIFT_ROOT/build-tsan}" ;;
  *) usage ;;
esac

sift_install_deps
# Configure when the folder is new or was configured for another sanitizer.
if [ ! -f "$SIFT_BUILD_DIR/build.ninja" ] ||
  ! grep -q "^SIFT_SANITIZE:[A-Z]*=$kind\$" "$SIFT_BUILD_DIR/CMakeCache.txt"; then
  log "configuring in $SIFT_BUILD_DIR with SIFT_SANITIZE=$kind"
  cmake -S "$SIFT_ROOT" -B "$SIFT_BUILD_DIR" -G Ninja \
    -DCMAKE_BUILD_TYPE="${SIFT_BUILD_TYPE:-RelWithDebInfo}" \
    -DSIFT_SANITIZE="$kind" >/dev/null
fi
if [ -n "$only" ]; then
  SIFT_BUILD_TARGETS="tests-${only//,/ tests-}"
  export SIFT_BUILD_TARGETS
  set -- -L "^(${only//,/|})\$" "$@"
fi
sift_build

logs="$SIFT_BUILD_DIR/sanitizer-logs"
rm -rf "$logs"
mkdir -p "$logs"
# log_exe_name: report files are named <tool>.<binary>.<pid>.
common="log_path=$logs/$kind:log_exe_name=1"
# The instrumented servers are slower: the integration tests stretch their
# deadlines, and the servers' timeouts, by this factor
# (tests/integration/cluster.h).
case "$kind" in
  address) export SIFT_TEST_TIME_SCALE="${SIFT_TEST_TIME_SCALE:-3}" ;;
  thread) export SIFT_TEST_TIME_SCALE="${SIFT_TEST_TIME_SCALE:-10}" ;;
esac
case "$kind" in
  address)
    # halt_on_error (UBSan): stop at the first report, so that the test that
    # caused it fails too. LeakSanitizer runs at every exit, the servers'
    # SIGTERM drain included.
    export ASAN_OPTIONS="$common:detect_leaks=1:strict_init_order=1:check_initialization_order=1:detect_stack_use_after_return=1"
    export UBSAN_OPTIONS="$common:print_stacktrace=1:halt_on_error=1"
    export LSAN_OPTIONS="suppressions=$SIFT_ROOT/scripts/lsan.supp:print_suppressions=0"
    ;;
  thread)
    # Keep going after a report to collect them all; the process still exits
    # with 66 at the end, which fails the test binary that saw it.
    export TSAN_OPTIONS="$common:halt_on_error=0:exitcode=66:second_deadlock_stack=1:history_size=4:suppressions=$SIFT_ROOT/scripts/tsan.supp:print_suppressions=0"
    # The servers run many times slower under TSan; one test at a time
    # keeps the end-to-end tests inside their deadlines.
    jobs="${SIFT_TEST_JOBS:-1}"
    ;;
esac

log "running the test suite under the $kind sanitizer (reports go to $logs)"
status=0
(cd "$SIFT_BUILD_DIR" &&
  ctest --output-on-failure -j "${jobs:-${SIFT_TEST_JOBS:-2}}" --timeout 600 "$@") ||
  status=$?

mapfile -t reports < <(find "$logs" -type f | sort)
if [ ${#reports[@]} -gt 0 ]; then
  for f in "${reports[@]}"; do
    printf '\n==== %s\n' "$f" >&2
    cat "$f" >&2
  done
  log "${#reports[@]} sanitizer report file(s) in $logs"
  [ "$status" -ne 0 ] || status=1
fi
if [ "$status" -ne 0 ]; then
  die "the $kind sanitizer run failed"
fi
log "the $kind sanitizer run is clean"
