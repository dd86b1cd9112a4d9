#!/usr/bin/env bash
# Fuzzes one or more Jazzer targets for SECONDS each: scripts/fuzz.sh TARGET[,TARGET...] SECONDS
# In the normal build (`mvn verify`, scripts/test.sh) the same @FuzzTest methods only replay their
# committed inputs (src/test/resources/<package>/<Class>Inputs/<method>/) as regression tests.
# Here JAZZER_FUZZ=1 makes Jazzer mutate them for SECONDS; a crashing input is written into that
# inputs directory (keep it: it becomes a regression seed once the bug is fixed), the generated
# corpus into <module>/.cifuzz-corpus/. Targets in different modules run one after the other in one
# Maven run; two targets of the same module need two runs (Jazzer fuzzes one test per JVM).
# Example: scripts/fuzz.sh jwt,admission 300 (config, http and oidc share jit-server: one per run)
set -euo pipefail
cd "$(dirname "$0")/.."

declare -A TARGETS=(
  [policy]="jit-policy PolicyLoaderFuzzTest#loaderThrowsOnlyPolicyException"
  [csr]="jit-credentials CsrFuzzTest#issueFromCsrRefusesOrIssuesExactly"
  [ssh-cert]="jit-credentials-ssh SshFuzzTest#verifyCertificateOnlyWhatTheCaSigned"
  [ssh-key]="jit-credentials-ssh SshFuzzTest#parsePublicKeyRefusesOrCertifiesThatKey"
  [jwt]="jit-credentials-jwt JwtFuzzTest#verifiedTokensArePinnedAndUnexpired"
  [kube-audit]="jit-audit AuditFuzzTest#kubeAuditEventParserThrowsOnlyAuditFormatException"
  [audit-verify]="jit-audit AuditFuzzTest#verifierAcceptsOnlyAPrefixOfTheSignedLog"
  [config]="jit-server ServerFuzzTest#configReaderThrowsOnlyConfigException"
  [http]="jit-server ServerFuzzTest#apiNeverFailsInternallyAndNothingUnauthenticatedReachesTheBroker"
  [admission]="jit-admission AdmissionFuzzTest#neverAllowsWhatThePolicyDenies"
  [slack]="jit-chatops SlackFuzzTest#onlySignedRequestsFromDirectoryUsersReachTheBroker"
  [oidc]="jit-server ServerFuzzTest#oidcAuthenticatesOnlyPinnedUnexpiredTokensOfTheIssuer"
)

usage() {
  echo "usage: scripts/fuzz.sh TARGET[,TARGET...] SECONDS" >&2
  echo "targets: $(printf '%s\n' "${!TARGETS[@]}" | sort | tr '\n' ' ')" >&2
  exit 2
}
[[ $# -eq 2 && $2 =~ ^[1-9][0-9]*$ ]] || usage
modules=()
tests=()
IFS=, read -ra names <<< "$1"
for name in "${names[@]}"; do
  [[ -n ${TARGETS[$name]:-} ]] || { echo "fuzz.sh: unknown target '$name'" >&2; usage; }
  read -r module test <<< "${TARGETS[$name]}"
  for m in "${modules[@]}"; do
    [[ $m != "$module" ]] || { echo "fuzz.sh: two targets in $module; run them one at a time" >&2; exit 2; }
  done
  modules+=("$module")
  tests+=("$test")
done

# libFuzzer arguments given as jazzer.internal.arg.N come after the annotation's maxDuration, so they win.
JAZZER_FUZZ=1 exec mvn -B -ntp -fae verify -Dinvoker.skip -Dsurefire.failIfNoSpecifiedTests=false \
  -pl "$(IFS=,; echo "${modules[*]}")" -am -Dtest="$(IFS=,; echo "${tests[*]}")" \
  -Djazzer.internal.arg.0=fuzz -Djazzer.internal.arg.1="-max_total_time=$2" -Djazzer.internal.arg.2=-print_final_stats=1
