"""What every section of `make bench` shares: processes, waits, CPU readings, checks and budgets.

Sections import this as ``bench.common`` (the repository root is on ``sys.path``; ``bench/`` itself
is not, so a section's module never shadows a service package of the same name).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
CLOCK_TICK = os.sysconf("SC_CLK_TCK")

# Budgets of the bench fleet's gateway: a load generator calls from one address with one token at
# thousands of requests a second, far past the production per-IP and per-user budgets (which
# tests/e2e and services/gateway/tests exercise). The budgets are still charged on every call.
BENCH_ENV = {
    "GATEWAY_RATE_LIMITS": json.dumps(
        {
            "anonymous": "6000000/minute",
            "user": "6000000/minute",
            "sign-in": "60000/minute",
            "sign-up": "60000/minute",
            "password-reset": "60000/minute",
            "verification": "60000/minute",
            "webhooks": "6000000/minute",
        }
    ),
}


def heading(title: str) -> None:
    print(f"\n== {title} ==", flush=True)


def figure(label: str, value: str) -> None:
    print(f"  {label:<50} {value}", flush=True)


def percentiles(samples: list[float]) -> dict[str, float]:
    """p50/p90/p95/p99/mean of latencies given in seconds, in milliseconds."""
    ordered = sorted(samples)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    return {
        "p50": at(0.50),
        "p90": at(0.90),
        "p95": at(0.95),
        "p99": at(0.99),
        "mean": statistics.fmean(ordered) * 1000,
    }


@dataclass
class Checks:
    """The PASS/FAIL lines of one section: figure beside target."""

    section: str
    rows: list[tuple[str, str, str, bool]] = field(default_factory=list)

    def add(self, name: str, value: str, target: str, ok: bool) -> None:
        self.rows.append((name, value, target, ok))

    def report(self) -> list[str]:
        """Print the table; returns the failed checks as ``section: name``."""
        print(f"\n  {'check':<52} {'figure':>14} {'target':>14}  result", flush=True)
        for name, value, target, ok in self.rows:
            print(f"  {name:<52} {value:>14} {target:>14}  {'PASS' if ok else 'FAIL'}", flush=True)
        return [f"{self.section}: {name}" for name, _, _, ok in self.rows if not ok]


# The fleet's default ports the bench uses (gateway, authenticator, core-crm, telephony,
# quote-engine, ai-fraud, the anchor).
FLEET_PORTS = (8000, 8001, 8002, 8003, 8005, 8007, 8099)


def port_free(port: int) -> bool:
    """Whether nothing listens on 127.0.0.1:``port`` (and it can be bound)."""
    import socket

    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def fleet_offset(base: int) -> int:
    """The first offset from ``base`` (steps of 200) at which every port the bench fleet uses is free.

    Another process on one of these ports (a test run's stand-in service) would otherwise answer
    in place of the service under measurement.
    """
    for offset in range(base, base + 4000, 200):
        if all(port_free(port + offset) for port in FLEET_PORTS):
            return offset
    raise RuntimeError(f"no free ports for the bench fleet near offset {base}")


LOGS = ROOT / ".local" / "bench" / "logs"


def log_file(module: str) -> Path:
    """Where a process of the bench fleet writes its output (overwritten by the next run)."""
    return LOGS / f"{module}.log"


def spawn(module: str, env: dict[str, str], *, log_level: str = "WARNING") -> subprocess.Popen[bytes]:
    """``python -m module`` in its own process group, output to :func:`log_file`.

    At INFO the file also receives the access line of every request, as a collector's pipe would
    in production (the cost of writing it is part of the figures).
    """
    LOGS.mkdir(parents=True, exist_ok=True)
    with log_file(module).open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", module],
            cwd=ROOT,
            env={**os.environ, **env, "AINTECH_LOG_LEVEL": log_level},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


ANCHOR = ROOT / "bench" / "anchor.py"


def spawn_anchor(port: int, dsn: str, *, query: str | None = None) -> subprocess.Popen[bytes]:
    """The bare anchor (``bench/anchor.py``) on ``port``, reading ``query`` (default: a user row)."""
    env = {**os.environ, "ANCHOR_DSN": dsn}
    if query:
        env["ANCHOR_QUERY"] = query
    return subprocess.Popen(
        [sys.executable, str(ANCHOR), str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def log_tail(module: str, lines: int = 15) -> str:
    """The last lines a bench process wrote (for an error message)."""
    try:
        text = log_file(module).read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])


def _module(proc: subprocess.Popen[bytes]) -> str:
    """The module a :func:`spawn` process runs (its log's name)."""
    args = proc.args
    return str(args[-1]) if isinstance(args, list) else str(args)


def ensure_running(procs: dict[str, subprocess.Popen[bytes]]) -> None:
    """Raise when a process of the bench fleet has exited (e.g. its port was taken), with its log."""
    dead = [name for name, proc in procs.items() if proc.poll() is not None]
    if dead:
        details = [
            f"{name} (exit {procs[name].returncode}):\n{log_tail(_module(procs[name]))}" for name in dead
        ]
        raise RuntimeError("bench process(es) not running: " + "\n".join(details))


def stop(procs: Iterable[subprocess.Popen[bytes]]) -> None:
    """SIGTERM each process group, then wait for each process."""
    procs = list(procs)
    for proc in procs:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    for proc in procs:
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)


async def wait_http(
    url: str,
    *,
    within: float = 120,
    headers: dict[str, str] | None = None,
    status: int | None = None,
    procs: dict[str, subprocess.Popen[bytes]] | None = None,
) -> None:
    """Until ``url`` answers below 500 (or exactly ``status``), at most ``within`` seconds.

    With ``procs``, stops as soon as one of them exits, and a timeout carries their logs' tails.
    """
    deadline = time.monotonic() + within
    last = "no answer"
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            if procs:
                ensure_running(procs)
            try:
                async with session.get(url, headers=headers) as r:
                    await r.read()
                    if (status is None and r.status < 500) or r.status == status:
                        return
                    last = str(r.status)
            except aiohttp.ClientError as exc:
                last = repr(exc)
            await asyncio.sleep(0.3)
    logs = "".join(f"\n--- {name}:\n{log_tail(_module(proc))}" for name, proc in (procs or {}).items())
    raise TimeoutError(f"{url}: {last}{logs}")


# --- CPU per request, from /proc ------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """utime + stime of ``pid`` (plus its reaped children) from /proc/<pid>/stat, in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    # fields[0] is the state (field 3): utime, stime, cutime, cstime are fields 14-17.
    return sum(int(v) for v in fields[11:15]) / CLOCK_TICK


def _self_seconds(pid: int) -> float:
    """utime + stime of ``pid`` alone (a backend's reaped children are counted by its parent)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICK


def process_tree(root: int) -> list[int]:
    """``root`` and its live descendants (Postgres: the postmaster and its backends)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rpartition(")")[2].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


class CpuMeter:
    """CPU consumed by named processes (a process tree for Postgres) between two readings."""

    def __init__(self, pids: dict[str, int], trees: dict[str, int] | None = None) -> None:
        self.pids, self.trees = pids, trees or {}

    def read(self) -> dict[str, float]:
        reading: dict[str, float] = {}
        for name, pid in self.pids.items():
            reading[name] = cpu_seconds(pid)
        for name, root in self.trees.items():
            total = 0.0
            for pid in process_tree(root):
                try:
                    total += cpu_seconds(pid) if pid == root else _self_seconds(pid)
                except OSError:
                    continue
            reading[name] = total
        return reading

    @staticmethod
    def per_request(before: dict[str, float], after: dict[str, float], requests: int) -> dict[str, float]:
        """CPU milliseconds per request of each process between two readings."""
        return {name: (after[name] - before[name]) * 1000 / max(requests, 1) for name in before}


def postmaster_pid() -> int | None:
    """The bench Postgres's postmaster, when this run started it (no figure for an external one)."""
    sys.path.insert(0, str(ROOT / "deploy" / "local"))
    import infra
    import stack

    if stack.EXTERNAL_DATABASE:
        return None
    info = infra._read_postmaster((stack.PROFILES["bench"].data_dir / "postgres").resolve())
    return int(info[0]) if info else None


def machine_load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min) / {five:.2f} (5 min) on {os.cpu_count()} cores"


# --- a JWKS (or any small ASGI app) on a thread ----------------------------------------------------


@contextmanager
def background(app: Any) -> Iterator[str]:
    """Serve an ASGI app with uvicorn on a thread of this process; yields its base URL."""
    import socket

    import uvicorn

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            log_config=None,
            log_level="warning",  # its start and stop lines are not figures (a section may log to stdout)
            access_log=False,
            lifespan="off",
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline:
            raise TimeoutError("background server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def jwks_app(jwks: dict[str, Any]) -> Any:
    """A Starlette app publishing ``jwks`` at /.well-known/jwks.json (the bench's token issuer)."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def serve(_: Request) -> JSONResponse:
        return JSONResponse(jwks)

    return Starlette(routes=[Route("/.well-known/jwks.json", serve)])


def shared_cores_ratio(direct: dict[str, float], via: dict[str, float], target: float) -> str:
    """What "through the gateway vs direct" can reach on this machine's cores, from CPU-ms per request.

    Each process is one event loop, so it serves at most 1000 / its CPU-ms requests a second; all of
    them together serve at most cores x 1000 / the whole path's CPU-ms (wrk not counted). The
    predicted rate of a path is the lower of those bounds; the ratio is the forwarded path's over
    the direct one's. Directly, the single service process is usually the bound and a core is left
    over for Postgres; through the gateway, the gateway runs on that spare core, so the ratio can
    stay near 1 until the machine itself is the bound (decision 0080, corrected).
    """
    cores = float(os.cpu_count() or 1)
    service_d = direct.get("service", direct.get("crm", 0.0))
    service_v = via.get("service", via.get("crm", 0.0))
    gateway = via.get("gateway", 0.0)
    direct_path = service_d + direct.get("postgres", 0.0)
    via_path = service_v + gateway + via.get("postgres", 0.0)
    if not service_d or not service_v or not gateway:
        return "  (no CPU figures for the shared-cores ceiling)"

    def rate(path: float, *processes: float) -> float:
        return min(cores * 1000.0 / path, *(1000.0 / cpu for cpu in processes if cpu))

    direct_rate = rate(direct_path, service_d)
    via_rate = rate(via_path, service_v, gateway)
    return (
        f"  shared cores: the path costs {direct_path:.2f} CPU-ms direct, {via_path:.2f} through the gateway;"
        f" one process per service and {cores:.0f} cores (wrk not counted) allow {direct_rate:,.0f}/s direct,"
        f" {via_rate:,.0f}/s through the gateway:"
        f" through/direct at most {min(via_rate / direct_rate, 1.0):.2f}x here (target {target:.2f}x)"
    )
