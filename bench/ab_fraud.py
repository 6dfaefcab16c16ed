"""Interleaved A/B of ai-fraud's ``POST /analyze`` (one saved claim without photos, scored and
stored): the code of a git revision beside the working tree's, straight to the service.

As ``bench/ab.py`` does for core-crm (``bench/ab_harness.py``): both processes run at once on the
bench database (``make bench BENCH_ARGS="--only fraud"`` leaves a promoted model in it), wrk loads
them in alternating order round after round, and what is compared is **CPU-ms per request** of
each process::

    .local/tools/bin/uv run --frozen python bench/ab_fraud.py --old main --rounds 4 [--spy DIR]

The old code is ``git archive`` of ``libs/shared`` and ``services/ai_fraud`` at ``--old``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))
sys.path.insert(1, str(ROOT / "deploy" / "local"))

from bench.ab_harness import in_bench_infra, interleave, old_and_new, parser  # noqa: E402
from bench.edge import post_workload, seed_claim  # noqa: E402

PACKAGES = ("libs/shared/src", "services/ai_fraud/src")


async def run(args: argparse.Namespace, env: dict[str, str], offset: int) -> None:
    from aintech_contracts.rbac import Role

    claim_id = await seed_claim()
    async with old_and_new("ai_fraud", "AI_FRAUD_PORT", 8007, offset, env, args.old, PACKAGES) as pair:
        token = pair.keys.token(role=Role.supervisor, expires_in=3600)
        workload = post_workload("analyze", "/analyze", {"claim_id": str(claim_id)}, token)
        await interleave(pair, [workload], args, unit="score")


def main() -> int:
    return in_bench_infra(run, parser(__doc__, old="main", connections=8, only_help="analyze").parse_args())


if __name__ == "__main__":
    raise SystemExit(main())
