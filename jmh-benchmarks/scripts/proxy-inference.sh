#!/usr/bin/env bash
# Round robin against least-request (power of two choices) in front of simulated inference
# backends, through Edgegate on loopback.
#
# Backends (io.edgegate.benchmarks.proxy.InferenceBackends, compiled here with javac): four
# instances of service `infer`; an answer takes factor * (BASE_MS + PER_REQUEST_MS * (in flight - 1))
# ms, in flight counted on that instance when the request arrives; three have factor 1, one has
# SLOW_FACTOR (defaults 20 ms, 10 ms, 4x). Two routes to the same service, stored through
# PUT /v1/routes: /rr (round-robin) and /lr (least-request), prefix stripped. Same load for both:
# wrk closed loop, CONNECTIONS connections, WARMUP + DURATION seconds per route, ROUNDS rounds
# alternating rr, lr. Prints requests/s, p50/p90/p99/max per route and round, the requests each
# instance served, and the ratio lr / rr of the means. Target: least-request p99 at most half of
# round robin's.
#
# Access control stays on (default deny): registrations and routes carry the gateway's management
# token (load-lib.sh's start_gateway reads it from the data directory); the proxied requests need
# none (the routes do not set policy.require-token).
#
# Needs wrk, curl, python3 and the gateway jar (mvn -pl edge-gateway -am -DskipTests package;
# builds nothing else). Stops everything it started on exit (trap). About 1 minute with the
# defaults (ROUNDS*2*(WARMUP+DURATION) must stay within 150 s).
#
# Knobs: DURATION=10 WARMUP=3 ROUNDS=2 CONNECTIONS=16 THREADS=2 BASE_MS=20 PER_REQUEST_MS=10
#   SLOW_FACTOR=4 JAVA_OPTS (gateway; default "-XX:+UseParallelGC -Xms256m -Xmx256m"),
#   GATEWAY_JAR, JAVA_HOME, KEEP_DIR=1.
set -euo pipefail

DURATION=${DURATION:-10}
WARMUP=${WARMUP:-3}
ROUNDS=${ROUNDS:-2}
CONNECTIONS=${CONNECTIONS:-16}
THREADS=${THREADS:-2}
BASE_MS=${BASE_MS:-20}
PER_REQUEST_MS=${PER_REQUEST_MS:-10}
SLOW_FACTOR=${SLOW_FACTOR:-4}
JAVA_HOME=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}
JAVA_OPTS=${JAVA_OPTS:--XX:+UseParallelGC -Xms256m -Xmx256m}

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=load-lib.sh
source "$here/load-lib.sh"
root=$lib_root
GATEWAY_JAR=${GATEWAY_JAR:-$root/edge-gateway/target/edge-gateway.jar}
LUA=$here/proxy-report.lua
SRC=$root/jmh-benchmarks/src/main/java/io/edgegate/benchmarks/proxy/InferenceBackends.java

[[ -f $GATEWAY_JAR ]] || fail "gateway jar not found: $GATEWAY_JAR (mvn -pl edge-gateway -am -DskipTests package)"
[[ -x $JAVA_HOME/bin/javac ]] || fail "no javac in JAVA_HOME=$JAVA_HOME"
for tool in wrk curl python3; do
    command -v "$tool" >/dev/null || fail "$tool not found (apt-get install -y wrk curl python3)"
done
(( ROUNDS * 2 * (WARMUP + DURATION) <= 150 )) || fail "ROUNDS*2*(WARMUP+DURATION) must stay within 150 s"

work=$(mktemp -d /tmp/edgegate-proxy-inference.XXXXXX)
lib_init

# ---------------------------------------------------------------- backends
mkdir -p "$work/classes" "$work/gateway"
"$JAVA_HOME/bin/javac" -nowarn -d "$work/classes" "$SRC" || fail "cannot compile $SRC"
factors="1,1,1,$SLOW_FACTOR"
"$JAVA_HOME/bin/java" -XX:+UseSerialGC -Xmx256m -XX:TieredStopAtLevel=1 -cp "$work/classes" \
    io.edgegate.benchmarks.proxy.InferenceBackends "$BASE_MS" "$PER_REQUEST_MS" "$factors" \
    > "$work/backends.out" 2>&1 &
backends_pid=$!
spawn "$backends_pid"
for _ in $(seq 100); do
    grep -q '^PORTS' "$work/backends.out" 2>/dev/null && break
    kill -0 "$backends_pid" 2>/dev/null || { cat "$work/backends.out" >&2; fail "backends did not start"; }
    sleep 0.1
done
read -r -a ports < <(sed -n 's/^PORTS //p' "$work/backends.out")
(( ${#ports[@]} == 4 )) || fail "backends did not report 4 ports"

# ---------------------------------------------------------------- gateway
read -r gw_port gw_consul_port < <(free_ports 2)
# Waits for /readyz, then reads the management token (GATEWAY_TOKEN); the proxied load needs none,
# and wrk_run below sends none.
start_gateway gateway "$gw_port" "$gw_consul_port"
gw=http://127.0.0.1:$gw_port
for i in 0 1 2 3; do
    gw_curl -fsS -o /dev/null -X POST -H 'Content-Type: application/json' \
        -d "{\"service\":\"infer\",\"id\":\"infer-$i\",\"address\":\"127.0.0.1\",\"port\":${ports[$i]}}" \
        "$gw/v1/instances" || fail "cannot register infer-$i"
done
for r in rr:round-robin lr:least-request; do
    gw_curl -fsS -o /dev/null -X PUT -H 'Content-Type: application/json' \
        -d "{\"name\":\"${r%%:*}\",\"service\":\"infer\",\"strip-prefix\":true,\"match\":{\"path-prefix\":\"/${r%%:*}\"},\"policy\":{\"balancer\":\"${r#*:}\",\"retries\":0}}" \
        "$gw/v1/routes/${r%%:*}" || fail "cannot store route ${r%%:*}"
done
await_url "$gw/rr/v1/infer" 10 "$gw_pid" || fail "route /rr does not answer"
await_url "$gw/lr/v1/infer" 10 "$gw_pid" || fail "route /lr does not answer"

wrk_run() { # wrk_run URL SECONDS -> RESULT fields
    GATEWAY_TOKEN="" wrk -t"$THREADS" -c"$CONNECTIONS" -d"${2}s" --timeout 10s -s "$LUA" "$1" 2>&1 | sed -n 's/^RESULT //p'
}

echo "proxy-inference: 4 backends, latency factor*(${BASE_MS} + ${PER_REQUEST_MS}*(in flight-1)) ms, factors $factors;" \
    "wrk -t$THREADS -c$CONNECTIONS closed loop, ${WARMUP} s warm-up + ${DURATION} s per route, $ROUNDS rounds;" \
    "$(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "gateway JVM: $JAVA_OPTS"
printf '%-6s %-15s %9s %9s %9s %9s %9s %7s\n' round balancer "req/s" "p50 ms" "p90 ms" "p99 ms" "max ms" errors
for round in $(seq "$ROUNDS"); do
    for route in rr lr; do
        wrk_run "$gw/$route/v1/infer" "$WARMUP" > /dev/null
        r=$(wrk_run "$gw/$route/v1/infer" "$DURATION")
        [[ -n $r ]] || fail "no wrk result for $route"
        name=$([[ $route == rr ]] && echo round-robin || echo least-request)
        errs=$(( $(field "$r" errors) + $(field "$r" non2xx) ))
        awk -v r="$round" -v t="$name" -v rps="$(field "$r" rps)" -v a="$(field "$r" p50_us)" \
            -v b="$(field "$r" p90_us)" -v c="$(field "$r" p99_us)" -v m="$(field "$r" max_us)" -v e="$errs" \
            'BEGIN { printf "%-6s %-15s %9.1f %9.1f %9.1f %9.1f %9.1f %7d\n", r, t, rps, a/1000, b/1000, c/1000, m/1000, e }'
        echo "$route $(field "$r" rps) $(field "$r" p50_us) $(field "$r" p99_us)" >> "$work/results"
    done
done

echo
python3 - "$work/results" <<'EOF'
import sys, collections
rows = collections.defaultdict(list)
for line in open(sys.argv[1]):
    route, rps, p50, p99 = line.split()
    rows[route].append((float(rps), float(p50) / 1000, float(p99) / 1000))
m = {k: [sum(x[i] for x in v) / len(v) for i in range(3)] for k, v in rows.items()}
print(f"means: round-robin {m['rr'][0]:.1f} req/s p50 {m['rr'][1]:.1f} ms p99 {m['rr'][2]:.1f} ms; "
      f"least-request {m['lr'][0]:.1f} req/s p50 {m['lr'][1]:.1f} ms p99 {m['lr'][2]:.1f} ms")
ratio = m['lr'][2] / m['rr'][2]
print(f"ratio least-request / round-robin: p99 {ratio:.2f}, p50 {m['lr'][1] / m['rr'][1]:.2f}, "
      f"req/s {m['lr'][0] / m['rr'][0]:.2f}  (target p99 <= 0.50: {'met' if ratio <= 0.5 else 'MISSED'})")
EOF
stop "$backends_pid" # prints what each instance served
echo "requests served per instance over the whole run (index, requests, max in flight; instance 3 is the slow one):"
sed -n 's/^SERVED /  /p' "$work/backends.out"
