#!/usr/bin/env python3
"""chroot, working directory, user and a clean environment, then exec (the PID stays the same, so
signals reach the program directly). Used by rootfs-run.sh inside its mount namespace.

    chroot-exec.py ROOT WORKDIR USER[:GROUP]|'' [--env K=V]... [--stamp FILE] -- CMD ARGS...

--stamp FILE writes the wall-clock time (seconds since the epoch) of the exec into FILE (a host
path), so that a caller can tell the program's own start-up from the wrapper's.
"""
import os
import sys
import time


def main(argv):
    root, workdir, user = argv[1:4]
    rest = argv[4:]
    env = {"PATH": "/opt/java/bin:/usr/local/bin:/usr/bin:/bin", "HOME": "/"}
    stamp = None
    while rest and rest[0] != "--":
        if rest[0] == "--env":
            key, _, value = rest[1].partition("=")
            env[key] = value
        elif rest[0] == "--stamp":
            stamp = open(rest[1], "w")
        else:
            sys.exit("chroot-exec: unknown option " + rest[0])
        rest = rest[2:]
    cmd = rest[1:]
    if not cmd:
        sys.exit("chroot-exec: no command")
    os.chroot(root)
    os.chdir(workdir or "/")
    if user:
        uid, _, gid = user.partition(":")
        os.setgroups([])
        os.setgid(int(gid or uid))
        os.setuid(int(uid))
    if stamp:
        stamp.write("%.6f\n" % time.time())
        stamp.close()
    os.execve(cmd[0], cmd, env)


if __name__ == "__main__":
    main(sys.argv)
