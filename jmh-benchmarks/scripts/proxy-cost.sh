#!/usr/bin/env bash
# What one proxied request costs the gateway's lean path, in figures a shared machine does not
# disturb much: CPU microseconds (user + system, /proc/PID/stat), bytes allocated (JFR's
# jdk.ThreadAllocationStatistics at the start and end of each measured window, summed over every
# thread: a virtual thread's allocation is counted on its carrier) and, with SYSCALLS=1, system
# calls per request in the same window (perf stat on the syscalls tracepoints of the gateway's
# threads: reads, writes, epoll_ctl, which a virtual thread pays when it parks on a socket, futex;
# and the threads' context switches, which a platform thread pays when it blocks).
# Requests/s and p99 are printed too, but under load they follow the neighbours. Each window also
# prints its CPU per request split into user and system time (/proc/PID/stat's utime and stime, in
# clock ticks: over a 10 s window at 20,000 req/s, a tick is 0.05 us per request). The kernel
# samples that split at its timer ticks, and some VMs charge it wrongly (on the 2-core Firecracker
# guest of jmh-benchmarks' README it gave the C2 compiler thread 0 s user and 1.1 s system while
# perf found it in C2's own code): trust the total, and check a split with perf before quoting it.
#
#   wrk -> gateway /svc/echo/... (the lean path, the gateway's defaults) -> nginx `return 200` (80 bytes)
#
# BASELINE_JAR: a second gateway (another build) measured in the same run, rounds interleaved, and
# the ratios new / baseline printed; SIDE_BY_SIDE=1 measures both at the same time, one wrk each (the
# machine's other load then hits both alike; they also share the cores between them). PROFILE=1 keeps a JFR recording (settings=profile) of the last
# round of each gateway in $work (execution samples every millisecond; KEEP_DIR=1 is implied), for `jfr print --events jdk.ExecutionSample`
# or `jfr view allocation-by-site`; PROFILE=alloc adds every new TLAB and every allocation outside
# one, with its stack (jdk.ObjectAllocationInNewTLAB, a sample in proportion to the bytes allocated).
#
# REFERENCE=loops (or a loop count, or vthreads): the JDK-only reference proxy of proxy-compare.sh's
# java-nio targets (io.edgegate.benchmarks.proxy.reference.NioReferenceProxy, a measurement
# reference, not the product; compiled here with javac) measured in the same rounds as "reference",
# with the gateway's JAVA_OPTS: event loops (one per core, or that many), or vthreads (a virtual
# thread per connection, blocking channels); with SYSCALLS=1 its epoll_wait calls are counted too.
#
# Needs wrk, nginx, curl, python3, jcmd (the JDK's); SYSCALLS=1 needs perf (and the right to read
# tracepoints: root, or kernel.perf_event_paranoid <= -1). Builds nothing.
#
# Knobs: CONNECTIONS=64 THREADS=2 DURATION=10 WARMUP=20 ROUNDS=3 PROFILE=0 SYSCALLS=0 SIDE_BY_SIDE=0
#   JAVA_OPTS (default "-XX:+UseParallelGC -Xms256m -Xmx256m -XX:+AlwaysPreTouch", as proxy-compare.sh),
#   GATEWAY_JAR, BASELINE_JAR, BASELINE_JAVA_OPTS (the baseline's JVM options, JAVA_OPTS unless set:
#   two runtime settings compared on one build), REFERENCE, JAVA_HOME, KEEP_DIR=1.
set -euo pipefail

CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-20}
ROUNDS=${ROUNDS:-3}
PROFILE=${PROFILE:-0}
SYSCALLS=${SYSCALLS:-0}
SIDE_BY_SIDE=${SIDE_BY_SIDE:-0}
REFERENCE=${REFERENCE:-}
JAVA_HOME=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}
JAVA_OPTS=${JAVA_OPTS:--XX:+UseParallelGC -Xms256m -Xmx256m -XX:+AlwaysPreTouch}
if [[ $PROFILE != 0 ]]; then KEEP_DIR=1; fi
export KEEP_DIR=${KEEP_DIR:-0}

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
GATEWAY_JAR=${GATEWAY_JAR:-$root/edge-gateway/target/edge-gateway.jar}
BASELINE_JAR=${BASELINE_JAR:-}
BASELINE_JAVA_OPTS=${BASELINE_JAVA_OPTS:-$JAVA_OPTS}
LUA=$here/proxy-report.lua
BODY='{"service":"echo","status":"ok","node":"edge-1","ts":1700000000,"items":[1,2,3]}'
export JAVA_OPTS

# shellcheck source=load-lib.sh
source "$here/load-lib.sh"

for tool in wrk nginx curl python3; do
    command -v "$tool" >/dev/null || fail "$tool not found (apt-get install -y wrk nginx curl python3)"
done
[[ $SYSCALLS == 0 ]] || command -v perf >/dev/null || fail "perf not found (apt-get install -y linux-perf)"
JCMD=$JAVA_HOME/bin/jcmd
JFR=$JAVA_HOME/bin/jfr
[[ -x $JCMD && -x $JFR ]] || fail "no jcmd or jfr in JAVA_HOME=$JAVA_HOME"
[[ -f $GATEWAY_JAR ]] || fail "gateway jar not found: $GATEWAY_JAR"
[[ -z $BASELINE_JAR || -f $BASELINE_JAR ]] || fail "baseline jar not found: $BASELINE_JAR"
n_gw=1
[[ -z $BASELINE_JAR ]] || n_gw=$((n_gw + 1))
[[ -z $REFERENCE ]] || n_gw=$((n_gw + 1))
(( n_gw * (WARMUP + ROUNDS * (DURATION + 2)) <= 540 )) || fail "WARMUP + ROUNDS x (DURATION + 2) per gateway must stay within 540 s"

work=$(mktemp -d /tmp/edgegate-proxy-cost.XXXXXX)
lib_init

read -r backend_port < <(free_ports 1)
start_nginx_backend "$work/backend" "$backend_port" "$BODY"
await_url "http://127.0.0.1:$backend_port/" 10 "${lib_pids[0]}" || fail "backend nginx did not start"

declare -A url=() pid=() jar=([new]=$GATEWAY_JAR)
names="new"
if [[ -n $BASELINE_JAR ]]; then
    jar[baseline]=$BASELINE_JAR
    names="new baseline"
fi
for g in $names; do
    read -r port consul_port < <(free_ports 2)
    opts=$JAVA_OPTS
    [[ $g == new ]] || opts=$BASELINE_JAVA_OPTS
    JAVA_OPTS=$opts GATEWAY_JAR=${jar[$g]} start_gateway "$g" "$port" "$consul_port"
    gw_curl -fsS -o /dev/null -X POST -H 'Content-Type: application/json' \
        -d "{\"service\":\"echo\",\"id\":\"echo-1\",\"address\":\"127.0.0.1\",\"port\":$backend_port}" \
        "http://127.0.0.1:$port/v1/instances" || fail "cannot register the backend with $g"
    url[$g]="http://127.0.0.1:$port/svc/echo/api/v1/status"
    pid[$g]=$gw_pid
    got=$(curl -fsS --max-time 2 "${url[$g]}") || fail "$g does not answer ${url[$g]}"
    [[ $got == "$BODY" ]] || fail "$g answered another body: $got"
done
if [[ -n $REFERENCE ]]; then
    ref_src=$root/jmh-benchmarks/src/main/java/io/edgegate/benchmarks/proxy/reference
    "$JAVA_HOME/bin/javac" -nowarn -d "$work/reference-classes" "$ref_src"/*.java || fail "cannot compile $ref_src"
    read -r port < <(free_ports 1)
    mode=$REFERENCE
    [[ $mode != loops ]] || mode=""
    # shellcheck disable=SC2086
    "$JAVA_HOME/bin/java" $JAVA_OPTS -cp "$work/reference-classes" io.edgegate.benchmarks.proxy.reference.NioReferenceProxy \
        "$port" "127.0.0.1:$backend_port" /svc/echo $mode > "$work/reference.log" 2>&1 &
    pid[reference]=$!
    spawn "${pid[reference]}"
    url[reference]="http://127.0.0.1:$port/svc/echo/api/v1/status"
    jar[reference]="NioReferenceProxy $REFERENCE"
    await_url "${url[reference]}" 30 "${pid[reference]}" || { tail -20 "$work/reference.log" >&2; fail "the reference proxy did not start"; }
    names="$names reference"
fi

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
[[ -z $BASELINE_JAR || $BASELINE_JAVA_OPTS == "$JAVA_OPTS" ]] || echo "baseline JVM: $BASELINE_JAVA_OPTS"
for g in $names; do
    echo "warming up $g (${jar[$g]}) for ${WARMUP} s ..."
    wrk_run "$g" "$WARMUP" > /dev/null
done

# One measured window of one gateway: measure ROUND GATEWAY; prints its row and appends it to results.
measure() {
    local round=$1 g=$2 settings rec load t0 t1 r requests bytes u0 s0 u1 s1
    settings="settings=none +jdk.ThreadAllocationStatistics#enabled=true +jdk.ThreadAllocationStatistics#period=everyChunk"
    if [[ $PROFILE != 0 && $round == "$ROUNDS" ]]; then
        settings="settings=profile jdk.ExecutionSample#period=1ms"
        if [[ $PROFILE == alloc ]]; then
            settings="$settings jdk.ObjectAllocationInNewTLAB#enabled=true jdk.ObjectAllocationOutsideTLAB#enabled=true"
        fi
    fi
    rec=$work/$g-round$round.jfr
    # shellcheck disable=SC2086
    "$JCMD" "${pid[$g]}" JFR.start name=cost $settings filename="$rec" > /dev/null
    load=$(cut -d' ' -f1 /proc/loadavg)
    local perf_pid="" events=syscalls:sys_enter_read,syscalls:sys_enter_write,syscalls:sys_enter_epoll_ctl,syscalls:sys_enter_futex,context-switches
    [[ -z $REFERENCE ]] || events=$events,syscalls:sys_enter_epoll_wait
    if [[ $SYSCALLS == 1 ]]; then
        perf stat -x, -e "$events" -p "${pid[$g]}" -o "$work/$g-round$round.perf" &
        perf_pid=$!
    fi
    read -r u0 s0 < <(awk '{ print $14, $15 }' "/proc/${pid[$g]}/stat")
    t0=$((u0 + s0))
    r=$(wrk_run "$g" "$DURATION")
    read -r u1 s1 < <(awk '{ print $14, $15 }' "/proc/${pid[$g]}/stat")
    t1=$((u1 + s1))
    if [[ -n $perf_pid ]]; then kill -INT "$perf_pid"; wait "$perf_pid" 2>/dev/null || true; fi
    "$JCMD" "${pid[$g]}" JFR.stop name=cost > /dev/null
    [[ -n $r ]] || fail "no wrk result for $g"
    requests=$(field "$r" requests)
    bytes=$(allocated "$rec")
    awk -v rnd="$round" -v g="$g" -v rps="$(field "$r" rps)" -v p99="$(field "$r" p99_us)" \
        -v d=$((t1 - t0)) -v hz="$(clk_tck)" -v n="$requests" -v b="$bytes" -v l="$load" \
        'BEGIN { printf "%-6s %-9s %10.0f %9.2f %11.2f %12.0f %6s\n", rnd, g, rps, p99 / 1000, d / hz * 1e6 / n, b / n, l }' \
        | tee -a "$work/results"
    awk -v rnd="$round" -v g="$g" -v u=$((u1 - u0)) -v s=$((s1 - s0)) -v hz="$(clk_tck)" -v n="$requests" \
        'BEGIN { printf "%-6s %-9s cpu us/req: user %.2f system %.2f\n", rnd, g, u / hz * 1e6 / n, s / hz * 1e6 / n }'
    if [[ -n $perf_pid ]]; then
        awk -F, -v n="$requests" -v g="$g" -v rnd="$round" '$3 ~ /sys_enter_|context-switches/ { sub(/.*sys_enter_/, "", $3); s = s sprintf(" %s %.2f", $3, $1 / n) }
            END { printf "%-6s %-9s system calls per request:%s\n", rnd, g, s }' "$work/$g-round$round.perf"
    fi
    if [[ $PROFILE == 0 || $round != "$ROUNDS" ]]; then rm -f "$rec"; fi
}

printf '%-6s %-9s %10s %9s %11s %12s %6s\n' round gateway "req/s" "p99 ms" "cpu us/req" "bytes/req" load
for round in $(seq "$ROUNDS"); do
    if [[ $SIDE_BY_SIDE == 1 ]]; then
        # both gateways at once: the machine's other load hits both alike
        pids=()
        for g in $names; do
            measure "$round" "$g" &
            pids+=($!)
        done
        wait "${pids[@]}"
    else
        for g in $names; do
            measure "$round" "$g"
        done
    fi
done

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
if "reference" in rows:
    n = [statistics.median(x[i] for x in rows["new"]) for i in range(4)]
    r = [statistics.median(x[i] for x in rows["reference"]) for i in range(4)]
    print(f"new / reference: req/s {n[0] / r[0]:.2f}  cpu/req {n[2] / r[2]:.2f}  alloc/req {n[3] / max(r[3], 1):.2f}")
EOF

