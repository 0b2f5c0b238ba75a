#!/usr/bin/env bash
# Round robin, least-request and the score balancer in front of simulated vLLM engines, through
# Edgegate on loopback, in one run (io.edgegate.benchmarks.inference.InferenceRoutingBench).
#
# Engines (SimulatedEngine, in the benchmark's JVM): vLLM's scheduling with the GPU's time slept,
# not burnt: a FIFO queue, batch slots, a KV cache of fixed capacity with prefix caching and LRU
# eviction (a cached prefix is not prefilled again), LoRA adapters that take time to load, streamed
# server-sent events, and vLLM's metric names at /metrics. Each balancer gets its own ENGINES
# engines (fresh caches), registered with engine: vllm, a route (/rr, /lr, /score) with that
# balancer and its own USERS users; the balancers run side by side, in the same minutes of the
# machine (a shared machine's load drifts: one after the other would compare different machines).
# The gateway scrapes the engines with its defaults (500 ms, signals stale after 2 s).
# Trace (Workload, seed SEED): USERS users in a closed loop, 60% requests of 16 applications
# (system prompts of 800-2,400 tokens, Zipf popularity, every other one through its own LoRA
# adapter), 40% multi-turn chats that resend their history; questions and answers of log-normal
# length. WARMUP + DURATION seconds, measured over DURATION.
#
# Prints, per balancer: requests, req/s, output tokens/s, time to first token p50/p99, the
# engines' prefix cache hit rate, adapter loads, longest engine queue, errors; then the ratios
# score / least-request. Targets: TTFT p99 at most 0.5x least-request's, throughput at least 1.3x.
#
# Needs curl, python3, the gateway jar and the benchmarks jar
# (mvn -pl edge-gateway,jmh-benchmarks -am -DskipTests package). Stops everything it started on
# exit. About 1.5 minutes with the defaults (WARMUP + DURATION must stay within 240 s).
#
# Knobs: ENGINES=4 USERS=48 WARMUP=15 DURATION=45 SEED=1 BALANCERS=round-robin,least-request,score
#   ADAPTERS=true (false: every request on the base model, prefix affinity and load alone)
#   JAVA_OPTS (gateway; default "-XX:+UseParallelGC -Xms256m -Xmx256m"), GATEWAY_JAR, BENCH_JAR,
#   JAVA_HOME, KEEP_DIR=1.
set -euo pipefail

ENGINES=${ENGINES:-4}
USERS=${USERS:-48}
WARMUP=${WARMUP:-15}
DURATION=${DURATION:-45}
SEED=${SEED:-1}
BALANCERS=${BALANCERS:-round-robin,least-request,score}
ADAPTERS=${ADAPTERS:-true}
JAVA_HOME=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}
JAVA_OPTS=${JAVA_OPTS:--XX:+UseParallelGC -Xms256m -Xmx256m}

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=load-lib.sh
source "$here/load-lib.sh"
root=$lib_root
GATEWAY_JAR=${GATEWAY_JAR:-$root/edge-gateway/target/edge-gateway.jar}
BENCH_JAR=${BENCH_JAR:-$root/jmh-benchmarks/target/benchmarks.jar}

[[ -f $GATEWAY_JAR ]] || fail "gateway jar not found: $GATEWAY_JAR (mvn -pl edge-gateway,jmh-benchmarks -am -DskipTests package)"
[[ -f $BENCH_JAR ]] || fail "benchmarks jar not found: $BENCH_JAR (mvn -pl edge-gateway,jmh-benchmarks -am -DskipTests package)"
for tool in curl python3; do
    command -v "$tool" >/dev/null || fail "$tool not found (apt-get install -y curl python3)"
done
(( WARMUP + DURATION <= 240 )) || fail "WARMUP + DURATION must stay within 240 s"

work=$(mktemp -d /tmp/edgegate-inference-routing.XXXXXX)
lib_init

read -r gw_port gw_consul_port < <(free_ports 2)
start_gateway gateway "$gw_port" "$gw_consul_port"
echo "gateway JVM: $JAVA_OPTS"

"$JAVA_HOME/bin/java" -XX:+UseParallelGC -Xmx512m -cp "$BENCH_JAR" \
    io.edgegate.benchmarks.inference.InferenceRoutingBench \
    --gateway "http://127.0.0.1:$gw_port" --token-file "$gw_token_file" \
    --engines "$ENGINES" --users "$USERS" --warmup "$WARMUP" --duration "$DURATION" --seed "$SEED" \
    --balancers "$BALANCERS" --adapters "$ADAPTERS" &
bench_pid=$!
spawn "$bench_pid"
wait "$bench_pid"
echo "gateway GC: $(gc_summary "$work/gateway/gc.log")"
