#!/usr/bin/env bash
# Runs a command inside an image's root file system the way a container runtime would, without
# one: a private mount namespace, /proc, /dev and /sys bound in, the root file system read-only
# (as with readOnlyRootFilesystem: true), writable volumes bound over it, a tmpfs on /tmp, the
# image's user, working directory and environment, optionally a memory limit (a cgroup of its
# own). For a foreign architecture (arm64 on x86) the command runs under qemu-<arch>-static,
# bound into the root file system for the run only. The network is the host's (hostNetwork).
#
#   rootfs-run.sh --rootfs DIR --arch arm64|amd64 [--user 65532:65532] [--workdir DIR]
#                 [--env K=V]... [--volume HOSTDIR:/path]... [--memory 96M --cgroup-name N]
#                 [--writable] [--stamp FILE] -- /opt/java/bin/java ...
#
# --stamp FILE: the time of the final exec (epoch seconds) is written to FILE.
#
# It execs all the way down: the PID the caller started is the program's, so SIGTERM reaches it.
# With --memory the caller removes the cgroup after the program ends (see cgroup_remove below:
# `rootfs-run.sh --remove-cgroup N`). Needs root (mount, chroot, cgroups).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

cgroup_dir() {
  if [ -f /sys/fs/cgroup/cgroup.controllers ]; then echo "/sys/fs/cgroup/$1"
  elif [ -d /sys/fs/cgroup/memory ]; then echo "/sys/fs/cgroup/memory/$1"
  fi
}

if [ "${1:-}" = --remove-cgroup ]; then
  d=$(cgroup_dir "$2"); [ -n "$d" ] && [ -d "$d" ] && rmdir "$d" 2>/dev/null || true
  exit 0
fi
if [ "${1:-}" = --cgroup-peak ]; then
  # peak memory use of the cgroup (v2 memory.peak, v1 memory.max_usage_in_bytes), bytes
  d=$(cgroup_dir "$2")
  cat "$d/memory.peak" 2>/dev/null || cat "$d/memory.max_usage_in_bytes" 2>/dev/null || echo 0
  exit 0
fi

ROOTFS="" ARCH="" USERSPEC="" WORKDIR="/" MEMORY="" CGNAME="" WRITABLE=0
ENVS=() VOLUMES=()
while [ $# -gt 0 ]; do
  case "$1" in
    --rootfs) ROOTFS=$(cd "$2" && pwd); shift 2 ;;
    --arch) ARCH=$2; shift 2 ;;
    --user) USERSPEC=$2; shift 2 ;;
    --workdir) WORKDIR=$2; shift 2 ;;
    --env) ENVS+=(--env "$2"); shift 2 ;;
    --volume) VOLUMES+=("$2"); shift 2 ;;
    --memory) MEMORY=$2; shift 2 ;;
    --cgroup-name) CGNAME=$2; shift 2 ;;
    --writable) WRITABLE=1; shift ;;
    --stamp) ENVS+=(--stamp "$2"); shift 2 ;;
    --) shift; break ;;
    *) echo "rootfs-run: unknown option $1" >&2; exit 2 ;;
  esac
done
[ -n "$ROOTFS" ] && [ -n "$ARCH" ] && [ $# -gt 0 ] \
  || { echo "usage: rootfs-run.sh --rootfs DIR --arch ARCH [options] -- CMD..." >&2; exit 2; }

host_arch() { case "$(uname -m)" in x86_64) echo amd64 ;; aarch64) echo arm64 ;; *) uname -m ;; esac; }
QEMU="" QEMU_HOST=""
if [ "$ARCH" != "$(host_arch)" ]; then
  case "$ARCH" in arm64) QEMU=qemu-aarch64-static ;; amd64) QEMU=qemu-x86_64-static ;; esac
  QEMU_HOST=$(command -v "$QEMU" || true)
  [ -n "$QEMU_HOST" ] || { echo "rootfs-run: $QEMU not found (apt-get install qemu-user-static)" >&2; exit 2; }
fi

to_bytes() {
  case "$1" in
    *[Gg]) echo $(( ${1%?} * 1024 * 1024 * 1024 )) ;;
    *[Mm]) echo $(( ${1%?} * 1024 * 1024 )) ;;
    *[Kk]) echo $(( ${1%?} * 1024 )) ;;
    *) echo "$1" ;;
  esac
}

# A memory limit: a cgroup of our own (v2 memory.max, else v1 memory.limit_in_bytes) that this
# process joins before it execs, so the JVM sees the limit as its container's.
if [ -n "$MEMORY" ]; then
  CGNAME=${CGNAME:-edgegate-run-$$}
  d=$(cgroup_dir "$CGNAME")
  if [ -z "$d" ]; then
    echo "rootfs-run: no memory cgroup here; running without a limit" >&2
  else
    mkdir -p "$d"
    bytes=$(to_bytes "$MEMORY")
    if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
      echo "$bytes" > "$d/memory.max"; echo 0 > "$d/memory.swap.max" 2>/dev/null || true
    else
      echo "$bytes" > "$d/memory.limit_in_bytes"
      echo "$bytes" > "$d/memory.memsw.limit_in_bytes" 2>/dev/null || true
    fi
    echo $$ > "$d/cgroup.procs"
  fi
fi

# mount points (the root file system may be read-only later)
mkdir -p "$ROOTFS/proc" "$ROOTFS/dev" "$ROOTFS/sys" "$ROOTFS/tmp"
for v in "${VOLUMES[@]}"; do mkdir -p "${v%%:*}" "$ROOTFS${v#*:}"; done
if [ -n "$QEMU" ]; then mkdir -p "$ROOTFS/usr/bin"; [ -e "$ROOTFS/usr/bin/$QEMU" ] || touch "$ROOTFS/usr/bin/$QEMU"; fi

export RR_ROOTFS=$ROOTFS RR_QEMU=$QEMU_HOST RR_QEMU_NAME=$QEMU RR_WRITABLE=$WRITABLE
export RR_VOLUMES="${VOLUMES[*]:-}" RR_HELPER="$HERE/chroot-exec.py"
exec unshare --mount --propagation private -- /bin/bash -c '
  set -euo pipefail
  r=$RR_ROOTFS
  mount --bind "$r" "$r"
  mount --rbind /proc "$r/proc"
  mount --rbind /dev "$r/dev"
  mount --rbind /sys "$r/sys"
  mount -t tmpfs -o mode=1777,size=64m tmpfs "$r/tmp"
  for v in $RR_VOLUMES; do
    mount --bind "${v%%:*}" "$r${v#*:}"
  done
  qemu=""
  if [ -n "$RR_QEMU" ]; then
    qemu=/usr/bin/$RR_QEMU_NAME
    mount --bind "$RR_QEMU" "$r$qemu"
  fi
  [ "$RR_WRITABLE" = 1 ] || mount -o remount,bind,ro "$r"
  exec /usr/bin/python3 "$RR_HELPER" "$r" "$0" "$1" "${@:2}"
' "$WORKDIR" "$USERSPEC" "${ENVS[@]}" -- ${QEMU:+/usr/bin/$QEMU} "$@"
