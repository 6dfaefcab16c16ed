"""Interleaved A/B of the quote engine's comparison: a git revision's code beside the working tree's.

Both run at once on the bench database, each its own uvicorn process, and wrk POSTs the 300
varied auto risks of ``bench/edge.py`` to ``/api/quotes/compare`` (the service's own path, no
gateway: the figure compared is the **service's CPU-ms per comparison**) in alternating order,
round after round (``bench/ab_harness.py``), so both see the same minutes of a shared machine::

    .local/tools/bin/uv run --frozen python bench/ab_quotes.py --old HEAD~1 --rounds 4 [--spy DIR]

The old code is ``git archive`` of ``libs/shared`` and ``services/quote_engine`` at ``--old``.
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
from bench.edge import cycled_post_workload, seed_products, varied_auto_risks  # noqa: E402

PACKAGES = ("libs/shared/src", "services/quote_engine/src")
PATHS = {"compare": "/compare", "compare?explain=true": "/compare?explain=true"}


async def run(args: argparse.Namespace, env: dict[str, str], offset: int) -> None:
    from aintech_contracts.rbac import Role

    await seed_products()
    async with old_and_new(
        "quote_engine", "QUOTE_ENGINE_PORT", 8005, offset, env, args.old, PACKAGES
    ) as pair:
        token = pair.keys.token(role=Role.agent, expires_in=3600)
        bodies = [{"risk": risk} for risk in varied_auto_risks()]
        chosen = [
            cycled_post_workload(label, path, bodies, token)
            for label, path in PATHS.items()
            if not args.only or label in args.only
        ]
        await interleave(pair, chosen, args, unit="comparison")


def main() -> int:
    options = parser(__doc__, old="HEAD~1", connections=8, only_help="compare,compare?explain=true")
    return in_bench_infra(run, options.parse_args())


if __name__ == "__main__":
    raise SystemExit(main())
