"""Interleaved A/B of core-crm's reads: the code of a git revision beside the working tree's.

Both run at once on the bench database (``make bench`` leaves 100k customers in it), and wrk loads
them in alternating order, round after round (``bench/ab_harness.py`` says how and what is
compared: CPU-ms per request of each process)::

    .local/tools/bin/uv run --frozen python bench/ab.py --old HEAD~1 --rounds 4 [--spy DIR]

The old code is ``git archive`` of ``libs/shared`` and ``services/core_crm`` at ``--old``.
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
from bench.crm import prepare, workloads  # noqa: E402

PACKAGES = ("libs/shared/src", "services/core_crm/src")


async def run(args: argparse.Namespace, env: dict[str, str], offset: int) -> None:
    from aintech_contracts.rbac import Role

    ids = await prepare(env["AINTECH_DATABASE_URL"], args.customers)
    async with old_and_new("core_crm", "CORE_CRM_PORT", 8002, offset, env, args.old, PACKAGES) as pair:
        token = pair.keys.token(role=Role.agent, expires_in=3600)
        chosen = [w for w in workloads(ids, token, prefix="") if not args.only or w.name in args.only]
        await interleave(pair, chosen, args, unit="request")


def main() -> int:
    options = parser(__doc__, old="HEAD~1", connections=32, only_help="crm.customer_by_id,…")
    options.add_argument("--customers", type=int, default=100_000)
    return in_bench_infra(run, options.parse_args())


if __name__ == "__main__":
    raise SystemExit(main())
