#!/usr/bin/env bash
# Reverse proxies side by side on loopback, one run, one backend, one load: small JSON responses
# (GET, keep-alive) through
#   direct   wrk -> backend (the ceiling: no proxy)
#   nginx    wrk -> nginx reverse proxy (upstream keepalive) -> backend
#   haproxy  wrk -> haproxy (mode http, keep-alive both sides) -> backend
#   caddy    wrk -> Caddy (Debian's caddy 2.6: handle_path /svc/echo/*, reverse_proxy) -> backend
#   edgegate wrk -> Edgegate /svc/echo/... (prefix stripped, the proxy's own keep-alive pool) -> backend,
#            with the gateway's defaults: proxied connections served by the proxy's lean HTTP/1.1
#            handler (edgegate.proxy.lean-connections: true)
#   edgegate-lean          the same, the setting given explicitly
#   edgegate-helidon-path  EDGEGATE_PROXY_LEAN_CONNECTIONS=false: Helidon's HTTP/1.1 and routing in
#                          front of the same proxy (the data path before the lean handler)
#   edgegate-vthreads      EDGEGATE_PROXY_LEAN_PLATFORM_THREADS=0 and EDGEGATE_PROXY_EVENT_LOOPS=0: every
#                          lean connection on its virtual thread
#   edgegate-pthreads      EDGEGATE_PROXY_LEAN_PLATFORM_THREADS=256 and EDGEGATE_PROXY_EVENT_LOOPS=0: lean
#                          connections on platform threads
#   edgegate-loops         EDGEGATE_PROXY_EVENT_LOOPS=2: plain lean connections served by two event loops
#   edgegate-loops-1       EDGEGATE_PROXY_EVENT_LOOPS=1: by one
#   edgegate-serial, edgegate-g1, edgegate-parallel, edgegate-zgc  the lean proxy with one garbage
#            collector each (Serial, G1, Parallel, generational ZGC) at the image's heap size
#            (GC_HEAP, default "-Xms16m -Xmx80m": arm-images/jvm.options' MaxRAMPercentage=50 and
#            InitialRAMPercentage=10 of a 160 MiB pod), instead of JAVA_OPTS; GC_COMPARE=1 selects
#            them with nginx (TARGETS="nginx edgegate-serial edgegate-g1 edgegate-parallel edgegate-zgc",
#            ROUNDS=3, CONNECTIONS="16 64", DURATION=6, JVM_WARMUP=15)
#   helidon  wrk -> the web server the gateway runs on, answering the same body itself
#            (io.edgegate.benchmarks.proxy.HelidonFloor, compiled here with javac against the
#            gateway jar): not a proxy but the floor of one on Helidon, compared with direct
#   java-nio  wrk -> a measurement reference, not the product: a minimal event-driven HTTP/1.1 reverse
#            proxy on the JDK alone (io.edgegate.benchmarks.proxy.reference.NioReferenceProxy, compiled
#            here with javac; NIO selectors, one loop thread per core, keep-alive upstream pool per
#            loop, /svc/echo cut) -> backend; java-nio-1, java-nio-2: 1 and 2 loop threads;
#            java-vthreads: the same code with a virtual thread per connection and blocking channels
#            instead of the loops. JAVA_OPTS as the gateways'.
# The backend is an nginx of its own answering `return 200 '{...}'` (no file I/O).
#
# Access control: the gateway runs with its defaults (default deny); /svc/... needs no token unless
# edgegate.proxy.require-token is set, and the backend's registration carries the gateway's
# management token (load-lib.sh's start_gateway reads it from the data directory). Two more
# Edgegate targets measure what access control costs on the proxy's path, each its own gateway:
#   edgegate-allow    EDGEGATE_ACL_DEFAULT_POLICY=allow, requests without a token (enforcement off)
#   edgegate-require  default deny and EDGEGATE_PROXY_REQUIRE_TOKEN=true: every request carries the
#                     management token in X-Consul-Token, which the gateway looks up (service read)
#                     and strips before forwarding
# (`edgegate` itself: default deny, no token, as a client of /svc/... without require-token).
# ACL_COMPARE=1 selects these three (TARGETS="edgegate-allow edgegate edgegate-require"), ROUNDS=5,
# DURATION=8, JVM_WARMUP=15, rotates the order of the targets every round, and prints the ratios
# to edgegate-allow: per round, their median, and the ratio of the medians (target >= 0.95).
#
# METRICS_COMPARE=1: what the Prometheus metrics cost on the proxy's path: TARGETS="edgegate-metrics-off
# edgegate" (edgegate-metrics-off: EDGEGATE_METRICS_ENABLED=false; edgegate: metrics on, the
# default, and its /metrics scraped every SCRAPE_INTERVAL seconds, 1 by default, while it is
# measured), ROUNDS=5, DURATION=8, JVM_WARMUP=15, the order rotated every round; prints the ratios
# edgegate / edgegate-metrics-off per round, their median and the ratio of the medians (target >= 0.97).
# SIDE_BY_SIDE=1 (any mode): each round measures its targets at the same time, one wrk each, instead of
# one after the other: on a shared machine whose load comes and goes, both see the same neighbours
# (they also share the cores between them, so a target that costs more per request gets fewer).
# ACL_COMPARE and METRICS_COMPARE measure at 64 connections unless CONNECTIONS says otherwise.
#
# CONNECTIONS may list several counts ("16 64"): every round measures every target at each count.
# Same wrk settings for every target (THREADS, CONNECTIONS, DURATION). Every target gets the same
# short warm-up; each JVM (edgegate, helidon, java-*) gets JVM_WARMUP seconds more load first, so that
# the measured window sees compiled code. The targets are measured ROUNDS times, interleaved,
# so a noisy neighbour hits all of them alike; ratios are to nginx in the same round, and on the
# means over rounds; helidon is also put beside direct (the same answer, Helidon instead of
# nginx). Nothing is pinned: wrk, the backend and the proxy share the 2 cores, as they
# would on an edge node; proxies get their defaults for this machine (nginx worker_processes auto,
# haproxy one thread per core, the JVM every core).
#
# Latencies are wrk's per-request latencies (closed loop; wrk corrects them for coordinated
# omission). Prints one line per target and round, then the means and the ratios to nginx;
# cpu us/req is the server's user + system CPU (/proc/PID/stat, children included) per request.
#
# Needs wrk, nginx, haproxy, caddy, curl, python3 (Debian: apt-get install -y wrk nginx haproxy
# caddy) and the gateway jar (mvn -pl edge-gateway -am -DskipTests package; builds nothing). Stops
# everything it started on exit (trap). About 6 minutes with the defaults (bounded:
# ROUNDS*targets*counts*(WARMUP+DURATION) + JVMs*JVM_WARMUP must stay within 560 s).
#
# Each measurement line carries the load average of the machine when it started; the ratios to
# nginx are per round and connection count (same minutes), then their medians over the rounds.
#
# Knobs: DURATION=8 WARMUP=2 JVM_WARMUP=20 ROUNDS=3 CONNECTIONS="16 64" THREADS=2,
#   JAVA_OPTS (default "-XX:+UseParallelGC -Xms256m -Xmx256m -XX:+AlwaysPreTouch"; the gateways'),
#   TARGETS="nginx haproxy caddy edgegate-lean edgegate-helidon-path" (also direct, edgegate,
#   edgegate-allow, edgegate-require, edgegate-metrics-off, the GC targets, helidon, java-nio,
#   java-nio-1, java-nio-2, java-vthreads, edgegate-vthreads, edgegate-pthreads, edgegate-loops, edgegate-loops-1), ACL_COMPARE=1,
#   METRICS_COMPARE=1 (SCRAPE_INTERVAL=1), GC_COMPARE=1 (GC_HEAP), SIDE_BY_SIDE=1, GATEWAY_JAR,
#   JAVA_HOME, KEEP_DIR=1.
set -euo pipefail

ACL_COMPARE=${ACL_COMPARE:-0}
GC_COMPARE=${GC_COMPARE:-0}
GC_HEAP=${GC_HEAP:--Xms16m -Xmx80m}
METRICS_COMPARE=${METRICS_COMPARE:-0}
SCRAPE_INTERVAL=${SCRAPE_INTERVAL:-1}
SIDE_BY_SIDE=${SIDE_BY_SIDE:-0}
if [[ $GC_COMPARE == 1 ]]; then
    DURATION=${DURATION:-6}
    JVM_WARMUP=${JVM_WARMUP:-15}
    TARGETS=${TARGETS:-nginx edgegate-serial edgegate-g1 edgegate-parallel edgegate-zgc}
fi
if [[ $METRICS_COMPARE == 1 ]]; then
    DURATION=${DURATION:-8}
    JVM_WARMUP=${JVM_WARMUP:-15}
    ROUNDS=${ROUNDS:-5}
    TARGETS=${TARGETS:-edgegate-metrics-off edgegate}
    CONNECTIONS=${CONNECTIONS:-64}
fi
if [[ $ACL_COMPARE == 1 ]]; then
    DURATION=${DURATION:-8}
    JVM_WARMUP=${JVM_WARMUP:-15}
    ROUNDS=${ROUNDS:-5}
    TARGETS=${TARGETS:-edgegate-allow edgegate edgegate-require}
    CONNECTIONS=${CONNECTIONS:-64}
fi
DURATION=${DURATION:-8}
WARMUP=${WARMUP:-2}
JVM_WARMUP=${JVM_WARMUP:-20}
ROUNDS=${ROUNDS:-3}
CONNECTIONS=${CONNECTIONS:-16 64}
THREADS=${THREADS:-2}
TARGETS=${TARGETS:-nginx haproxy caddy edgegate-lean edgegate-helidon-path}
JAVA_HOME=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}
JAVA_OPTS=${JAVA_OPTS:--XX:+UseParallelGC -Xms256m -Xmx256m -XX:+AlwaysPreTouch}

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
export JAVA_OPTS
GATEWAY_JAR=${GATEWAY_JAR:-$root/edge-gateway/target/edge-gateway.jar}
LUA=$here/proxy-report.lua
BODY='{"service":"echo","status":"ok","node":"edge-1","ts":1700000000,"items":[1,2,3]}'

# shellcheck source=load-lib.sh
source "$here/load-lib.sh"

[[ -f $GATEWAY_JAR ]] || fail "gateway jar not found: $GATEWAY_JAR (mvn -pl edge-gateway -am -DskipTests package)"
[[ -x $JAVA_HOME/bin/java ]] || fail "no java in JAVA_HOME=$JAVA_HOME"
targeted() { [[ " $TARGETS " == *" $1 "* ]]; }
tools="wrk nginx haproxy curl python3"
if targeted caddy; then tools="$tools caddy"; fi
for tool in $tools; do
    command -v "$tool" >/dev/null || fail "$tool not found (apt-get install -y wrk nginx haproxy caddy curl python3)"
done
n_targets=$(wc -w <<<"$TARGETS")
n_counts=$(wc -w <<<"$CONNECTIONS")
n_jvms=0
for t in $TARGETS; do
    if [[ $t == edgegate* || $t == helidon || $t == java-* ]]; then n_jvms=$((n_jvms + 1)); fi
done
(( ROUNDS * n_targets * n_counts * (WARMUP + DURATION) + n_jvms * JVM_WARMUP <= 560 )) \
    || fail "ROUNDS*targets*counts*(WARMUP+DURATION)+JVMs*JVM_WARMUP must stay within 560 s (whole run under 10 minutes)"

work=$(mktemp -d /tmp/edgegate-proxy-compare.XXXXXX)
lib_init

read -r backend_port nginx_port haproxy_port floor_port caddy_port < <(free_ports 5)

# ---------------------------------------------------------------- backend: nginx, return 200
mkdir -p "$work/backend" "$work/nginx" "$work/haproxy" "$work/floor" "$work/caddy"
start_nginx_backend "$work/backend" "$backend_port" "$BODY"

# ---------------------------------------------------------------- nginx reverse proxy
cat > "$work/nginx/nginx.conf" <<EOF
daemon off;
worker_processes auto;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 1000000;
    keepalive_timeout 120s;
    client_body_temp_path $work/nginx; proxy_temp_path $work/nginx; fastcgi_temp_path $work/nginx;
    uwsgi_temp_path $work/nginx; scgi_temp_path $work/nginx;
    upstream echo { server 127.0.0.1:$backend_port; keepalive 128; keepalive_requests 1000000; }
    server {
        listen 127.0.0.1:$nginx_port;
        location /svc/echo/ {
            proxy_pass http://echo/;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
}
EOF
nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" &
spawn $!

# ---------------------------------------------------------------- haproxy
cat > "$work/haproxy/haproxy.cfg" <<EOF
global
    maxconn 4096
defaults
    mode http
    option http-keep-alive
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    timeout http-keep-alive 120s
frontend fe
    bind 127.0.0.1:$haproxy_port
    default_backend be
backend be
    http-request set-path %[path,regsub(^/svc/echo/,/)]
    http-reuse always
    server b1 127.0.0.1:$backend_port
EOF
haproxy -db -f "$work/haproxy/haproxy.cfg" > "$work/haproxy/haproxy.log" 2>&1 &
spawn $!

await_url "http://127.0.0.1:$backend_port/" 10 "${lib_pids[0]}" || fail "backend nginx did not start"
await_url "http://127.0.0.1:$nginx_port/svc/echo/x" 10 "${lib_pids[1]}" || fail "nginx proxy did not start"
await_url "http://127.0.0.1:$haproxy_port/svc/echo/x" 10 "${lib_pids[2]}" \
    || { cat "$work/haproxy/haproxy.log" >&2; fail "haproxy did not start"; }
declare -A url=(
    [direct]="http://127.0.0.1:$backend_port/api/v1/status"
    [nginx]="http://127.0.0.1:$nginx_port/svc/echo/api/v1/status"
    [haproxy]="http://127.0.0.1:$haproxy_port/svc/echo/api/v1/status"
    [caddy]="http://127.0.0.1:$caddy_port/svc/echo/api/v1/status"
    [helidon]="http://127.0.0.1:$floor_port/api/v1/status"
)
# CPU ticks (user + system) of the server a target measures: the process and its children (nginx workers).
declare -A server=([direct]=${lib_pids[0]} [nginx]=${lib_pids[1]} [haproxy]=${lib_pids[2]})

# ---------------------------------------------------------------- Caddy (Debian's caddy 2.6)
if targeted caddy; then
    cat > "$work/caddy/Caddyfile" <<EOF
{
    admin off
    auto_https off
}
http://127.0.0.1:$caddy_port {
    handle_path /svc/echo/* {
        reverse_proxy 127.0.0.1:$backend_port
    }
}
EOF
    XDG_DATA_HOME=$work/caddy XDG_CONFIG_HOME=$work/caddy HOME=$work/caddy \
        caddy run --config "$work/caddy/Caddyfile" --adapter caddyfile > "$work/caddy/caddy.log" 2>&1 &
    caddy_pid=$!
    spawn "$caddy_pid"
    server[caddy]=$caddy_pid
    await_url "${url[caddy]}" 10 "$caddy_pid" || { tail -20 "$work/caddy/caddy.log" >&2; fail "caddy did not start"; }
fi
# The token each target's requests carry (GATEWAY_TOKEN for proxy-report.lua); none for the others.
declare -A token=()
declare -A metrics_url=()

# ---------------------------------------------------------------- Edgegate
# One gateway per Edgegate target, each with the backend registered as service echo (with the
# gateway's own management token).
declare -A gw_env=(
    [edgegate]=""
    [edgegate-lean]="EDGEGATE_PROXY_LEAN_CONNECTIONS=true"
    [edgegate-helidon-path]="EDGEGATE_PROXY_LEAN_CONNECTIONS=false"
    [edgegate-allow]="EDGEGATE_ACL_DEFAULT_POLICY=allow"
    [edgegate-require]="EDGEGATE_PROXY_REQUIRE_TOKEN=true"
    [edgegate-metrics-off]="EDGEGATE_METRICS_ENABLED=false"
    [edgegate-vthreads]="EDGEGATE_PROXY_LEAN_PLATFORM_THREADS=0 EDGEGATE_PROXY_EVENT_LOOPS=0"
    [edgegate-pthreads]="EDGEGATE_PROXY_LEAN_PLATFORM_THREADS=256 EDGEGATE_PROXY_EVENT_LOOPS=0"
    [edgegate-loops]="EDGEGATE_PROXY_EVENT_LOOPS=2"
    [edgegate-loops-1]="EDGEGATE_PROXY_EVENT_LOOPS=1"
    [edgegate-serial]="" [edgegate-g1]="" [edgegate-parallel]="" [edgegate-zgc]=""
)
# The GC targets' JVM options: one collector each at the image's heap size.
declare -A gc_opts=(
    [edgegate-serial]="-XX:+UseSerialGC $GC_HEAP"
    [edgegate-g1]="-XX:+UseG1GC $GC_HEAP"
    [edgegate-parallel]="-XX:+UseParallelGC $GC_HEAP"
    [edgegate-zgc]="-XX:+UseZGC $GC_HEAP"
)
# Each gateway's management token (the scraper's, for /metrics)
declare -A admin_token=()
gateway_targets="edgegate edgegate-lean edgegate-helidon-path edgegate-allow edgegate-require edgegate-metrics-off"
gateway_targets="$gateway_targets edgegate-serial edgegate-g1 edgegate-parallel edgegate-zgc"
gateway_targets="$gateway_targets edgegate-vthreads edgegate-pthreads edgegate-loops edgegate-loops-1"
for t in $gateway_targets; do
    targeted "$t" || continue
    read -r port consul_port < <(free_ports 2)
    # shellcheck disable=SC2086
    JAVA_OPTS=${gc_opts[$t]:-$JAVA_OPTS} start_gateway "$t" "$port" "$consul_port" ${gw_env[$t]}
    gw_curl -fsS -o /dev/null -X POST -H 'Content-Type: application/json' \
        -d "{\"service\":\"echo\",\"id\":\"echo-1\",\"address\":\"127.0.0.1\",\"port\":$backend_port}" \
        "http://127.0.0.1:$port/v1/instances" || fail "cannot register the backend with $t"
    url[$t]="http://127.0.0.1:$port/svc/echo/api/v1/status"
    metrics_url[$t]="http://127.0.0.1:$port/metrics"
    admin_token[$t]=$GATEWAY_TOKEN
    server[$t]=$gw_pid
    if [[ $t == edgegate-require ]]; then
        token[$t]=$GATEWAY_TOKEN
        # the token is required: refused without it
        code=$(curl -s -o /dev/null -w '%{http_code}' "${url[$t]}")
        [[ $code == 403 ]] || fail "$t answered $code without a token (403 expected)"
    fi
done

# ---------------------------------------------------------------- Helidon answering by itself
if targeted helidon; then
    FLOOR_SRC=$root/jmh-benchmarks/src/main/java/io/edgegate/benchmarks/proxy/HelidonFloor.java
    "$JAVA_HOME/bin/javac" -nowarn -cp "$GATEWAY_JAR" -d "$work/floor" "$FLOOR_SRC" || fail "cannot compile $FLOOR_SRC"
    # shellcheck disable=SC2086
    "$JAVA_HOME/bin/java" $JAVA_OPTS -cp "$work/floor:$GATEWAY_JAR" io.edgegate.benchmarks.proxy.HelidonFloor \
        "$floor_port" "$BODY" > "$work/floor/floor.log" 2>&1 &
    floor_pid=$!
    spawn "$floor_pid"
    server[helidon]=$floor_pid
    await_url "http://127.0.0.1:$floor_port/" 30 "$floor_pid" \
        || { tail -20 "$work/floor/floor.log" >&2; fail "HelidonFloor did not start"; }
fi

# ---------------------------------------------------------------- the JDK-only reference proxies
declare -A reference_mode=([java-nio]="" [java-nio-1]=1 [java-nio-2]=2 [java-vthreads]=vthreads)
reference_targets="java-nio java-nio-1 java-nio-2 java-vthreads"
for t in $reference_targets; do
    targeted "$t" || continue
    REFERENCE_SRC=$root/jmh-benchmarks/src/main/java/io/edgegate/benchmarks/proxy/reference
    if [[ ! -d $work/reference ]]; then
        "$JAVA_HOME/bin/javac" -nowarn -d "$work/reference" "$REFERENCE_SRC"/*.java || fail "cannot compile $REFERENCE_SRC"
    fi
    read -r port < <(free_ports 1)
    mkdir -p "$work/$t"
    # shellcheck disable=SC2086
    "$JAVA_HOME/bin/java" $JAVA_OPTS -cp "$work/reference" io.edgegate.benchmarks.proxy.reference.NioReferenceProxy \
        "$port" "127.0.0.1:$backend_port" /svc/echo ${reference_mode[$t]} > "$work/$t/proxy.log" 2>&1 &
    ref_pid=$!
    spawn "$ref_pid"
    server[$t]=$ref_pid
    url[$t]="http://127.0.0.1:$port/svc/echo/api/v1/status"
    await_url "${url[$t]}" 30 "$ref_pid" || { tail -20 "$work/$t/proxy.log" >&2; fail "$t did not start"; }
done

for t in $TARGETS; do
    [[ -n ${url[$t]:-} ]] || fail "unknown target: $t (direct nginx haproxy caddy $gateway_targets helidon $reference_targets)"
    if [[ -n ${token[$t]:-} ]]; then
        got=$(GATEWAY_TOKEN=${token[$t]} gw_curl -fsS --max-time 2 "${url[$t]}") || fail "$t does not answer ${url[$t]}"
    else
        got=$(curl -fsS --max-time 2 "${url[$t]}") || fail "$t does not answer ${url[$t]}"
    fi
    [[ $got == "$BODY" ]] || fail "$t answered another body: $got"
done
if [[ $METRICS_COMPARE == 1 ]]; then
    code_on=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer ${admin_token[edgegate]}" "${metrics_url[edgegate]}")
    code_off=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer ${admin_token[edgegate-metrics-off]}" \
        "${metrics_url[edgegate-metrics-off]}")
    [[ $code_on == 200 && $code_off == 404 ]] || fail "/metrics: edgegate answered $code_on (200 expected), edgegate-metrics-off $code_off (404 expected)"
fi

wrk_run() { # wrk_run TARGET SECONDS CONNECTIONS -> RESULT fields
    GATEWAY_TOKEN=${token[$1]:-} wrk -t"$THREADS" -c"$3" -d"${2}s" --timeout 5s -s "$LUA" "${url[$1]}" 2>&1 \
        | sed -n 's/^RESULT //p'
}
tree_ticks() {
    local total=0 p
    for p in "$1" $(pgrep -P "$1"); do
        total=$((total + $(cpu_ticks "$p")))
    done
    echo "$total"
}
max_connections=0
for c in $CONNECTIONS; do (( c > max_connections )) && max_connections=$c; done

echo "proxy-compare: wrk -t$THREADS -c{$CONNECTIONS}, ${WARMUP} s warm-up + ${DURATION} s per target, count and round," \
    "$ROUNDS rounds; body ${#BODY} bytes; $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
[[ $GC_COMPARE == 1 ]] && echo "GC targets: ${gc_opts[edgegate-g1]#* } with the collector of each"
echo "gateway JVM: $JAVA_OPTS ($("$JAVA_HOME/bin/java" -version 2>&1 | sed -n 2p))"
for t in $TARGETS; do
    if [[ $t == edgegate* || $t == helidon || $t == java-* ]] && (( JVM_WARMUP > 0 )); then
        echo "warming up the $t JVM for ${JVM_WARMUP} s ..."
        wrk_run "$t" "$JVM_WARMUP" "$max_connections" > /dev/null
    fi
done

# One measured window of one target: measure ROUND CONNECTIONS TARGET; prints its row and appends it to
# results.
measure() {
    local round=$1 conns=$2 t=$3 scraper r rps p50 p90 p99 mx errs cpu t0 t1 load
    wrk_run "$t" "$WARMUP" "$conns" > /dev/null
    scraper=""
    if [[ $METRICS_COMPARE == 1 && $t == edgegate ]]; then
        # Prometheus's part, for the measured window only: the scrape's cost lands on this gateway alone
        (while :; do
            curl -s -o /dev/null -H "Authorization: Bearer ${admin_token[$t]}" "${metrics_url[$t]}" || true
            sleep "$SCRAPE_INTERVAL"
        done) &
        scraper=$!
    fi
    load=$(cut -d' ' -f1 /proc/loadavg)
    t0=$(tree_ticks "${server[$t]}")
    r=$(wrk_run "$t" "$DURATION" "$conns")
    t1=$(tree_ticks "${server[$t]}")
    if [[ -n $scraper ]]; then kill "$scraper" 2>/dev/null || true; wait "$scraper" 2>/dev/null || true; fi
    [[ -n $r ]] || fail "no wrk result for $t"
    rps=$(field "$r" rps); p50=$(field "$r" p50_us); p90=$(field "$r" p90_us); p99=$(field "$r" p99_us)
    mx=$(field "$r" max_us); errs=$(( $(field "$r" errors) + $(field "$r" non2xx) ))
    # CPU of the server per request: its ticks over the window / (req/s x seconds)
    cpu=$(awk -v d=$((t1 - t0)) -v hz="$(clk_tck)" -v rps="$rps" -v s="$DURATION" \
        'BEGIN { printf "%.2f", d / hz * 1e6 / (rps * s) }')
    awk -v r="$round" -v c="$conns" -v t="$t" -v rps="$rps" -v a="$p50" -v b="$p90" -v p="$p99" -v m="$mx" \
        -v e="$errs" -v u="$cpu" -v l="$load" \
        'BEGIN { printf "%-6s %-5s %-22s %10.0f %9.3f %9.3f %9.3f %9.1f %7d %11s %6s\n", r, c, t, rps, a/1000, b/1000, p/1000, m/1000, e, u, l }'
    echo "$round $conns $t $rps $p50 $p99 $cpu $errs $load" >> "$work/results"
}

printf '%-6s %-5s %-22s %10s %9s %9s %9s %9s %7s %11s %6s\n' round conns target "req/s" "p50 ms" "p90 ms" "p99 ms" \
    "max ms" errors "cpu us/req" load
read -r -a targets <<<"$TARGETS"
for round in $(seq "$ROUNDS"); do
    # the order rotates every round, so no target always runs first or last
    shift_by=$(( (round - 1) % ${#targets[@]} ))
    order=("${targets[@]:shift_by}" "${targets[@]:0:shift_by}")
    for conns in $CONNECTIONS; do
        if [[ $SIDE_BY_SIDE == 1 ]]; then
            # every target at once: whatever else the machine runs meanwhile hits them alike
            pids=()
            for t in "${order[@]}"; do
                measure "$round" "$conns" "$t" &
                pids+=($!)
            done
            wait "${pids[@]}"
        else
            for t in "${order[@]}"; do
                measure "$round" "$conns" "$t"
            done
        fi
    done
done

echo
echo "per connection count: medians over $ROUNDS rounds; ratios to nginx are per round (same minutes), then their median"
echo "(req/s higher is better, p99 lower is better; target for edgegate-lean: req/s >= 1.0x nginx, p99 <= 1.5x nginx)"
python3 - "$work/results" <<'EOF'
import sys, collections, statistics
rows = collections.defaultdict(dict)   # (conns, round) -> target -> values
for line in open(sys.argv[1]):
    rnd, conns, t, rps, p50, p99, cpu, errs, load = line.split()
    rows[(int(conns), int(rnd))][t] = (float(rps), float(p50) / 1000, float(p99) / 1000, float(cpu), float(load))
med = statistics.median
for conns in sorted({c for c, _ in rows}):
    rounds = sorted(r for c, r in rows if c == conns)
    targets = []
    for r in rounds:
        for t in rows[(conns, r)]:
            if t not in targets:
                targets.append(t)
    print(f"\n{conns} connections")
    print(f"{'target':22} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'cpu us/req':>11} {'req/s / nginx':>14} {'p99 / nginx':>12}"
          f" {'rounds: req/s / nginx':>30} {'rounds: p99 / nginx':>28}")
    for t in targets:
        v = [rows[(conns, r)][t] for r in rounds if t in rows[(conns, r)]]
        ng = [(rows[(conns, r)][t], rows[(conns, r)]["nginx"]) for r in rounds
              if t in rows[(conns, r)] and "nginx" in rows[(conns, r)]]
        rr = [a[0] / b[0] for a, b in ng]
        pr = [a[2] / b[2] for a, b in ng]
        r1 = f"{med(rr):.2f}" if rr else "-"
        r2 = f"{med(pr):.2f}" if pr else "-"
        verdict = ""
        if t.startswith("edgegate") and t != "edgegate-helidon-path" and rr:
            verdict = "  target: " + ("met" if med(rr) >= 1.0 and med(pr) <= 1.5 else "MISSED")
        print(f"{t:22} {med(x[0] for x in v):9.0f} {med(x[1] for x in v):8.3f} {med(x[2] for x in v):8.3f}"
              f" {med(x[3] for x in v):11.2f} {r1:>14} {r2:>12} {' '.join('%.2f' % x for x in rr):>30}"
              f" {' '.join('%.2f' % x for x in pr):>28}{verdict}")
    loads = [x[4] for r in rounds for x in rows[(conns, r)].values()]
    print(f"load average at the start of the measurements: {min(loads):.1f}-{max(loads):.1f}")
EOF
if [[ $ACL_COMPARE == 1 ]] || { targeted edgegate-allow && { targeted edgegate || targeted edgegate-require; }; }; then
    echo
    python3 - "$work/results" <<'EOF'
import collections, statistics, sys
by_round = collections.defaultdict(dict)
for line in open(sys.argv[1]):
    rnd, conns, t, rps, p50, p99, cpu, errs, load = line.split()
    by_round[(int(rnd), int(conns))][t] = (float(rps), float(p99) / 1000, float(cpu), int(errs))
base = "edgegate-allow"
print("access control on / off (off = edgegate-allow: default-policy allow, no token; edgegate: default deny,"
      " no token needed or sent; edgegate-require: default deny, proxy.require-token, the token looked up on every request):")
print(f"{'target':16} {'req/s on/off':>13} {'median of round ratios':>23} {'rounds':>32} {'p99 on/off':>11}"
      f" {'cpu/req on/off':>15} {'errors':>7}")
for t in ("edgegate", "edgegate-require"):
    rounds = [r for r in sorted(by_round) if t in by_round[r] and base in by_round[r]]
    if not rounds:
        continue
    on = [by_round[r][t] for r in rounds]
    off = [by_round[r][base] for r in rounds]
    med = lambda xs, i: statistics.median(x[i] for x in xs)
    ratios = [a[0] / b[0] for a, b in zip(on, off)]
    ratio = med(on, 0) / med(off, 0)
    print(f"{t:16} {ratio:13.3f} {statistics.median(ratios):23.3f} {' '.join('%.2f' % x for x in ratios):>32}"
          f" {med(on, 1) / med(off, 1):11.3f} {med(on, 2) / med(off, 2):15.3f} {sum(x[3] for x in on):7d}"
          f"  target >= 0.95: {'met' if ratio >= 0.95 else 'MISSED'}")
EOF
fi
if [[ $METRICS_COMPARE == 1 ]] || { targeted edgegate-metrics-off && targeted edgegate; }; then
    echo
    SCRAPE_INTERVAL=$SCRAPE_INTERVAL python3 - "$work/results" <<'EOF'
import collections, os, statistics, sys
by_round = collections.defaultdict(dict)
for line in open(sys.argv[1]):
    rnd, conns, t, rps, p50, p99, cpu, errs, load = line.split()
    by_round[(int(rnd), int(conns))][t] = (float(rps), float(p99) / 1000, float(cpu), int(errs))
on, off = "edgegate", "edgegate-metrics-off"
rounds = [r for r in sorted(by_round) if on in by_round[r] and off in by_round[r]]
a = [by_round[r][on] for r in rounds]
b = [by_round[r][off] for r in rounds]
med = lambda xs, i: statistics.median(x[i] for x in xs)
ratios = [x[0] / y[0] for x, y in zip(a, b)]
ratio = med(a, 0) / med(b, 0)
print("metrics on / off (edgegate: metrics on, /metrics scraped every " + os.environ["SCRAPE_INTERVAL"]
      + " s while measured; edgegate-metrics-off: edgegate.metrics.enabled=false):")
print(f"{'req/s on/off':>13} {'median of round ratios':>23} {'rounds':>32} {'p99 on/off':>11} {'cpu/req on/off':>15} {'errors':>7}")
print(f"{ratio:13.3f} {statistics.median(ratios):23.3f} {' '.join('%.2f' % x for x in ratios):>32}"
      f" {med(a, 1) / med(b, 1):11.3f} {med(a, 2) / med(b, 2):15.3f} {sum(x[3] for x in a + b):7d}"
      f"  target >= 0.97: {'met' if ratio >= 0.97 else 'MISSED'}")
EOF
fi
echo
for t in $gateway_targets; do
    targeted "$t" || continue
    echo "$t GC: $(gc_summary "$work/$t/gc.log"); RSS $(rss_mib "${server[$t]}") MiB"
done
