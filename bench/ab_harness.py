"""What the interleaved A/B benches (``bench/ab.py``, ``ab_fraud.py``, ``ab_quotes.py``) share.

One service's code at a git revision ("old", ``git archive`` of its packages first on its
``PYTHONPATH``) and the working tree's ("new") run at once as two uvicorn processes on the bench
database, behind one stand-in token issuer; wrk loads them in alternating order, round after
round, so both see the same minutes of a shared machine, and what is compared is **CPU-ms per
request** of each process (utime + stime over the requests it served), the figure a busy machine
disturbs least. ``--spy DIR`` records a py-spy profile (raw) of each process and workload in the
second round (the first warms caches and fetches the token keys). The bench Postgres and Kafka are
started and stopped around the run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import BENCH_ENV, CpuMeter, background, fleet_offset, jwks_app, spawn, stop, wait_http
from bench.crm import AUDIENCE, ISSUER, Workload, run_wrk

ROOT = Path(__file__).resolve().parents[1]
SIDES = ("old", "new")


def export(revision: str, into: Path, packages: Sequence[str]) -> str:
    """The old code's import path (``git archive`` of ``packages`` at ``revision``)."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", revision, *packages], check=True, capture_output=True
    ).stdout
    tar = into / "old.tar"
    tar.write_bytes(archive)
    with tarfile.open(tar) as bundle:
        bundle.extractall(into, filter="data")
    return os.pathsep.join(str(into / package) for package in packages)


@dataclass
class Pair:
    """The two running processes of one service, and a way to sign tokens they accept."""

    keys: Any  # aintech_devtools.testing.TestKeys
    procs: dict[str, subprocess.Popen[bytes]]
    ports: dict[str, int]


@contextlib.asynccontextmanager
async def old_and_new(
    service: str, port_var: str, base_port: int, offset: int, env: dict[str, str], revision: str,
    packages: Sequence[str],
) -> AsyncIterator[Pair]:  # fmt: skip
    """``service`` at ``revision`` (port ``base_port``) and from the working tree (``base_port`` +
    10), both answering ``/healthz``; stopped on exit."""
    from aintech_devtools.testing import TestKeys

    keys = TestKeys(issuer=ISSUER, audience=AUDIENCE)
    with tempfile.TemporaryDirectory() as tmp, background(jwks_app(keys.jwks())) as jwks_base:
        old_path = export(revision, Path(tmp), packages)
        child = {
            **env,
            **BENCH_ENV,
            "AINTECH_JWKS_URL": f"{jwks_base}/.well-known/jwks.json",
            "AINTECH_JWT_ISSUER": ISSUER,
            "AINTECH_JWT_AUDIENCE": AUDIENCE,
        }
        ports = {"old": base_port + offset, "new": base_port + 10 + offset}
        procs = {
            "old": spawn(
                service, {**child, port_var: str(ports["old"]), "PYTHONPATH": old_path}, log_level="INFO"
            ),
            "new": spawn(service, {**child, port_var: str(ports["new"])}, log_level="INFO"),
        }
        try:
            for name, port in ports.items():
                await wait_http(f"http://127.0.0.1:{port}/healthz", status=200, procs={name: procs[name]})
            yield Pair(keys, procs, ports)
        finally:
            stop(procs.values())


async def _spy(pid: int, seconds: float, out: Path) -> asyncio.subprocess.Process:
    out.parent.mkdir(parents=True, exist_ok=True)
    return await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "py-spy"),
        "record", "--format", "raw", "--rate", "200", "--nonblocking",
        "--duration", str(int(seconds + 2)), "--pid", str(pid), "--output", str(out),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip


async def _spy_done(spy: asyncio.subprocess.Process, out: Path) -> None:
    """Wait for a recording; say so when py-spy recorded nothing (its error, not silence)."""
    _, err = await spy.communicate()
    if spy.returncode != 0:
        print(f"  py-spy recorded nothing for {out.name}: {err.decode(errors='replace').strip()[-300:]}")


async def interleave(
    pair: Pair, workloads: Sequence[Workload], args: argparse.Namespace, *, unit: str
) -> None:
    """``args.rounds`` rounds of every workload against both processes, alternating which goes
    first; prints each measurement, then each workload's CPU-ms per request, old → new."""
    cpu: dict[tuple[str, str], list[float]] = {}
    spy_round = min(1, args.rounds - 1)
    for round_ in range(args.rounds):
        order = SIDES if round_ % 2 == 0 else SIDES[::-1]
        for workload in workloads:
            for name in order:
                spy = None
                out = Path(args.spy or ".") / f"{workload.name.replace('?', '_')}-{name}.txt"
                if args.spy and round_ == spy_round:
                    spy = await _spy(pair.procs[name].pid, args.seconds, out)
                result = await run_wrk(
                    f"http://127.0.0.1:{pair.ports[name]}",
                    workload,
                    CpuMeter({"service": pair.procs[name].pid}),
                    connections=args.connections,
                    seconds=args.seconds,
                )
                if spy is not None:
                    await _spy_done(spy, out)
                cpu.setdefault((workload.name, name), []).append(result.cpu_ms["service"])
                print(
                    f"  round {round_ + 1} {workload.name:<22} {name}: {result.rps:>7,.0f} req/s "
                    f"p99 {result.p99_ms:>7.1f} ms  {result.cpu_ms['service']:.3f} CPU-ms/req  "
                    f"errors {result.errors}",
                    flush=True,
                )
    print()
    for label in dict.fromkeys(key[0] for key in cpu):
        old, new = cpu[(label, "old")], cpu[(label, "new")]
        pairs = ", ".join(f"{o:.2f} → {n:.2f}" for o, n in zip(old, new, strict=True))
        print(
            f"  {label}: service CPU-ms per {unit}, old → new: {pairs} "
            f"(median {statistics.median(old):.2f} → {statistics.median(new):.2f})"
        )


def parser(doc: str | None, *, old: str, connections: int, only_help: str) -> argparse.ArgumentParser:
    """The options every A/B bench takes."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--old", default=old, help="git revision of the old code")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=6)
    parser.add_argument("--connections", type=int, default=connections)
    parser.add_argument("--spy", default=None, help="directory: py-spy profiles (raw) of the second round")
    parser.add_argument("--only", type=lambda v: v.split(","), default=None, help=only_help)
    return parser


def in_bench_infra(
    run: Callable[[argparse.Namespace, dict[str, str], int], Coroutine[Any, Any, None]],
    args: argparse.Namespace,
) -> int:
    """``run(args, env, port offset)`` with the bench Postgres and Kafka up and migrated."""
    import stack

    profile = stack.PROFILES["bench"]
    env = stack.start_infra(profile)
    try:
        stack.migrate(env)
        os.environ.update(env)
        asyncio.run(run(args, env, fleet_offset(profile.port_offset)))
    finally:
        stack.stop_infra(profile)
    return 0
