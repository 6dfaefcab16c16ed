"""Interleaved A/B of the quote engine's comparison: a git revision's code beside the working tree's.

Both run at once on the bench database, each its own uvicorn process, and wrk POSTs the 300
varied auto risks of ``bench/edge.py`` to ``/api/quotes/compare`` (the service's own path, no
gateway: the figure compared is the **service's CPU-ms per comparison**, utime + stime over the
requests it served) in alternating order, round after round, so both see the same minutes of a
shared machine::

    .local/tools/bin/uv run --frozen python bench/ab_quotes.py --old HEAD~1 --rounds 4 [--spy DIR]

The old code is ``git archive`` of ``libs/shared`` and ``services/quote_engine`` at ``--old``, put
first on the old process's ``PYTHONPATH``. Starts (and stops) the bench Postgres and Kafka itself.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))
sys.path.insert(1, str(ROOT / "deploy" / "local"))

from bench.ab import export  # noqa: E402
from bench.common import BENCH_ENV, CpuMeter, background, fleet_offset, jwks_app, spawn, stop, wait_http  # noqa: E402
from bench.crm import AUDIENCE, ISSUER, run_wrk  # noqa: E402
from bench.edge import cycled_post_workload, seed_products, varied_auto_risks  # noqa: E402

PACKAGES = ("libs/shared/src", "services/quote_engine/src")


async def _spy(pid: int, seconds: float, out: Path) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "py-spy"),
        "record", "--format", "raw", "--rate", "200", "--nonblocking",
        "--duration", str(int(seconds + 2)), "--pid", str(pid), "--output", str(out),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip


async def run(args: argparse.Namespace, env: dict[str, str], offset: int) -> None:
    from aintech_contracts.rbac import Role
    from aintech_devtools.testing import TestKeys

    await seed_products()
    keys = TestKeys(issuer=ISSUER, audience=AUDIENCE)
    with tempfile.TemporaryDirectory() as tmp, background(jwks_app(keys.jwks())) as jwks_base:
        old_path = export(args.old, Path(tmp), PACKAGES)
        child = {
            **env,
            **BENCH_ENV,
            "AINTECH_JWKS_URL": f"{jwks_base}/.well-known/jwks.json",
            "AINTECH_JWT_ISSUER": ISSUER,
            "AINTECH_JWT_AUDIENCE": AUDIENCE,
        }
        ports = {"old": 8005 + offset, "new": 8015 + offset}
        procs = {
            "old": spawn(
                "quote_engine",
                {**child, "QUOTE_ENGINE_PORT": str(ports["old"]), "PYTHONPATH": old_path},
                log_level="INFO",
            ),
            "new": spawn("quote_engine", {**child, "QUOTE_ENGINE_PORT": str(ports["new"])}, log_level="INFO"),
        }
        try:
            token = keys.token(role=Role.agent, expires_in=3600)
            for name, port in ports.items():
                await wait_http(f"http://127.0.0.1:{port}/healthz", status=200, procs={name: procs[name]})
            bodies = [{"risk": risk} for risk in varied_auto_risks()]
            paths = {"compare": "/compare", "compare?explain=true": "/compare?explain=true"}
            cpu: dict[tuple[str, str], list[float]] = {}
            for round_ in range(args.rounds):
                order = ("old", "new") if round_ % 2 == 0 else ("new", "old")
                for label, path in paths.items():
                    if args.only and label not in args.only:
                        continue
                    workload = cycled_post_workload(label, path, bodies, token)
                    for name in order:
                        spy = None
                        # One profile per process and workload, of the second round when there is one
                        # (the first warms the caches and fetches the token keys).
                        if args.spy and round_ == min(1, args.rounds - 1):
                            out = Path(args.spy) / f"{label.replace('?', '_')}-{name}.txt"
                            spy = await _spy(procs[name].pid, args.seconds, out)
                        result = await run_wrk(
                            f"http://127.0.0.1:{ports[name]}",
                            workload,
                            CpuMeter({"quotes": procs[name].pid}),
                            connections=args.connections,
                            seconds=args.seconds,
                        )
                        if spy is not None:
                            await spy.wait()
                        cpu.setdefault((label, name), []).append(result.cpu_ms["quotes"])
                        print(
                            f"  round {round_ + 1} {label:<22} {name}: {result.rps:>6,.0f} req/s "
                            f"p99 {result.p99_ms:>7.1f} ms  {result.cpu_ms['quotes']:.2f} CPU-ms/req  "
                            f"errors {result.errors}",
                            flush=True,
                        )
            print()
            for label in dict.fromkeys(k[0] for k in cpu):
                old, new = cpu[(label, "old")], cpu[(label, "new")]
                pairs = ", ".join(f"{o:.2f} → {n:.2f}" for o, n in zip(old, new, strict=True))
                print(
                    f"  {label}: service CPU-ms per comparison, old → new: {pairs} "
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
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--spy", default=None, help="directory: py-spy profiles (raw) of the second round")
    parser.add_argument(
        "--only", type=lambda v: v.split(","), default=None, help="compare,compare?explain=true"
    )
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
