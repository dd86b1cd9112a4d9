#!/usr/bin/env bash
# Runs every test: installs the real peers (scripts/test-deps.sh), provides a real
# kube-apiserver + etcd (scripts/testenv.sh, cached under ~/.cache/kubejit), the kubelet and the two
# container images of jit-testing's node (scripts/testenv.sh --node, scripts/testnode-images.sh),
# Keycloak for the OIDC tests (scripts/keycloak.sh, also cached), then `mvn verify`. KUBEBUILDER_ASSETS,
# KUBEJIT_NODE_ASSETS, KUBEJIT_NODE_IMAGES and KUBEJIT_KEYCLOAK_HOME, when set to complete
# directories, are used as they are. Extra arguments go to Maven (e.g. scripts/test.sh -pl jit-api).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/test-deps.sh
KUBEBUILDER_ASSETS="$(scripts/testenv.sh)"
KUBEJIT_NODE_ASSETS="$(scripts/testenv.sh --node)"
KUBEJIT_NODE_IMAGES="$(scripts/testnode-images.sh)"
export KUBEBUILDER_ASSETS KUBEJIT_NODE_ASSETS KUBEJIT_NODE_IMAGES
KUBEJIT_KEYCLOAK_HOME="$(scripts/keycloak.sh)"; KUBEJIT_KEYCLOAK_JAVA="$(scripts/keycloak.sh --java)"; export KUBEJIT_KEYCLOAK_HOME KUBEJIT_KEYCLOAK_JAVA
echo "test.sh: control plane in $KUBEBUILDER_ASSETS, kubelet in $KUBEJIT_NODE_ASSETS, images in $KUBEJIT_NODE_IMAGES" >&2
exec mvn -B -ntp verify "$@"
