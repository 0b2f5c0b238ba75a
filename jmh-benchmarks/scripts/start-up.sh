#!/usr/bin/env bash
# How long a gateway takes to start, with and without its start-up cache (the AOT cache that
# ./edgegate run trains, edge-gateway/target/edge-gateway.aot): ROUNDS fresh starts of each,
# alternating, each in an empty data directory; from the JVM's launch to the first 2xx of
# /readyz, with the gateway's CPU time and RSS at that moment.
#
# Needs: the gateway jar and its cache (./edgegate run once after the build; the cache is valid
# only for the jar at the path it was trained with, and with the same JVM options), curl, python3.
# Knobs: ROUNDS=5, GATEWAY_JAR, GATEWAY_AOT (default: the jar's sibling .aot), JAVA_HOME.
# Time bound: about 5 s per start.
set -euo pipefail

ROUNDS=${ROUNDS:-5}
export JAVA_HOME=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
GATEWAY_JAR=${GATEWAY_JAR:-$root/edge-gateway/target/edge-gateway.jar}
GATEWAY_AOT=${GATEWAY_AOT:-${GATEWAY_JAR%.jar}.aot}

# shellcheck source=load-lib.sh
source "$here/load-lib.sh"
[[ -f $GATEWAY_JAR ]] || fail "gateway jar not found: $GATEWAY_JAR (./edgegate build)"
[[ -s $GATEWAY_AOT ]] || fail "no start-up cache at $GATEWAY_AOT (./edgegate run trains it)"
work=$(mktemp -d /tmp/edgegate-start-up.XXXXXX)
lib_init

# The flags ./edgegate run trained the cache with (its .opts file), so that the JVM maps it.
read -r -a flags <<< "$(cat "$GATEWAY_AOT.opts" 2>/dev/null || echo --sun-misc-unsafe-memory-access=allow)"
hz=$(clk_tck)
printf "%-6s %-5s %9s %7s %8s\n" round cache "ready ms" "cpu s" "rss MiB"
for round in $(seq "$ROUNDS"); do
    for cache in no yes; do
        read -r port consul <<< "$(free_ports 2)"
        rm -rf "$work/data"
        aot=()
        [[ $cache == yes ]] && aot=(-XX:AOTCache="$GATEWAY_AOT" -XX:AOTMode=on)
        t0=$(date +%s%N)
        EDGEGATE_HOST=127.0.0.1 EDGEGATE_PORT=$port EDGEGATE_CONSUL_PORT=$consul EDGEGATE_DATA_DIR=$work/data \
            "$JAVA_HOME/bin/java" "${flags[@]}" "${aot[@]}" -jar "$GATEWAY_JAR" > "$work/gateway.log" 2>&1 &
        pid=$!
        spawn "$pid"
        # polled every 20 ms (load-lib's await_url waits 100 ms between tries)
        until curl -fsS -o /dev/null --max-time 1 "http://127.0.0.1:$port/readyz" 2>/dev/null; do
            kill -0 "$pid" 2>/dev/null || { tail -20 "$work/gateway.log" >&2; fail "the gateway exited"; }
            sleep 0.02
        done
        t1=$(date +%s%N)
        printf "%-6s %-5s %9d %7.2f %8s\n" "$round" "$cache" $(( (t1 - t0) / 1000000 )) \
            "$(awk -v t="$(cpu_ticks "$pid")" -v hz="$hz" 'BEGIN { print t / hz }')" "$(rss_mib "$pid")"
        stop "$pid"
    done
done
