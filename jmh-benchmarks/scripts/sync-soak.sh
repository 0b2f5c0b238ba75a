#!/usr/bin/env bash
# A longer randomized fault soak of the edge-to-cloud sync (issue 14): cloud-sync's SyncSoakIT with
# more faults. It starts mosquitto (keeping a store), the packaged edge gateway and two packaged
# cloud-sync replicas, each behind a TCP relay, and draws faults at random (broker kill -9 and
# restart with or without its store, a replica kill -9 and restart, the gateway kill -9 and
# restart, also while its link is cut, the edge-broker and a cloud-broker link cut and restored,
# old messages replayed by another client) under continuous registrations, TTL health flips and
# deregistrations. After each fault every replica must equal the edge within 2 s of both ends
# being connected again, nothing acknowledged may be lost, the replicas must agree on
# X-Consul-Index, and a blocking query moved between them must behave. Prints the seed first and,
# at the end, the convergence time per kind of fault (p50, p99, max); also left in
# cloud-sync/target/sync-soak.txt. Needs /usr/sbin/mosquitto. About 4 s per fault.
#   FAULTS=200 jmh-benchmarks/scripts/sync-soak.sh
#   SEED=-2465560290934874570 FAULTS=30 jmh-benchmarks/scripts/sync-soak.sh   # replay a run
#   KINDS=MESSAGES_REPLAYED,CLOUD_LINK_CUT FAULTS=50 jmh-benchmarks/scripts/sync-soak.sh   # some kinds only
set -euo pipefail
cd "$(dirname "$0")/../.."
export JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
seed=()
if [[ -n "${SEED:-}" ]]; then
  seed=("-Dsoak.seed=${SEED}")
fi
mvn -B -o -q -pl mqtt-bridge,edge-gateway,cloud-sync -am verify \
  -Dtest=none -Dsurefire.failIfNoSpecifiedTests=false \
  -Dit.test=SyncSoakIT -Dfailsafe.failIfNoSpecifiedTests=false \
  -Dsoak.faults="${FAULTS:-200}" -Dsoak.kinds="${KINDS:-}" "${seed[@]}" || status=$?
cat cloud-sync/target/sync-soak.txt 2>/dev/null || true
if [[ -n "${status:-}" ]]; then
  grep -h -A3 "FAILURE\|AssertionError" cloud-sync/target/failsafe-reports/io.edgegate.cloud.SyncSoakIT.txt 2>/dev/null | head -20 || true
fi
exit "${status:-0}"
