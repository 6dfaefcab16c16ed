"""Interleaved A/B of the gateway: old code beside new, one wrk alternating (not collected by the suite).

The old code is a copy of an earlier ``services/gateway/src`` (``git archive <commit>
services/gateway/src | tar -x -C /tmp/old``), put first on the old process's ``PYTHONPATH``; both
gateways forward to the uvicorn stand-in of these tests. Prints CPU-ms per request (utime + stime
of each gateway process over the requests it served), req/s and p99 for every round, then medians::

    AB_OLD_SRC=/tmp/old/services/gateway/src make test \\
        PYTEST_ARGS="-s services/gateway/tests/ab_local.py"

``AB_OLD_COMMAND`` runs the "old" side with another command (the same environment and
``PYTHONPATH``; ``$GATEWAY_PORT`` is its port): another HTTP server for the same app, e.g.
``sh -c 'exec python -m granian --interface asgi --factory --port $GATEWAY_PORT gateway.app:create_app'``.
CPU is counted over the process and its children.

Knobs: AB_ROUNDS (6), AB_SECONDS (6), AB_PATH (/api/crm/me), AB_CONNECTIONS (32), AB_LOG_LEVEL
(WARNING; INFO writes the access line as ``make bench`` does), AB_PYSPY (a file prefix: a py-spy
raw profile of each process under load afterwards).
"""

from __future__ import annotations

import os
import re
import shlex
import statistics
import subprocess
import time
from pathlib import Path

from .conftest import Gateway, GatewayFactory


def cpu_seconds(pid: int) -> float:
    """utime + stime of ``pid`` and every process under it (a server may serve from a worker)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    children = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        children += [int(c) for c in (task / "children").read_text().split()]
    return own + sum(cpu_seconds(child) for child in children)


def wrk(url: str, token: str, seconds: int, connections: int) -> tuple[int, float, float]:
    """Requests served, req/s and p99 (ms) of one wrk run; every answer must be 2xx."""
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency"]
    command += ["-H", f"Authorization: Bearer {token}", url]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    requests = re.search(r"(\d+) requests in", out)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    assert requests and rps and p99, out
    assert "Non-2xx" not in out, out
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    return int(requests.group(1)), float(rps.group(1)), float(p99.group(1)) * scale


def test_ab(start_gateway: GatewayFactory) -> None:
    old_src = os.environ["AB_OLD_SRC"]
    rounds = int(os.environ.get("AB_ROUNDS", "6"))
    seconds = int(os.environ.get("AB_SECONDS", "6"))
    path = os.environ.get("AB_PATH", "/api/crm/me")
    connections = int(os.environ.get("AB_CONNECTIONS", "32"))
    common = {
        "GATEWAY_RATE_LIMITS": {"anonymous": "10000000/minute", "user": "10000000/minute"},
        "AINTECH_LOG_LEVEL": os.environ.get("AB_LOG_LEVEL", "WARNING"),
    }
    pythonpath = os.pathsep.join(p for p in (old_src, os.environ.get("PYTHONPATH", "")) if p)
    old_command = os.environ.get("AB_OLD_COMMAND")  # e.g. another server for the same app (shell words)
    old_argv = shlex.split(old_command) if old_command else None
    gateways: dict[str, Gateway] = {
        "old": start_gateway(old_argv, PYTHONPATH=pythonpath, **common),
        "new": start_gateway(**common),
    }
    token = gateways["new"].token()
    for gw in gateways.values():  # warm up: the token verified and cached, the pools filled
        wrk(gw.url + path, token, 2, connections)
    results: dict[str, list[tuple[float, float, float]]] = {"old": [], "new": []}
    for r in range(rounds):
        for name in ("old", "new") if r % 2 == 0 else ("new", "old"):
            gw = gateways[name]
            before = cpu_seconds(gw.process.pid)
            requests, rps, p99 = wrk(gw.url + path, token, seconds, connections)
            cpu_ms = (cpu_seconds(gw.process.pid) - before) * 1000 / requests
            results[name].append((cpu_ms, rps, p99))
            line = f"round {r} {name}: {cpu_ms:.3f} CPU-ms/req, {rps:.0f} req/s, p99 {p99:.1f} ms"
            print(f"{line}, load {os.getloadavg()[0]:.1f}")
            time.sleep(0.5)
    for name, rows in results.items():
        cpu = statistics.median(row[0] for row in rows)
        rps = statistics.median(row[1] for row in rows)
        p99 = statistics.median(row[2] for row in rows)
        print(f"{name}: median {cpu:.3f} CPU-ms/req, {rps:.0f} req/s, p99 {p99:.1f} ms")
    prefix = os.environ.get("AB_PYSPY")
    if prefix:
        spy_command = ["py-spy", "record", "-d", str(seconds), "-f", "raw", "-p"]
        for name, gw in gateways.items():
            spy = subprocess.Popen(
                [*spy_command, str(gw.process.pid), "-o", f"{prefix}-{name}.txt"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            wrk(gw.url + path, token, seconds + 1, connections)
            spy.wait(60)
