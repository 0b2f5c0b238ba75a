#!/usr/bin/env bash
# Registrations into one large service over HTTP: does a registration cost the same whatever the
# size of its service? Three measurements, each on a fresh gateway (fresh data directory), the
# gateway's management token sent with every request (read from <data-dir>/management-token):
#
#   rates   closed loop, CONNECTIONS connections, each registering a new instance (unique id) as
#           soon as the previous answer came: into an empty service ("empty"), and into a service
#           that already holds FILL instances ("full", filled first with POST /v1/instances/batch,
#           whose time is the batch figure). The gateway's CPU (/proc) for the fill and per
#           registration is printed too: on a shared machine the rate follows the CPU left over. Rounds interleave empty and full (and the baseline
#           jar when BASELINE_JAR is set), so that both see the same machine.
#   batch   the batch figure alone, ROUNDS times per jar: a fresh gateway fills FILL instances of one
#           service with POST /v1/instances/batch (fresh: the JVM compiles the path as it goes),
#           then FILL instances of a second service on the same gateway (warm: the path compiled,
#           the registry already holding FILL instances), each timed, with the gateway's CPU.
#   heap    (not in the default PHASES) the whole gateway's live heap per registered instance: the
#           heap after two full collections (jcmd GC.run, then the class histogram's total) of a
#           fresh gateway, empty and after the batch fill of FILL instances without checks;
#           HEAP_CLASSES=n also prints the n classes with the most bytes in the full gateway's heap.
#   seed    the bulk scenario: FILL instances of one service (every other one with a TTL check of
#           300 s), each heartbeating (with a TTL check) or re-registering unchanged (without)
#           every FILL / STEADY_RATE seconds (30 s with the defaults), open loop; after a pass
#           over all of them (the first heartbeat of each TTL check is a journaled status change),
#           SEED_DURATION seconds at STEADY_RATE with a burst of BURST new instances at BURST_RATE
#           from second 5: latency percentiles of the steady requests, the burst and both.
#
# Needs: JDK 21+ (JAVA_HOME), curl, python3, the gateway jar (mvn -pl edge-gateway -am
#   -DskipTests package); compiles only its load tool (RegistryScale, JDK only) with javac.
# Knobs: ROUNDS=2, FILL=100000, CONNECTIONS=64, WARMUP=3, DURATION=10 (closed loop, seconds),
#   STEADY_RATE=3333, BURST=10000, BURST_RATE=5000, SEED_DURATION=20, PHASES="rates batch seed",
#   BURST_CONNECTIONS=0 (seed: connections of the burst's own; 0 shares the CONNECTIONS),
#   SEED_TTL=300s (seed: the TTL of every other instance's check; none: no checks, the steady
#   heartbeats are then refused and only the re-registrations write),
#   GATEWAY_JAR, BASELINE_JAR (another build to compare in the same run, e.g. the previous
#   commit's), JAVA_OPTS (gateway JVM), BASELINE_JAVA_OPTS (the baseline's JVM, JAVA_OPTS when
#   unset: with BASELINE_JAR set to GATEWAY_JAR, two sets of options, collectors say, in one run),
#   SEED_ROUNDS=1 (seed: rounds, each the floor then every jar), SEED_PRIME=0 (seed: new instances
#   registered one by one during the pass, so that the window's burst is not the gateway's first
#   journaled single registrations), SEED_SLOW_MS (seed: also print
#   when the requests slower than this were due, per 250 ms of the window), GATEWAY_AOT (an AOT
#   cache of GATEWAY_JAR, given to its JVM only, as ./edgegate run gives the one it trains: edge-gateway/target/edge-gateway.aot, trained
#   with JAVA_OPTS="--sun-misc-unsafe-memory-access=allow"; the cache needs the jar at the path it
#   was trained with), BASELINE_AOT (the same for the baseline's JVM), KEEP_DIR=1,
#   FILL_CONNECTIONS=1 (rates: connections the batch fill sends its 1 000-instance requests on, in order, each the next when free), SEED_FLOOR=1 (seed: nginx's constant answer
#   to the same schedule first, the floor), HALT_POLL_NS (root, a guest with the haltpoll cpuidle
#   driver: guest_halt_poll_ns for the run, restored on exit; an idle vCPU of such a VM that halts
#   at once wakes late, which every latency percentile measured on it carries).
# Time bound: about 50 s per round and jar for rates, 60 s per jar for seed: 4-5 min with the
#   defaults and a baseline; refused above 10 min. Everything it starts is stopped on exit (trap).
set -euo pipefail

ROUNDS=${ROUNDS:-2}
FILL=${FILL:-100000}
CONNECTIONS=${CONNECTIONS:-64}
WARMUP=${WARMUP:-3}
DURATION=${DURATION:-10}
STEADY_RATE=${STEADY_RATE:-3333}
BURST=${BURST:-10000}
BURST_RATE=${BURST_RATE:-5000}
SEED_DURATION=${SEED_DURATION:-20}
PHASES=${PHASES:-rates batch seed}
export JAVA_HOME=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
GATEWAY_JAR=${GATEWAY_JAR:-$root/edge-gateway/target/edge-gateway.jar}
BASELINE_JAR=${BASELINE_JAR:-}

# fail, stop, free_ports, start_nginx_backend, await_url, gc_summary; this script keeps its own exit trap
# (cleanup below), so it does not call lib_init.
# shellcheck source=load-lib.sh
source "$here/load-lib.sh"
[[ -f $GATEWAY_JAR ]] || fail "gateway jar not found: $GATEWAY_JAR (build: mvn -pl edge-gateway -am -DskipTests package)"
[[ -z $BASELINE_JAR || -f $BASELINE_JAR ]] || fail "baseline jar not found: $BASELINE_JAR"
[[ -x $JAVA_HOME/bin/javac ]] || fail "no JDK in JAVA_HOME=$JAVA_HOME (JDK 21+ needed)"
for tool in curl python3; do
    command -v "$tool" >/dev/null || fail "$tool not found"
done
jars=(new)
[[ -n $BASELINE_JAR ]] && jars=(base new)
phase_on() { [[ " $PHASES " == *" $1 "* ]]; }
budget=0
phase_on rates && budget=$(( budget + ROUNDS * ${#jars[@]} * 2 * (WARMUP + DURATION + 12) ))
phase_on batch && budget=$(( budget + ROUNDS * ${#jars[@]} * (FILL / 10000 + 15) ))
phase_on heap && budget=$(( budget + ${#jars[@]} * (FILL / 10000 + 20) ))
phase_on seed && budget=$(( budget + ${SEED_ROUNDS:-1} * (${#jars[@]} * (SEED_DURATION + FILL / 10000 + 30) + SEED_DURATION + 10) ))
(( budget <= 600 )) || fail "the settings come to about ${budget} s; keep them within 600 s"

work=$(mktemp -d /tmp/edgegate-scale.XXXXXX)
pids=()
halt_poll=/sys/module/haltpoll/parameters/guest_halt_poll_ns
halt_poll_before=
cleanup() {
    local pid
    for pid in "${pids[@]}"; do
        stop "$pid"
    done
    if [[ -n $halt_poll_before ]]; then echo "$halt_poll_before" > "$halt_poll"; fi
    if [[ ${KEEP_DIR:-0} == 1 ]]; then echo "kept: $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM


if [[ -n ${HALT_POLL_NS:-} ]]; then
    [[ -w $halt_poll ]] || fail "HALT_POLL_NS: $halt_poll is not writable (not root, or no haltpoll cpuidle driver)"
    halt_poll_before=$(cat "$halt_poll")
    echo "$HALT_POLL_NS" > "$halt_poll"
fi

mkdir -p "$work/tools"
"$JAVA_HOME/bin/javac" -nowarn -d "$work/tools" "$root/jmh-benchmarks/src/main/java/io/edgegate/benchmarks/load/RegistryScale.java" \
    || fail "cannot compile RegistryScale"

# start_gateway NAME WHICH: a fresh gateway of the base or new jar, with its JVM options; sets
# gw_pid, gw_url, gw_token (the management token's file).
start_gateway() {
    local name=$1 jar opts port consul
    jar=$(jar_of "$2")
    opts=${JAVA_OPTS:-}
    [[ $2 == base ]] && opts=${BASELINE_JAVA_OPTS-${JAVA_OPTS:-}}
    read -r port consul <<<"$(free_ports 2)"
    mkdir -p "$work/$name"
    local aot=()
    [[ -n ${GATEWAY_AOT:-} && $2 == new ]] && aot=("-XX:AOTCache=$GATEWAY_AOT")
    [[ -n ${BASELINE_AOT:-} && $2 == base ]] && aot=("-XX:AOTCache=$BASELINE_AOT")
    # shellcheck disable=SC2086
    env EDGEGATE_HOST=127.0.0.1 EDGEGATE_PORT="$port" EDGEGATE_CONSUL_PORT="$consul" \
        EDGEGATE_DATA_DIR="$work/$name/data" EDGEGATE_LIMITS_MAX_INSTANCES=$(( 4 * FILL + 1000000 )) \
        "$JAVA_HOME/bin/java" -Xlog:gc,gc+phases:file="$work/$name/gc.log" $opts "${aot[@]}" -jar "$jar" \
        > "$work/$name/gateway.log" 2>&1 &
    gw_pid=$!
    pids+=("$gw_pid")
    gw_url="http://127.0.0.1:$port"
    gw_token="$work/$name/data/management-token"
    local deadline=$((SECONDS + 60))
    until [[ -s $gw_token ]] && curl -fsS -o /dev/null --max-time 1 "$gw_url/readyz" 2>/dev/null; do
        kill -0 "$gw_pid" 2>/dev/null || { tail -20 "$work/$name/gateway.log" >&2; fail "gateway $name died"; }
        (( SECONDS < deadline )) || { tail -20 "$work/$name/gateway.log" >&2; fail "gateway $name did not start"; }
        sleep 0.2
    done
}

scale() {
    "$JAVA_HOME/bin/java" -XX:+UseSerialGC -Xms1g -Xmx1g -XX:+AlwaysPreTouch -cp "$work/tools" io.edgegate.benchmarks.load.RegistryScale \
        --url "$gw_url" --token-file "$gw_token" "$@" | tee -a "$work/scale.log" | sed -n 's/^RESULT //p'
}
field() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p"; }
instances() { curl -fsS -H "X-Consul-Token: $(cat "$gw_token")" "$gw_url/v1/status" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["instances"])'; }
jar_of() { if [[ $1 == base ]]; then echo "$BASELINE_JAR"; else echo "$GATEWAY_JAR"; fi; }
# Gateway CPU (user + system) in clock ticks: registrations/s on a loaded shared machine follow the
# CPU the gateway gets, its CPU per registration does not.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
# The JIT compiler threads' share of it: a fresh gateway compiles its hot paths during the fill.
jit_ticks() { cat /proc/"$1"/task/*/stat 2>/dev/null | awk '/\(C[12] CompilerThre/ { t += $(NF - 38) + $(NF - 37) } END { print t + 0 }'; }
hz=$(getconf CLK_TCK)
# timed_fill SERVICE: fills FILL instances of SERVICE on the gateway gw_pid in batches; sets f (the
# load tool's result line) and fill_cpu (the gateway's CPU seconds for it, "(jit ...)" of it).
timed_fill() {
    local t0 j0
    t0=$(cpu_ticks "$gw_pid")
    j0=$(jit_ticks "$gw_pid")
    f=$(scale --mode fill --service "$1" --count "$FILL" --connections "${FILL_CONNECTIONS:-1}" --timeline 1)
    fill_cpu=$(awk -v t=$(( $(cpu_ticks "$gw_pid") - t0 )) -v j=$(( $(jit_ticks "$gw_pid") - j0 )) -v hz="$hz" \
        'BEGIN { printf "%.2f(jit %.2f)", t / hz, j / hz }')
}

echo "registration-scale: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg);${GATEWAY_AOT:+ AOT cache of the new jar $GATEWAY_AOT;}" \
    "guest_halt_poll_ns $(cat "$halt_poll" 2>/dev/null || echo -); fill $FILL," \
    "closed loop $CONNECTIONS connections ${WARMUP}+${DURATION} s; jars: ${jars[*]}; work dir $work"

if phase_on rates; then
    printf "\n%-6s %-4s %-6s %10s %16s %10s %8s %8s %8s %9s %9s %7s %8s  %s\n" round jar into "fill s" "fill cpu s" "reg/s" \
        "p50 ms" "p99 ms" "max ms" "before" "after" non2xx "cpu us" "gc"
    for round in $(seq "$ROUNDS"); do
        for jar in "${jars[@]}"; do
            for into in empty full; do
                name="r$round-$jar-$into"
                start_gateway "$name" "$jar"
                fill_s="-"
                fill_cpu="-"
                service=grow
                if [[ $into == full ]]; then
                    service=big
                    timed_fill big
                    fill_s=$(field "$f" seconds)
                fi
                before=$(instances)
                t0=$(cpu_ticks "$gw_pid")
                r=$(scale --mode closed --service "$service" --prefix c --connections "$CONNECTIONS" \
                    --warmup "$WARMUP" --duration "$DURATION")
                t1=$(cpu_ticks "$gw_pid")
                after=$(instances)
                stop "$gw_pid"
                # Gateway CPU per registration over warm-up and measured run (after - before of them).
                cpu_us=$(awk -v t=$(( t1 - t0 )) -v hz="$hz" -v n=$(( after - before )) \
                    'BEGIN { if (n > 0) printf "%.0f", t / hz * 1e6 / n; else print "-" }')
                printf "%-6s %-4s %-6s %10s %16s %10s %8.2f %8.2f %8.1f %9s %9s %7s %8s  %s\n" "$round" "$jar" "$into" "$fill_s" \
                    "$fill_cpu" "$(field "$r" rps)" "$(awk -v v="$(field "$r" p50)" 'BEGIN{print v/1000}')" \
                    "$(awk -v v="$(field "$r" p99)" 'BEGIN{print v/1000}')" \
                    "$(awk -v v="$(field "$r" max)" 'BEGIN{print v/1000}')" "$before" "$after" \
                    "$(( $(field "$r" non2xx) + $(field "$r" errors) ))" "$cpu_us" "$(gc_summary "$work/$name/gc.log")"
                echo "$round $jar $into $(field "$r" rps) $cpu_us" >> "$work/rates"
            done
        done
    done
    echo
    for jar in "${jars[@]}"; do
        awk -v jar="$jar" '$2 == jar { r[$1 " " $3] = $4; c[$1 " " $3] = $5; rounds[$1] = 1 }
            END { for (k in rounds) { if (r[k " empty"] > 0 && c[k " full"] > 0) printf "%s round %s: full / empty = %.2f, cpu per registration full / empty = %.2f\n", jar, k, r[k " full"] / r[k " empty"], c[k " full"] / c[k " empty"] } }' \
            "$work/rates" | sort
    done
fi

if phase_on heap; then
    # live: the class histogram's total after two full collections (the second frees what the
    # first's reference processing let go)
    live() { "$JAVA_HOME/bin/jcmd" "$gw_pid" GC.run > /dev/null; sleep 1; "$JAVA_HOME/bin/jcmd" "$gw_pid" GC.run > /dev/null
        "$JAVA_HOME/bin/jcmd" "$gw_pid" GC.class_histogram | awk '/^Total/ { print $3 }'; }
    printf "\n%-4s %14s %14s %16s\n" jar "empty bytes" "full bytes" "bytes/instance"
    for jar in "${jars[@]}"; do
        start_gateway "heap-$jar" "$jar"
        empty=$(live)
        f=$(scale --mode fill --service big --count "$FILL")
        (( $(field "$f" non2xx) + $(field "$f" errors) == 0 )) || fail "heap: fill: $f"
        full=$(live)
        [[ -z ${HEAP_CLASSES:-} ]] || "$JAVA_HOME/bin/jcmd" "$gw_pid" GC.class_histogram | sed -n "2,$(( HEAP_CLASSES + 3 ))p"
        stop "$gw_pid"
        printf "%-4s %14s %14s %16s\n" "$jar" "$empty" "$full" "$(( (full - empty) / FILL ))"
    done
fi

if phase_on batch; then
    printf "\n%-6s %-4s %10s %16s %10s %16s  %s\n" round jar "fresh s" "fresh cpu s" "warm s" "warm cpu s" gc
    for round in $(seq "$ROUNDS"); do
        for jar in "${jars[@]}"; do
            name="b$round-$jar"
            start_gateway "$name" "$jar"
            cols=()
            for service in big big2; do
                timed_fill "$service"
                cols+=("$(field "$f" seconds)" "$fill_cpu")
                (( $(field "$f" non2xx) + $(field "$f" errors) == 0 )) || fail "batch fill of $service: $f"
            done
            stop "$gw_pid"
            printf "%-6s %-4s %10s %16s %10s %16s  %s\n" "$round" "$jar" "${cols[@]}" "$(gc_summary "$work/$name/gc.log")"
        done
    done
    echo "fills in the order above (fresh, warm per row): ms from the first batch sent to the answer of each tenth of the batches"
    sed -n 's/^FILL_TIMELINE ms at each tenth of the batches: /  /p' "$work/scale.log" | tail -n $(( ROUNDS * ${#jars[@]} * 2 ))
fi

# start_floor: nginx answering every request with 200 '{}' at once, the seed's baseline: the same
# schedule through the same load tool on the same machine, with nothing behind it. It shows the
# floor every target's latencies stand on (the load tool, the loopback, the machine's scheduling
# and timer wake-ups). Sets gw_pid, gw_url, gw_token like start_gateway.
start_floor() {
    local port
    port=$(free_ports 1)
    start_nginx_backend "$work/floor" "$port" '{}'
    gw_pid=${lib_pids[-1]}
    pids+=("$gw_pid")
    gw_url="http://127.0.0.1:$port"
    gw_token="$work/floor/token"
    echo floor > "$gw_token"
    await_url "$gw_url/" 10 "$gw_pid" || fail "nginx (the floor) did not start"
}

if phase_on seed; then
    seed_targets=("${jars[@]}")
    if [[ ${SEED_FLOOR:-1} == 1 ]]; then
        command -v nginx >/dev/null || fail "nginx not found (the seed's floor; SEED_FLOOR=0 skips it)"
        seed_targets=(floor "${jars[@]}")
    fi
    printf "\n%-6s %-7s %9s %8s %8s %8s %9s %9s %7s  %s\n" jar class "req/s" "p50 ms" "p90 ms" "p99 ms" "p99.9 ms" \
        "max ms" non2xx "instances after; gc; gateway's RSS at the end (peak)"
    for round in $(seq "${SEED_ROUNDS:-1}"); do
        for jar in "${seed_targets[@]}"; do
            name="seed$round-$jar"
            label=$jar
            (( ${SEED_ROUNDS:-1} == 1 )) || label="$round/$jar"
            if [[ $jar == floor ]]; then
                start_floor
            else
                start_gateway "$name" "$jar"
                ttl=()
                [[ ${SEED_TTL:-300s} == none ]] || ttl=(--ttl "${SEED_TTL:-300s}")
                scale --mode fill --service big --count "$FILL" "${ttl[@]}" > /dev/null
                # One pass over every instance: each TTL check's first heartbeat (critical -> passing).
                scale --mode open --service big --pool "$FILL" --rate 10000 --duration "$(( FILL / 10000 + 1 ))" \
                    --burst "${SEED_PRIME:-0}" --burst-rate 2000 --burst-at 3 --burst-prefix prime \
                    --connections "$CONNECTIONS" > /dev/null
                gc_before=$(wc -l < "$work/$name/gc.log")
                t0=$(cpu_ticks "$gw_pid")
            fi
            out=$(scale --mode open --service big --pool "$FILL" --rate "$STEADY_RATE" --duration "$SEED_DURATION" \
                --burst "$BURST" --burst-rate "$BURST_RATE" --burst-at 5 --connections "$CONNECTIONS" \
                --burst-connections "${BURST_CONNECTIONS:-0}" ${SEED_SLOW_MS:+--slow-ms "$SEED_SLOW_MS"})
            if [[ $jar == floor ]]; then
                after="-"
                gc="-"
            else
                # the gateway's CPU over the window (the recorded steady traffic and the burst, and
                # the warm-up's seconds before them), per request of the window; its collections
                cpu_s=$(awk -v t=$(( $(cpu_ticks "$gw_pid") - t0 )) -v hz="$hz" 'BEGIN { printf "%.2f", t / hz }')
                sent=$(field "$(grep 'class=all' <<<"$out")" requests)
                tail -n +"$(( gc_before + 1 ))" "$work/$name/gc.log" > "$work/$name/gc-window.log"
                after=$(instances)
                rss=$(awk '/^VmRSS/ { r = $2 } /^VmHWM/ { h = $2 } END { printf "rss %.0f MiB (%.0f)", r / 1024, h / 1024 }' "/proc/$gw_pid/status")
                gc="window: cpu $cpu_s s ($(awk -v c="$cpu_s" -v n="$sent" 'BEGIN { printf "%.0f", c * 1e6 / n }') µs/req), $(gc_summary "$work/$name/gc-window.log"); life: $(gc_summary "$work/$name/gc.log"); $rss"
            fi
            stop "$gw_pid"
            while read -r line; do
                [[ -n $line ]] || continue
                printf "%-6s %-7s %9s %8.2f %8.2f %8.2f %9.2f %9.1f %7s  %s\n" "$label" "$(field "$line" class)" \
                    "$(field "$line" rps)" "$(awk -v v="$(field "$line" p50)" 'BEGIN{print v/1000}')" \
                    "$(awk -v v="$(field "$line" p90)" 'BEGIN{print v/1000}')" \
                    "$(awk -v v="$(field "$line" p99)" 'BEGIN{print v/1000}')" \
                    "$(awk -v v="$(field "$line" p999)" 'BEGIN{print v/1000}')" \
                    "$(awk -v v="$(field "$line" max)" 'BEGIN{print v/1000}')" \
                    "$(( $(field "$line" non2xx) + $(field "$line" errors) ))" "$after; $gc"
            done <<<"$out"
            # when the slow requests were due (SEED_SLOW_MS): seconds into the recorded window, how many
            [[ -z ${SEED_SLOW_MS:-} ]] || grep '^TIMELINE' "$work/scale.log" | tail -n 2 | sed "s|^|$label |"
        done
    done
fi
echo
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "(rates: closed loop, latency per request; before/after = instances on the gateway around the measured run;"
echo " fill cpu s and cpu us: gateway CPU for the batch fill (jit: of it, the JIT compiler threads'), and per"
echo " registration over warm-up and run."
echo " batch: fresh = the first $FILL-instance batch fill of a fresh gateway, warm = a second service's on the same one."
echo " seed: open loop, latency from each request's due time; steady = $STEADY_RATE/s of heartbeats and unchanged"
echo " re-registrations over $FILL instances, burst = $BURST new instances at $BURST_RATE/s from second 5;"
echo " floor = the same schedule answered at once by nginx, the load tool's and the machine's own latency;"
echo " window: the gateway's CPU (per request of the window: its warm-up included, so a ceiling) and G1/ZGC pauses"
echo " over the seed's measured window; life: over the gateway's whole life.)"
