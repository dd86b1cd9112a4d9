#!/usr/bin/env bash
# Runs every KubeJIT benchmark (module jit-bench, JMH) and the tools they are compared with
# (openssl, ssh-keygen) in one run, and prints one table: figure, reference, ratio, target, met.
# See docs/benchmarks.md.
#
#   scripts/bench.sh            2 forks, 5 x 1 s measured after 4 x 1 s warm-up per JMH benchmark, then
#                               the stores and the lifecycle against real peers (not timed yet)
#   scripts/bench.sh --quick    JMH benchmarks only, in three JVMs (one per family of classes) without
#                               forks: 1 x 0.5 s warm-up, 3 x 0.5 s measured, 1,000 warm-up calls per
#                               credential operation (at most 3 s); 164 s on the shared 2-core machine
#                               at a load average of ~28, the jar already built (docs/benchmarks.md)
#   scripts/bench.sh --only 'PolicyBench|RbacBench'   only those JMH benchmark classes
#   scripts/bench.sh --stores   item 7 only: SQLite, PostgreSQL and the Kubernetes store vs bare JDBC/client-java
#   scripts/bench.sh --lifecycle  item 8 only: the broker against a real kube-apiserver, without and with
#                               jit-admission's authorization webhook (-Dkubejit.bench.liveGrants=10,100
#                               and -Dkubejit.bench.heapGrants=0 in BENCH_JAVA_OPTS shorten it)
#
# Builds what it needs first (mvn package of jit-bench and the modules it uses, no tests, no
# install), unless the jar is newer than every source. Needs Java 17+, Maven, openssl and ssh-keygen on PATH; the stores and lifecycle runs
# also the control plane of scripts/testenv.sh (KUBEBUILDER_ASSETS), kubectl, and PostgreSQL 15
# (scripts/test-deps.sh); a peer that is missing is reported as "not run (reason)" in the table. Output: the table on stdout and
# in jit-bench/target/bench-table.md, JMH's own logs in jit-bench/target/jmh.log.*; audit
# benchmarks write (and delete) files under jit-bench/target/bench-data, so that disk is measured.
# Extra JVM options for the runner: BENCH_JAVA_OPTS (e.g. -Djmh.ignoreLock=true when another JMH
# run holds /tmp/jmh.lock).
set -euo pipefail
cd "$(dirname "$0")/.."

for tool in java mvn openssl ssh-keygen; do
  command -v "$tool" >/dev/null || { echo "bench.sh: $tool is not on PATH" >&2; exit 2; }
done

# Build unless target/benchmarks.jar is newer than every source, resource and pom of the
# repository (packaging the 70 MB jar again costs a minute on a busy machine; a fresh clone, a
# checkout or any edit rebuilds).
jar=jit-bench/target/benchmarks.jar
if [ -f "$jar" ] && [ -z "$(find . -name target -prune -o -name .git -prune -o -type f \( -name '*.java' \
    -o -name pom.xml -o -path '*/src/main/resources/*' \) -newer "$jar" -print -quit)" ]; then
  echo "jit-bench is up to date ($jar)" >&2
else
  echo "building jit-bench ..." >&2
  mvn -B -ntp -q -Pbench -pl jit-bench -am package -DskipTests -Dmaven.javadoc.skip=true -Dmaven.source.skip=true >&2
fi

peers=yes
for a in "$@"; do
  case "$a" in --quick|--only) peers=no ;; esac
done
for a in "$@"; do
  case "$a" in --stores|--lifecycle) peers=yes ;; esac
done
if [ "$peers" = yes ] && [ -z "${KUBEBUILDER_ASSETS:-}" ]; then
  echo "providing the test control plane (scripts/testenv.sh) ..." >&2
  KUBEBUILDER_ASSETS="$(scripts/testenv.sh)" || { echo "bench.sh: no control plane; its rows will say not run" >&2; KUBEBUILDER_ASSETS=; }
  export KUBEBUILDER_ASSETS
fi

cd jit-bench
mkdir -p target/bench-data
# shellcheck disable=SC2086
exec java ${BENCH_JAVA_OPTS:-} -Dkubejit.bench.dir="$PWD/target/bench-data" -jar target/benchmarks.jar "$@"
