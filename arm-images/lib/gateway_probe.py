"""What the start-up and footprint runs (podman_startup.py, footprint.py) both do to a gateway
under test: pick a free loopback port, call its API, wait for its first 200 of GET /readyz,
sample a process's CPU from /proc, and make the synthetic registrations they load it with."""
import http.client
import json
import os
import socket
import time


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def request(port, method, path, body=None, token=None, timeout=30):
    """One request on its own connection; (status, body bytes). token: sent as X-Consul-Token."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        headers = {"content-type": "application/json"} if body is not None else {}
        if token:
            headers["X-Consul-Token"] = token
        conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


def wait_ready(port, timeout, what=None, alive=None):
    """Polls GET /readyz (no token) every 2 ms until a 200 and returns the time of it. Gives up
    after timeout seconds, or when alive() (if given) says the gateway is gone, naming what."""
    what = what or f"the gateway on {port}"
    deadline = time.time() + timeout
    while True:
        if alive is not None and not alive():
            raise SystemExit(f"{what}: the gateway exited")
        try:
            if request(port, "GET", "/readyz", timeout=5)[0] == 200:
                return time.time()
        except OSError:
            pass
        if time.time() > deadline:
            raise SystemExit(f"{what}: no 200 from /readyz in {timeout} s")
        time.sleep(0.002)


def cpu(pid):
    """CPU seconds the process used (all threads), and seconds its threads waited for a CPU
    (run-queue delay: what other load on the machine cost it)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    used = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    waited = 0
    for t in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{t}/schedstat") as f:
                waited += int(f.read().split()[1])
        except OSError:
            pass
    return used, waited / 1e9


def instance(i, per_service=100):
    """The i-th synthetic registration: services svc-000, svc-001, ... of per_service instances,
    each with an address of its own, two tags and a model in its metadata."""
    svc = i // per_service
    return {"service": f"svc-{svc:03d}", "id": f"svc-{svc:03d}-{i % per_service}",
            "address": f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}", "port": 8000 + i % 100,
            "tags": ["version:v1", f"zone:{i % 3}"], "meta": {"model": f"m-{svc % 10}", "weight": "100"}}
