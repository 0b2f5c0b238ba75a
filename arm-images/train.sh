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

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PORT=$(free_port) PORT2=$(free_port) BACKEND_PORT=$(free_port)
case "$IMG" in
  edge-gateway) ENVS=(--env EDGEGATE_DATA_DIR=/var/lib/edgegate --env EDGEGATE_PORT="$PORT"
                      --env EDGEGATE_CONSUL_PORT="$PORT2" --env EDGEGATE_NODE=train --env EDGEGATE_HOST=127.0.0.1)
                VOL=/var/lib/edgegate ;;
  cloud-sync)   # with a local Mosquitto when there is one, so that the broker session is trained too
                MQTT_URL=${CLOUDSYNC_MQTT_URL:-tcp://127.0.0.1:1}
                if [ -z "${CLOUDSYNC_MQTT_URL:-}" ] && command -v mosquitto >/dev/null; then
                  MQTT_PORT=$(free_port)
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

wait_http() {  # wait_http URL SECONDS: until it answers 2xx
  local deadline=$((SECONDS + $2))
  until curl -sf -o /dev/null -m 5 "$1"; do
    kill -0 "$JPID" 2>/dev/null || { log "the JVM exited:"; tail -20 "$WORK/record.log" >&2; return 1; }
    [ $SECONDS -lt $deadline ] || { log "no answer from $1 in $2 s"; return 1; }
    sleep 0.5
  done
}

# The management token the service made on the volume at its first start (the priming run's, for
# the gateway's recorded run); TOKEN is sent by c(), from a pipe, never on curl's command line.
TOKEN=""
read_token() {
  local f="$WORK/data/management-token" deadline=$((SECONDS + 30))
  until [ -s "$f" ]; do
    [ $SECONDS -lt $deadline ] || { log "no management token at $f"; return 1; }
    sleep 0.2
  done
  TOKEN=$(tr -d '[:space:]' < "$f")
}

# one request of the workload, with the token; its status goes to codes.txt (summarised after each
# run), and a refusal (401, 403) also to denied.txt, which fails the run
c() {
  local code
  code=$(curl -s -m 60 -o /dev/null -w '%{http_code}' -H @<(printf 'X-Consul-Token: %s\n' "$TOKEN") "$@") || code=000
  echo "$code" >> "$WORK/codes.txt"
  case "$code" in 401|403) echo "$code $*" >> "$WORK/denied.txt" ;; esac
}
# one request without a token: the unauthenticated endpoints, the proxy's data path, refusals
c0() { curl -s -m 60 -o /dev/null -w '%{http_code}\n' "$@" >> "$WORK/codes.txt" || echo 000 >> "$WORK/codes.txt"; }
codes() {
  log "workload: $(sort "$WORK/codes.txt" | uniq -c | awk '{printf "%s x%s  ", $2, $1}')"
  : > "$WORK/codes.txt"
  if [ -s "$WORK/denied.txt" ]; then
    log "refused although the request carried the management token:"; cat "$WORK/denied.txt" >&2; exit 1
  fi
}

workload_edge_gateway() {
  local api="http://127.0.0.1:$PORT" consul="http://127.0.0.1:$PORT2" i
  python3 "$HERE/lib/backend.py" --port "$BACKEND_PORT" >/dev/null 2>&1 &
  BACKEND_PID=$!
  read_token
  # unauthenticated: health, the leader, and refusals of requests without a token (403)
  c0 "$api/livez"; c0 "$api/readyz"; c0 "$consul/v1/status/leader"; c0 "$consul/v1/status/peers"
  c0 "$api/v1/status"; c0 "$api/v1/services"; c0 -XPUT "$consul/v1/agent/check/pass/service:none"
  c0 -XPOST "$api/v1/instances" -H 'content-type: application/json' -d '{"service":"web","address":"127.0.0.1","port":1}'
  c0 -H 'X-Consul-Token: 00000000-0000-4000-8000-000000000000' "$api/v1/services"   # a token nobody issued
  c "$api/v1/acl/token/self"; c "$consul/v1/acl/token/self"
  c -XPOST "$api/v1/instances" -H 'content-type: application/json' -d "{\"service\":\"web\",\"address\":\"127.0.0.1\",\"port\":$BACKEND_PORT,\"tags\":[\"version:v1\"],\"meta\":{\"zone\":\"a\"}}"
  c -XPOST "$api/v1/instances" -H 'content-type: application/json' -d '{"service":"llm","id":"llm-1","address":"127.0.0.1","port":9,"meta":{"model":"m"},"check":{"ttl":"30s"}}'
  c -XPUT "$api/v1/instances/llm-1/heartbeat"
  local batch
  batch=$(python3 -c "import json; print(json.dumps([{'service':'svc-%d' % (i % 20),'id':'b-%d' % i,'address':'10.0.%d.%d' % (i // 250, i % 250),'port':8000,'tags':['t%d' % (i % 3)],'meta':{'k':'v'}} for i in range(500)]))")
  c -XPOST "$api/v1/instances/batch" -H 'content-type: application/json' -d "{\"instances\":$batch}"
  c -XPUT "$consul/v1/agent/service/register" -d '{"Name":"vision","ID":"vision-1","Address":"127.0.0.1","Port":7000,"Check":{"TTL":"15s"}}'
  c -XPUT "$consul/v1/agent/check/pass/service:vision-1"
  for i in 1 2 3; do
    c "$api/v1/status"; c "$api/v1/services"; c "$api/v1/services/web?health=passing&tag=version:v1"
    c "$api/v1/services/svc-3"; c "$api/v1/instances/llm-1"
    c "$consul/v1/health/service/vision?passing"; c "$consul/v1/catalog/services"; c "$consul/v1/agent/services"
    c "$api/v1/services/web?index=1&wait=1s"
  done
  c -XPUT "$api/v1/routes/web-root" -H 'content-type: application/json' -d '{"match":{"path-prefix":"/web"},"service":"web","strip-prefix":true}'
  c -XPUT "$api/v1/routes/web-private" -H 'content-type: application/json' -d '{"match":{"path-prefix":"/private"},"service":"web","strip-prefix":true,"policy":{"require-token":true}}'
  c "$api/v1/routes"
  c0 "$api/v1/openapi"
  # the proxy's data path needs no token (clients of /svc/ send none), but for a route that says so
  for i in $(seq 1 60); do
    c0 "$api/svc/web/index.json"
    c0 -XPOST "$api/svc/web/index.json" -H 'content-type: application/json' -d '{"x":1}'
    c0 "$api/web/index.json"
    c "$api/private/index.json"
  done
  c0 "$api/private/index.json"   # 403: the route requires a token
  c0 "$api/svc/missing/x"
  c -XPUT "$api/v1/instances/llm-1/maintenance?enable=true"
  c -XDELETE "$api/v1/instances/llm-1"
  c -XDELETE "$api/v1/routes/web-root"
  c -XDELETE "$api/v1/routes/web-private"
  codes
}

workload_cloud_sync() {
  local api="http://127.0.0.1:$PORT" p
  read_token
  for p in /livez /readyz /v1/sites; do c0 "$api$p"; done   # /v1/sites: 403 without a token
  for p in /v1/sites /v1/services /v1/stats /health /v1/acl/token/self; do c "$api$p"; done
  c "http://127.0.0.1:$PORT2/v1/catalog/services"
  codes
}

t0=$SECONDS
if [ "$IMG" = edge-gateway ]; then
  # A first run fills the journal, so that the recorded run starts by replaying it (the restart
  # path, with its JSON decoding, is what every real start-up does) and then re-registers in place.
  log "priming run: filling the journal"
  JVM_BG=1 jvm "$WORK/prime.log"
  wait_http "http://127.0.0.1:$PORT/readyz" 300
  workload_edge_gateway
  kill -TERM "$JPID"; wait "$JPID" 2>/dev/null || true; JPID=""
  kill "$BACKEND_PID" 2>/dev/null || true; BACKEND_PID=""
  log "primed after $((SECONDS - t0)) s"
fi
log "record run (port $PORT)"
t1=$SECONDS
JVM_BG=1 jvm "$WORK/record.log" -XX:AOTMode=record -XX:AOTConfiguration=/aot/app.aotconf
wait_http "http://127.0.0.1:$PORT/readyz" 300
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
