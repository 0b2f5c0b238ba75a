#!/usr/bin/env bash
# Start-up of the edge-gateway image under podman, as an operator meets it: from `podman run` to the
# first 200 of GET /readyz, with a journal of 10,000 instances (as footprint.sh) on a bind-mounted
# data directory, and what each part of it costs.
#
#   podman load -i arm-images/target/edge-gateway-amd64.tar
#   arm-images/podman-startup.sh [IMAGE]      # default edgegate/edge-gateway:<maven version>
#
# Method (lib/podman_startup.py):
#   - a fresh host directory, bind-mounted at /var/lib/edgegate with podman's :U option (podman
#     gives it to the image's user, 65532); a first container registers STARTUP_INSTANCES (10000;
#     0: an empty journal) through POST /v1/instances/batch with the management token it made there,
#     and is stopped, so every measured start replays them, as footprint.sh's do.
#   - STARTUP_RUNS (5) runs: `podman run -d` with the image's own entrypoint, user and JVM options,
#     --read-only, --memory STARTUP_MEMORY (160m, the DaemonSet's limit), host network; the time
#     from just before `podman run` to the first 200 of /readyz (polled every 2 ms), split at
#     podman's State.StartedAt (runc has started the JVM): container set-up, then JVM to ready.
#     JDK_JAVA_OPTIONS=-XX:AOTMode=on, so an AOT cache the JVM cannot map fails the run instead of
#     being measured without it (STARTUP_AOT_MODE=off: the same image without its cache).
#     The JVM's CPU time and its threads' run-queue wait until then (/proc, as footprint.sh).
#     Then `podman stop`: the run fails unless the exit code is 0, the log has the stop lines and
#     the instances were all back.
# Output: per-run lines, medians, arm-images/target/podman-startup/startup.json. Needs podman (run as
# root here; Debian's podman 4.3 needs runc: PODMAN="podman --runtime runc", the default when
# crun is not installed) and python3.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
TAG=$(sed -n 's:^  <version>\(.*\)</version>:\1:p' "$ROOT/pom.xml" | head -1)
IMAGE=${1:-edgegate/edge-gateway:$TAG}
WORK=${STARTUP_WORK:-$HERE/target/podman-startup}
if [ -z "${PODMAN:-}" ]; then
  PODMAN=podman
  command -v crun >/dev/null || PODMAN="podman --runtime runc"
fi
$PODMAN image exists "$IMAGE" || { echo "no image $IMAGE: podman load -i arm-images/target/edge-gateway-amd64.tar" >&2; exit 1; }
rm -rf "$WORK" && mkdir -p "$WORK/data"
WORK=$(cd "$WORK" && pwd)   # podman takes a relative -v source for a volume name
echo "machine: $(nproc) CPUs, $(awk '/MemTotal/ {printf "%.0f GB", $2/1048576}' /proc/meminfo), load average $(cut -d' ' -f1-3 /proc/loadavg); $($PODMAN --version), runtime $($PODMAN info --format '{{.Host.OCIRuntime.Name}} {{.Host.OCIRuntime.Version}}' 2>/dev/null | head -1)" >&2
exec python3 "$HERE/lib/podman_startup.py" --image "$IMAGE" --podman "$PODMAN" --data "$WORK/data" \
  --runs "${STARTUP_RUNS:-5}" --instances "${STARTUP_INSTANCES:-10000}" --memory "${STARTUP_MEMORY:-160m}" \
  --aot-mode "${STARTUP_AOT_MODE:-on}" \
  --out "$WORK/startup.json"
