#!/usr/bin/env bash
# Footprint of the edge-gateway image on this machine: resident memory and start-up time (to the
# first served request) with 10,000 registered instances, under a short proxy load, with and
# without the image's AOT cache, in a container-like memory limit.
#
#   arm-images/footprint.sh [IMAGE.tar]        # default arm-images/target/edge-gateway-amd64.tar
#
# Method:
#   - the image tarball's layers are unpacked; the image's own entrypoint (JVM flags included) runs
#     in a chroot with a read-only root, the data directory as a volume and the image's user
#     (lib/rootfs-run.sh), inside a memory cgroup of its own with FOOTPRINT_MEMORY (default 160M,
#     the DaemonSet's limit): the JVM reads that limit as a container's and sizes its heap from it
#     (MaxRAMPercentage=50). cgroup v2 memory.max where the host has it, else v1
#     memory.limit_in_bytes.
#   - populate: 10,000 instances (100 services of 100, tags and metadata, plus 2 "web" instances
#     on loopback backends) registered through POST /v1/instances/batch (1,000 per call), then the
#     gateway is stopped, so every measured start replays them from the journal.
#   - each run: start; start-up = from the exec of the JVM (time stamp written by the wrapper just
#     before execve) to the first 200 answer of GET /readyz (polled every 2 ms; before access
#     control: GET /v1/status, which now needs a token); the wrapper's own time (unshare, mounts,
#     chroot) is reported beside it. Then FOOTPRINT_LOAD_SECONDS (10) of
#     closed-loop load from FOOTPRINT_CONCURRENCY (8) keep-alive clients: 90% GET /svc/web/...
#     proxied to the backends, 10% GET /v1/services/svc-NNN (100 instances each). RSS (VmRSS,
#     VmHWM, anon/file split, PSS) from /proc, the cgroup's peak and working set.
#   - modes alternate, FOOTPRINT_RUNS (3) runs each; medians reported. "noaot" is the same image
#     with JDK_JAVA_OPTIONS=-XX:AOTMode=off; "aot" adds -XX:AOTMode=on so a cache the JVM cannot use
#     fails the run instead of silently measuring without it.
#   - access control is the image's default (deny): the populate run's gateway makes the management
#     token on the data volume; the API requests (registrations, status, the 10% reads) carry it,
#     the proxied requests need none and send none.
# Output: arm-images/target/footprint/footprint.json and the per-run lines. Needs root.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TAR=${1:-$HERE/target/edge-gateway-amd64.tar}
WORK=${FOOTPRINT_WORK:-$HERE/target/footprint}
[ -f "$TAR" ] || { echo "no image tarball $TAR (build it: arm-images/build.sh --arch amd64)" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "footprint.sh needs root (chroot, mounts, cgroups)" >&2; exit 1; }

rm -rf "$WORK" && mkdir -p "$WORK"
python3 "$HERE/lib/oci.py" unpack "$TAR" "$WORK/rootfs" >&2
echo "machine: $(nproc) CPUs, $(awk '/MemTotal/ {printf "%.0f GB", $2/1048576}' /proc/meminfo), load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
exec python3 "$HERE/lib/footprint.py" --rootfs "$WORK/rootfs" --config "$WORK/rootfs.config.json" --work "$WORK" \
  --memory "${FOOTPRINT_MEMORY:-160M}" --instances "${FOOTPRINT_INSTANCES:-10000}" --runs "${FOOTPRINT_RUNS:-3}" \
  --load-seconds "${FOOTPRINT_LOAD_SECONDS:-10}" --concurrency "${FOOTPRINT_CONCURRENCY:-8}" \
  --modes "${FOOTPRINT_MODES:-aot,noaot}"
