#!/usr/bin/env bash
# Builds the two container images of jit-testing's node (KubeNode) and prints their directory on stdout.
# No registry is reachable from a test machine, so both are built here as single-layer Docker image
# archives (the format `ctr images import` reads) from packages scripts/test-deps.sh installs:
#
#   pause.tar    localhost/kubejit/pause:v1    a static C program that waits and exits on SIGTERM,
#                                              the pod sandbox (what Kubernetes' pause image does)
#   busybox.tar  localhost/kubejit/busybox:v1  Debian's busybox-static with every applet linked
#
# Cached in ~/.cache/kubejit/node-images/v1 ($KUBEJIT_NODE_IMAGES, when set and complete, wins);
# the layers are reproducible (fixed owners, mtimes and order). Progress goes to stderr.
set -euo pipefail

VERSION=v1
CACHE_ROOT="${KUBEJIT_CACHE:-$HOME/.cache/kubejit}"
DEST="$CACHE_ROOT/node-images/$VERSION"
log() { echo "testnode-images: $*" >&2; }

complete() { [[ -n "$1" && -s "$1/pause.tar" && -s "$1/busybox.tar" ]]; }
if complete "${KUBEJIT_NODE_IMAGES:-}"; then
  log "using KUBEJIT_NODE_IMAGES=$KUBEJIT_NODE_IMAGES"; echo "$KUBEJIT_NODE_IMAGES"; exit 0
fi
if complete "$DEST"; then
  log "using cached images in $DEST"; echo "$DEST"; exit 0
fi

for tool in gcc busybox tar sha256sum; do
  command -v "$tool" >/dev/null || { log "missing $tool: run scripts/test-deps.sh"; exit 1; }
done
if ldd "$(command -v busybox)" >/dev/null 2>&1; then
  log "$(command -v busybox) is dynamically linked: install busybox-static (scripts/test-deps.sh)"; exit 1
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# layer_tar ROOTFS OUT: a reproducible tar of ROOTFS.
layer_tar() {
  tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 --format=gnu -C "$1" -cf "$2" .
}

# image_archive NAME REF ROOTFS CMD_JSON OUT: a single-layer image in `docker save` layout.
image_archive() {
  local name="$1" ref="$2" rootfs="$3" cmd="$4" out="$5"
  local dir="$work/$name-image"
  mkdir -p "$dir"
  layer_tar "$rootfs" "$dir/layer.tar"
  local diff_id config_id
  diff_id="sha256:$(sha256sum "$dir/layer.tar" | cut -d' ' -f1)"
  cat >"$dir/config.json" <<JSON
{"architecture":"amd64","os":"linux","created":"1970-01-01T00:00:00Z","config":{"Cmd":$cmd,"Env":["PATH=/bin"],"WorkingDir":"/"},"rootfs":{"type":"layers","diff_ids":["$diff_id"]},"history":[{"created":"1970-01-01T00:00:00Z","created_by":"scripts/testnode-images.sh"}]}
JSON
  config_id="$(sha256sum "$dir/config.json" | cut -d' ' -f1)"
  mkdir -p "$dir/out/$config_id"
  mv "$dir/layer.tar" "$dir/out/$config_id/layer.tar"
  mv "$dir/config.json" "$dir/out/$config_id.json"
  printf '[{"Config":"%s.json","RepoTags":["%s"],"Layers":["%s/layer.tar"]}]\n' \
    "$config_id" "$ref" "$config_id" >"$dir/out/manifest.json"
  tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$dir/out" -cf "$out" \
    manifest.json "$config_id.json" "$config_id"
}

log "building the pause image"
mkdir -p "$work/pause-src" "$work/pause-root"
cat >"$work/pause-src/pause.c" <<'C'
/* The pod sandbox's only process: holds the pod's namespaces, reaps orphans, exits on SIGTERM/SIGINT. */
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

static void stop(int sig) { (void) sig; _exit(0); }

static void reap(int sig) {
  (void) sig;
  while (waitpid(-1, 0, WNOHANG) > 0) {
  }
}

int main(void) {
  struct sigaction term = {0}, child = {0};
  term.sa_handler = stop;
  child.sa_handler = reap;
  child.sa_flags = SA_NOCLDSTOP | SA_RESTART;
  if (sigaction(SIGTERM, &term, 0) || sigaction(SIGINT, &term, 0) || sigaction(SIGCHLD, &child, 0)) {
    return 1;
  }
  for (;;) {
    pause();
  }
}
C
gcc -static -Os -s -o "$work/pause-root/pause" "$work/pause-src/pause.c"
image_archive pause localhost/kubejit/pause:$VERSION "$work/pause-root" '["/pause"]' "$work/pause.tar"

log "building the busybox image"
root="$work/busybox-root"
mkdir -p "$root"/{bin,etc,tmp,root,proc,sys,dev,var/log,www}
chmod 1777 "$root/tmp"
cp "$(command -v busybox)" "$root/bin/busybox"
for applet in $("$root/bin/busybox" --list); do
  [[ "$applet" == busybox ]] || ln -s busybox "$root/bin/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
image_archive busybox localhost/kubejit/busybox:$VERSION "$root" '["/bin/sh"]' "$work/busybox.tar"

mkdir -p "$DEST"
for f in pause.tar busybox.tar; do
  cp "$work/$f" "$DEST/$f.tmp"
  mv "$DEST/$f.tmp" "$DEST/$f"
done
log "images cached in $DEST"
echo "$DEST"
