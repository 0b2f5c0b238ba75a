#!/usr/bin/env bash
# Figures of the edge-to-cloud sync on loopback (issue 6): bytes per instance change on the wire,
# edge-to-cloud propagation p50/p99, and the reconnect after 100,000 changes to 1,000 instances
# made offline (messages sent, time to converge). Runs cloud-sync's SyncFigures test, which starts
# mosquitto, the packaged edge gateway (behind a TCP relay it cuts) and the packaged cloud-sync as
# child processes; needs /usr/sbin/mosquitto. Prints the figures; they are also left in
# cloud-sync/target/sync-figures.txt.
#   SAMPLES=1000 INSTANCES=1000 CHANGES=100000 jmh-benchmarks/scripts/sync-figures.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
export JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
mvn -B -o -q -pl mqtt-bridge,edge-gateway,cloud-sync -am verify \
  -Dtest=none -Dsurefire.failIfNoSpecifiedTests=false \
  -Dit.test=SyncFigures -Dfailsafe.failIfNoSpecifiedTests=false \
  -Dfigures.samples="${SAMPLES:-1000}" -Dfigures.instances="${INSTANCES:-1000}" \
  -Dfigures.changes="${CHANGES:-100000}" || status=$?
cat cloud-sync/target/sync-figures.txt 2>/dev/null || true
exit "${status:-0}"
