#!/usr/bin/env bash
# Longer fuzzing runs of Edgegate's parsers (the Jazzer fuzz targets, *FuzzTest): each target in its
# own JVM for DURATION seconds, starting from its committed seeds plus everything earlier runs of
# this script found, with the generated corpus and any finding kept outside the source tree.
#
# Usage: fuzz.sh [TARGET ...|all|list] [DURATION]
#   TARGET: native-registration | consul-registration | upstream-response | journal-recovery |
#           sync-codec (default: all, one after the other); DURATION: seconds per target (default 300).
# Needs: JDK 21+ (JAVA_HOME), Maven; the build runs offline (-o) unless MVN_OPTS says otherwise.
# Knobs: FUZZ_DIR (default ${XDG_CACHE_HOME:-$HOME/.cache}/edgegate-fuzz; one directory per target
#   holding .cifuzz-corpus/, the crash-* / timeout-* files of findings and run-*.log),
#   TIMEOUT (seconds one input may take before it counts as a hang, default 10), MVN_OPTS (default -o),
#   JVM_ARGS (the fuzzing JVM's extra flags, default -XX:+UseSerialGC: C2 pays off past the first
#   seconds, where verify's short runs stay on C1).
# Time bound: DURATION x targets + about 20 s of build and start-up per target; refused above
#   86400 s per target.
# A finding fails the run and leaves crash-<sha1> (or timeout-<sha1>) in FUZZ_DIR/<target>; to keep it
# as a regression test, see "Fuzzing" in edge-gateway/README.md (copy the file into the target's
# <Class>Inputs/<method>/ seed directory, add a unit test naming the behaviour, fix).
set -euo pipefail

export JAVA_HOME=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}
export PATH="$JAVA_HOME/bin:$PATH"
FUZZ_DIR=${FUZZ_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/edgegate-fuzz}
TIMEOUT=${TIMEOUT:-10}
MVN_OPTS=${MVN_OPTS:--o}
JVM_ARGS=${JVM_ARGS:--XX:+UseSerialGC}

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

# target -> module and test class
declare -A MODULE=(
    [native-registration]=edge-gateway
    [consul-registration]=edge-gateway
    [upstream-response]=edge-gateway
    [journal-recovery]=edge-gateway
    [sync-codec]=mqtt-bridge
)
declare -A CLASS=(
    [native-registration]=NativeRegistrationFuzzTest
    [consul-registration]=ConsulRegistrationFuzzTest
    [upstream-response]=UpstreamResponseFuzzTest
    [journal-recovery]=JournalRecoveryFuzzTest
    [sync-codec]=SyncCodecFuzzTest
)
ALL="native-registration consul-registration upstream-response journal-recovery sync-codec"

fail() {
    echo "fuzz.sh: $*" >&2
    exit 2
}

targets=()
duration=300
for arg in "$@"; do
    if [[ $arg =~ ^[0-9]+$ ]]; then
        duration=$arg
    elif [[ $arg == all ]]; then
        read -r -a targets <<<"$ALL"
    elif [[ $arg == list ]]; then
        for t in $ALL; do echo "$t  ${MODULE[$t]}  ${CLASS[$t]}"; done
        exit 0
    elif [[ -n ${CLASS[$arg]:-} ]]; then
        targets+=("$arg")
    else
        fail "unknown target: $arg (one of: $ALL, all, list)"
    fi
done
((${#targets[@]})) || read -r -a targets <<<"$ALL"
((duration >= 1 && duration <= 86400)) || fail "DURATION must be 1-86400 seconds per target: $duration"
[[ -x $JAVA_HOME/bin/java ]] || fail "no JDK in JAVA_HOME=$JAVA_HOME (JDK 21+ needed)"
command -v mvn >/dev/null || fail "mvn not found"

echo "fuzzing ${targets[*]} for ${duration}s each; corpus and findings under $FUZZ_DIR"
failed=()
for t in "${targets[@]}"; do
    dir="$FUZZ_DIR/$t"
    mkdir -p "$dir"
    log="$dir/run-$(date -u +%Y%m%dT%H%M%SZ).log"
    touch "$dir/.run-start"
    echo "== $t (${CLASS[$t]}), log: $log"
    # test-compile first: the reactor then resolves mqtt-bridge (and its test-jar) from its target/
    # directories, so nothing is installed into ~/.m2.
    # shellcheck disable=SC2086
    if (cd "$root" && mvn -B $MVN_OPTS -pl "${MODULE[$t]}" -am test-compile surefire:test@fuzz \
        -Dtest="${CLASS[$t]}" -Dsurefire.failIfNoSpecifiedTests=false \
        -Dfuzz.seconds="$duration" -Dfuzz.timeout-seconds="$TIMEOUT" -Dfuzz.dir="$dir" \
        -Dfuzz.jvm-args="$JVM_ARGS") >"$log" 2>&1; then
        status=passed
    else
        status=FAILED
        failed+=("$t")
    fi
    execs=$(grep -m1 'stat::number_of_executed_units' "$log" | awk '{print $2}' || true)
    rate=$(grep -m1 'stat::average_exec_per_sec' "$log" | awk '{print $2}' || true)
    corpus=$(find "$dir/.cifuzz-corpus" -type f 2>/dev/null | wc -l)
    findings=$(find "$dir" -maxdepth 1 -newer "$dir/.run-start" \( -name 'crash-*' -o -name 'timeout-*' \))
    echo "   $status: ${execs:-?} executions, ${rate:-?} exec/s, corpus $corpus inputs"
    if [[ $status == FAILED ]]; then
        grep -E '^\[ERROR\] .*(FuzzTestFinding|ExitCode|Tests run:.*Fail)' "$log" | head -5 | sed 's/^/   /' || true
        [[ -z $findings ]] || sed 's/^/   finding: /' <<<"$findings"
    fi
done

if ((${#failed[@]})); then
    echo "findings (or failures) in: ${failed[*]}; see the logs above and edge-gateway/README.md, \"Fuzzing\"" >&2
    exit 1
fi
