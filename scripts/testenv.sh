#!/usr/bin/env bash
# Provides kube-apiserver, kube-controller-manager and etcd in the flat layout that
# controller-runtime's envtest uses, and prints that directory on stdout.
#
# Order of preference:
#   1. $KUBEBUILDER_ASSETS, if it holds all three binaries (users bring envtest binaries);
#   2. the per-machine cache ~/.cache/kubejit/testenv/<version>/;
#   3. a build from Debian's `kubernetes` source package (vendored Go modules), cached in (2).
# All progress goes to stderr; stdout carries only the directory.
set -euo pipefail

K8S_VERSION="${KUBEJIT_K8S_VERSION:-1.20.2}"
CACHE_ROOT="${KUBEJIT_CACHE:-$HOME/.cache/kubejit}"
DEST="$CACHE_ROOT/testenv/$K8S_VERSION"
BINARIES=(kube-apiserver kube-controller-manager etcd)

log() { echo "testenv: $*" >&2; }

has_all() {
  local dir="$1" b
  for b in "${BINARIES[@]}"; do [[ -x "$dir/$b" ]] || return 1; done
  return 0
}

if [[ -n "${KUBEBUILDER_ASSETS:-}" ]] && has_all "$KUBEBUILDER_ASSETS"; then
  log "using KUBEBUILDER_ASSETS=$KUBEBUILDER_ASSETS"
  echo "$KUBEBUILDER_ASSETS"
  exit 0
fi

if has_all "$DEST" && "$DEST/etcd" --version >/dev/null 2>&1; then
  log "using cached binaries in $DEST"
  echo "$DEST"
  exit 0
fi

if [[ ! -r /etc/debian_version ]]; then
  log "no binaries found: set KUBEBUILDER_ASSETS to a directory with ${BINARIES[*]} (e.g. from setup-envtest)"
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

log "installing build packages (etcd-server golang-go rsync dpkg-dev)"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >&2
$SUDO apt-get install -y -qq etcd-server golang-go rsync dpkg-dev make >&2

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
log "building kube-apiserver and kube-controller-manager in $PWD (several minutes)"
export GOFLAGS="-mod=vendor"
export GOCACHE="$CACHE_ROOT/gocache"
export KUBE_GIT_VERSION="v$K8S_VERSION"
export KUBE_GIT_TREE_STATE=clean
export KUBE_GIT_MAJOR=1 KUBE_GIT_MINOR="$(echo "$K8S_VERSION" | cut -d. -f2)"
make WHAT="cmd/kube-apiserver cmd/kube-controller-manager" >&2

mkdir -p "$DEST.tmp"
cp _output/bin/kube-apiserver _output/bin/kube-controller-manager "$DEST.tmp/"
ln -sf "$(command -v etcd)" "$DEST.tmp/etcd"
rm -rf "$DEST"
mv "$DEST.tmp" "$DEST"
cd /
rm -rf "$work/$srcdir" "$work"/kubernetes_* 
log "built; binaries cached in $DEST"
echo "$DEST"
