#!/usr/bin/env bash
# Installs the Debian packages the test suite talks to as real peers (idempotent).
# Each line: install only when the tool is missing, so a prepared machine does no apt work.
set -euo pipefail
SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
updated=0
need() { # need PACKAGE CHECK-COMMAND...
  local pkg="$1"; shift
  if "$@" >/dev/null 2>&1; then return 0; fi
  if [[ $updated -eq 0 ]]; then $SUDO apt-get update -qq >&2; updated=1; fi
  echo "test-deps: installing $pkg" >&2
  $SUDO apt-get install -y -qq --no-install-recommends "$pkg" >&2
}
need openssl        command -v openssl
need jq             command -v jq
# scripts/keycloak.sh unpacks the Keycloak distribution zip.
need unzip          command -v unzip
need openssh-client command -v ssh-keygen
need openssh-server test -x /usr/sbin/sshd
# jit-testing's node (KubeNode): container runtime, CNI plugins, and what builds the two test images
# (scripts/testnode-images.sh: a static pause binary and a busybox root filesystem).
need containerd                 command -v containerd
need runc                       command -v runc
need containernetworking-plugins test -x /usr/lib/cni/bridge
need busybox-static             sh -c 'test -x /bin/busybox && ! ldd /bin/busybox >/dev/null 2>&1'
need gcc                        command -v gcc
need libc6-dev                  test -f /usr/include/stdio.h
need iproute2                   command -v ip
need util-linux                 command -v unshare
# jit-testing's PostgresServer (@PostgresTest): initdb and pg_ctl run as the postgres user through runuser.
need postgresql                  test -x /usr/lib/postgresql/15/bin/initdb
# SqliteLockedFaultTest: another process (the sqlite3 shell) holds the database's write lock.
need sqlite3                     command -v sqlite3
# jit-console's browser tests: headless Chromium driven by Selenium through Debian's chromedriver
# (/usr/bin/chromedriver), so Selenium never downloads a driver.
need chromium                    command -v chromium
need chromium-driver             test -x /usr/bin/chromedriver
# PKCS#11 tests: SoftHSM2 is the hardware token (its module and softhsm2-util to create a token).
need softhsm2                    test -f /usr/lib/softhsm/libsofthsm2.so
