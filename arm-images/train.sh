#!/usr/bin/env bash
# Produces the AOT cache of one image for one architecture (JDK 25, JEP 483/514/515): a training
# run of the image's own JVM over the image's own file tree (the layers staged by build.sh, in a
# chroot, read-only root; arm64 under qemu-aarch64-static), then the cache is created from the
# recorded configuration. Two steps (-XX:AOTMode=record, then -XX:AOTMode=create) rather than
# -XX:AOTCacheOutput: the one-step form forks a second JVM, which qemu-user cannot follow.
#
#   train.sh --image edge-gateway --arch arm64 --target arm-images/target \
#            --output arm-images/target/aot-edge-gateway-arm64/app/edge-gateway.aot --flags "@/app/jvm.options"
#
# The workload (edge-gateway): a priming run fills the journal; the recorded run replays it at
# start (as every real start does), then native and Consul registrations (single and batch),
# heartbeats, queries, a blocking query, routes, requests proxied to a loopback backend,
# deregistration; then SIGTERM, as a pod is stopped. cloud-sync: start, its HTTP port answering, stop.
#
# Access control is on, as in the images (default deny): the API requests carry the management
# token each service makes on its first start (the gateway in its data directory, cloud-sync at
# CLOUDSYNC_ACL_MANAGEMENT_TOKEN_FILE, pointed at the scratch volume here because the root is
# read-only), read from the volume after the start; the unauthenticated endpoints (/livez, /readyz,
# /v1/openapi, /v1/status/leader, the proxy's data path) and a few refusals (403) are trained
# without one. An authorized request answered 401 or 403 fails the run: the cache would miss the
# paths it was meant to hold.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

IMG="" ARCH="" TARGET="" OUTPUT="" FLAGS=""
while [ $# -gt 0 ]; do
  case "$1" in
    --image) IMG=$2; shift 2 ;;
    --arch) ARCH=$2; shift 2 ;;
    --target) TARGET=$2; shift 2 ;;
    --output) OUTPUT=$2; shift 2 ;;
    --flags) FLAGS=$2; shift 2 ;;
    *) echo "train: unknown option $1" >&2; exit 2 ;;
  esac
done
log() { printf '%s [train %s %s] %s\n' "$(date +%T)" "$IMG" "$ARCH" "$*" >&2; }

WORK="$TARGET/train-$IMG-$ARCH"
ROOTFS="$WORK/rootfs"
rm -rf "$WORK" && mkdir -p "$ROOTFS" "$WORK/data" "$WORK/aot"
# The image's file tree, as the image will have it (hard links: no copy).
for d in "base-$ARCH" "runtime-$ARCH" "app-$IMG/libs" "app-$IMG/jar"; do
  cp -al "$TARGET/$d/." "$ROOTFS/"
done
chmod 1777 "$WORK/data" "$WORK/aot"

# The workload and its helpers (free_ports, wait_http, c, c0, codes, read_token,
# workload_edge_gateway, workload_cloud_sync): shared with ./edgegate run's own training.
# shellcheck source=arm-images/lib/workload.sh
source "$HERE/lib/workload.sh"

read -r PORT PORT2 BACKEND_PORT <<< "$(free_ports 3)"
case "$IMG" in
  edge-gateway) ENVS=(--env EDGEGATE_DATA_DIR=/var/lib/edgegate --env EDGEGATE_PORT="$PORT"
                      --env EDGEGATE_CONSUL_PORT="$PORT2" --env EDGEGATE_NODE=train --env EDGEGATE_HOST=127.0.0.1)
                VOL=/var/lib/edgegate ;;
  cloud-sync)   # with a local Mosquitto when there is one, so that the broker session is trained too
                MQTT_URL=${CLOUDSYNC_MQTT_URL:-tcp://127.0.0.1:1}
                if [ -z "${CLOUDSYNC_MQTT_URL:-}" ] && command -v mosquitto >/dev/null; then
                  MQTT_PORT=$(free_ports 1)
                  printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\n' "$MQTT_PORT" > "$WORK/mosquitto.conf"
                  mosquitto -c "$WORK/mosquitto.conf" > "$WORK/mosquitto.log" 2>&1 &
                  BROKER_PID=$!
                  trap 'kill $BROKER_PID 2>/dev/null || true' EXIT
                  MQTT_URL=tcp://127.0.0.1:$MQTT_PORT
                fi
                VOL=/var/lib/cloud-sync  # a scratch directory: cloud-sync keeps no state but its token
                ENVS=(--env CLOUDSYNC_PORT="$PORT" --env CLOUDSYNC_CONSUL_PORT="$PORT2" --env CLOUDSYNC_MQTT_URL="$MQTT_URL"
                      --env CLOUDSYNC_ACL_MANAGEMENT_TOKEN_FILE="$VOL/management-token") ;;
  *) log "no workload for $IMG"; exit 1 ;;
esac
read -r -a JFLAGS <<< "$FLAGS"

jvm() {  # jvm LOGFILE JVM-ARGS...: runs in the foreground, or with JVM_BG=1 in the background
  local logf=$1; shift
  local cmd=("$HERE/lib/rootfs-run.sh" --rootfs "$ROOTFS" --arch "$ARCH" --user 65532:65532
    --workdir /home/nonroot --volume "$WORK/data:$VOL" --volume "$WORK/aot:/aot" "${ENVS[@]}"
    -- /opt/java/bin/java "${JFLAGS[@]}" "$@" -jar "/app/$IMG.jar")
  if [ "${JVM_BG:-0}" = 1 ]; then
    # exec all the way down: $! is the JVM's own PID, so SIGTERM reaches it
    (exec "${cmd[@]}" > "$logf" 2>&1) &
    JPID=$!
  else
    "${cmd[@]}" > "$logf" 2>&1
  fi
}

BACKEND_PID=""
cleanup() {
  [ -z "$BACKEND_PID" ] || kill "$BACKEND_PID" 2>/dev/null || true
  [ -z "${BROKER_PID:-}" ] || kill "$BROKER_PID" 2>/dev/null || true
  [ -z "${JPID:-}" ] || kill -9 "$JPID" 2>/dev/null || true
}
trap cleanup EXIT

t0=$SECONDS
if [ "$IMG" = edge-gateway ]; then
  # A first run fills the journal, so that the recorded run starts by replaying it (the restart
  # path, with its JSON decoding, is what every real start-up does) and then re-registers in place.
  log "priming run: filling the journal"
  JVM_BG=1 jvm "$WORK/prime.log"
  wait_http "http://127.0.0.1:$PORT/readyz" 300 "$WORK/prime.log"
  workload_edge_gateway
  kill -TERM "$JPID"; wait "$JPID" 2>/dev/null || true; JPID=""
  kill "$BACKEND_PID" 2>/dev/null || true; BACKEND_PID=""
  log "primed after $((SECONDS - t0)) s"
fi
log "record run (port $PORT)"
t1=$SECONDS
JVM_BG=1 jvm "$WORK/record.log" -XX:AOTMode=record -XX:AOTConfiguration=/aot/app.aotconf
wait_http "http://127.0.0.1:$PORT/readyz" 300 "$WORK/record.log"
log "started after $((SECONDS - t1)) s; workload"
"workload_${IMG//-/_}"
kill -TERM "$JPID"
for _ in $(seq 1 600); do kill -0 "$JPID" 2>/dev/null || break; sleep 0.5; done
wait "$JPID" 2>/dev/null || true
JPID=""
[ -s "$WORK/aot/app.aotconf" ] || { log "no AOT configuration written:"; tail -20 "$WORK/record.log" >&2; exit 1; }
log "record run done after $((SECONDS - t0)) s; creating the cache"
jvm "$WORK/create.log" -XX:AOTMode=create -XX:AOTConfiguration=/aot/app.aotconf -XX:AOTCache=/aot/app.aot \
  || { log "cache creation failed:"; tail -20 "$WORK/create.log" >&2; exit 1; }
[ -s "$WORK/aot/app.aot" ] || { log "no cache written"; tail -20 "$WORK/create.log" >&2; exit 1; }
mkdir -p "$(dirname "$OUTPUT")"
cp "$WORK/aot/app.aot" "$OUTPUT"
log "cache $(du -h "$OUTPUT" | cut -f1) after $((SECONDS - t0)) s"
rm -rf "$ROOTFS" "$WORK/aot" "$WORK/data"   # the logs stay
