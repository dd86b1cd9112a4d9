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
need openssh-client command -v ssh-keygen
need openssh-server test -x /usr/sbin/sshd
need postgresql    test -x /usr/lib/postgresql/15/bin/initdb
need util-linux    command -v runuser
