#!/usr/bin/env bash
# Provides Keycloak (the real identity provider of the OIDC tests) and prints its home directory on stdout.
#
#   scripts/keycloak.sh          the directory that holds bin/kc.sh, built once per machine
#   scripts/keycloak.sh --java   the Java 21+ home Keycloak runs with (it does not run on Java 17)
#
# Order of preference:
#   1. $KUBEJIT_KEYCLOAK_HOME, if it is a complete distribution (bin/kc.sh, lib/quarkus-run.jar);
#   2. the per-machine cache ~/.cache/kubejit/keycloak-<version>/;
#   3. the distribution zip from Maven Central (org.keycloak:keycloak-quarkus-dist:<version>:zip)
#      through Maven, unpacked and pre-built (`kc.sh build`) into a temporary directory that is then
#      renamed to (2), so an interrupted run never leaves a half-made cache.
# Concurrent runs wait on a lock (flock) in the cache directory.
# Java: $JAVA21PLUS_HOME, else /usr/lib/jvm/temurin-25-jdk-amd64.
# All progress goes to stderr; stdout carries only the directory.
set -euo pipefail

KC_VERSION="${KUBEJIT_KEYCLOAK_VERSION:-26.7.3}"
CACHE_ROOT="${KUBEJIT_CACHE:-$HOME/.cache/kubejit}"
DEST="$CACHE_ROOT/keycloak-$KC_VERSION"
# The build-time options the tests start with; part of the marker so a change rebuilds the cache.
# --cache=local has no effect at build time in 26.x (it is a runtime option, and jit-testing's
# Keycloak passes it at start); it stays here only so that existing caches keep their key.
BUILD_OPTS=(--health-enabled=true --db=dev-mem --cache=local)
MARKER=".kubejit-built"

log() { echo "keycloak: $*" >&2; }

complete() { # DIR
  [[ -n "$1" && -x "$1/bin/kc.sh" && -f "$1/lib/quarkus-run.jar" ]]
}

java_home() {
  local candidate="${JAVA21PLUS_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
  if [[ ! -x "$candidate/bin/java" ]]; then
    log "Keycloak $KC_VERSION needs Java 21 or newer; none found at $candidate."
    log "Install one (e.g. Eclipse Temurin 25: apt-get install temurin-25-jdk from packages.adoptium.net)"
    log "and/or set JAVA21PLUS_HOME to its home directory."
    exit 1
  fi
  local feature
  feature="$("$candidate/bin/java" -XshowSettings:properties -version 2>&1 \
    | sed -n 's/^ *java\.specification\.version = //p')"
  if [[ -z "$feature" || "${feature%%.*}" -lt 21 ]]; then
    log "$candidate is Java ${feature:-unknown}; Keycloak $KC_VERSION needs Java 21 or newer (set JAVA21PLUS_HOME)"
    exit 1
  fi
  echo "$candidate"
}

case "${1:-}" in
  "") ;;
  --java) java_home; exit 0 ;;
  *) log "usage: scripts/keycloak.sh [--java]"; exit 64 ;;
esac

if [[ -n "${KUBEJIT_KEYCLOAK_HOME:-}" ]]; then
  if complete "$KUBEJIT_KEYCLOAK_HOME"; then
    log "using KUBEJIT_KEYCLOAK_HOME=$KUBEJIT_KEYCLOAK_HOME"
    echo "$KUBEJIT_KEYCLOAK_HOME"; exit 0
  fi
  log "KUBEJIT_KEYCLOAK_HOME=$KUBEJIT_KEYCLOAK_HOME is not a Keycloak distribution (no bin/kc.sh); ignoring it"
fi

wanted_marker="$KC_VERSION ${BUILD_OPTS[*]}"
cached() { complete "$DEST" && [[ "$(cat "$DEST/$MARKER" 2>/dev/null)" == "$wanted_marker" ]]; }

if cached; then
  log "using cached Keycloak in $DEST"
  echo "$DEST"; exit 0
fi

JAVA="$(java_home)"
command -v mvn >/dev/null || { log "mvn is needed to fetch Keycloak from Maven Central"; exit 1; }
command -v unzip >/dev/null || { log "unzip is needed (scripts/test-deps.sh installs it)"; exit 1; }

mkdir -p "$CACHE_ROOT"
exec 9>"$CACHE_ROOT/keycloak-$KC_VERSION.lock"
log "waiting for the lock $CACHE_ROOT/keycloak-$KC_VERSION.lock"
flock 9
if cached; then # another run built it while we waited
  log "using cached Keycloak in $DEST"
  echo "$DEST"; exit 0
fi

tmp="$(mktemp -d "$CACHE_ROOT/keycloak-$KC_VERSION.tmp.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
log "fetching org.keycloak:keycloak-quarkus-dist:$KC_VERSION:zip through Maven (about 180 MB)"
# From the temporary directory, so no project's pom.xml is involved.
(cd "$tmp" && mvn -B -ntp -q dependency:copy \
  -Dartifact="org.keycloak:keycloak-quarkus-dist:$KC_VERSION:zip" \
  -Dtransitive=false -DoutputDirectory="$tmp/zip" >&2)
zip="$tmp/zip/keycloak-quarkus-dist-$KC_VERSION.zip"
[[ -f "$zip" ]] || { log "Maven did not produce $zip"; exit 1; }
unzip -q "$zip" -d "$tmp/unpacked"
home="$tmp/unpacked/keycloak-$KC_VERSION"
complete "$home" || { log "the zip does not contain keycloak-$KC_VERSION/bin/kc.sh"; exit 1; }
# Pre-build (Quarkus augmentation) once with the options the tests use, so each start skips it.
log "pre-building with ${BUILD_OPTS[*]} (once per machine)"
JAVA_HOME="$JAVA" "$home/bin/kc.sh" build "${BUILD_OPTS[@]}" >&2
echo "$wanted_marker" >"$home/$MARKER"
rm -rf "$DEST"
mv "$home" "$DEST"
log "Keycloak $KC_VERSION cached in $DEST"
echo "$DEST"
