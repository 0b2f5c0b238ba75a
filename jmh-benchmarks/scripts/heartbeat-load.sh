#!/usr/bin/env bash
# TTL heartbeats against the Edgegate gateway: POOL instances with a TTL check, registered through
# POST /v1/instances/batch, then renewed as fast as wrk can (closed loop) and at fixed rates
# (OpenLoop, open loop), through the native API (PUT /v1/instances/{id}/heartbeat) and the Consul
# API (PUT /v1/agent/check/pass/service:{id}). Baselines in the same run and the same gateway:
# GET /v1/status/leader on the Consul port (a constant answer: the cheapest handler, so the HTTP
# stack's ceiling on this machine), with wrk and at each fixed rate, and GET /v1/status (counts the
# non-empty services, O(services)) with wrk.
# Order: register (TTL checks start critical); the baselines (wrk, then each rate); one
# pass of heartbeats over every instance (through the registry writer: critical -> passing); then
# the heartbeat runs (native wrk, Consul wrk, native at each rate), between which no instance goes
# unrenewed for more than a few seconds.
#
# What it reports, per run: requests/s, p50/p90/p99/max, errors, gateway CPU (seconds and µs per
# request), the load generator's own CPU, the gateway's RSS; and whether the instances stayed
# passing: the health counts after every run, and the registry index, which any status change
# (a TTL expiry, a revival) moves, so an unchanged index means every heartbeat took the fast path
# (lease renewed on the caller's thread, no writer command, no journal write) and none expired.
# Ids are svc-<n % SERVICES>-<n>, visited in a stride-7919 permutation (heartbeat.lua, OpenLoop).
# Access control stays on (default deny): every request carries the gateway's management token
# (load-lib.sh's gateway_token; wrk reads GATEWAY_TOKEN, OpenLoop --token-file).
#
# ACL_COMPARE=1: the cost of access control instead. Two gateways side by side with the same
# instances: "on" (default deny, every request carries the management token: service write for
# heartbeats) and "off" (EDGEGATE_ACL_DEFAULT_POLICY=allow, no token). ROUNDS rounds; each runs
# wrk (WARMUP + DURATION) for every mode of CMP_MODES on both gateways, on and off alternating and
# the order swapped every round, so a noisy neighbour hits both alike. Prints every round and the
# medians: requests/s on / off (target >= 0.95) and gateway CPU per request. Before the rounds each
# gateway gets JVM_WARMUP seconds of every mode, so that the first round does not measure the JIT.
# TTL defaults to 300s there (each gateway idles while the other is measured; nothing may expire).
# Knobs: ROUNDS=5, DURATION=8, WARMUP=2, JVM_WARMUP=8, CMP_MODES="native consul" (add leader for a
# control that checks nothing: GET /v1/status/leader, whose ratio shows how alike the two JVMs
# run; leader-bare: the same without the token's header on "on" either), JAVA_OPTS (default "-XX:+UseParallelGC -Xms256m -Xmx256m -XX:+AlwaysPreTouch" for both);
# about 4 minutes with the defaults, refused above 300 s.
#
# METRICS_COMPARE=1: the cost of the Prometheus metrics instead, the same way: "on" (metrics on,
# the default, and /metrics scraped every SCRAPE_INTERVAL seconds, 1 by default, while "on" is
# measured: fifteen times Prometheus's default rate) and "off" (EDGEGATE_METRICS_ENABLED=false);
# both with access control on, every request carrying the gateway's token. Target on/off >= 0.97.
# SIDE_BY_SIDE=1 (either comparison): each round runs wrk on both gateways at the same time instead of
# one after the other, so that a neighbour's load on a shared machine hits both alike (they share the
# cores between them: the one that costs more per request answers fewer).
#
# Needs: JDK 21+ (JAVA_HOME), wrk (Debian), curl, python3, /usr/bin/time, the gateway jar
#   (mvn -pl edge-gateway -am -DskipTests package); compiles OpenLoop from source into its work dir.
# Knobs: POOL=10000, SERVICES=1000, TTL=10s (short enough that a starved instance would expire
#   during the run), CONNECTIONS=128, THREADS=2 (wrk), DURATION=15 (each wrk run), WARMUP=3,
#   RATES="20000 50000" (open loop), OL_DURATION=10, OL_WARMUP=3, OL_CONNECTIONS=256,
#   JAVA_OPTS (gateway JVM), GATEWAY_JAR, KEEP_DIR=1, ACL_COMPARE=1 (above, with its own knobs).
# Time bound: about 15 s set-up + 4 x (WARMUP + DURATION) + 2 x rates x (OL_WARMUP + OL_DURATION + 2)
#   = about 150 s with the defaults; refused above 220 s. Stops everything it started on exit.
set -euo pipefail

ACL_COMPARE=${ACL_COMPARE:-0}
METRICS_COMPARE=${METRICS_COMPARE:-0}
SCRAPE_INTERVAL=${SCRAPE_INTERVAL:-1}
SIDE_BY_SIDE=${SIDE_BY_SIDE:-0}
# METRICS_COMPARE runs the ACL_COMPARE machinery with other gateways on either side
if [[ $METRICS_COMPARE == 1 ]]; then ACL_COMPARE=1; fi
POOL=${POOL:-10000}
SERVICES=${SERVICES:-1000}
CONNECTIONS=${CONNECTIONS:-128}
THREADS=${THREADS:-2}
if [[ $ACL_COMPARE == 1 ]]; then
    TTL=${TTL:-300s}
    DURATION=${DURATION:-8}
    WARMUP=${WARMUP:-2}
    ROUNDS=${ROUNDS:-5}
    JVM_WARMUP=${JVM_WARMUP:-8}
    CMP_MODES=${CMP_MODES:-native consul}
    # the same fixed heap for both JVMs (proxy-compare.sh's), so that neither sizes its own
    JAVA_OPTS=${JAVA_OPTS:--XX:+UseParallelGC -Xms256m -Xmx256m -XX:+AlwaysPreTouch}
    export JAVA_OPTS
else
    TTL=${TTL:-10s}
    DURATION=${DURATION:-15}
    WARMUP=${WARMUP:-3}
fi
RATES=${RATES:-20000 50000}
OL_DURATION=${OL_DURATION:-10}
OL_WARMUP=${OL_WARMUP:-3}
OL_CONNECTIONS=${OL_CONNECTIONS:-256}
export JAVA_HOME=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=load-lib.sh
source "$here/load-lib.sh"
GATEWAY_JAR=${GATEWAY_JAR:-$lib_root/edge-gateway/target/edge-gateway.jar}
LUA=$here/heartbeat.lua

[[ -f $GATEWAY_JAR ]] || fail "gateway jar not found: $GATEWAY_JAR (build: mvn -pl edge-gateway -am -DskipTests package)"
[[ -x $JAVA_HOME/bin/javac ]] || fail "no JDK in JAVA_HOME=$JAVA_HOME (JDK 21+ needed)"
for tool in wrk curl python3 /usr/bin/time; do
    command -v "$tool" >/dev/null || fail "$tool not found (apt-get install -y wrk curl python3 time)"
done
read -r -a rates <<<"$RATES"
if [[ $ACL_COMPARE == 1 ]]; then
    read -r -a cmp_modes <<<"$CMP_MODES"
    # side by side, a round's two windows overlap
    budget=$(( 20 + ${#cmp_modes[@]} * (2 * JVM_WARMUP + (SIDE_BY_SIDE == 1 ? 1 : 2) * ROUNDS * (WARMUP + DURATION)) ))
    (( budget <= 300 )) || fail "the rounds come to about ${budget} s; keep them within 300 s (ROUNDS, CMP_MODES, DURATION, JVM_WARMUP)"
else
    budget=$(( 15 + 4 * (WARMUP + DURATION) + 2 * ${#rates[@]} * (OL_WARMUP + OL_DURATION + 2) ))
    (( budget <= 220 )) || fail "the runs come to about ${budget} s; keep them within 220 s (DURATION, RATES, OL_DURATION)"
fi

work=$(mktemp -d /tmp/edgegate-heartbeat.XXXXXX)
lib_init
compile_tools
hz=$(clk_tck)

# JSON lines of the POOL instances with a TTL check: instances > FILE
instances() {
    python3 -c "
import json
for n in range($POOL):
    s = 'svc-%d' % (n % $SERVICES)
    print(json.dumps({'service': s, 'id': '%s-%d' % (s, n), 'address': '10.1.%d.%d' % (n // 256 % 256, n % 256),
                      'port': 8080, 'tags': ['version:v1'], 'check': {'ttl': '$TTL'}}))
"
}

# The registry index of a gateway (GET /v1/status, with GATEWAY_TOKEN).
registry_index() { gw_curl -fsS "$1/v1/status" | python3 -c 'import json,sys; print(json.load(sys.stdin)["index"])'; }

if [[ $ACL_COMPARE == 1 ]]; then
    instances > "$work/instances.jsonl"
    read -r on_port on_consul off_port off_consul < <(free_ports 4)
    if [[ $METRICS_COMPARE == 1 ]]; then
        echo "heartbeat-load METRICS_COMPARE: $POOL instances (TTL $TTL) over $SERVICES services on two gateways," \
            "metrics on (the default; /metrics scraped every ${SCRAPE_INTERVAL}s while measured) and off" \
            "(EDGEGATE_METRICS_ENABLED=false), both with access control on and the token on every request;" \
            "wrk -t$THREADS -c$CONNECTIONS, ${WARMUP}s + ${DURATION}s per mode and gateway, modes: $CMP_MODES; $ROUNDS rounds;" \
            "$(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); work dir $work"
    else
    echo "heartbeat-load ACL_COMPARE: $POOL instances (TTL $TTL) over $SERVICES services on two gateways, access control" \
        "on (default deny, management token on every request) and off (EDGEGATE_ACL_DEFAULT_POLICY=allow, no token);" \
        "wrk -t$THREADS -c$CONNECTIONS, ${WARMUP}s + ${DURATION}s per mode and gateway, modes: $CMP_MODES; $ROUNDS rounds;" \
        "$(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); work dir $work"
    fi
    declare -A pid_of token_of token_file_of api_of consul_of index_of
    for side in on off; do
        if [[ $side == on ]]; then
            start_gateway acl-on "$on_port" "$on_consul"
            api_of[on]=http://127.0.0.1:$on_port; consul_of[on]=http://127.0.0.1:$on_consul
        elif [[ $METRICS_COMPARE == 1 ]]; then
            start_gateway acl-off "$off_port" "$off_consul" EDGEGATE_METRICS_ENABLED=false
            api_of[off]=http://127.0.0.1:$off_port; consul_of[off]=http://127.0.0.1:$off_consul
        else
            start_gateway acl-off "$off_port" "$off_consul" EDGEGATE_ACL_DEFAULT_POLICY=allow
            api_of[off]=http://127.0.0.1:$off_port; consul_of[off]=http://127.0.0.1:$off_consul
        fi
        pid_of[$side]=$gw_pid; token_of[$side]=$GATEWAY_TOKEN; token_file_of[$side]=$gw_token_file
        registered=$(register_batch "${api_of[$side]}" < "$work/instances.jsonl")
        [[ $registered == "$POOL" ]] || fail "$side: registered $registered of $POOL instances"
        # TTL checks start critical: one pass over every instance makes them passing.
        openloop --url "${api_of[$side]}" --mode heartbeat --rate 10000 --warmup 0 \
            --duration $(( (POOL * 2 + 9999) / 10000 )) --connections 64 --pool "$POOL" --services "$SERVICES" \
            --token-file "${token_file_of[$side]}" > /dev/null
        read -r total passing warning critical < <(health_counts "${api_of[$side]}")
        [[ $passing == "$POOL" ]] || fail "$side: after the first heartbeats $passing of $total passing ($critical critical)"
        index_of[$side]=$(registry_index "${api_of[$side]}")
    done
    # The unauthenticated request each side gets: "on" must refuse it, "off" must take it.
    code_on=$(curl -s -o /dev/null -w '%{http_code}' -X PUT "${api_of[on]}/v1/instances/svc-0-0/heartbeat")
    code_off=$(curl -s -o /dev/null -w '%{http_code}' -X PUT "${api_of[off]}/v1/instances/svc-0-0/heartbeat")
    if [[ $METRICS_COMPARE == 1 ]]; then
        # both refuse it; /metrics answers on "on" and is a 404 on "off"
        code_on=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer ${token_of[on]}" "${api_of[on]}/metrics")
        code_off=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer ${token_of[off]}" "${api_of[off]}/metrics")
        [[ $code_on == 200 && $code_off == 404 ]] || fail "/metrics: on answered $code_on (200 expected), off $code_off (404 expected)"
    else
    [[ $code_on == 403 && $code_off == 200 ]] || fail "a heartbeat without a token: on answered $code_on (403 expected), off $code_off (200 expected)"
    fi

    # What one mode sends to one gateway: cmp_target SIDE MODE sets cmp_url, cmp_mode (heartbeat.lua's)
    # and cmp_token ("on" only). A mode with the suffix -bare sends no token to either gateway
    # (leader-bare: the control without the token's header).
    cmp_target() {
        cmp_mode=${2%-bare} cmp_token=""
        if [[ $1 == on && $2 != *-bare ]]; then cmp_token=${token_of[on]}; fi
        if [[ $METRICS_COMPARE == 1 ]]; then cmp_token=${token_of[$1]}; fi
        case $cmp_mode in native) cmp_url=${api_of[$1]} ;; *) cmp_url=${consul_of[$1]} ;; esac
    }
    # wrk without a report: cmp_load SIDE MODE SECONDS (the warm-ups).
    cmp_load() {
        cmp_target "$1" "$2"
        GATEWAY_TOKEN=$cmp_token HB_MODE=$cmp_mode HB_POOL=$POOL HB_SERVICES=$SERVICES timeout $(($3 + 20)) \
            wrk -t "$THREADS" -c "$CONNECTIONS" -d "${3}s" --timeout 5s -s "$LUA" "$cmp_url" > /dev/null 2>&1 || true
    }
    # One measured wrk run: cmp_run ROUND SIDE MODE; appends "round side mode rps p50 p99 errors cpu_us" to results.
    cmp_run() {
        local round=$1 side=$2 mode=$3 before after r
        cmp_load "$side" "$mode" "$WARMUP"
        cmp_target "$side" "$mode"
        local scraper=""
        if [[ $METRICS_COMPARE == 1 && $side == on ]]; then
            # Prometheus's part, for the measured window only: the scrape's cost lands on "on" alone
            (while :; do
                curl -s -o /dev/null -H "Authorization: Bearer ${token_of[on]}" "${api_of[on]}/metrics" || true
                sleep "$SCRAPE_INTERVAL"
            done) &
            scraper=$!
        fi
        before=$(cpu_ticks "${pid_of[$side]}")
        GATEWAY_TOKEN=$cmp_token HB_MODE=$cmp_mode HB_POOL=$POOL HB_SERVICES=$SERVICES timeout $((DURATION + 20)) \
            wrk -t "$THREADS" -c "$CONNECTIONS" -d "${DURATION}s" --timeout 5s -s "$LUA" "$cmp_url" \
            > "$work/wrk-$round-$side-$mode.txt" 2>&1 || true
        after=$(cpu_ticks "${pid_of[$side]}")
        if [[ -n $scraper ]]; then kill "$scraper" 2>/dev/null || true; wait "$scraper" 2>/dev/null || true; fi
        r=$(sed -n 's/^RESULT //p' "$work/wrk-$round-$side-$mode.txt")
        [[ -n $r ]] || { cat "$work/wrk-$round-$side-$mode.txt" >&2; fail "wrk gave no result for $side $mode"; }
        awk -v rd="$round" -v sd="$side" -v m="$mode" -v rps="$(field "$r" rps)" -v p50="$(field "$r" p50_us)" \
            -v p99="$(field "$r" p99_us)" -v e=$(( $(field "$r" non2xx) + $(field "$r" socket_errors) )) \
            -v t=$((after - before)) -v hz="$hz" -v d="$DURATION" \
            'BEGIN { printf "%d %s %s %.1f %d %d %d %.2f\n", rd, sd, m, rps, p50, p99, e, (rps > 0 ? t / hz * 1e6 / (rps * d) : 0) }' \
            | tee -a "$work/acl-results"
    }
    if (( JVM_WARMUP > 0 )); then
        echo "warming up both JVMs: ${JVM_WARMUP}s of every mode on each"
        for mode in "${cmp_modes[@]}"; do
            for side in on off; do
                cmp_load "$side" "$mode" "$JVM_WARMUP"
            done
        done
    fi
    echo
    echo "round side mode req/s p50_us p99_us errors gw_cpu_us_per_req"
    for round in $(seq "$ROUNDS"); do
        for mode in "${cmp_modes[@]}"; do
            if (( round % 2 == 1 )); then order="on off"; else order="off on"; fi
            if [[ $SIDE_BY_SIDE == 1 ]]; then
                # both gateways at once: whatever else the machine runs meanwhile hits them alike
                pids=()
                for side in $order; do
                    cmp_run "$round" "$side" "$mode" &
                    pids+=($!)
                done
                wait "${pids[@]}"
            else
                for side in $order; do
                    cmp_run "$round" "$side" "$mode"
                done
            fi
        done
    done
    for side in on off; do
        index_end=$(GATEWAY_TOKEN=${token_of[$side]} registry_index "${api_of[$side]}")
        read -r total passing warning critical < <(GATEWAY_TOKEN=${token_of[$side]} health_counts "${api_of[$side]}")
        echo "$side: registry index ${index_of[$side]} -> $index_end ($( [[ $index_end == "${index_of[$side]}" ]] \
            && echo "unchanged: no expiry" || echo "MOVED: status changes")); passing $passing/$total;" \
            "RSS $(rss_mib "${pid_of[$side]}") MiB; GC $(gc_summary "$work/acl-$side/gc.log")"
    done
    echo
    TARGET_RATIO=$( [[ $METRICS_COMPARE == 1 ]] && echo 0.97 || echo 0.95 ) \
    WHAT=$( [[ $METRICS_COMPARE == 1 ]] && echo "on = metrics on, scraped every ${SCRAPE_INTERVAL}s; off = edgegate.metrics.enabled=false; both with the token" \
        || echo "on = default deny + token, off = default-policy allow, no token" ) \
    python3 - "$work/acl-results" <<'PYEOF'
import collections, os, statistics, sys
target_ratio = float(os.environ["TARGET_RATIO"])
rows = collections.defaultdict(dict)
for line in open(sys.argv[1]):
    rnd, side, mode, rps, p50, p99, errors, cpu = line.split()
    rows[(mode, int(rnd))][side] = (float(rps), int(p99) / 1000, int(errors), float(cpu))
order = ["native", "consul", "leader", "leader-bare"]
modes = sorted({m for m, _ in rows}, key=lambda m: order.index(m) if m in order else 9)
print("medians over rounds (" + os.environ["WHAT"] + "):")
print(f"{'mode':8} {'on req/s':>10} {'off req/s':>10} {'on/off':>7} {'median of round ratios':>23} {'rounds on/off':>30}"
      f" {'on p99 ms':>10} {'off p99 ms':>10} {'on cpu us':>10} {'off cpu us':>11} {'cpu on/off':>10} {'errors':>7}")
for mode in modes:
    rs = [rows[(m, r)] for (m, r) in sorted(rows) if m == mode and "on" in rows[(m, r)] and "off" in rows[(m, r)]]
    on = [r["on"] for r in rs]
    off = [r["off"] for r in rs]
    med = lambda xs, i: statistics.median(x[i] for x in xs)
    ratios = [a[0] / b[0] for a, b in zip(on, off) if b[0] > 0]
    ratio = med(on, 0) / med(off, 0)
    errors = sum(x[2] for x in on + off)
    target = "" if mode.startswith("leader") else (f"  target >= {target_ratio}: " + ("met" if ratio >= target_ratio else "MISSED"))
    print(f"{mode:8} {med(on, 0):10.0f} {med(off, 0):10.0f} {ratio:7.3f} {statistics.median(ratios):23.3f}"
          f" {' '.join('%.2f' % x for x in ratios):>30} {med(on, 1):10.2f} {med(off, 1):10.2f} {med(on, 3):10.2f}"
          f" {med(off, 3):11.2f} {med(on, 3) / med(off, 3):10.3f} {errors:7d}{target}")
PYEOF
    echo "(wrk closed loop; cpu us: gateway CPU per request over the measured window (/proc); both gateways and wrk"
    echo " share the machine's $(nproc) cores; errors: non-2xx answers and socket errors, over every round)"
    exit 0
fi

read -r port consul_port < <(free_ports 2)
gw=http://127.0.0.1:$port
consul=http://127.0.0.1:$consul_port
echo "heartbeat-load: $POOL instances (TTL $TTL) over $SERVICES services; wrk $CONNECTIONS connections," \
    "${WARMUP}s + ${DURATION}s; open loop at ${RATES}/s, ${OL_CONNECTIONS} connections, ${OL_WARMUP}s + ${OL_DURATION}s;" \
    "$(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); work dir $work"

start_gateway gateway "$port" "$consul_port"
rss_start=$(rss_mib "$gw_pid")
instances > "$work/instances.jsonl"
registered=$(register_batch "$gw" < "$work/instances.jsonl")
[[ $registered == "$POOL" ]] || fail "registered $registered of $POOL instances"

declare -a names results cpus gencpus healths rsss others fasts
record() { # name result gateway-ticks generator-seconds machine-busy-ticks window-seconds [fast-path share]
    names+=("$1"); results+=("$2")
    if [[ $1 == status* || $1 == leader* ]]; then fasts+=("-"); else fasts+=("${7:--}"); fi
    cpus+=("$(awk -v t="$3" -v hz="$hz" 'BEGIN { printf "%.2f", t / hz }')")
    gencpus+=("$4")
    # cores the rest of the machine (other users) used during the window
    others+=("$(awk -v b="$5" -v g="$3" -v s="$4" -v hz="$hz" -v w="$6" 'BEGIN { o = (b - g) / hz - s; printf "%.2f", (o < 0 ? 0 : o) / w }')")
    if [[ $1 == status* || $1 == leader* ]]; then
        healths+=("-")
    else
        read -r total passing warning critical < <(health_counts "$gw")
        healths+=("$passing/$total")
    fi
    rsss+=("$(rss_mib "$gw_pid")")
}

# Share of requests the gateway answered on the heartbeat fast path (its own counter), in %.
fast_share() { # before after requests
    if [[ $1 == - || $2 == - || $1 == "" ]]; then echo -; return; fi
    awk -v a="$1" -v b="$2" -v n="$3" 'BEGIN { printf "%.1f", (n > 0 ? 100 * (b - a) / n : 0) }'
}

# Closed loop (wrk): the saturated rate. Gateway CPU over the measured part only.
wrk_run() { # name mode url
    local name=$1 mode=$2 url=$3 before after busy0 busy1 fast0 fast1
    HB_MODE=$mode HB_POOL=$POOL HB_SERVICES=$SERVICES timeout $((WARMUP + 20)) \
        wrk -t "$THREADS" -c "$CONNECTIONS" -d "${WARMUP}s" --timeout 5s -s "$LUA" "$url" > /dev/null 2>&1 || true
    fast0=$(status_value "$gw" health.heartbeats-fast-path)
    before=$(cpu_ticks "$gw_pid")
    busy0=$(machine_busy_ticks)
    HB_MODE=$mode HB_POOL=$POOL HB_SERVICES=$SERVICES timeout $((DURATION + 20)) \
        /usr/bin/time -o "$work/time-$name" -f "%U %S" \
        wrk -t "$THREADS" -c "$CONNECTIONS" -d "${DURATION}s" --timeout 5s -s "$LUA" "$url" > "$work/wrk-$name.txt" 2>&1 || true
    after=$(cpu_ticks "$gw_pid")
    busy1=$(machine_busy_ticks)
    local r
    r=$(sed -n 's/^RESULT //p' "$work/wrk-$name.txt")
    [[ -n $r ]] || { cat "$work/wrk-$name.txt" >&2; fail "wrk gave no result for $name"; }
    fast1=$(status_value "$gw" health.heartbeats-fast-path)
    record "$name" "$r" $((after - before)) "$(awk '{ printf "%.2f", $1 + $2 }' "$work/time-$name")" \
        $((busy1 - busy0)) "$DURATION" "$(fast_share "$fast0" "$fast1" "$(field "$r" requests)")"
}

# Open loop (OpenLoop) at a fixed rate. Gateway CPU over warm-up and run (scaled to the run below).
ol_run() { # name mode url rate
    local name=$1 mode=$2 url=$3 rate=$4 before after r busy0 busy1 fast0 fast1
    fast0=$(status_value "$gw" health.heartbeats-fast-path)
    before=$(cpu_ticks "$gw_pid")
    busy0=$(machine_busy_ticks)
    r=$(openloop --url "$url" --mode "$mode" --rate "$rate" --warmup "$OL_WARMUP" --duration "$OL_DURATION" \
        --connections "$OL_CONNECTIONS" --pool "$POOL" --services "$SERVICES" --timeout 5 --token-file "$gw_token_file")
    after=$(cpu_ticks "$gw_pid")
    busy1=$(machine_busy_ticks)
    [[ -n $r ]] || fail "no open-loop result for $name (see $work/openloop.log)"
    # gateway and machine ticks of warm-up + run, scaled to the run's share
    scale() { awk -v t="$1" -v w="$OL_WARMUP" -v d="$OL_DURATION" 'BEGIN { printf "%d", t * d / (w + d) }'; }
    fast1=$(status_value "$gw" health.heartbeats-fast-path)
    # requests sent over warm-up and run: offered rate x time (all answered when incomplete is 0)
    record "$name" "$r" "$(scale $((after - before)))" "$(field "$r" gen_cpu_s)" "$(scale $((busy1 - busy0)))" \
        "$OL_DURATION" "$(fast_share "$fast0" "$fast1" $((rate * (OL_WARMUP + OL_DURATION))))"
}

# Baselines first, while no heartbeat is expected (the instances are still critical, as registered).
wrk_run "leader (wrk)" leader "$consul"
wrk_run "status (wrk)" status "$gw"
for rate in "${rates[@]}"; do
    ol_run "leader @${rate}" get:/v1/status/leader "$consul" "$rate"
done
# TTL checks start critical: one pass over every instance (through the writer) makes them passing.
openloop --url "$gw" --mode heartbeat --rate 10000 --warmup 0 --duration $(( (POOL * 2 + 9999) / 10000 )) \
    --connections 64 --pool "$POOL" --services "$SERVICES" --token-file "$gw_token_file" > /dev/null
read -r total passing warning critical < <(health_counts "$gw")
[[ $passing == "$POOL" ]] || fail "after the first heartbeats: $passing of $total passing ($critical critical)"
index_start=$(registry_index "$gw")
# From here every instance is renewed at least every POOL / rate seconds: none may expire.
wrk_run "heartbeat (wrk)" native "$gw"
wrk_run "consul pass (wrk)" consul "$consul"
for rate in "${rates[@]}"; do
    ol_run "heartbeat @${rate}" heartbeat "$gw" "$rate"
done
index_end=$(registry_index "$gw")
hwm=$(hwm_mib "$gw_pid")
stop "$gw_pid"

echo
printf "%-22s %9s %8s %8s %8s %8s %8s %6s %8s %8s %8s %6s %7s %7s %6s\n" run "req/s" "p50 ms" "p90 ms" "p99 ms" \
    "max ms" "errors" "incmpl" "gw cpu s" "gw µs/rq" "gen cpu" others "RSS MiB" passing "fast %"
for i in "${!names[@]}"; do
    r=${results[$i]}
    err=0
    for f in non2xx socket_errors errors timeouts; do
        v=$(field "$r" "$f")
        err=$((err + ${v:-0}))
    done
    awk -v n="${names[$i]}" -v rps="$(field "$r" rps)" -v p50="$(field "$r" p50_us)" -v p90="$(field "$r" p90_us)" \
        -v p99="$(field "$r" p99_us)" -v max="$(field "$r" max_us)" -v err="$err" -v inc="$(field "$r" incomplete)" \
        -v cpu="${cpus[$i]}" -v gen="${gencpus[$i]}" -v rss="${rsss[$i]}" -v h="${healths[$i]}" -v oth="${others[$i]}" \
        -v fast="${fasts[$i]}" \
        -v secs="$( [[ ${names[$i]} == *wrk* ]] && echo "$DURATION" || echo "$OL_DURATION")" \
        'BEGIN { printf "%-22s %9.0f %8.2f %8.2f %8.2f %8.1f %8d %6s %8.2f %8.1f %8.2f %6.2f %7d %7s %6s\n",
                 n, rps, p50 / 1000, p90 / 1000, p99 / 1000, max / 1000, err, (inc == "" ? "-" : inc), cpu,
                 (rps > 0 ? cpu * 1e6 / (rps * secs) : 0), gen, oth, rss, h, fast }'
done
echo
field_of() { for i in "${!names[@]}"; do [[ ${names[$i]} == "$1" ]] && field "${results[$i]}" "$2"; done; }
awk -v hb="$(field_of "heartbeat (wrk)" rps)" -v st="$(field_of "leader (wrk)" rps)" \
    -v cp="$(field_of "consul pass (wrk)" rps)" -v ss="$(field_of "status (wrk)" rps)" \
    'BEGIN { printf "closed loop: heartbeat/leader %.2f, consul pass/leader %.2f, status/leader %.2f; heartbeats/s %.0f (target >= 50000: %s)\n",
             (st > 0 ? hb / st : 0), (st > 0 ? cp / st : 0), (st > 0 ? ss / st : 0), hb, (hb >= 50000 ? "met" : "MISSED") }'
for rate in "${rates[@]}"; do
    awk -v rate="$rate" -v hb="$(field_of "heartbeat @${rate}" p99_us)" -v st="$(field_of "leader @${rate}" p99_us)" \
        -v done_="$(field_of "heartbeat @${rate}" rps)" -v inc="$(field_of "heartbeat @${rate}" incomplete)" \
        'BEGIN { printf "open loop at %d/s: heartbeat p99 %.2f ms (leader p99 %.2f ms, ratio %.2f), %.0f/s answered, %d incomplete; target p99 <= 5 ms at this rate: %s\n",
                 rate, hb / 1000, st / 1000, (st > 0 ? hb / st : 0), done_, inc,
                 (hb <= 5000 && inc == 0 && done_ >= 0.99 * rate ? "met" : "MISSED") }'
done
echo "registry index before the runs $index_start, after $index_end: $( [[ $index_start == "$index_end" ]] \
    && echo "unchanged (no expiry, every heartbeat on the fast path)" || echo "MOVED by $((index_end - index_start)) (status changes: expiries or revivals)")"
echo "gateway RSS: $rss_start MiB at start, peak $hwm MiB; GC: $(gc_summary "$work/gateway/gc.log")"
echo "(wrk: closed loop, corrected by wrk for coordinated omission; @rate: OpenLoop, latency from each request's due"
echo " time. gw cpu s: gateway CPU during the measured part; gen cpu: the load generator's CPU (wrk: user+sys of the"
echo " measured run; OpenLoop: its process over the measured part); others: cores the rest of the machine (other users)"
echo " used meanwhile. All share the machine's $(nproc) cores. fast %: heartbeats the gateway counted on its fast path"
echo " (health.heartbeats-fast-path of /v1/status) per request sent.)"
