#!/usr/bin/env bash
# Smoke test of the arm64 edge-gateway image AS arm64, on any Linux host: unpacks the image
# tarball's layers into a root file system, runs the image's own entrypoint (with its env, user
# and working directory from the image config) under qemu-aarch64-static in a chroot with a
# read-only root and the data directory as a volume, registers an instance through the native API,
# proxies requests through /svc/{service}/... to a backend on loopback, reads it back through the
# Consul API, restarts the gateway and checks the registration survived (journal on the volume).
# Reports the time of each step. Slow under emulation (a minute or two): run it on its own.
#
# Access control is the image's default (deny): the gateway makes a management token on the
# volume at its first start (management-token, mode 0600, owned by the image's user); the test
# reads it from there (as root) and sends it as X-Consul-Token with every API request, checks that
# a request without it is refused (403) and that /readyz, /livez and the proxy's data path need
# none, and after the restart that the same token still works (it lives on the volume).
#
#   arm-images/smoke-arm64.sh [IMAGE.tar]      # default arm-images/target/edge-gateway-arm64.tar
#
# An amd64 tarball works too (run natively). Needs root, python3, curl, qemu-user-static.
# The image's AOT cache must be usable: the run adds -XX:AOTMode=on (JDK_JAVA_OPTIONS), so the JVM
# fails rather than silently starting without it. SMOKE_AOT=off runs without it, for comparison.
# SMOKE_NO_RESTART=1 skips the restart step.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TAR=${1:-$HERE/target/edge-gateway-arm64.tar}
WORK="$HERE/target/smoke-$(basename "$TAR" .tar)"
START_TIMEOUT=${SMOKE_START_TIMEOUT:-300}

T0=$(date +%s.%N)
now() { date +%s.%N; }
since() { python3 -c "print(f'{$(now) - $1:.2f}')"; }
log() { printf '%s [smoke] %s\n' "$(date +%T)" "$*" >&2; }
fail() { log "FAIL: $*"; [ -f "$WORK/gateway.log" ] && tail -30 "$WORK/gateway.log" >&2; exit 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

[ -f "$TAR" ] || fail "no image tarball $TAR (build it: arm-images/build.sh)"
[ "$(id -u)" = 0 ] || fail "needs root (chroot, mounts)"

# --- unpack ---
t=$(now)
rm -rf "$WORK" && mkdir -p "$WORK/data"
python3 "$HERE/lib/oci.py" unpack "$TAR" "$WORK/rootfs" >&2
CFG="$WORK/rootfs.config.json"
ARCH=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['architecture'])" "$CFG")
JAVA_ELF=$(readelf -h "$WORK/rootfs/opt/java/bin/java" | sed -n 's/.*Machine: *//p')
log "unpacked in $(since "$t") s: linux/$ARCH image, /opt/java/bin/java is $JAVA_ELF"
case "$ARCH" in
  arm64) [[ "$JAVA_ELF" == *AArch64* ]] || fail "arm64 image with a $JAVA_ELF java" ;;
  amd64) [[ "$JAVA_ELF" == *X86-64* ]] || fail "amd64 image with a $JAVA_ELF java" ;;
esac

# entrypoint, env, user, working directory, volumes: as the image says
mapfile -t ENTRY < <(python3 -c "import json,sys; c=json.load(open(sys.argv[1]))['config']; print('\n'.join((c.get('Entrypoint') or []) + (c.get('Cmd') or [])))" "$CFG")
mapfile -t ENVS < <(python3 -c "import json,sys; c=json.load(open(sys.argv[1]))['config']; print('\n'.join(c.get('Env') or []))" "$CFG")
USERSPEC=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['config'].get('User',''))" "$CFG")
WORKDIR=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['config'].get('WorkingDir','/') or '/')" "$CFG")
VOLUME=$(python3 -c "import json,sys; print(next(iter(json.load(open(sys.argv[1]))['config'].get('Volumes') or {'/var/lib/edgegate':0})))" "$CFG")
AOT_LABEL=$(python3 -c "import json,sys; print((json.load(open(sys.argv[1]))['config'].get('Labels') or {}).get('io.edgegate.aot-cache','none'))" "$CFG")
log "entrypoint: ${ENTRY[*]}"
log "user $USERSPEC, workdir $WORKDIR, volume $VOLUME, AOT cache: $AOT_LABEL"
[ "${USERSPEC%%:*}" != 0 ] && [ -n "$USERSPEC" ] || fail "the image runs as root"

PORT=$(free_port) CPORT=$(free_port) BPORT=$(free_port)
RUN_ENVS=()
for e in "${ENVS[@]}"; do RUN_ENVS+=(--env "$e"); done
RUN_ENVS+=(--env "EDGEGATE_PORT=$PORT" --env "EDGEGATE_CONSUL_PORT=$CPORT" --env "EDGEGATE_NODE=smoke-$ARCH")
if [ "${SMOKE_AOT:-on}" = off ]; then
  RUN_ENVS+=(--env "JDK_JAVA_OPTIONS=-XX:AOTMode=off")  # for comparison: the same image without its cache
  AOT_LABEL="$AOT_LABEL (disabled: SMOKE_AOT=off)"
elif [ "$AOT_LABEL" != none ]; then
  RUN_ENVS+=(--env "JDK_JAVA_OPTIONS=-XX:AOTMode=on")   # fail, not fall back, if the cache is unusable
fi
chmod 777 "$WORK/data"   # a fresh volume, as a runtime would give it (hostPath: see k3s/)

GW_PID="" BACKEND_PID=""
cleanup() {
  [ -z "$GW_PID" ] || kill -9 "$GW_PID" 2>/dev/null || true
  [ -z "$BACKEND_PID" ] || kill "$BACKEND_PID" 2>/dev/null || true
}
trap cleanup EXIT

python3 "$HERE/lib/backend.py" --port "$BPORT" --name "backend-$BPORT" >/dev/null 2>&1 &
BACKEND_PID=$!

start_gateway() {  # start_gateway LOG: starts the entrypoint; sets GW_PID and STARTED (seconds to first answer)
  local logf=$1 t
  t=$(now)
  ("$HERE/lib/rootfs-run.sh" --rootfs "$WORK/rootfs" --arch "$ARCH" --user "$USERSPEC" --workdir "$WORKDIR" \
    --volume "$WORK/data:$VOLUME" "${RUN_ENVS[@]}" -- "${ENTRY[@]}" > "$logf" 2>&1) &
  GW_PID=$!
  local deadline=$(( $(date +%s) + START_TIMEOUT ))
  until curl -sf -m 10 -o /dev/null "http://127.0.0.1:$PORT/readyz"; do
    kill -0 "$GW_PID" 2>/dev/null || fail "the gateway exited"
    [ "$(date +%s)" -lt "$deadline" ] || fail "no answer in $START_TIMEOUT s"
    sleep 0.2
  done
  STARTED=$(since "$t")
}

stop_gateway() {  # sets STOPPED (seconds from SIGTERM to exit)
  local t; t=$(now)
  kill -TERM "$GW_PID"
  wait "$GW_PID" 2>/dev/null || true
  GW_PID=""
  STOPPED=$(since "$t")
}

TOKEN=""
read_token() {  # the management token the gateway made on the volume at its first start
  local f="$WORK/data/management-token"
  [ -s "$f" ] || fail "no management token at $f"
  TOKEN=$(tr -d '[:space:]' < "$f")
  log "management token: $f ($(stat -c '%a, owner %u' "$f"))"
}

check() {  # check NAME EXPECTED-SUBSTRING curl-args...: runs one request with the token, times it
  local name=$1 want=$2; shift 2
  local t out; t=$(now)
  out=$(curl -sS -m 120 -H @<(printf 'X-Consul-Token: %s\n' "$TOKEN") "$@") || fail "$name: curl failed"
  [[ "$out" == *"$want"* ]] || fail "$name: expected '$want' in: $out"
  log "$(printf '%-34s %6s s  %s' "$name" "$(since "$t")" "${out:0:110}")"
}

check_code() {  # check_code NAME STATUS curl-args...: one request without a token, its status
  local name=$1 want=$2; shift 2
  local t code; t=$(now)
  code=$(curl -sS -m 120 -o "$WORK/answer" -w '%{http_code}' "$@") || fail "$name: curl failed"
  [ "$code" = "$want" ] || fail "$name: expected status $want, got $code: $(head -c 300 "$WORK/answer")"
  log "$(printf '%-34s %6s s  %s %s' "$name" "$(since "$t")" "$code" "$(head -c 100 "$WORK/answer")")"
}

API="http://127.0.0.1:$PORT"
CONSUL="http://127.0.0.1:$CPORT"
log "starting the $ARCH gateway$([ "$ARCH" = arm64 ] && [ "$(uname -m)" != aarch64 ] && echo ' under qemu-aarch64-static')"
start_gateway "$WORK/gateway.log"
FIRST=$STARTED
log "first request served after $FIRST s"
grep -m1 'since JVM startup' "$WORK/gateway.log" >&2 || true

read_token
check_code "readyz (no token)" 200 "$API/readyz"
check_code "status without a token: refused" 403 "$API/v1/status"
check_code "register without a token: refused" 403 -XPOST "$API/v1/instances" -H 'content-type: application/json' \
  -d "{\"service\":\"web\",\"id\":\"web-0\",\"address\":\"127.0.0.1\",\"port\":$BPORT}"
check "status" '"instances":0' "$API/v1/status"
check "register (native API)" '"index"' -XPOST "$API/v1/instances" -H 'content-type: application/json' \
  -d "{\"service\":\"web\",\"id\":\"web-1\",\"address\":\"127.0.0.1\",\"port\":$BPORT,\"tags\":[\"version:v1\"],\"check\":{\"ttl\":\"60s\"}}"
check "heartbeat (TTL passing)" '' -XPUT "$API/v1/instances/web-1/heartbeat"
check "read back (native API)" '"health":"passing"' "$API/v1/services/web?health=passing"
check "read back (Consul API)" '"web-1"' "$CONSUL/v1/health/service/web?passing"
check_code "proxy GET without a token" 200 "$API/svc/web/hello?x=0"
check "proxy GET /svc/web/hello" "\"path\": \"/hello?x=1\"" "$API/svc/web/hello?x=1"
check "proxy POST /svc/web/echo" '"bodyBytes": 11' -XPOST "$API/svc/web/echo" -H 'content-type: application/json' -d '{"model":1}'
check "proxy stream /svc/web/stream" 'data: {"token": 2}' -N "$API/svc/web/stream"
check "proxy 2nd GET (warm)" "backend-$BPORT" "$API/svc/web/again"

if [ "${SMOKE_NO_RESTART:-0}" != 1 ]; then
  stop_gateway
  log "stopped (SIGTERM) in $STOPPED s; starting again on the same volume"
  start_gateway "$WORK/gateway-2.log"
  SECOND=$STARTED
  log "first request served after $SECOND s (restart)"
  check "registration survived restart" '"web-1"' "$API/v1/services/web"
  check "the same token after restart" '"global-management"' "$API/v1/acl/token/self"
  check "proxy after restart" "backend-$BPORT" "$API/svc/web/after-restart"
fi
stop_gateway
log "stopped (SIGTERM) in $STOPPED s"
log "PASS: linux/$ARCH image $(basename "$TAR"), AOT cache $AOT_LABEL: start to first request ${FIRST} s$([ -n "${SECOND:-}" ] && echo ", restart ${SECOND} s"), whole smoke test $(since "$T0") s"
