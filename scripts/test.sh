#!/usr/bin/env bash
# Runs every test: installs the real peers (scripts/test-deps.sh), provides a real
# kube-apiserver + etcd (scripts/testenv.sh, cached under ~/.cache/kubejit), then `mvn verify`.
# Extra arguments go to Maven (e.g. scripts/test.sh -pl jit-api).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/test-deps.sh
KUBEBUILDER_ASSETS="$(scripts/testenv.sh)"
export KUBEBUILDER_ASSETS
echo "test.sh: control-plane binaries in $KUBEBUILDER_ASSETS" >&2
exec mvn -B -ntp verify "$@"
