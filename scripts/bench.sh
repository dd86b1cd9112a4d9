#!/usr/bin/env bash
# Runs every KubeJIT benchmark (module jit-bench, JMH) and the tools they are compared with
# (openssl, ssh-keygen) in one run, and prints one table: figure, reference, ratio, target, met.
# See docs/benchmarks.md.
#
#   scripts/bench.sh            2 forks, 5 x 1 s measured after 4 x 1 s warm-up per benchmark (~15 min)
#   scripts/bench.sh --quick    1 fork, short iterations (the run itself under 3 minutes)
#   scripts/bench.sh --only 'PolicyBench|RbacBench'   only those benchmark classes
#
# Builds what it needs first (mvn package of jit-bench and the modules it uses, no tests, no
# install). Needs Java 17+, Maven, openssl and ssh-keygen on PATH. Output: the table on stdout and
# in jit-bench/target/bench-table.md, JMH's own logs in jit-bench/target/jmh.log.*; audit
# benchmarks write (and delete) files under jit-bench/target/bench-data, so that disk is measured.
# Extra JVM options for the runner: BENCH_JAVA_OPTS (e.g. -Djmh.ignoreLock=true when another JMH
# run holds /tmp/jmh.lock).
set -euo pipefail
cd "$(dirname "$0")/.."

for tool in java mvn openssl ssh-keygen; do
  command -v "$tool" >/dev/null || { echo "bench.sh: $tool is not on PATH" >&2; exit 2; }
done

echo "building jit-bench ..." >&2
mvn -B -ntp -q -Pbench -pl jit-bench -am package -DskipTests -Dmaven.javadoc.skip=true -Dmaven.source.skip=true >&2

cd jit-bench
mkdir -p target/bench-data
# shellcheck disable=SC2086
exec java ${BENCH_JAVA_OPTS:-} -Dkubejit.bench.dir="$PWD/target/bench-data" -jar target/benchmarks.jar "$@"
