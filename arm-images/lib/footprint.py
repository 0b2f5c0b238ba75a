#!/usr/bin/env python3
"""The footprint run behind arm-images/footprint.sh: start-up time and resident memory of the
edge-gateway image with N registered instances, under proxy (and read) load, with and without
the image's AOT cache, in a memory-limited cgroup. See footprint.sh for the method.

Access control is the image's default (deny): the gateway makes a management token on the data
volume at its first start (the populate run); every API request here carries it (X-Consul-Token),
the proxied requests of the load (GET /svc/web/...) need none and send none. Readiness is polled
on /readyz, which needs no token."""
import argparse
import http.client
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import threading
import time

import gateway_probe
from gateway_probe import cpu, free_port, instance, wait_ready

HERE = os.path.dirname(os.path.abspath(__file__))


def log(msg):
    print(time.strftime("%H:%M:%S") + " [footprint] " + msg, file=sys.stderr, flush=True)


# The gateway's management token (read from the data volume after the first start), sent with
# every API request; None until then.
TOKEN = None


def read_token(data_dir, timeout=30):
    global TOKEN
    path = os.path.join(data_dir, "management-token")
    deadline = time.time() + timeout
    while not (os.path.exists(path) and os.path.getsize(path) > 0):
        if time.time() > deadline:
            raise SystemExit(f"no management token at {path}")
        time.sleep(0.05)
    with open(path) as f:
        TOKEN = f.read().strip()
    log(f"management token: {path} (mode {os.stat(path).st_mode & 0o777:o})")


def request(port, method, path, body=None, timeout=60):
    return gateway_probe.request(port, method, path, body, token=TOKEN, timeout=timeout)


def proc_status(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile", "RssShmem", "Threads"):
                out[key] = int(value.split()[0]) * (1024 if key != "Threads" else 1)
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    out["Pss"] = int(line.split()[1]) * 1024
    except OSError:
        pass
    return out


def cgroup_file(name, leaf):
    for base in (f"/sys/fs/cgroup/{name}", f"/sys/fs/cgroup/memory/{name}"):
        p = os.path.join(base, leaf)
        if os.path.exists(p):
            return p
    return None


def cgroup_value(name, *leaves):
    for leaf in leaves:
        p = cgroup_file(name, leaf)
        if p:
            with open(p) as f:
                return int(f.read().split()[0])
    return None


def cgroup_stat(name, key):
    p = cgroup_file(name, "memory.stat")
    if not p:
        return None
    with open(p) as f:
        for line in f:
            k, v = line.split()
            if k in (key, "total_" + key):
                return int(v)
    return None


class Gateway:
    def __init__(self, a, name, extra_env=()):
        self.a = a
        self.name = name
        self.port = free_port()
        self.consul = free_port()
        self.stamp = os.path.join(a.work, f"{name}.exec")
        self.logf = os.path.join(a.work, f"{name}.log")
        self.cgroup = f"edgegate-footprint-{os.getpid()}-{name}"
        env = list(a.env) + [f"EDGEGATE_PORT={self.port}", f"EDGEGATE_CONSUL_PORT={self.consul}",
                             "EDGEGATE_NODE=footprint"] + list(extra_env)
        cmd = [os.path.join(HERE, "rootfs-run.sh"), "--rootfs", a.rootfs, "--arch", a.arch,
               "--user", a.user, "--workdir", a.workdir, "--volume", f"{a.data}:{a.volume}",
               "--stamp", self.stamp]
        if a.memory:
            cmd += ["--memory", a.memory, "--cgroup-name", self.cgroup]
        for e in env:
            cmd += ["--env", e]
        cmd += ["--"] + a.entry
        self.cmd = cmd

    def start(self, timeout=120):
        if os.path.exists(self.stamp):
            os.remove(self.stamp)
        self.t0 = time.time()
        self.proc = subprocess.Popen(self.cmd, stdout=open(self.logf, "w"), stderr=subprocess.STDOUT)
        self.t_first = wait_ready(self.port, timeout, what=f"{self.name} (log: {self.logf})",
                                  alive=lambda: self.proc.poll() is None)
        self.cpu_first, self.wait_first = cpu(self.proc.pid)
        with open(self.stamp) as f:
            self.t_exec = float(f.read())
        return self.t_first - self.t_exec, self.t_first - self.t0

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        subprocess.run([os.path.join(HERE, "rootfs-run.sh"), "--remove-cgroup", self.cgroup], check=False)

    def memory(self):
        m = proc_status(self.proc.pid)
        if self.a.memory:
            m["cgroup_usage"] = cgroup_value(self.cgroup, "memory.current", "memory.usage_in_bytes")
            m["cgroup_peak"] = cgroup_value(self.cgroup, "memory.peak", "memory.max_usage_in_bytes")
            m["cgroup_inactive_file"] = cgroup_stat(self.cgroup, "inactive_file")
            if m["cgroup_usage"] is not None and m["cgroup_inactive_file"] is not None:
                m["working_set"] = m["cgroup_usage"] - m["cgroup_inactive_file"]
        return m


def populate(a, backends):
    log(f"populating: {a.instances} instances through POST /v1/instances/batch, then a restart")
    g = Gateway(a, "populate")
    g.start()
    read_token(a.data)
    per_service = 100
    n = 0
    batch = []
    t = time.time()
    for i in range(a.instances - len(backends)):
        batch.append(instance(i, per_service))
        if len(batch) == 1000:
            status, body = request(g.port, "POST", "/v1/instances/batch", {"instances": batch})
            assert status == 200, body[:300]
            n += len(batch)
            batch = []
    for j, port in enumerate(backends):
        batch.append({"service": "web", "id": f"web-{j}", "address": "127.0.0.1", "port": port})
    if batch:
        status, body = request(g.port, "POST", "/v1/instances/batch", {"instances": batch})
        assert status == 200, body[:300]
        n += len(batch)
    status, body = request(g.port, "GET", "/v1/status")
    log(f"registered {n} in {time.time() - t:.1f} s: {body.decode()}")
    g.stop()
    size = sum(os.path.getsize(os.path.join(a.data, f)) for f in os.listdir(a.data))
    log(f"journal on the volume: {size / 1e6:.1f} MB ({', '.join(sorted(os.listdir(a.data)))})")
    return size


def load(port, seconds, concurrency, read_share):
    """Closed-loop load on keep-alive connections: proxied requests to the web backends (and a
    share of registry reads of 100-instance services). Returns requests/s and latencies."""
    stop = time.time() + seconds
    lat = []
    errors = [0]
    lock = threading.Lock()

    def worker(k):
        rnd = random.Random(k)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine = []
        api = {"X-Consul-Token": TOKEN}
        while time.time() < stop:
            if rnd.random() < read_share:
                path, headers = f"/v1/services/svc-{rnd.randrange(100):03d}?health=passing", api
            else:
                path, headers = f"/svc/web/item/{rnd.randrange(1000)}", {}
            t = time.perf_counter()
            try:
                conn.request("GET", path, headers=headers)
                r = conn.getresponse()
                r.read()
                if r.status != 200:
                    errors[0] += 1
            except OSError:
                errors[0] += 1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                continue
            mine.append(time.perf_counter() - t)
        conn.close()
        with lock:
            lat.extend(mine)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(concurrency)]
    t0 = time.time()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    elapsed = time.time() - t0
    lat.sort()
    q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))] * 1000 if lat else 0
    return {"requests": len(lat), "rps": len(lat) / elapsed, "p50_ms": q(0.5), "p99_ms": q(0.99),
            "errors": errors[0]}


def mb(v):
    return None if v is None else round(v / (1024 * 1024), 1)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--rootfs", required=True)
    p.add_argument("--config", required=True, help="the image config (JSON) written by oci.py unpack")
    p.add_argument("--work", required=True)
    p.add_argument("--memory", default="160M")
    p.add_argument("--instances", type=int, default=10000)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--load-seconds", type=float, default=10)
    p.add_argument("--concurrency", type=int, default=8)
    p.add_argument("--read-share", type=float, default=0.1)
    p.add_argument("--modes", default="aot,noaot")
    p.add_argument("--backends", type=int, default=2)
    p.add_argument("--env", dest="extra_env", action="append", default=[],
                   help="extra environment of the measured runs, K=V")
    a = p.parse_args()
    cfg = json.load(open(a.config))
    c = cfg["config"]
    a.arch = cfg["architecture"]
    a.entry = (c.get("Entrypoint") or []) + (c.get("Cmd") or [])
    a.env = c.get("Env") or []
    a.user = c.get("User") or "0"
    a.workdir = c.get("WorkingDir") or "/"
    a.volume = next(iter(c.get("Volumes") or {"/var/lib/edgegate": 0}))
    a.data = os.path.join(a.work, "data")
    os.makedirs(a.data, exist_ok=True)
    os.chmod(a.data, 0o777)

    backends, procs = [], []
    for _ in range(a.backends):
        port = free_port()
        procs.append(subprocess.Popen([sys.executable, os.path.join(HERE, "backend.py"), "--port", str(port)],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        backends.append(port)
    time.sleep(0.5)
    results = {"image": c.get("Labels", {}), "arch": a.arch, "memory_limit": a.memory, "instances": a.instances,
               "entrypoint": a.entry, "runs": []}
    try:
        results["journal_bytes"] = populate(a, backends)
        for run in range(a.runs):
            for spec in a.modes.split(","):
                # a mode: aot, noaot, or NAME=JVM-OPTIONS (added to the image's flags, AOT cache on)
                mode, _, opts = spec.partition("=")
                if mode == "aot" or mode == "noaot":
                    opts = "-XX:AOTMode=" + ("on" if mode == "aot" else "off")
                extra = ["JDK_JAVA_OPTIONS=" + opts.replace(";", " ")] if opts else []
                extra += a.extra_env
                g = Gateway(a, f"{mode}-{run}", extra)
                jvm_s, wall_s = g.start()
                status, body = request(g.port, "GET", "/v1/status")
                count = json.loads(body)["instances"]
                assert count == a.instances, f"{count} instances after the restart"
                idle = g.memory()
                lr = load(g.port, a.load_seconds, a.concurrency, a.read_share)
                loaded = g.memory()
                g.stop()
                r = {"mode": mode, "run": run, "start_s": round(jvm_s, 3), "start_with_wrapper_s": round(wall_s, 3),
                     "start_cpu_s": round(g.cpu_first, 2), "start_cpu_wait_s": round(g.wait_first, 3),
                     "rss_idle_mb": mb(idle["VmRSS"]), "rss_mb": mb(loaded["VmRSS"]), "rss_peak_mb": mb(loaded["VmHWM"]),
                     "rss_anon_mb": mb(loaded["RssAnon"]), "rss_file_mb": mb(loaded["RssFile"]),
                     "pss_mb": mb(loaded.get("Pss")), "threads": loaded["Threads"], "java_options": opts,
                     "cgroup_peak_mb": mb(loaded.get("cgroup_peak")), "working_set_mb": mb(loaded.get("working_set")),
                     "load": {k: round(v, 2) if isinstance(v, float) else v for k, v in lr.items()}}
                results["runs"].append(r)
                log(f"{mode:5s} run {run}: first request {r['start_s']:.3f} s after exec "
                    f"({r['start_with_wrapper_s']:.3f} s with the chroot wrapper; {r['start_cpu_s']} CPU s, "
                    f"{r['start_cpu_wait_s']} s waiting for a CPU); RSS idle {r['rss_idle_mb']} MB, "
                    f"after load {r['rss_mb']} MB (peak {r['rss_peak_mb']}, anon {r['rss_anon_mb']}, "
                    f"file {r['rss_file_mb']}, PSS {r['pss_mb']}); cgroup peak {r['cgroup_peak_mb']} MB, "
                    f"working set {r['working_set_mb']} MB; load {lr['rps']:.0f} req/s p50 {lr['p50_ms']:.1f} ms "
                    f"p99 {lr['p99_ms']:.1f} ms, {lr['errors']} errors")
    finally:
        for pr in procs:
            pr.terminate()
    summary = {}
    for mode in [m.partition("=")[0] for m in a.modes.split(",")]:
        rs = [r for r in results["runs"] if r["mode"] == mode]
        if rs:
            summary[mode] = {k: round(statistics.median(r[k] for r in rs), 3)
                             for k in ("start_s", "start_cpu_s", "start_cpu_wait_s", "rss_idle_mb", "rss_mb", "rss_peak_mb", "rss_anon_mb", "rss_file_mb",
                                       "pss_mb", "cgroup_peak_mb", "working_set_mb") if rs[0].get(k) is not None}
            summary[mode]["rps"] = round(statistics.median(r["load"]["rps"] for r in rs))
    results["median"] = summary
    out = os.path.join(a.work, "footprint.json")
    with open(out, "w") as f:
        json.dump(results, f, indent=2)
    print(json.dumps(summary, indent=2))
    log(f"results: {out}")


if __name__ == "__main__":
    main()
