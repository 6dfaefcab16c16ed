"""Summarise a py-spy ``--format raw`` profile: the share of samples under each frame (inclusive).

python bench/spy.py profile.txt [--top 40] [--match asyncpg,starlette]
"""

from __future__ import annotations

import argparse
import collections
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("profile")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--match", default="", help="comma-separated substrings: only frames holding one")
    args = parser.parse_args()
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for line in Path(args.profile).read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        samples = int(count)
        total += samples
        for frame in set(stack.split(";")):
            inclusive[frame] += samples
    wanted = [m for m in args.match.split(",") if m]
    print(f"{total} samples")
    shown = 0
    for frame, samples in inclusive.most_common():
        if wanted and not any(m in frame for m in wanted):
            continue
        print(f"{100 * samples / max(total, 1):6.1f}%  {frame}")
        shown += 1
        if shown >= args.top:
            break
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
