"""Interleaved A/B of core-crm's reads: the code of a git revision beside the working tree's.

Both run at once on the bench database (``make bench`` leaves 100k customers in it), each its own
uvicorn process, and wrk loads them in alternating order, round after round, so both see the same
minutes of a shared machine. What is compared is **CPU-ms per request** of each process (utime +
stime over the requests it served), the figure a busy machine disturbs least::

    .local/tools/bin/uv run --frozen python bench/ab.py --old HEAD~1 --rounds 4

The old code is ``git archive`` of ``libs/shared`` and ``services/core_crm`` at ``--old``, put first
on the old process's ``PYTHONPATH``. Starts (and stops) the bench Postgres and Kafka itself.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))
sys.path.insert(1, str(ROOT / "deploy" / "local"))

from bench.common import BENCH_ENV, CpuMeter, background, fleet_offset, jwks_app, spawn, stop, wait_http  # noqa: E402
from bench.crm import AUDIENCE, ISSUER, prepare, run_wrk, workloads  # noqa: E402

PACKAGES = ("libs/shared/src", "services/core_crm/src")


def export(revision: str, into: Path, packages: tuple[str, ...] = PACKAGES) -> str:
    """The old code's import path (``git archive`` of the packages at ``revision``)."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", revision, *packages], check=True, capture_output=True
    ).stdout
    tar = into / "old.tar"
    tar.write_bytes(archive)
    with tarfile.open(tar) as bundle:
        bundle.extractall(into, filter="data")
    return os.pathsep.join(str(into / package) for package in packages)


async def run(args: argparse.Namespace, env: dict[str, str], offset: int) -> None:
    from aintech_contracts.rbac import Role
    from aintech_devtools.testing import TestKeys

    ids = await prepare(env["AINTECH_DATABASE_URL"], args.customers)
    keys = TestKeys(issuer=ISSUER, audience=AUDIENCE)
    with tempfile.TemporaryDirectory() as tmp, background(jwks_app(keys.jwks())) as jwks_base:
        old_path = export(args.old, Path(tmp))
        child = {
            **env,
            **BENCH_ENV,
            "AINTECH_JWKS_URL": f"{jwks_base}/.well-known/jwks.json",
            "AINTECH_JWT_ISSUER": ISSUER,
            "AINTECH_JWT_AUDIENCE": AUDIENCE,
        }
        ports = {"old": 8002 + offset, "new": 8012 + offset}
        procs = {
            "old": spawn(
                "core_crm",
                {**child, "CORE_CRM_PORT": str(ports["old"]), "PYTHONPATH": old_path},
                log_level="INFO",
            ),
            "new": spawn("core_crm", {**child, "CORE_CRM_PORT": str(ports["new"])}, log_level="INFO"),
        }
        try:
            token = keys.token(role=Role.agent, expires_in=3600)
            for name, port in ports.items():
                await wait_http(f"http://127.0.0.1:{port}/healthz", status=200, procs={name: procs[name]})
            cpu: dict[tuple[str, str], list[float]] = {}
            for round_ in range(args.rounds):
                order = ("old", "new") if round_ % 2 == 0 else ("new", "old")
                for workload in workloads(ids, token, prefix=""):
                    if args.only and workload.name not in args.only:
                        continue
                    for name in order:
                        spy = None
                        if args.spy and round_ == 0:  # one profile per process and workload
                            spy = await asyncio.create_subprocess_exec(
                                "py-spy",
                                "record",
                                "--format",
                                "raw",
                                "--rate",
                                "250",
                                "--nonblocking",
                                "--duration",
                                str(int(args.seconds + 2)),
                                "--pid",
                                str(procs[name].pid),
                                "--output",
                                str(Path(args.spy) / f"{workload.name}-{name}.txt"),
                                stdout=asyncio.subprocess.DEVNULL,
                                stderr=asyncio.subprocess.DEVNULL,
                            )
                        result = await run_wrk(
                            f"http://127.0.0.1:{ports[name]}",
                            workload,
                            CpuMeter({"crm": procs[name].pid}),
                            connections=args.connections,
                            seconds=args.seconds,
                        )
                        if spy is not None:
                            await spy.wait()
                        cpu.setdefault((workload.name, name), []).append(result.cpu_ms["crm"])
                        print(
                            f"  round {round_ + 1} {workload.name:<20} {name}: {result.rps:>7,.0f} req/s"
                            f"  {result.cpu_ms['crm']:.3f} CPU-ms/req  errors {result.errors}",
                            flush=True,
                        )
            print()
            for workload_name in dict.fromkeys(k[0] for k in cpu):
                old, new = cpu[(workload_name, "old")], cpu[(workload_name, "new")]
                pairs = ", ".join(f"{o:.2f} → {n:.2f}" for o, n in zip(old, new, strict=True))
                print(
                    f"  {workload_name}: CPU-ms per request, old → new: {pairs} "
                    f"(median {statistics.median(old):.2f} → {statistics.median(new):.2f})"
                )
        finally:
            stop(procs.values())


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--old", default="HEAD~1", help="git revision of the old code")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=6)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--spy", default=None, help="directory: py-spy profiles (raw) of the first round")
    parser.add_argument("--only", type=lambda v: v.split(","), default=None, help="crm.customer_by_id,…")
    args = parser.parse_args()
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


if __name__ == "__main__":
    raise SystemExit(main())
