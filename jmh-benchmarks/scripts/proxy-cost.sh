#!/usr/bin/env bash
# What one proxied request costs the gateway's lean path, in figures a shared machine does not
# disturb much: CPU microseconds (user + system, /proc/PID/stat), bytes allocated (JFR's
# jdk.ThreadAllocationStatistics at the start and end of each measured window, summed over every
# thread: a virtual thread's allocation is counted on its carrier) and, with STRACE=1, system calls
# per request (strace -c -f over one extra window; slows the gateway, so that window's req/s is not
# reported). Requests/s and p99 are printed too, but under load they follow the neighbours.
#
#   wrk -> gateway /svc/echo/... (the lean path, the gateway's defaults) -> nginx `return 200` (80 bytes)
#
# BASELINE_JAR: a second gateway (another build) measured in the same run, rounds interleaved, and
# the ratios new / baseline printed. PROFILE=1 keeps a JFR recording (settings=profile) of the last
# round of each gateway in $work (execution samples every millisecond; KEEP_DIR=1 is implied), for `jfr print --events jdk.ExecutionSample`
# or `jfr view allocation-by-site`.
#
# Needs wrk, nginx, curl, python3, jcmd (the JDK's); STRACE=1 needs strace. Builds nothing.
#
# Knobs: CONNECTIONS=64 THREADS=2 DURATION=10 WARMUP=20 ROUNDS=3 PROFILE=0 STRACE=0
#   JAVA_OPTS (default "-XX:+UseParallelGC -Xms256m -Xmx256m -XX:+AlwaysPreTouch", as proxy-compare.sh),
#   GATEWAY_JAR, BASELINE_JAR, JAVA_HOME, KEEP_DIR=1.
set -euo pipefail

CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-20}
ROUNDS=${ROUNDS:-3}
PROFILE=${PROFILE:-0}
STRACE=${STRACE:-0}
JAVA_HOME=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}
JAVA_OPTS=${JAVA_OPTS:--XX:+UseParallelGC -Xms256m -Xmx256m -XX:+AlwaysPreTouch}
if [[ $PROFILE == 1 ]]; then KEEP_DIR=1; fi
export KEEP_DIR=${KEEP_DIR:-0}

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
GATEWAY_JAR=${GATEWAY_JAR:-$root/edge-gateway/target/edge-gateway.jar}
BASELINE_JAR=${BASELINE_JAR:-}
LUA=$here/proxy-report.lua
BODY='{"service":"echo","status":"ok","node":"edge-1","ts":1700000000,"items":[1,2,3]}'
export JAVA_OPTS

# shellcheck source=load-lib.sh
source "$here/load-lib.sh"

for tool in wrk nginx curl python3; do
    command -v "$tool" >/dev/null || fail "$tool not found (apt-get install -y wrk nginx curl python3)"
done
[[ $STRACE == 0 ]] || command -v strace >/dev/null || fail "strace not found (apt-get install -y strace)"
JCMD=$JAVA_HOME/bin/jcmd
JFR=$JAVA_HOME/bin/jfr
[[ -x $JCMD && -x $JFR ]] || fail "no jcmd or jfr in JAVA_HOME=$JAVA_HOME"
[[ -f $GATEWAY_JAR ]] || fail "gateway jar not found: $GATEWAY_JAR"
[[ -z $BASELINE_JAR || -f $BASELINE_JAR ]] || fail "baseline jar not found: $BASELINE_JAR"
n_gw=1
[[ -z $BASELINE_JAR ]] || n_gw=2
(( n_gw * (WARMUP + ROUNDS * (DURATION + 2)) <= 540 )) || fail "WARMUP + ROUNDS x (DURATION + 2) per gateway must stay within 540 s"

work=$(mktemp -d /tmp/edgegate-proxy-cost.XXXXXX)
lib_init

read -r backend_port < <(free_ports 1)
mkdir -p "$work/backend"
cat > "$work/backend/nginx.conf" <<EOF
daemon off;
worker_processes 1;
pid $work/backend/nginx.pid;
error_log $work/backend/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 1000000;
    keepalive_timeout 120s;
    client_body_temp_path $work/backend; proxy_temp_path $work/backend; fastcgi_temp_path $work/backend;
    uwsgi_temp_path $work/backend; scgi_temp_path $work/backend;
    server {
        listen 127.0.0.1:$backend_port;
        location / { default_type application/json; return 200 '$BODY'; }
    }
}
EOF
nginx -p "$work/backend" -c "$work/backend/nginx.conf" &
spawn $!
await_url "http://127.0.0.1:$backend_port/" 10 "${lib_pids[0]}" || fail "backend nginx did not start"

declare -A url=() pid=() jar=([new]=$GATEWAY_JAR)
names="new"
if [[ -n $BASELINE_JAR ]]; then
    jar[baseline]=$BASELINE_JAR
    names="new baseline"
fi
for g in $names; do
    read -r port consul_port < <(free_ports 2)
    GATEWAY_JAR=${jar[$g]} start_gateway "$g" "$port" "$consul_port"
    gw_curl -fsS -o /dev/null -X POST -H 'Content-Type: application/json' \
        -d "{\"service\":\"echo\",\"id\":\"echo-1\",\"address\":\"127.0.0.1\",\"port\":$backend_port}" \
        "http://127.0.0.1:$port/v1/instances" || fail "cannot register the backend with $g"
    url[$g]="http://127.0.0.1:$port/svc/echo/api/v1/status"
    pid[$g]=$gw_pid
    got=$(curl -fsS --max-time 2 "${url[$g]}") || fail "$g does not answer ${url[$g]}"
    [[ $got == "$BODY" ]] || fail "$g answered another body: $got"
done

wrk_run() { # wrk_run GATEWAY SECONDS -> RESULT fields
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"${2}s" --timeout 5s -s "$LUA" "${url[$1]}" 2>&1 | sed -n 's/^RESULT //p'
}

# Bytes allocated by every thread of a recording: per thread, the last jdk.ThreadAllocationStatistics
# value less the first (threads that started meanwhile count from 0).
allocated() {
    "$JFR" print --events jdk.ThreadAllocationStatistics "$1" | python3 -c '
import re, sys
first, last, tid = {}, {}, None
for line in sys.stdin:
    m = re.search(r"allocated = ([0-9.]+) (bytes|kB|MB|GB)", line)
    if m:
        alloc = float(m.group(1)) * {"bytes": 1, "kB": 1024, "MB": 1024**2, "GB": 1024**3}[m.group(2)]
        continue
    m = re.search(r"javaThreadId = ([0-9]+)", line)
    if m:
        t = m.group(1)
        first.setdefault(t, alloc)
        last[t] = alloc
print(int(sum(last[t] - (first[t] if first[t] != last[t] else 0) for t in last)))
'
}

echo "proxy-cost: wrk -t$THREADS -c$CONNECTIONS, ${DURATION} s per window, $ROUNDS rounds; $(nproc) cores," \
    "load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "gateway JVM: $JAVA_OPTS"
for g in $names; do
    echo "warming up $g (${jar[$g]}) for ${WARMUP} s ..."
    wrk_run "$g" "$WARMUP" > /dev/null
done

printf '%-6s %-9s %10s %9s %11s %12s %6s\n' round gateway "req/s" "p99 ms" "cpu us/req" "bytes/req" load
for round in $(seq "$ROUNDS"); do
    for g in $names; do
        settings="settings=none +jdk.ThreadAllocationStatistics#enabled=true +jdk.ThreadAllocationStatistics#period=everyChunk"
        if [[ $PROFILE == 1 && $round == "$ROUNDS" ]]; then
            settings="settings=profile jdk.ExecutionSample#period=1ms"
        fi
        rec=$work/$g-round$round.jfr
        # shellcheck disable=SC2086
        "$JCMD" "${pid[$g]}" JFR.start name=cost $settings filename="$rec" > /dev/null
        load=$(cut -d' ' -f1 /proc/loadavg)
        t0=$(cpu_ticks "${pid[$g]}")
        r=$(wrk_run "$g" "$DURATION")
        t1=$(cpu_ticks "${pid[$g]}")
        "$JCMD" "${pid[$g]}" JFR.stop name=cost > /dev/null
        [[ -n $r ]] || fail "no wrk result for $g"
        requests=$(field "$r" requests)
        bytes=$(allocated "$rec")
        awk -v rnd="$round" -v g="$g" -v rps="$(field "$r" rps)" -v p99="$(field "$r" p99_us)" \
            -v d=$((t1 - t0)) -v hz="$(clk_tck)" -v n="$requests" -v b="$bytes" -v l="$load" \
            'BEGIN { printf "%-6s %-9s %10.0f %9.2f %11.2f %12.0f %6s\n", rnd, g, rps, p99 / 1000, d / hz * 1e6 / n, b / n, l }' \
            | tee -a "$work/results"
        if [[ $PROFILE != 1 || $round != "$ROUNDS" ]]; then rm -f "$rec"; fi
    done
done

if [[ $STRACE == 1 ]]; then
    for g in $names; do
        strace -c -f -q -o "$work/$g.strace" -p "${pid[$g]}" &
        tracer=$!
        sleep 1
        r=$(wrk_run "$g" "$DURATION")
        kill -INT "$tracer"
        wait "$tracer" 2>/dev/null || true
        requests=$(field "$r" requests)
        echo "system calls per request, $g ($requests requests under strace):"
        awk -v n="$requests" '$1 ~ /^[0-9.]+$/ && NF >= 5 { printf "  %-16s %8.3f\n", $NF, $4 / n }' \
            "$work/$g.strace" | sort -k2 -nr | head -12
    done
fi

echo
python3 - "$work/results" <<'EOF'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    rnd, g, rps, p99, cpu, b, load = line.split()
    rows.setdefault(g, []).append((float(rps), float(p99), float(cpu), float(b)))
for g, r in rows.items():
    med = [statistics.median(x[i] for x in r) for i in range(4)]
    print(f"median {g:9} req/s {med[0]:9.0f}  p99 {med[1]:6.2f} ms  cpu {med[2]:6.2f} us/req  alloc {med[3]:7.0f} B/req")
if "baseline" in rows:
    n = [statistics.median(x[i] for x in rows["new"]) for i in range(4)]
    b = [statistics.median(x[i] for x in rows["baseline"]) for i in range(4)]
    print(f"new / baseline: req/s {n[0] / b[0]:.2f}  cpu/req {n[2] / b[2]:.2f}  alloc/req {n[3] / max(b[3], 1):.2f}")
EOF

