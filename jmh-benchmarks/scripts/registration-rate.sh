#!/usr/bin/env bash
# Latency of durable registrations at fixed offered rates (open loop), the Edgegate gateway
# (POST /v1/instances, answered once fsync'd by group commit) against etcd (POST /v3/kv/put
# through its v3 JSON gateway, WAL fsync'd before the answer). The sibling of
# registration-load.sh: that one measures the saturated rate with wrk (closed loop), where p99 is
# queueing by construction; this one offers each server the same fixed rate and reports the
# latency distribution a client sending at that rate sees.
#
# What: for each rate in RATES, OpenLoop (io.edgegate.benchmarks.load, compiled here from source)
#   sends requests due at start + i / rate over CONNECTIONS keep-alive connections, whatever the
#   answers; each latency counts from the request's due time (no coordinated omission). Same body
#   as registration.lua: a pool of POOL instances over SERVICES services, each request a new
#   revision (a real journaled update). Also the CPU each server used per request.
# Access control stays on (default deny): the gateway's requests carry its management token
#   (OpenLoop --token-file, the file the gateway made in its data directory); etcd's carry none.
# Needs: JDK 21+ (JAVA_HOME), etcd (Debian etcd-server), curl, python3, the gateway jar
#   (mvn -pl edge-gateway -am -DskipTests package; the script builds nothing else).
# Knobs: RATES="2000 5000", DURATION=20, WARMUP=5 (seconds per rate), CONNECTIONS=64,
#   SERVICES=1000, POOL=10000, TARGETS="gateway etcd", JAVA_OPTS (gateway JVM), GATEWAY_JAR,
#   KEEP_DIR=1.
# Time bound: (WARMUP + DURATION + ~2) x rates x targets + ~10 s start-up: about 115 s with the
#   defaults; refused above 200 s. Each server runs alone (one after the other); everything the
#   script starts is stopped on exit (trap).
set -euo pipefail

RATES=${RATES:-2000 5000}
DURATION=${DURATION:-20}
WARMUP=${WARMUP:-5}
CONNECTIONS=${CONNECTIONS:-64}
SERVICES=${SERVICES:-1000}
POOL=${POOL:-10000}
TARGETS=${TARGETS:-gateway etcd}
export JAVA_HOME=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=load-lib.sh
source "$here/load-lib.sh"
GATEWAY_JAR=${GATEWAY_JAR:-$lib_root/edge-gateway/target/edge-gateway.jar}

[[ -f $GATEWAY_JAR ]] || fail "gateway jar not found: $GATEWAY_JAR (build: mvn -pl edge-gateway -am -DskipTests package)"
[[ -x $JAVA_HOME/bin/javac ]] || fail "no JDK in JAVA_HOME=$JAVA_HOME (JDK 21+ needed)"
for tool in etcd curl python3; do
    command -v "$tool" >/dev/null || fail "$tool not found (apt-get install -y etcd-server curl python3)"
done
read -r -a rates <<<"$RATES"
read -r -a targets <<<"$TARGETS"
budget=$(( (WARMUP + DURATION + 2) * ${#rates[@]} * ${#targets[@]} + 10 ))
(( budget <= 200 )) || fail "RATES x TARGETS x (WARMUP + DURATION) comes to ${budget} s; keep it within 200 s"

work=$(mktemp -d /tmp/edgegate-rate.XXXXXX)
lib_init
compile_tools
read -r gw_port gw_consul_port etcd_port etcd_peer_port < <(free_ports 4)
hz=$(clk_tck)
echo "registration-rate: rates ${RATES}/s, ${CONNECTIONS} connections, ${WARMUP}s warm-up + ${DURATION}s per rate," \
    "pool of $POOL instances over $SERVICES services; $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg);" \
    "work dir $work"

declare -A result cpu others
run_rates() { # target url mode pid [OpenLoop options...]
    local target=$1 url=$2 mode=$3 pid=$4 rate before after busy0 busy1
    shift 4
    for rate in "${rates[@]}"; do
        before=$(cpu_ticks "$pid")
        busy0=$(machine_busy_ticks)
        result[$target/$rate]=$(openloop --url "$url" --mode "$mode" --rate "$rate" --duration "$DURATION" \
            --warmup "$WARMUP" --connections "$CONNECTIONS" --pool "$POOL" --services "$SERVICES" \
            --tag "r$rate" --timeout 5 "$@")
        after=$(cpu_ticks "$pid")
        busy1=$(machine_busy_ticks)
        [[ -n ${result[$target/$rate]} ]] || fail "no result for $target at $rate/s (see $work/openloop.log)"
        # µs of server CPU per completed request, over warm-up and measured run together
        cpu[$target/$rate]=$(awk -v t=$((after - before)) -v hz="$hz" -v r="$rate" -v s=$((WARMUP + DURATION)) \
            'BEGIN { printf "%.0f", t / hz * 1e6 / (r * s) }')
        # cores the rest of the machine used meanwhile (the generator's window CPU scaled to warm-up + run)
        others[$target/$rate]=$(awk -v b=$((busy1 - busy0)) -v t=$((after - before)) -v hz="$hz" \
            -v g="$(field "${result[$target/$rate]}" gen_cpu_s)" -v w="$WARMUP" -v d="$DURATION" \
            'BEGIN { o = (b - t) / hz - g * (w + d) / d; printf "%.2f", (o < 0 ? 0 : o) / (w + d) }')
    done
}

for target in "${targets[@]}"; do
    case $target in
        gateway)
            start_gateway gateway "$gw_port" "$gw_consul_port" EDGEGATE_LIMITS_MAX_INSTANCES=$((POOL * 2))
            run_rates gateway "http://127.0.0.1:$gw_port" register "$gw_pid" --token-file "$gw_token_file"
            gw_stored=$(gw_curl -fsS "http://127.0.0.1:$gw_port/v1/status" \
                | python3 -c 'import json,sys; print(json.load(sys.stdin)["instances"])')
            stop "$gw_pid"
            gw_gc=$(gc_summary "$work/gateway/gc.log")
            ;;
        etcd)
            etcd --name load --data-dir "$work/etcd" \
                --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
                --listen-peer-urls "http://127.0.0.1:$etcd_peer_port" \
                --initial-advertise-peer-urls "http://127.0.0.1:$etcd_peer_port" \
                --initial-cluster "load=http://127.0.0.1:$etcd_peer_port" --initial-cluster-state new \
                --logger zap --log-level warn > "$work/etcd.log" 2>&1 &
            etcd_pid=$!
            spawn "$etcd_pid"
            await_url "http://127.0.0.1:$etcd_port/health" 30 "$etcd_pid" \
                || { tail -20 "$work/etcd.log" >&2; fail "etcd did not start"; }
            run_rates etcd "http://127.0.0.1:$etcd_port" etcd-put "$etcd_pid"
            stop "$etcd_pid"
            ;;
        *) fail "unknown target: $target (gateway, etcd)" ;;
    esac
done

echo
printf "%-8s %8s %9s %8s %8s %8s %9s %9s %8s %7s %10s %9s %8s %6s\n" target "rate/s" "done/s" "p50 ms" "p90 ms" \
    "p99 ms" "p99.9 ms" "max ms" "non-2xx" errors incomplete "lag99 ms" "cpu µs" others
for rate in "${rates[@]}"; do
    for target in "${targets[@]}"; do
        r=${result[$target/$rate]}
        awk -v n="$target" -v rate="$rate" -v rps="$(field "$r" rps)" -v p50="$(field "$r" p50_us)" \
            -v p90="$(field "$r" p90_us)" -v p99="$(field "$r" p99_us)" -v p999="$(field "$r" p999_us)" \
            -v max="$(field "$r" max_us)" -v bad="$(field "$r" non2xx)" \
            -v err="$(( $(field "$r" errors) + $(field "$r" timeouts) ))" -v inc="$(field "$r" incomplete)" \
            -v lag="$(field "$r" send_lag_p99_us)" -v cpu="${cpu[$target/$rate]}" -v oth="${others[$target/$rate]}" \
            'BEGIN { printf "%-8s %8d %9.0f %8.2f %8.2f %8.2f %9.2f %9.1f %8d %7d %10d %9.2f %8d %6.2f\n",
                     n, rate, rps, p50 / 1000, p90 / 1000, p99 / 1000, p999 / 1000, max / 1000, bad, err, inc,
                     lag / 1000, cpu, oth }'
    done
done
echo
for rate in "${rates[@]}"; do
    if [[ -n ${result[gateway/$rate]:-} && -n ${result[etcd/$rate]:-} ]]; then
        awk -v rate="$rate" -v g="$(field "${result[gateway/$rate]}" p99_us)" \
            -v e="$(field "${result[etcd/$rate]}" p99_us)" -v g50="$(field "${result[gateway/$rate]}" p50_us)" \
            -v e50="$(field "${result[etcd/$rate]}" p50_us)" \
            'BEGIN { printf "at %d/s: p50 gateway/etcd %.2f, p99 gateway/etcd %.2f; gateway p99 %.2f ms (target <= 5 ms: %s)\n",
                     rate, (e50 > 0 ? g50 / e50 : 0), (e > 0 ? g / e : 0), g / 1000, (g <= 5000 ? "met" : "MISSED") }'
    fi
done
[[ -n ${gw_gc:-} ]] && echo "gateway JVM GC (all rates): $gw_gc; instances stored: $gw_stored (pool $POOL)"
echo "(OpenLoop: latency from each request's due time; lag99 = p99 of how late the generator sent (a parked sender,"
echo " or no idle connection because the server was slow); cpu µs = server CPU per offered request over warm-up and"
echo " run; others = cores the rest of the machine (other users) used meanwhile, of $(nproc); incomplete = unanswered"
echo " at the end, counted in the percentiles with their wait so far)"
