# shellcheck shell=bash disable=SC2034  # BACKEND_PID, TOKEN: read by the script that sources this; i: a counter
# The AOT training workload of the edge gateway and cloud-sync, sourced by arm-images/train.sh (the
# images' caches) and by ./edgegate run (the cache of a local run): the same requests train both.
#
# Expects: WORK (a directory: codes.txt, denied.txt; the management token at WORK/data/management-token),
# PORT and PORT2 (the service's two HTTP ports on 127.0.0.1), BACKEND_PORT (a free port for the
# proxied backend), HERE (arm-images, for lib/backend.py), JPID (the service's JVM, for wait_http),
# a log function. Sets TOKEN and BACKEND_PID.

# free_ports N: N distinct free TCP ports on 127.0.0.1, on one line
free_ports() {
  python3 -c 'import socket, sys
s = [socket.socket() for _ in range(int(sys.argv[1]))]
for x in s: x.bind(("127.0.0.1", 0))
print(*[x.getsockname()[1] for x in s])' "$1"
}

# wait_http URL SECONDS LOG: until URL answers 2xx; fails, with the end of LOG, when the JVM
# (JPID) exits first or SECONDS pass
wait_http() {
  local deadline=$((SECONDS + $2))
  until curl -sf -o /dev/null -m 5 "$1"; do
    kill -0 "$JPID" 2>/dev/null || { log "the JVM exited:"; tail -20 "$3" >&2; return 1; }
    [ $SECONDS -lt $deadline ] || { log "no answer from $1 in $2 s"; return 1; }
    sleep 0.3
  done
}

# The management token the service made on the volume at its first start (the priming run's, for
# the gateway's recorded run); TOKEN is sent by c(), from a pipe, never on curl's command line.
TOKEN=""
read_token() {
  local f="$WORK/data/management-token" deadline=$((SECONDS + 30))
  until [ -s "$f" ]; do
    [ $SECONDS -lt $deadline ] || { log "no management token at $f"; return 1; }
    sleep 0.2
  done
  TOKEN=$(tr -d '[:space:]' < "$f")
}

# one request of the workload, with the token; its status goes to codes.txt (summarised after each
# run), and a refusal (401, 403) also to denied.txt, which fails the run
c() {
  local code
  code=$(curl -s -m 60 -o /dev/null -w '%{http_code}' -H @<(printf 'X-Consul-Token: %s\n' "$TOKEN") "$@") || code=000
  echo "$code" >> "$WORK/codes.txt"
  case "$code" in 401|403) echo "$code $*" >> "$WORK/denied.txt" ;; esac
}
# one request without a token: the unauthenticated endpoints, the proxy's data path, refusals
c0() { curl -s -m 60 -o /dev/null -w '%{http_code}\n' "$@" >> "$WORK/codes.txt" || echo 000 >> "$WORK/codes.txt"; }
codes() {
  log "workload: $(sort "$WORK/codes.txt" | uniq -c | awk '{printf "%s x%s  ", $2, $1}')"
  : > "$WORK/codes.txt"
  if [ -s "$WORK/denied.txt" ]; then
    log "refused although the request carried the management token:"; cat "$WORK/denied.txt" >&2; exit 1
  fi
}

workload_edge_gateway() {
  local api="http://127.0.0.1:$PORT" consul="http://127.0.0.1:$PORT2" i
  python3 "$HERE/lib/backend.py" --port "$BACKEND_PORT" >/dev/null 2>&1 &
  BACKEND_PID=$!
  read_token
  # unauthenticated: health, the leader, and refusals of requests without a token (403)
  c0 "$api/livez"; c0 "$api/readyz"; c0 "$consul/v1/status/leader"; c0 "$consul/v1/status/peers"
  c0 "$api/v1/status"; c0 "$api/v1/services"; c0 -XPUT "$consul/v1/agent/check/pass/service:none"
  c0 -XPOST "$api/v1/instances" -H 'content-type: application/json' -d '{"service":"web","address":"127.0.0.1","port":1}'
  c0 -H 'X-Consul-Token: 00000000-0000-4000-8000-000000000000' "$api/v1/services"   # a token nobody issued
  c "$api/v1/acl/token/self"; c "$consul/v1/acl/token/self"
  c -XPOST "$api/v1/instances" -H 'content-type: application/json' -d "{\"service\":\"web\",\"address\":\"127.0.0.1\",\"port\":$BACKEND_PORT,\"tags\":[\"version:v1\"],\"meta\":{\"zone\":\"a\"}}"
  c -XPOST "$api/v1/instances" -H 'content-type: application/json' -d '{"service":"llm","id":"llm-1","address":"127.0.0.1","port":9,"meta":{"model":"m"},"check":{"ttl":"30s"}}'
  c -XPUT "$api/v1/instances/llm-1/heartbeat"
  local batch
  batch=$(python3 -c "import json; print(json.dumps([{'service':'svc-%d' % (i % 20),'id':'b-%d' % i,'address':'10.0.%d.%d' % (i // 250, i % 250),'port':8000,'tags':['t%d' % (i % 3)],'meta':{'k':'v'}} for i in range(500)]))")
  c -XPOST "$api/v1/instances/batch" -H 'content-type: application/json' -d "{\"instances\":$batch}"
  c -XPUT "$consul/v1/agent/service/register" -d '{"Name":"vision","ID":"vision-1","Address":"127.0.0.1","Port":7000,"Check":{"TTL":"15s"}}'
  c -XPUT "$consul/v1/agent/check/pass/service:vision-1"
  for i in 1 2 3; do
    c "$api/v1/status"; c "$api/v1/services"; c "$api/v1/services/web?health=passing&tag=version:v1"
    c "$api/v1/services/svc-3"; c "$api/v1/instances/llm-1"
    c "$consul/v1/health/service/vision?passing"; c "$consul/v1/catalog/services"; c "$consul/v1/agent/services"
    c "$api/v1/services/web?index=1&wait=1s"
  done
  c -XPUT "$api/v1/routes/web-root" -H 'content-type: application/json' -d '{"match":{"path-prefix":"/web"},"service":"web","strip-prefix":true}'
  c -XPUT "$api/v1/routes/web-private" -H 'content-type: application/json' -d '{"match":{"path-prefix":"/private"},"service":"web","strip-prefix":true,"policy":{"require-token":true}}'
  c "$api/v1/routes"
  c0 "$api/v1/openapi"
  # the proxy's data path needs no token (clients of /svc/ send none), but for a route that says so
  for i in $(seq 1 60); do
    c0 "$api/svc/web/index.json"
    c0 -XPOST "$api/svc/web/index.json" -H 'content-type: application/json' -d '{"x":1}'
    c0 "$api/web/index.json"
    c "$api/private/index.json"
  done
  c0 "$api/private/index.json"   # 403: the route requires a token
  c0 "$api/svc/missing/x"
  c -XPUT "$api/v1/instances/llm-1/maintenance?enable=true"
  c -XDELETE "$api/v1/instances/llm-1"
  c -XDELETE "$api/v1/routes/web-root"
  c -XDELETE "$api/v1/routes/web-private"
  codes
}

workload_cloud_sync() {
  local api="http://127.0.0.1:$PORT" p
  read_token
  for p in /livez /readyz /v1/sites; do c0 "$api$p"; done   # /v1/sites: 403 without a token
  for p in /v1/sites /v1/services /v1/stats /health /v1/acl/token/self; do c "$api$p"; done
  c "http://127.0.0.1:$PORT2/v1/catalog/services"
  codes
}
