# Shared helpers of the load scripts (sourced, not run): process control, free loopback ports,
# /proc readings, the gateway's start and its management token, and the two load tools of
# io.edgegate.benchmarks.load compiled from source (OpenLoop: open-loop HTTP load at a fixed rate;
# HealthBackend: counted /health endpoints). The sourcing script sets JAVA_HOME and `work` (its
# temporary directory) and calls `lib_init`.
#
# Access control: the gateway denies by default, so every API call of these scripts carries a
# token. A gateway started without edgegate.acl.tokens-file makes a management token (every
# right) in its data directory on its first start (management-token, mode 0600); `gateway_token`
# reads it after the start and exports it as GATEWAY_TOKEN, which the helpers below (gw_curl, the
# Python snippets), wrk's Lua scripts (X-Consul-Token on every request) and OpenLoop
# (--token-file) use. The secret never appears on a command line: curl reads the header from a
# pipe. Readiness is polled on /readyz, which needs no token.

lib_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
lib_root=$(cd "$lib_here/../.." && pwd)
lib_pids=()

fail() { echo "${0##*/}: $*" >&2; exit 1; }

# Installs the exit trap: stops every process started with `spawn`, removes $work unless KEEP_DIR=1.
lib_init() {
    trap lib_cleanup EXIT
    trap 'exit 130' INT TERM
}

lib_cleanup() {
    local pid
    for pid in "${lib_pids[@]}"; do
        stop "$pid"
    done
    if [[ -n ${DATA_ROOT:-} && ${KEEP_DIR:-0} != 1 ]]; then
        rm -rf "${DATA_ROOT:?}/${work##*/}"-*
    fi
    if [[ ${KEEP_DIR:-0} == 1 ]]; then
        echo "kept: $work"
    else
        rm -rf "$work"
    fi
}

# Records a background process so that the exit trap stops it: `cmd & spawn $!`.
spawn() { lib_pids+=("$1"); }

# Stops one process this script started: TERM, up to 10 s for a clean shutdown, then KILL.
stop() {
    local pid=$1
    kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 100); do
        kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

# N distinct free loopback ports, held open together while chosen so they differ.
free_ports() {
    python3 - "$1" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
for s in socks:
    s.close()
EOF
}

# Starts nginx answering every request with 200 and BODY (application/json) on 127.0.0.1:PORT, its
# files under DIR: the backend of the proxy benchmarks. Usage: start_nginx_backend DIR PORT BODY
start_nginx_backend() {
    local dir=$1 port=$2 body=$3
    mkdir -p "$dir"
    cat > "$dir/nginx.conf" <<EOF
daemon off;
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 1000000;
    keepalive_timeout 120s;
    client_body_temp_path $dir; proxy_temp_path $dir; fastcgi_temp_path $dir;
    uwsgi_temp_path $dir; scgi_temp_path $dir;
    server {
        listen 127.0.0.1:$port;
        location / { default_type application/json; return 200 '$body'; }
    }
}
EOF
    nginx -p "$dir" -c "$dir/nginx.conf" &
    spawn $!
}

# Waits until a URL answers 2xx, for at most $2 seconds, while process $3 lives.
await_url() {
    local url=$1 limit=$2 pid=$3
    local deadline=$((SECONDS + limit))
    until curl -fsS -o /dev/null --max-time 1 "$url" 2>/dev/null; do
        kill -0 "$pid" 2>/dev/null || return 1
        (( SECONDS < deadline )) || return 1
        sleep 0.1
    done
}

# CPU time of a process in clock ticks (utime + stime, /proc/PID/stat fields 14 and 15).
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
clk_tck() { getconf CLK_TCK; }
# Resident set size in MiB (VmRSS), and its peak (VmHWM).
rss_mib() { awk '/^VmRSS:/ { printf "%.0f", $2 / 1024 }' "/proc/$1/status"; }
hwm_mib() { awk '/^VmHWM:/ { printf "%.0f", $2 / 1024 }' "/proc/$1/status"; }

# Compiles OpenLoop and HealthBackend into $work/tools (about 2 s; no Maven, no dependencies).
compile_tools() {
    local src=$lib_root/jmh-benchmarks/src/main/java/io/edgegate/benchmarks/load
    mkdir -p "$work/tools"
    "$JAVA_HOME/bin/javac" -nowarn -d "$work/tools" "$src/OpenLoop.java" "$src/HealthBackend.java" \
        || fail "cannot compile the load tools in $src"
}

# Runs the open-loop generator (arguments passed through); prints its RESULT fields.
# Small heap and serial GC: it must take as little of the machine as it can.
openloop() {
    "$JAVA_HOME/bin/java" -XX:+UseSerialGC -Xms64m -Xmx512m -XX:TieredStopAtLevel=1 \
        -cp "$work/tools" io.edgegate.benchmarks.load.OpenLoop "$@" 2>&1 | tee -a "$work/openloop.log" \
        | sed -n 's/^RESULT //p'
}

# One field of a RESULT line: field "$line" name
field() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p"; }

# Starts the gateway: start_gateway NAME PORT CONSUL_PORT [ENV=VALUE...]; waits for /readyz, then
# reads its management token (gateway_token). Sets gw_pid, gw_data (its data directory),
# gw_token_file and GATEWAY_TOKEN (exported).
start_gateway() {
    local name=$1 port=$2 consul=$3
    shift 3
    mkdir -p "$work/$name"
    # DATA_ROOT (knob): where the journals go, $work by default; e.g. /dev/shm to take the disk's
    # fsync latency out of a run (a diagnostic, not durability).
    gw_data=${DATA_ROOT:-$work}/${work##*/}-$name/data
    # shellcheck disable=SC2086
    env EDGEGATE_HOST=127.0.0.1 EDGEGATE_PORT="$port" EDGEGATE_CONSUL_PORT="$consul" \
        EDGEGATE_DATA_DIR="$gw_data" "$@" \
        "$JAVA_HOME/bin/java" -Xlog:gc,gc+phases:file="$work/$name/gc.log" ${JAVA_OPTS:-} -jar "$GATEWAY_JAR" \
        > "$work/$name/gateway.log" 2>&1 &
    gw_pid=$!
    spawn "$gw_pid"
    await_url "http://127.0.0.1:$port/readyz" 30 "$gw_pid" \
        || { tail -20 "$work/$name/gateway.log" >&2; fail "gateway $name did not start"; }
    gateway_token "$gw_data"
}

# Reads the management token a gateway made in its data directory on its first start:
# gateway_token DATA_DIR. Sets gw_token_file and exports GATEWAY_TOKEN. The file exists before the
# gateway's listeners answer (the token is made first), so one read after /readyz finds it; the
# short wait covers a caller that did not wait for /readyz.
gateway_token() {
    gw_token_file=$1/management-token
    local deadline=$((SECONDS + 5))
    until [[ -s $gw_token_file ]]; do
        (( SECONDS < deadline )) || fail "no management token at $gw_token_file (a gateway with a tokens-file makes none)"
        sleep 0.1
    done
    GATEWAY_TOKEN=$(< "$gw_token_file")
    GATEWAY_TOKEN=${GATEWAY_TOKEN//[[:space:]]/}
    export GATEWAY_TOKEN
}

# curl with the gateway's token (GATEWAY_TOKEN) in X-Consul-Token; the header comes from a pipe,
# so the secret is not on curl's command line (which other users' ps would show).
gw_curl() {
    [[ -n ${GATEWAY_TOKEN:-} ]] || fail "no gateway token (start_gateway or gateway_token first)"
    curl -H @<(printf 'X-Consul-Token: %s\n' "$GATEWAY_TOKEN") "$@"
}

# GC pauses in a gateway's log: "N pauses, total T ms, max M ms" (the collectors' "Pause" lines; ZGC's
# are its gc+phases lines, which start_gateway logs too). ms + 0 makes each a number: after sub() it is
# a string, and max would compare strings ("9.1" above "10.2").
gc_summary() {
    awk '/Pause/ { ms = $NF; sub(/ms$/, "", ms); ms += 0; n++; total += ms; if (ms > max) max = ms }
        /Allocation Stall/ { ms = $NF; sub(/ms$/, "", ms); ms += 0; stalls++; if (ms > smax) smax = ms }
        END { printf "%d pauses, total %.0f ms, max %.1f ms", n, total, max
              if (stalls) printf "; %d allocation stalls, max %.1f ms", stalls, smax }' "$1"
}

# Registers instances through POST /v1/instances/batch: register_batch URL < JSON-lines
# (one instance object per line), in batches of $BATCH (default 1000), with GATEWAY_TOKEN. Fails on
# any non-2xx.
register_batch() {
    python3 -c "$lib_register_py" "$1" "${BATCH:-1000}"
}
lib_register_py=$(cat <<'EOF'
import json, os, sys, urllib.request
url, size = sys.argv[1], int(sys.argv[2])
token = os.environ["GATEWAY_TOKEN"]
batch, total = [], 0
def flush():
    global batch, total
    if not batch:
        return
    req = urllib.request.Request(url + "/v1/instances/batch", data=json.dumps({"instances": batch}).encode(),
                                 headers={"Content-Type": "application/json", "X-Consul-Token": token}, method="POST")
    with urllib.request.urlopen(req, timeout=30) as r:
        r.read()
    total += len(batch)
    batch = []
for line in sys.stdin:
    if line.strip():
        batch.append(json.loads(line))
        if len(batch) == size:
            flush()
flush()
print(total)
EOF
)

# Sum of per-service health counts over GET /v1/services: prints "instances passing warning critical".
health_counts() {
    gw_curl -fsS --max-time 10 "$1/v1/services" | python3 -c '
import json, sys
s = json.load(sys.stdin)["services"]
print(sum(x["instances"] for x in s), sum(x["passing"] for x in s), sum(x["warning"] for x in s),
      sum(x["critical"] for x in s))'
}

# Busy CPU time of the whole machine in clock ticks (/proc/stat: user nice system irq softirq steal):
# its delta over a window, less what our own processes used, is what other users took meanwhile.
machine_busy_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat; }

# Up to 3 distinct outputs of critical checks (first 80 characters, with counts), from the first 20
# services that have critical instances: why instances are not passing.
critical_outputs() {
    python3 - "$1" <<'PYEOF'
import collections, json, os, sys, urllib.request
gw = sys.argv[1]
token = {"X-Consul-Token": os.environ["GATEWAY_TOKEN"]}
def get(path):
    return json.load(urllib.request.urlopen(urllib.request.Request(gw + path, headers=token), timeout=10))
services = get("/v1/services")["services"]
c = collections.Counter()
for s in [s for s in services if s["critical"] > 0][:20]:
    body = get("/v1/services/%s?health=critical" % s["service"])
    for i in body["instances"]:
        for ch in i["checks"]:
            if ch["status"] == "critical":
                c[ch["output"][:80]] += 1
print("; ".join("%dx %s" % (n, o) for o, n in c.most_common(3)) or "none")
PYEOF
}

# One number from GET /v1/status (agent read: GATEWAY_TOKEN) by dotted path (e.g.
# health.probes-launched); "-" when the gateway does not report it (older versions).
status_value() {
    gw_curl -fsS --max-time 5 "$1/v1/status" | python3 -c '
import json, sys
v = json.load(sys.stdin)
for k in sys.argv[1].split("."):
    v = v.get(k) if isinstance(v, dict) else None
print("-" if v is None else v)' "$2"
}
