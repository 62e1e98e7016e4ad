# Shared by scripts/*.sh: installing what is missing and building.
# shellcheck shell=bash

SIFT_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SIFT_BUILD_DIR="${SIFT_BUILD_DIR:-$SIFT_ROOT/build}"

# Debian 12 packages needed to build and test Sift.
SIFT_PACKAGES=(
  build-essential cmake ninja-build pkg-config git
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  grpc-proto librocksdb-dev libabsl-dev libgtest-dev libgmock-dev
  libbenchmark-dev libicu-dev libstemmer-dev zlib1g-dev libzstd-dev
  etcd-server golang-etcd-server-dev golang-github-gogo-protobuf-dev
  golang-github-gogo-googleapis-dev
)

log() { printf '\033[1m[sift]\033[0m %s\n' "$*" >&2; }
die() { printf '[sift] error: %s\n' "$*" >&2; exit 1; }

# Installs (with apt-get) whichever of SIFT_PACKAGES is missing.
sift_install_deps() {
  local missing=()
  for p in "${SIFT_PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
      missing+=("$p")
    fi
  done
  if [ ${#missing[@]} -eq 0 ]; then
    return 0
  fi
  command -v apt-get >/dev/null || die "apt-get not found: install these by hand: ${missing[*]}"
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || die "run as root or install sudo: missing ${missing[*]}"
    sudo="sudo"
  fi
  log "installing ${missing[*]}"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# Configures (once) and builds every target into $SIFT_BUILD_DIR.
sift_build() {
  if [ ! -f "$SIFT_BUILD_DIR/build.ninja" ]; then
    log "configuring in $SIFT_BUILD_DIR"
    cmake -S "$SIFT_ROOT" -B "$SIFT_BUILD_DIR" -G Ninja \
      -DCMAKE_BUILD_TYPE="${SIFT_BUILD_TYPE:-RelWithDebInfo}" "$@" >/dev/null
  fi
  log "building (this takes a few minutes the first time)"
  # SIFT_BUILD_TARGETS: only these targets (scripts/sanitize.sh --only).
  # shellcheck disable=SC2086
  cmake --build "$SIFT_BUILD_DIR" -j "${SIFT_JOBS:-$(nproc)}" \
    ${SIFT_BUILD_TARGETS:+--target $SIFT_BUILD_TARGETS}
}
