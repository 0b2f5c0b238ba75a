#!/usr/bin/env bash
# Active health checks at scale: what the gateway's prober costs and how fast it notices a death.
#
# What: one HealthBackend process (io.edgegate.benchmarks.load, compiled here from source: one NIO
#   thread serving PORTS loopback ports, every request answered "200 ok" and counted) stands for the
#   instances' processes. Then, each on a fresh gateway:
#     ttl-LARGE   LARGE instances with TTL checks (30 s, never renewed): no probes; the baseline
#     http-SMALL  SMALL instances with HTTP checks (GET http://127.0.0.1:<port>/health/<n>)
#     http-LARGE  LARGE instances with HTTP checks
#     tcp-LARGE   LARGE instances with TCP checks (connect to 127.0.0.1:<port>)
#   all at INTERVAL, TIMEOUT; each instance gets its own probe even where many share a port.
#   Per phase, after SETTLE seconds, over MEASURE seconds: gateway CPU (utime + stime deltas of
#   /proc/<pid>/stat, as cores), RSS and threads, the probes per second the backend actually
#   received (against the LARGE / INTERVAL expected), the gateway's own launched and
#   skipped-still-running counters (GET /v1/status), the interval between two probes of the same
#   instance as the backend saw them, the backend's own CPU, the cores other users took (others),
#   and the health counts (every instance must be passing; if not, the critical outputs are shown). Then the detection delay: port 0's instances (those of
#   every PORTS-th service) are made to fail at a known time (HTTP: the port answers 500; TCP: its
#   listener and connections are closed, so connects are refused) and one blocking query per
#   affected service (GET /v1/services/<s>?health=critical&index=..) records when each instance
#   is first seen critical: p50/p99/max over the affected instances, expected <= INTERVAL (+ the
#   probe's own time; TIMEOUT only matters for a hung backend, not exercised here).
#   The ttl phase also times TTL expiry: 300 more instances registered passing with TTL_PROBE and
#   never renewed, seen critical how long after the TTL (expected: one 8 ms timer tick).
#   Baseline in the same run: the ttl phase (same instances, no probes) and the backend's CPU.
# Access control stays on (default deny): each phase's gateway makes its own management token,
#   which every request to it carries (GATEWAY_TOKEN, set by load-lib.sh's start_gateway).
# Needs: JDK 21+ (JAVA_HOME), curl, python3, the gateway jar (mvn -pl edge-gateway -am -DskipTests
#   package).
# Knobs: SMALL=1000, LARGE=10000, PER_SERVICE=100 (instances per service), PORTS=4, INTERVAL=1s,
#   TIMEOUT=1s, SETTLE=15, MEASURE=10, DETECT_LIMIT=8 (seconds), PHASES="ttl http-small http-large
#   tcp-large"; also tcp-small), TTL_PROBE=2s, MAX_PROBES (EDGEGATE_HEALTH_MAX_CONCURRENT_PROBES;
#   default the gateway's 512), JAVA_OPTS (gateway JVM), GATEWAY_JAR, DATA_ROOT (journals elsewhere,
#   e.g. /dev/shm, a diagnostic), KEEP_DIR=1.
# Time bound: about 25 s (ttl) + 3 x (SETTLE + MEASURE + ~10) = about 2 minutes with the defaults;
#   refused above 220 s. Everything it starts is stopped on exit (trap).
set -euo pipefail

SMALL=${SMALL:-1000}
LARGE=${LARGE:-10000}
PER_SERVICE=${PER_SERVICE:-100}
PORTS=${PORTS:-4}
INTERVAL=${INTERVAL:-1s}
TIMEOUT=${TIMEOUT:-1s}
SETTLE=${SETTLE:-15}
MEASURE=${MEASURE:-10}
DETECT_LIMIT=${DETECT_LIMIT:-8}
TTL_PROBE=${TTL_PROBE:-2s}
PHASES=${PHASES:-ttl http-small http-large tcp-large}
export JAVA_HOME=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=load-lib.sh
source "$here/load-lib.sh"
GATEWAY_JAR=${GATEWAY_JAR:-$lib_root/edge-gateway/target/edge-gateway.jar}

[[ -f $GATEWAY_JAR ]] || fail "gateway jar not found: $GATEWAY_JAR (build: mvn -pl edge-gateway -am -DskipTests package)"
[[ -x $JAVA_HOME/bin/javac ]] || fail "no JDK in JAVA_HOME=$JAVA_HOME (JDK 21+ needed)"
for tool in curl python3; do
    command -v "$tool" >/dev/null || fail "$tool not found"
done
read -r -a phases <<<"$PHASES"
budget=$(( 20 + (${#phases[@]} - 1) * (SETTLE + MEASURE + DETECT_LIMIT + 5) ))
(( budget <= 220 )) || fail "the phases come to about ${budget} s; keep them within 220 s (SETTLE, MEASURE, PHASES)"

work=$(mktemp -d /tmp/edgegate-health.XXXXXX)
lib_init
compile_tools
hz=$(clk_tck)
seconds() { python3 -c "import re,sys; m=re.fullmatch(r'([0-9.]+)(ms|s|m)', '$1') or sys.exit('$1: expected like 1s or 500ms'); print(float(m[1]) * {'ms': 0.001, 's': 1, 'm': 60}[m[2]])"; }
interval_s=$(seconds "$INTERVAL")
timeout_s=$(seconds "$TIMEOUT")

"$JAVA_HOME/bin/java" -XX:+UseSerialGC -Xmx256m -cp "$work/tools" io.edgegate.benchmarks.load.HealthBackend \
    --ports "$PORTS" > "$work/backend.out" 2> "$work/backend.err" &
backend_pid=$!
spawn "$backend_pid"
for _ in $(seq 100); do
    grep -q '^PORTS' "$work/backend.out" 2>/dev/null && break
    kill -0 "$backend_pid" 2>/dev/null || { cat "$work/backend.err" >&2; fail "backend did not start"; }
    sleep 0.1
done
read -r -a backend_line < "$work/backend.out"
backend_ports=("${backend_line[@]:1:$PORTS}")
ctl=http://127.0.0.1:${backend_line[$((PORTS + 2))]}
echo "health-scale: phases ${PHASES}; SMALL=$SMALL LARGE=$LARGE instances, $PER_SERVICE per service," \
    "$PORTS backend ports (${backend_ports[*]}); interval $INTERVAL, timeout $TIMEOUT; settle ${SETTLE}s," \
    "measure ${MEASURE}s; $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); work dir $work"

# Backend counters: requests (HTTP probes) or accepts (TCP probes), summed over the ports.
backend_count() { # requests|accepts
    curl -fsS --max-time 5 "$ctl/stats" | tr ' ' '\n' | sed -n "s/^$1=//p" | tr ',' '\n' | awk '{ s += $1 } END { print s }'
}

# JSON lines of COUNT instances whose check is KIND (ttl, http, tcp).
instances() { # count kind
    python3 - "$1" "$2" "$PER_SERVICE" "$PORTS" "$INTERVAL" "$TIMEOUT" "${backend_ports[@]}" <<'EOF'
import json, sys
count, kind, per, nports, interval, timeout = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[6]
ports = sys.argv[7:]
services = max(1, count // per)
for n in range(count):
    s = n % services
    port = ports[s % nports]
    if kind == "ttl":
        check = {"ttl": "30s"}
    elif kind == "http":
        check = {"http": "http://127.0.0.1:%s/health/%d" % (port, n), "interval": interval, "timeout": timeout}
    else:
        check = {"tcp": "127.0.0.1:%s" % port, "interval": interval, "timeout": timeout}
    print(json.dumps({"service": "hc-%d" % s, "id": "hc-%d-%d" % (s, n), "address": "127.0.0.1",
                      "port": int(port), "check": check}))
EOF
}

# Fails port 0 at a known time and records, per affected instance, when it is first seen critical.
detect_py=$(cat <<'EOF'
import http.client, json, os, sys, threading, time
gw_port, ctl, fault, limit, count, per, nports = sys.argv[1:8]
token = {"X-Consul-Token": os.environ["GATEWAY_TOKEN"]}
limit, count, per, nports = float(limit), int(count), int(per), int(nports)
services = max(1, count // per)
affected = ["hc-%d" % s for s in range(services) if s % nports == 0]
expected = {name: {"hc-%d-%d" % (int(name[3:]), n) for n in range(count) if n % services == int(name[3:])}
            for name in affected}
seen, before, lock = {}, set(), threading.Lock()
start = threading.Event()
t0 = [0.0]

def get(conn, path):
    conn.request("GET", path, headers=token)
    r = conn.getresponse()
    body = r.read()
    return int(r.getheader("X-Edgegate-Index", "0")), json.loads(body)

def watch(name):
    conn = http.client.HTTPConnection("127.0.0.1", int(gw_port), timeout=limit + 5)
    index, body = get(conn, "/v1/services/%s?health=critical" % name)
    with lock:
        before.update(i["id"] for i in body["instances"])
    start.wait()
    deadline = t0[0] + limit
    while time.time() < deadline:
        wait_ms = max(1, int((deadline - time.time()) * 1000))
        index, body = get(conn, "/v1/services/%s?health=critical&index=%d&wait=%dms" % (name, index, wait_ms))
        now = time.time()
        with lock:
            for i in body["instances"]:
                seen.setdefault(i["id"], now)
            if expected[name] <= seen.keys():
                return

threads = [threading.Thread(target=watch, args=(n,), daemon=True) for n in affected]
for t in threads:
    t.start()
time.sleep(0.5)  # every watcher has its first answer and is about to block
t0[0] = time.time()
c = http.client.HTTPConnection(ctl.split("//")[1].split(":")[0], int(ctl.rsplit(":", 1)[1]), timeout=5)
c.request("GET", fault)
c.getresponse().read()
start.set()
for t in threads:
    t.join(limit + 10)
want = set().union(*expected.values()) - before
delays = sorted((seen[i] - t0[0]) * 1000 for i in want if i in seen)
def q(p):
    return delays[min(len(delays) - 1, max(0, int(-(-p * len(delays) // 1)) - 1))] if delays else -1
print("DETECT expected_critical=%d seen=%d already_critical=%d min_ms=%.0f p50_ms=%.0f p99_ms=%.0f max_ms=%.0f"
      % (len(want), len(delays), len(before), delays[0] if delays else -1, q(0.5), q(0.99), delays[-1] if delays else -1))
EOF
)

# TTL expiry timing (ttl phase): 300 more instances (3 services) registered passing with a TTL of
# TTL_PROBE and never renewed; one blocking query per service records when each is seen critical.
# Delays are from the registration's answer; expected: the TTL plus at most one timer tick.
ttl_expiry_py=$(cat <<'EOF'
import http.client, json, os, sys, threading, time, re
gw_port, ttl = int(sys.argv[1]), sys.argv[2]
token = os.environ["GATEWAY_TOKEN"]
m = re.fullmatch(r"([0-9.]+)(ms|s)", ttl)
ttl_ms = float(m[1]) * (1 if m[2] == "ms" else 1000)
services = ["ttlx-%d" % s for s in range(3)]
body = {"instances": [{"service": s, "id": "%s-%d" % (s, i), "address": "127.0.0.1", "port": 1,
                       "check": {"ttl": ttl, "status": "passing"}} for s in services for i in range(100)]}
seen, lock = {}, threading.Lock()
def watch(name, index, deadline):
    conn = http.client.HTTPConnection("127.0.0.1", gw_port, timeout=30)
    while time.time() < deadline:
        conn.request("GET", "/v1/services/%s?health=critical&index=%d&wait=%dms" % (name, index, max(1, int((deadline - time.time()) * 1000))),
                     headers={"X-Consul-Token": token})
        r = conn.getresponse()
        data = json.loads(r.read())
        index = int(r.getheader("X-Edgegate-Index", "0"))
        now = time.time()
        with lock:
            for i in data["instances"]:
                seen.setdefault(i["id"], now)
            if sum(1 for k in seen if k.startswith(name + "-")) == 100:
                return
c = http.client.HTTPConnection("127.0.0.1", gw_port, timeout=30)
c.request("POST", "/v1/instances/batch", json.dumps(body), {"Content-Type": "application/json", "X-Consul-Token": token})
resp = c.getresponse()
resp.read()
t0 = time.time()
index = int(resp.getheader("X-Edgegate-Index", "0"))
deadline = t0 + 3 * ttl_ms / 1000 + 5
threads = [threading.Thread(target=watch, args=(n, index, deadline), daemon=True) for n in services]
for t in threads:
    t.start()
for t in threads:
    t.join(deadline - time.time() + 5)
late = sorted((seen[k] - t0) * 1000 - ttl_ms for k in seen)
def q(p):
    return late[min(len(late) - 1, max(0, int(-(-p * len(late) // 1)) - 1))] if late else -1
print("DETECT ttl_ms=%.0f expected_critical=300 seen=%d late_p50_ms=%.0f late_p99_ms=%.0f late_max_ms=%.0f ratio_max=%.2f"
      % (ttl_ms, len(late), q(0.5), q(0.99), late[-1] if late else -1, ((late[-1] + ttl_ms) / ttl_ms) if late else -1))
EOF
)

declare -a rows
phase() { # name kind count
    local name=$1 kind=$2 count=$3
    local port consul probes0 probes1 cpu0 cpu1 bcpu0 bcpu1 busy0 busy1 t0 t1 registered detect fault stats
    local launched0 launched1 skipped0 skipped1
    read -r port consul < <(free_ports 2)
    start_gateway "$name" "$port" "$consul" ${MAX_PROBES:+EDGEGATE_HEALTH_MAX_CONCURRENT_PROBES=$MAX_PROBES}
    local gw=http://127.0.0.1:$port
    instances "$count" "$kind" > "$work/$name/instances.jsonl"
    registered=$(register_batch "$gw" < "$work/$name/instances.jsonl")
    [[ $registered == "$count" ]] || fail "$name: registered $registered of $count"
    sleep "$SETTLE"
    local counter=requests
    [[ $kind == tcp ]] && counter=accepts
    curl -fsS -o /dev/null "$ctl/reset"
    launched0=$(status_value "$gw" health.probes-launched); skipped0=$(status_value "$gw" health.probes-skipped-still-running)
    probes0=$(backend_count "$counter"); cpu0=$(cpu_ticks "$gw_pid"); bcpu0=$(cpu_ticks "$backend_pid")
    busy0=$(machine_busy_ticks); t0=$(date +%s.%N)
    sleep "$MEASURE"
    launched1=$(status_value "$gw" health.probes-launched); skipped1=$(status_value "$gw" health.probes-skipped-still-running)
    probes1=$(backend_count "$counter"); cpu1=$(cpu_ticks "$gw_pid"); bcpu1=$(cpu_ticks "$backend_pid")
    busy1=$(machine_busy_ticks); t1=$(date +%s.%N)
    stats=$(curl -fsS --max-time 5 "$ctl/stats")
    read -r _ passing _ critical < <(health_counts "$gw")
    if [[ $kind != ttl && $passing != "$count" ]]; then
        echo "$name: $((count - passing)) not passing after settling: $(critical_outputs "$gw")" >> "$work/notes"
    fi
    local rss threads
    rss=$(rss_mib "$gw_pid")
    threads=$(awk '/^Threads:/ { print $2 }' "/proc/$gw_pid/status")
    # sockets in TIME_WAIT on the machine: TCP checks close first, so each probe leaves one for 60 s
    echo "$name: sockets in TIME_WAIT after the window: $(ss -tan state time-wait | tail -n +2 | wc -l)" >> "$work/notes"
    detect=
    if [[ $kind == ttl ]]; then
        detect=$(python3 -c "$ttl_expiry_py" "$port" "$TTL_PROBE" | sed -n 's/^DETECT //p')
    fi
    if [[ $kind != ttl ]]; then
        fault=/fail/0
        [[ $kind == tcp ]] && fault=/close/0
        detect=$(python3 -c "$detect_py" "$port" "$ctl" "$fault" "$DETECT_LIMIT" "$count" "$PER_SERVICE" "$PORTS" \
            | sed -n 's/^DETECT //p')
        curl -fsS -o /dev/null "$ctl/ok/0"
    fi
    stop "$gw_pid"
    local dt
    dt=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')
    # one row of key=value fields (no spaces in values)
    rows+=("$(awk -v n="$name" -v kind="$kind" -v c="$count" -v dt="$dt" -v cpu=$((cpu1 - cpu0)) \
        -v bcpu=$((bcpu1 - bcpu0)) -v hz="$hz" -v p=$((probes1 - probes0)) -v iv="$interval_s" \
        -v rss="$rss" -v th="$threads" -v passing="$passing" -v others=$((busy1 - busy0 - (cpu1 - cpu0) - (bcpu1 - bcpu0))) \
        -v l0="$launched0" -v l1="$launched1" -v s0="$skipped0" -v s1="$skipped1" \
        'BEGIN { expct = (kind == "ttl" ? 0 : c / iv)
                 printf "name=%s kind=%s count=%d cores=%.3f probes=%.0f expected=%.0f us_per_probe=%.0f rss=%d threads=%d backend=%.3f passing=%s/%d others=%.2f",
                     n, kind, c, cpu / hz / dt, p / dt, expct, (p > 0 ? cpu / hz / p * 1e6 : 0), rss, th, bcpu / hz / dt,
                     passing, c, others / hz / dt
                 if (l0 != "-" && l1 != "-") printf " launched=%.0f skipped=%.0f", (l1 - l0) / dt, (s1 - s0) / dt }') $(if [[ $kind == http ]]; then tr ' ' '\n' <<<"$stats" | grep '^interval' | tr '\n' ' '; fi) ${detect}")
    echo "$name: GC $(gc_summary "$work/$name/gc.log")${detect:+; detection $detect}" >> "$work/notes"
}

for p in "${phases[@]}"; do
    case $p in
        ttl) phase "ttl-$LARGE" ttl "$LARGE" ;;
        http-small) phase "http-$SMALL" http "$SMALL" ;;
        http-large) phase "http-$LARGE" http "$LARGE" ;;
        tcp-small) phase "tcp-$SMALL" tcp "$SMALL" ;;
        tcp-large) phase "tcp-$LARGE" tcp "$LARGE" ;;
        *) fail "unknown phase: $p (ttl http-small http-large tcp-small tcp-large)" ;;
    esac
done

v() { local x; x=$(field "$1" "$2"); echo "${x:--}"; }
echo
printf "%-11s %9s %8s %8s %8s %8s %8s %8s %7s %7s %8s %6s %11s | %7s %7s %7s | %9s %7s %7s %7s\n" phase \
    instances "gw cores" "probes/s" expected launched skipped "µs/probe" "RSS MiB" threads backend others passing \
    "ivl p50" "ivl p99" "ivl max" "detected" "p50 ms" "p99 ms" "max ms"
ttl_cores=
for row in "${rows[@]}"; do
    [[ $(v "$row" kind) == ttl ]] && ttl_cores=$(v "$row" cores)
    detected=-
    [[ -n $(field "$row" seen) && $(v "$row" kind) != ttl ]] && detected="$(v "$row" seen)/$(v "$row" expected_critical)"
    printf "%-11s %9s %8s %8s %8s %8s %8s %8s %7s %7s %8s %6s %11s | %7s %7s %7s | %9s %7s %7s %7s\n" \
        "$(v "$row" name)" "$(v "$row" count)" "$(v "$row" cores)" "$(v "$row" probes)" "$(v "$row" expected)" \
        "$(v "$row" launched)" "$(v "$row" skipped)" "$(v "$row" us_per_probe)" \
        "$(v "$row" rss)" "$(v "$row" threads)" "$(v "$row" backend)" "$(v "$row" others)" "$(v "$row" passing)" \
        "$(v "$row" interval_p50_ms)" "$(v "$row" interval_p99_ms)" "$(v "$row" interval_max_ms)" "$detected" \
        "$(v "$row" p50_ms)" "$(v "$row" p99_ms)" "$(v "$row" max_ms)"
done
echo
cat "$work/notes"
for row in "${rows[@]}"; do
    if [[ $(v "$row" kind) == ttl && -n $(field "$row" late_max_ms) ]]; then
        echo "$(v "$row" name): TTL expiry of $(v "$row" seen)/300 unrenewed instances (TTL $(v "$row" ttl_ms) ms): late by" \
            "p50 $(v "$row" late_p50_ms) ms, p99 $(v "$row" late_p99_ms) ms, max $(v "$row" late_max_ms) ms" \
            "(max/TTL $(v "$row" ratio_max); expected: 1.00 + one timer tick)"
    fi
    [[ -n $ttl_cores && $(v "$row" kind) != ttl ]] || continue
    awk -v n="$(v "$row" name)" -v a="$(v "$row" cores)" -v b="$ttl_cores" -v p="$(v "$row" probes)" \
        -v e="$(v "$row" expected)" -v d="$(v "$row" max_ms)" -v iv="$interval_s" -v to="$timeout_s" \
        'BEGIN { printf "%s: %.3f cores against %.3f idle with TTL checks (+%.3f); probes %.0f%% of expected; detection max %s ms: %s (bound: interval %.0f ms + timeout %.0f ms)\n",
                 n, a, b, a - b, (e > 0 ? 100 * p / e : 0), d, (d != "-" && d + 0 <= (iv + to) * 1000 ? "within" : "OUTSIDE"), iv * 1000, to * 1000 }'
done
echo "(gw cores, backend: CPU over the ${MEASURE}s window in cores of the $(nproc); others: cores the rest of the machine"
echo " (other users, this script's tools) used meanwhile; probes/s: probes the backend received; launched, skipped:"
echo " the gateway's own counters per second (health.probes-launched, probes-skipped-still-running of /v1/status);"
echo " µs/probe: gateway CPU per probe the backend"
echo " received; ivl: interval between two probes of the same instance as the backend saw them (HTTP phases), over the"
echo " window; detected: instances of the failed port seen critical / affected, delays from the fault to the blocking"
echo " query's answer)"
