#!/usr/bin/env python3
"""The run behind arm-images/podman-startup.sh: the edge-gateway image as podman runs it
(read-only root, the DaemonSet's memory limit, a bind-mounted data directory with podman's :U
option), timed from `podman run` to the first 200 of GET /readyz, split at the container's
start (podman's State.StartedAt: runc has started the entrypoint, the JVM). Each run then stops
the container as an operator would (`podman stop`) and checks what the image promises: exit code
0, the stop in the log, the registrations back after the restart. See podman-startup.sh."""
import argparse
import datetime
import json
import os
import re
import shlex
import statistics
import subprocess
import sys
import time

from gateway_probe import cpu, free_port, instance, request, wait_ready


def log(msg):
    print(time.strftime("%H:%M:%S") + " [podman-startup] " + msg, file=sys.stderr, flush=True)


class Podman:
    def __init__(self, a):
        self.a = a
        self.cmd = shlex.split(a.podman)

    def run(self, *args, check=True):
        r = subprocess.run(self.cmd + list(args), capture_output=True, text=True)
        if check and r.returncode != 0:
            raise SystemExit(f"{' '.join(self.cmd + list(args))}: exit {r.returncode}: {r.stderr.strip()}")
        return r

    def start(self, name, port, consul):
        """podman run -d; returns the wall-clock time just before it."""
        self.run("rm", "-f", name, check=False)
        t0 = time.time()
        self.run("run", "-d", "--name", name, "--network", "host", "--read-only",
                 "--memory", self.a.memory, "--memory-swap", self.a.memory,
                 "--ulimit", "nofile=20000:20000", "--ulimit", "nproc=8192:8192",
                 "-e", f"EDGEGATE_PORT={port}", "-e", f"EDGEGATE_CONSUL_PORT={consul}",
                 "-e", "EDGEGATE_NODE=podman-startup", "-e", f"JDK_JAVA_OPTIONS=-XX:AOTMode={self.a.aot_mode}",
                 "-v", f"{self.a.data}:/var/lib/edgegate:U", self.a.image)
        return t0

    def started_at(self, name):
        text = self.run("inspect", name, "--format", "{{.State.StartedAt}}").stdout.strip()
        # "2026-12-03 01:10:38.123456789 +0000 UTC": to microseconds
        m = re.match(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)(\.\d+)? ([+-]\d{4})", text)
        if not m:
            raise SystemExit(f"cannot read State.StartedAt: {text}")
        frac = (m.group(2) or ".0")[:7]
        return datetime.datetime.strptime(m.group(1) + frac + " " + m.group(3), "%Y-%m-%d %H:%M:%S.%f %z").timestamp()

    def pid(self, name):
        return int(self.run("inspect", name, "--format", "{{.State.Pid}}").stdout.strip())

    def stop(self, name):
        self.run("stop", "-t", "30", name)
        code = int(self.run("inspect", name, "--format", "{{.State.ExitCode}}").stdout.strip())
        logs = self.run("logs", name).stdout + self.run("logs", name).stderr
        return code, logs

    def remove(self, name):
        self.run("rm", "-f", name, check=False)


def token(data):
    with open(os.path.join(data, "management-token")) as f:
        return f.read().strip()


def instances(port, tok):
    status, body = request(port, "GET", "/v1/status", token=tok)
    if status != 200:
        raise SystemExit(f"GET /v1/status: {status} {body[:200]}")
    return json.loads(body)["instances"]


def populate(p, a):
    name, port, consul = "edgegate-startup-populate", free_port(), free_port()
    p.start(name, port, consul)
    wait_ready(port, 120)
    tok = token(a.data)
    batch, n = [], 0
    for i in range(a.instances):
        batch.append(instance(i))
        if len(batch) == 1000 or i == a.instances - 1:
            status, body = request(port, "POST", "/v1/instances/batch", {"instances": batch}, token=tok)
            if status != 200:
                raise SystemExit(f"batch registration: {status} {body[:300]}")
            n += len(batch)
            batch = []
    count = instances(port, tok)
    code, _ = p.stop(name)
    p.remove(name)
    log(f"populated: {count} instances on {a.data} (the populating container exited with {code})")
    return count


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--image", required=True)
    ap.add_argument("--podman", required=True, help="the podman command, e.g. 'podman --runtime runc'")
    ap.add_argument("--data", required=True, help="host directory bind-mounted as the data volume")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--instances", type=int, default=10000)
    ap.add_argument("--memory", default="160m")
    ap.add_argument("--aot-mode", default="on", help="-XX:AOTMode: on (a cache the JVM cannot map fails the run), off")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    p = Podman(a)
    expected = populate(p, a) if a.instances > 0 else 0
    results = []
    for run in range(1, a.runs + 1):
        name, port, consul = f"edgegate-startup-{run}", free_port(), free_port()
        load = os.getloadavg()[0]
        t0 = p.start(name, port, consul)
        t_ready = wait_ready(port, 120)
        used, waited = cpu(p.pid(name))
        t_started = p.started_at(name)
        count = instances(port, token(a.data))
        code, logs = p.stop(name)
        p.remove(name)
        stopped = "Edgegate stopping (SIGTERM)" in logs and re.search(r"Edgegate stopped in \d+ ms", logs)
        r = {"run": run, "total_s": round(t_ready - t0, 3), "container_setup_s": round(t_started - t0, 3),
             "jvm_to_ready_s": round(t_ready - t_started, 3), "jvm_cpu_s": round(used, 2),
             "jvm_waited_for_cpu_s": round(waited, 2), "instances": count, "exit_code": code,
             "stop_logged": bool(stopped), "load_average": load}
        results.append(r)
        log(f"run {run}: podman run to /readyz 200 {r['total_s']:.3f} s = container set-up "
            f"{r['container_setup_s']:.3f} s + JVM to ready {r['jvm_to_ready_s']:.3f} s (CPU {used:.2f} s, waited "
            f"for a CPU {waited:.2f} s); {count} instances back; "
            f"podman stop: exit {code}, stop logged: {r['stop_logged']}; load average {load:.1f}")
        if code != 0 or not stopped or count != expected:
            raise SystemExit(f"run {run}: expected exit 0, the stop logged and {expected} instances back:\n{logs}")
    med = lambda k: statistics.median(r[k] for r in results)
    summary = {"image": a.image, "aot_mode": a.aot_mode, "runs": results, "median_total_s": med("total_s"),
               "median_container_setup_s": med("container_setup_s"), "median_jvm_to_ready_s": med("jvm_to_ready_s"),
               "median_jvm_cpu_s": med("jvm_cpu_s"), "median_jvm_waited_for_cpu_s": med("jvm_waited_for_cpu_s")}
    with open(a.out, "w") as f:
        json.dump(summary, f, indent=2)
    every = ", ".join(f"{r['total_s']:.2f}" for r in results)
    log(f"medians of {a.runs} (AOTMode={a.aot_mode}): podman run to /readyz 200 {summary['median_total_s']:.3f} s, container set-up "
        f"{summary['median_container_setup_s']:.3f} s, JVM to ready {summary['median_jvm_to_ready_s']:.3f} s "
        f"(CPU {summary['median_jvm_cpu_s']:.2f} s, waited {summary['median_jvm_waited_for_cpu_s']:.2f} s) "
        f"(every run: {every} s); {a.out}")


if __name__ == "__main__":
    main()
