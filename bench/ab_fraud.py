"""Interleaved A/B of ai-fraud's ``POST /analyze`` (one saved claim without photos, scored and
stored): the code of a git revision beside the working tree's, straight to the service.

As ``bench/ab.py`` does for core-crm: both processes run at once on the bench database (``make
bench BENCH_ARGS="--only fraud"`` leaves a promoted model in it), wrk loads them in alternating
order round after round, and what is compared is **CPU-ms per request** of each process::

    .local/tools/bin/uv run --frozen python bench/ab_fraud.py --old main --rounds 4

The old code is ``git archive`` of ``libs/shared`` and ``services/ai_fraud`` at ``--old``, first
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
from bench.crm import AUDIENCE, ISSUER, run_wrk  # noqa: E402
from bench.edge import post_workload, seed_claim  # noqa: E402

PACKAGES = ("libs/shared/src", "services/ai_fraud/src")


def export(revision: str, into: Path) -> str:
    """The old code's import path (``git archive`` of the packages at ``revision``)."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", revision, *PACKAGES], check=True, capture_output=True
    ).stdout
    tar = into / "old.tar"
    tar.write_bytes(archive)
    with tarfile.open(tar) as bundle:
        bundle.extractall(into, filter="data")
    return os.pathsep.join(str(into / package) for package in PACKAGES)


async def run(args: argparse.Namespace, env: dict[str, str], offset: int) -> None:
    from aintech_contracts.rbac import Role
    from aintech_devtools.testing import TestKeys

    claim_id = await seed_claim()
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
        ports = {"old": 8007 + offset, "new": 8017 + offset}
        procs = {
            "old": spawn(
                "ai_fraud",
                {**child, "AI_FRAUD_PORT": str(ports["old"]), "PYTHONPATH": old_path},
                log_level="INFO",
            ),
            "new": spawn("ai_fraud", {**child, "AI_FRAUD_PORT": str(ports["new"])}, log_level="INFO"),
        }
        try:
            token = keys.token(role=Role.supervisor, expires_in=3600)
            for name, port in ports.items():
                await wait_http(f"http://127.0.0.1:{port}/healthz", status=200, procs={name: procs[name]})
            workload = post_workload("analyze", "/analyze", {"claim_id": str(claim_id)}, token)
            cpu: dict[str, list[float]] = {"old": [], "new": []}
            for round_ in range(args.rounds):
                order = ("old", "new") if round_ % 2 == 0 else ("new", "old")
                for name in order:
                    result = await run_wrk(
                        f"http://127.0.0.1:{ports[name]}",
                        workload,
                        CpuMeter({"fraud": procs[name].pid}),
                        connections=args.connections,
                        seconds=args.seconds,
                    )
                    cpu[name].append(result.cpu_ms["fraud"])
                    print(
                        f"  round {round_ + 1} analyze {name}: {result.rps:>7,.0f} req/s"
                        f"  p99 {result.p99_ms:.1f} ms  {result.cpu_ms['fraud']:.3f} CPU-ms/req"
                        f"  errors {result.errors}",
                        flush=True,
                    )
            pairs = ", ".join(f"{o:.2f} → {n:.2f}" for o, n in zip(cpu["old"], cpu["new"], strict=True))
            print(
                f"\n  analyze: CPU-ms per request, old → new: {pairs} "
                f"(median {statistics.median(cpu['old']):.2f} → {statistics.median(cpu['new']):.2f})"
            )
        finally:
            stop(procs.values())


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--old", default="main", help="git revision of the old code")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=6)
    parser.add_argument("--connections", type=int, default=8)
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
