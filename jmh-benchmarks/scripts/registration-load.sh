#!/usr/bin/env bash
# Load run of single durable registrations over HTTP: the Edgegate gateway (POST /v1/instances,
# answered once fsync'd by group commit) against etcd (POST /v3/kv/put through its v3 JSON
# gateway; etcd fsyncs its WAL before answering). Same load tool (wrk + registration.lua), same
# connections, same duration, same JSON registration: a pool of POOL instances, each request a new
# revision of one of them (a real change, journaled and fsync'd).
#
# Latencies are wrk's: per request, closed loop, then corrected by wrk for coordinated omission
# (a stall of T adds the samples that requests issued at the observed rate would have seen), so a
# single long stall (GC pause, journal compaction, slow fsync) weighs on p90/p99 as users see it.
#
# Builds nothing: build the gateway first (mvn -pl edge-gateway -am -DskipTests package).
# Needs wrk, etcd (Debian: apt-get install -y wrk etcd-server), curl, python3.
# Starts both servers on free loopback ports with fresh data directories under one temporary
# directory, one after the other (so each has the machine to itself), and stops everything it
# started on exit. Whole run about 75 s with the defaults (bounded well under 3 minutes).
#
# Ceiling (CEILING=1, the default; 0 skips it): after the registrations, the same gateway answers
# GET /v1/status/leader (Consul port, a constant answer) under the same wrk settings for DURATION:
# the most requests/s this machine's HTTP stack and wrk reach, journal and JSON aside.
#
# Access control stays on (default deny): the gateway's registrations and reads carry its
# management token (read from its data directory after the start, load-lib.sh's gateway_token;
# registration.lua sends it as X-Consul-Token), which etcd's requests do not.
#
# Knobs (environment): DURATION=20 WARMUP=5 (seconds), CONNECTIONS=128, THREADS=2, CEILING=1,
#   SERVICES=1000 (services the instances are spread over), POOL=10000 (distinct instances; each
#   request updates one of them with a new revision), MAX_INSTANCES=100000, JAVA_HOME, JAVA_OPTS,
#   GATEWAY_JAR, KEEP_DIR=1 to keep the data directories and logs.
set -euo pipefail

DURATION=${DURATION:-20}
WARMUP=${WARMUP:-5}
CONNECTIONS=${CONNECTIONS:-128}
THREADS=${THREADS:-2}
SERVICES=${SERVICES:-1000}
POOL=${POOL:-10000}
MAX_INSTANCES=${MAX_INSTANCES:-100000}
JAVA_HOME=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}
JAVA_OPTS=${JAVA_OPTS:-}

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=load-lib.sh
source "$here/load-lib.sh"
GATEWAY_JAR=${GATEWAY_JAR:-$lib_root/edge-gateway/target/edge-gateway.jar}
LUA=$here/registration.lua

[[ -f $GATEWAY_JAR ]] || fail "gateway jar not found: $GATEWAY_JAR (build: mvn -pl edge-gateway -am -DskipTests package)"
[[ -x $JAVA_HOME/bin/java ]] || fail "no java in JAVA_HOME=$JAVA_HOME (JDK 21+ needed)"
for tool in wrk etcd curl python3 base64; do
    command -v "$tool" >/dev/null || fail "$tool not found (apt-get install -y wrk etcd-server curl python3)"
done
(( 2 * (DURATION + WARMUP) + DURATION <= 150 )) \
    || fail "2 x (DURATION + WARMUP) + DURATION must stay within 150 s to keep the run under 3 minutes"

work=$(mktemp -d /tmp/edgegate-load.XXXXXX)
lib_init
read -r gw_port gw_consul_port etcd_port etcd_peer_port < <(free_ports 4)

# Runs wrk with the registration script; prints its RESULT line's fields.
load() {
    local target=$1 url=$2 run=$3 seconds=$4
    REG_TARGET=$target REG_RUN=$run REG_SERVICES=$SERVICES REG_POOL=$POOL \
        timeout $((seconds + 20)) wrk -t "$THREADS" -c "$CONNECTIONS" -d "${seconds}s" --timeout 5s \
        -s "$LUA" "$url" > "$work/wrk-$target-$run.txt" 2>&1 || true
    grep '^RESULT' "$work/wrk-$target-$run.txt" | sed 's/^RESULT //' \
        || { cat "$work/wrk-$target-$run.txt" >&2; fail "wrk gave no result for $target ($run)"; }
}

echo "registration-load: $CONNECTIONS connections, $THREADS wrk threads, ${WARMUP}s warm-up + ${DURATION}s measured," \
    "a pool of $POOL instances over $SERVICES services, each request a new revision; $(nproc) cores;" \
    "load average $(cut -d" " -f1-3 /proc/loadavg); work dir $work"

# ---------------------------------------------------------------- gateway
# Waits for /readyz, then reads the management token (GATEWAY_TOKEN, which wrk inherits).
start_gateway gateway "$gw_port" "$gw_consul_port" EDGEGATE_LIMITS_MAX_INSTANCES="$MAX_INSTANCES"
gw=http://127.0.0.1:$gw_port
gw_curl -fsS -o /dev/null -H 'Content-Type: application/json' "$gw/v1/instances" \
    -d '{"service":"probe","id":"probe-1","address":"10.0.0.1","port":8080}' || fail "gateway refused a registration"

load gateway "$gw" warmup "$WARMUP" > /dev/null
gw_result=$(load gateway "$gw" measured "$DURATION")
gw_stored=$(gw_curl -fsS "$gw/v1/status" | python3 -c 'import json,sys; print(json.load(sys.stdin)["instances"])')
# The HTTP stack's ceiling on this machine, same gateway, same wrk settings: GET /v1/status/leader on
# the Consul port, a constant answer (heartbeat.lua's leader mode). No journal, no JSON parsing.
ceiling_result=
if [[ ${CEILING:-1} == 1 ]]; then
    HB_MODE=leader timeout $((DURATION + 20)) wrk -t "$THREADS" -c "$CONNECTIONS" -d "${DURATION}s" --timeout 5s \
        -s "$here/heartbeat.lua" "http://127.0.0.1:$gw_consul_port" > "$work/wrk-ceiling.txt" 2>&1 || true
    ceiling_result=$(sed -n 's/^RESULT //p' "$work/wrk-ceiling.txt")
fi
stop "$gw_pid"
# What the gateway's JVM and journal did during warm-up + measured run (explains its tail latency).
gw_gc=$(gc_summary "$work/gateway/gc.log")
gw_journal=$(du -k "$gw_data" | tail -1 | awk '{ printf "%.0f MB", $1 / 1024 }')
[[ -f $gw_data/journal.snapshot ]] && gw_journal+=", compacted at least once (snapshot written in the background)"

# ---------------------------------------------------------------- etcd
etcd --name load --data-dir "$work/etcd" \
    --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
    --listen-peer-urls "http://127.0.0.1:$etcd_peer_port" --initial-advertise-peer-urls "http://127.0.0.1:$etcd_peer_port" \
    --initial-cluster "load=http://127.0.0.1:$etcd_peer_port" --initial-cluster-state new \
    --logger zap --log-level warn > "$work/etcd.log" 2>&1 &
etcd_pid=$!
spawn "$etcd_pid"
ec=http://127.0.0.1:$etcd_port
await_url "$ec/health" 30 "$etcd_pid" || { tail -20 "$work/etcd.log" >&2; fail "etcd did not start"; }
curl -fsS -o /dev/null "$ec/v3/kv/put" -d '{"key":"cHJvYmU=","value":"MQ=="}' || fail "etcd refused a put"

load etcd "$ec" warmup "$WARMUP" > /dev/null
etcd_result=$(load etcd "$ec" measured "$DURATION")
# Keys stored under the prefix, counted by etcd itself (range /edgegate/instances/ .. /edgegate/instances0).
etcd_stored=$(curl -fsS "$ec/v3/kv/range" \
    -d "{\"key\":\"$(printf /edgegate/instances/ | base64)\",\"range_end\":\"$(printf /edgegate/instances0 | base64)\",\"count_only\":true}" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin).get("count", 0))')
stop "$etcd_pid"

# ---------------------------------------------------------------- report
row() {
    local name=$1 r=$2 stored=$3
    awk -v n="$name" -v rps="$(field "$r" rps)" -v p50="$(field "$r" p50_us)" -v p90="$(field "$r" p90_us)" \
        -v p99="$(field "$r" p99_us)" -v max="$(field "$r" max_us)" -v bad="$(field "$r" non2xx)" \
        -v sock="$(field "$r" socket_errors)" -v req="$(field "$r" requests)" -v st="$stored" \
        'BEGIN { printf "%-8s %12.0f %9.2f %9.2f %9.2f %9.1f %10d %8d %8d %12d\n",
                 n, rps, p50 / 1000, p90 / 1000, p99 / 1000, max / 1000, req, bad, sock, st }'
}
echo
printf "%-8s %12s %9s %9s %9s %9s %10s %8s %8s %12s\n" target "requests/s" "p50 ms" "p90 ms" "p99 ms" "max ms" \
    requests non-2xx sock-err "stored total"
row gateway "$gw_result" "$gw_stored"
row etcd "$etcd_result" "$etcd_stored"
[[ -n $ceiling_result ]] && row "gw read" "$ceiling_result" 0
awk -v g="$(field "$gw_result" rps)" -v e="$(field "$etcd_result" rps)" -v p99="$(field "$gw_result" p99_us)" \
    -v gbad="$(field "$gw_result" non2xx)" -v ebad="$(field "$etcd_result" non2xx)" \
    'BEGIN {
        ratio = e > 0 ? g / e : 0
        printf "\nratio gateway/etcd requests/s: %.2fx (target >= 8x: %s); gateway p99 %.2f ms (target <= 5 ms: %s)\n",
            ratio, (ratio >= 8 ? "met" : "MISSED"), p99 / 1000, (p99 <= 5000 ? "met" : "MISSED")
        if (gbad + ebad > 0) printf "warning: non-2xx answers (gateway %d, etcd %d): rates include refusals\n", gbad, ebad
    }'
[[ -n $ceiling_result ]] && awk -v g="$(field "$gw_result" rps)" -v c="$(field "$ceiling_result" rps)" \
    -v e="$(field "$etcd_result" rps)" \
    'BEGIN { printf "ceiling (gw read = GET /v1/status/leader on the same gateway and wrk settings): %.0f/s = %.2fx etcd;" \
             " registrations reach %.2f of it\n", c, (e > 0 ? c / e : 0), (c > 0 ? g / c : 0) }'
echo "gateway JVM GC (warm-up + measured): $gw_gc; journal: $gw_journal"
echo "(latencies: wrk, closed loop, corrected for coordinated omission; stored total counts warm-up and measured"
echo " registrations, plus the gateway's probe; requests counts only completed measured ones)"
