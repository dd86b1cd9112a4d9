#!/usr/bin/env bash
# Provides the binaries of the test cluster and prints their directory on stdout.
#
#   scripts/testenv.sh          kube-apiserver, kube-controller-manager and etcd (envtest's flat layout)
#   scripts/testenv.sh --node   kubelet (for jit-testing's opt-in KubeNode); also builds the node's two
#                               container images (scripts/testnode-images.sh). containerd, runc and the
#                               CNI plugins come from Debian, see scripts/test-deps.sh
#
# Order of preference:
#   1. $KUBEBUILDER_ASSETS (control plane) or $KUBEJIT_NODE_ASSETS (kubelet), if they hold the binaries;
#   2. the per-machine cache ~/.cache/kubejit/testenv/<version>+<patch level>/;
#   3. a build from Debian's `kubernetes` source package (vendored Go modules), cached in (2).
#
# Every binary built here gets one source patch: Kubernetes 1.20 vendors
# github.com/modern-go/reflect2 v1.0.1, which is broken under Go >= 1.18 (Debian builds with 1.19):
# the API server dies with "unexpected signal" in reflect2.(*UnsafeMapType).UnsafeIterate on the
# first custom resource. The vendored copy is replaced by Debian's golang-github-modern-go-reflect2-dev
# (1.0.2). The patch level is part of the cache key, so caches built without it are rebuilt.
# All progress goes to stderr; stdout carries only the directory.
set -euo pipefail

K8S_VERSION="${KUBEJIT_K8S_VERSION:-1.20.2}"
PATCH_LEVEL="reflect2-1.0.2"
CACHE_ROOT="${KUBEJIT_CACHE:-$HOME/.cache/kubejit}"
DEST="$CACHE_ROOT/testenv/$K8S_VERSION+$PATCH_LEVEL"
CONTROL_PLANE=(kube-apiserver kube-controller-manager etcd)
NODE=(kubelet)

log() { echo "testenv: $*" >&2; }

has_all() { # DIR BINARY...
  local dir="$1" b; shift
  [[ -n "$dir" ]] || return 1
  for b in "$@"; do [[ -x "$dir/$b" ]] || return 1; done
  return 0
}

mode=control-plane
case "${1:-}" in
  "") ;;
  --node) mode=node ;;
  *) log "usage: scripts/testenv.sh [--node]"; exit 64 ;;
esac

if [[ $mode == control-plane ]]; then
  if has_all "${KUBEBUILDER_ASSETS:-}" "${CONTROL_PLANE[@]}"; then
    log "using KUBEBUILDER_ASSETS=$KUBEBUILDER_ASSETS"
    echo "$KUBEBUILDER_ASSETS"; exit 0
  fi
  if has_all "$DEST" "${CONTROL_PLANE[@]}" && "$DEST/etcd" --version >/dev/null 2>&1; then
    log "using cached binaries in $DEST"
    echo "$DEST"; exit 0
  fi
  wanted=(kube-apiserver kube-controller-manager)
  # A cold machine that runs the whole suite needs the kubelet too: build it in the same pass.
  has_all "$DEST" kubelet || has_all "${KUBEJIT_NODE_ASSETS:-}" kubelet || wanted+=(kubelet)
else
  "$(dirname "$0")/testnode-images.sh" >/dev/null
  if has_all "${KUBEJIT_NODE_ASSETS:-}" "${NODE[@]}"; then
    log "using KUBEJIT_NODE_ASSETS=$KUBEJIT_NODE_ASSETS"
    echo "$KUBEJIT_NODE_ASSETS"; exit 0
  fi
  if has_all "$DEST" "${NODE[@]}"; then
    log "using cached kubelet in $DEST"
    echo "$DEST"; exit 0
  fi
  wanted=(kubelet)
fi

if [[ ! -r /etc/debian_version ]]; then
  log "no binaries found: set KUBEBUILDER_ASSETS to a directory with ${CONTROL_PLANE[*]} (e.g. from setup-envtest)"
  log "and KUBEJIT_NODE_ASSETS to a directory with a matching kubelet"
  exit 1
fi

SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi

suite="$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")"
src_list=/etc/apt/sources.list.d/kubejit-deb-src.sources
if ! grep -rqs '^Types:.*deb-src' /etc/apt/sources.list.d/ /etc/apt/sources.list 2>/dev/null \
   && ! grep -qs '^deb-src ' /etc/apt/sources.list 2>/dev/null; then
  log "adding a deb-src entry for $suite"
  $SUDO tee "$src_list" >/dev/null <<SRC
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: $suite
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
fi

log "installing build packages (etcd-server golang-go rsync dpkg-dev golang-github-modern-go-reflect2-dev)"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >&2
$SUDO apt-get install -y -qq etcd-server golang-go rsync dpkg-dev make golang-github-modern-go-reflect2-dev >&2

work="$CACHE_ROOT/build"
mkdir -p "$work"
cd "$work"
srcdir="$(ls -d kubernetes-*/ 2>/dev/null | head -1 || true)"
if [[ -z "$srcdir" ]]; then
  log "fetching Debian's kubernetes source package"
  apt-get source --download-only kubernetes >&2
  dpkg-source --no-check -x kubernetes_*.dsc >&2
  srcdir="$(ls -d kubernetes-*/ | head -1)"
fi
cd "$srcdir"

reflect2_src=/usr/share/gocode/src/github.com/modern-go/reflect2
[[ -f "$reflect2_src/reflect2.go" ]] || { log "missing $reflect2_src (golang-github-modern-go-reflect2-dev)"; exit 1; }
log "replacing vendor/github.com/modern-go/reflect2 with Debian's reflect2 1.0.2"
rm -rf vendor/github.com/modern-go/reflect2
mkdir -p vendor/github.com/modern-go/reflect2
# Only the package's Go sources and licence: tests and module files are not part of a vendored copy.
find "$reflect2_src" -maxdepth 1 -type f \( -name '*.go' -o -name '*.s' -o -name 'LICENSE' \) ! -name '*_test.go' \
  -exec cp {} vendor/github.com/modern-go/reflect2/ \;
# vendor/modules.txt and go.mod keep the v1.0.1 label on purpose: with -mod=vendor the go command
# checks that the two agree with each other, not with the sources, and 1.0.2 has the same import path
# and API, so relabelling would only add a consistency risk.

targets=""
for b in "${wanted[@]}"; do targets+=" cmd/$b"; done
log "building${targets} in $PWD (several minutes)"
export GOFLAGS="-mod=vendor"
export KUBE_GIT_VERSION="v$K8S_VERSION"
export KUBE_GIT_TREE_STATE=clean
export KUBE_GIT_MAJOR=1 KUBE_GIT_MINOR="$(echo "$K8S_VERSION" | cut -d. -f2)"
make WHAT="${targets# }" >&2

mkdir -p "$DEST"
for b in "${wanted[@]}"; do
  cp "_output/bin/$b" "$DEST/$b.tmp"
  mv "$DEST/$b.tmp" "$DEST/$b"
done
ln -sfn "$(command -v etcd)" "$DEST/etcd"
cd /
rm -rf "${work:?}/$srcdir" "$work"/kubernetes_*
log "built ${wanted[*]}; cached in $DEST"
echo "$DEST"
