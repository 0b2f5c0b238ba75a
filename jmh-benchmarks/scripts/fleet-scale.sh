#!/usr/bin/env bash
# cloud-sync at fleet scale (issue 19): a simulated fleet written from the sync protocol (NODES
# nodes holding INSTANCES instances, retained at QoS 1, status with its will, digests, resyncs
# answered), one mosquitto with the broker settings of cloud-sync's README, one cloud-sync (the
# packaged jar, default settings), against a plain QoS 1 subscriber on the same broker in the same
# run: ingest rate, messages lost, live heap per instance, and ROUNDS interleaved rebuilds of a new
# replica against a plain replay of the same retained set. See FleetScale's Javadoc.
#
#   jmh-benchmarks/scripts/fleet-scale.sh                                   # 100k instances, 100 nodes
#   INSTANCES=1000000 ROUNDS=3 jmh-benchmarks/scripts/fleet-scale.sh
#   CLOUD_JAVA_OPTS="@arm-images/jvm.options -Xmx717m" INSTANCES=1000000 ...   # the image's JVM flags
#   WITHHELD=1 ...     # every node leaves one instance out of its first publication: resyncs at scale
#
# Needs the jars (mvn -B -o -pl cloud-sync,jmh-benchmarks -am package -DskipTests) and
# /usr/sbin/mosquitto. The figures are printed; the last line is `RESULT key=value ...`.
set -euo pipefail
cd "$(dirname "$0")/../.."
export JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
JAVA="$JAVA_HOME/bin/java"
work=$(mktemp -d /tmp/fleet-scale.XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

{
  echo "listener $port 127.0.0.1"
  echo "allow_anonymous true"
  echo "persistence false"
  echo "sys_interval 1"
  echo "log_dest stderr"
  echo "log_type error"
  echo "log_type warning"
  # cloud-sync README, "Broker settings"
  echo "max_queued_messages ${MAX_QUEUED_MESSAGES:-3000000}"
  echo "max_queued_bytes 0"
} > "$work/mosquitto.conf"
/usr/sbin/mosquitto -c "$work/mosquitto.conf" > "$work/mosquitto.log" 2>&1 &
broker=$!
cleanup() {
  kill "$broker" 2>/dev/null || true
  wait "$broker" 2>/dev/null || true
  if [[ ${KEEP_DIR:-0} == 1 ]]; then echo "kept: $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
sleep 0.5

"$JAVA" -Xmx${DRIVER_HEAP:-2g} -cp jmh-benchmarks/target/benchmarks.jar \
  -Dfleet.broker="tcp://127.0.0.1:$port" \
  -Dfleet.instances="${INSTANCES:-100000}" \
  -Dfleet.nodes="${NODES:-100}" \
  -Dfleet.rounds="${ROUNDS:-3}" \
  -Dfleet.cloudJar=cloud-sync/target/cloud-sync.jar \
  -Dfleet.cloudJavaOpts="${CLOUD_JAVA_OPTS:-}" \
  -Dfleet.plainReceiveMaximum="${PLAIN_RECEIVE_MAXIMUM:-0}" \
  -Dfleet.probes="${PROBES:-}" \
  -Dfleet.withheld="${WITHHELD:-0}" \
  -Dfleet.work="$work" \
  io.edgegate.benchmarks.fleet.FleetScale
echo "mosquitto: $(grep -c . "$work/mosquitto.log") log lines; RSS $(ps -o rss= -p "$broker" | awk '{printf "%.0f MB", $1/1024}')"
