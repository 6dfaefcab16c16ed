"""The dead-letter command line (dev tooling; the library part is ``aintech_shared.dlq``).

    make dlq ARGS="list"                                  # python -m aintech_devtools.dlq list
    python -m aintech_devtools.dlq list [--topic crm.policy] [--json]
    python -m aintech_devtools.dlq show crm.policy --offset 3
    python -m aintech_devtools.dlq replay crm.policy --event-id 4f9a0d6e-...
    python -m aintech_devtools.dlq replay crm.policy --all

Exit codes: 0 done, 1 nothing matched (or the dead letter was already replayed), 2 usage error,
3 Kafka unreachable. See ``aintech_shared.dlq`` for what a dead letter carries and how a replay is
recorded.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from aiokafka.errors import KafkaError

from aintech_shared.dlq import (
    EXIT_NOT_FOUND,
    EXIT_OK,
    EXIT_UNREACHABLE,
    DeadLetter,
    DlqError,
    dead_letter_topics,
    dlq_name,
    read_dead_letters,
    replay,
)


def _select(letters: list[DeadLetter], args: argparse.Namespace) -> list[DeadLetter]:
    if args.offset is not None:
        chosen = [d for d in letters if d.offset == args.offset and d.partition == args.partition]
        if not chosen:
            raise DlqError(
                f"no dead letter at partition {args.partition} offset {args.offset}", EXIT_NOT_FOUND
            )
        return chosen
    chosen = [d for d in letters if d.event_id == args.event_id]
    if not chosen:
        raise DlqError(f"no dead letter with event id {args.event_id}", EXIT_NOT_FOUND)
    return chosen[-1:]  # the latest failure of that event


def _print_table(letters: list[DeadLetter], out: TextIO) -> None:
    rows = [
        (
            d.position,
            d.event_id,
            d.event_type,
            d.info.get("dlq_consumer", "-"),
            d.original,
            d.failed_at,
            f"replayed {d.replayed_at}" if d.replayed_at else "parked",
            (d.info.get("dlq_error") or "-").replace("\n", " ")[:120],
        )
        for d in letters
    ]
    header = ("P:OFFSET", "EVENT ID", "TYPE", "CONSUMER", "ORIGINAL", "FAILED AT", "STATUS", "ERROR")
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header) - 1)]
    for row in [header, *rows]:
        cells = [str(c).ljust(w) for c, w in zip(row[:-1], widths, strict=True)]
        print("  " + "  ".join([*cells, str(row[-1])]), file=out)


async def _cmd_list(args: argparse.Namespace, out: TextIO) -> int:
    topics = [dlq_name(t) for t in args.topic] if args.topic else await dead_letter_topics(args.bootstrap)
    found = 0
    for topic in topics:
        letters = await read_dead_letters(args.bootstrap, topic)
        found += len(letters)
        if args.json:
            for letter in letters:
                print(json.dumps(letter.summary()), file=out)
            continue
        if not letters and not args.topic:
            continue
        parked = sum(1 for d in letters if not d.replayed_at)
        print(f"{topic}: {len(letters)} dead letters, {parked} not replayed", file=out)
        if letters:
            _print_table(letters, out)
    if not found and not args.json:
        print("no dead letters", file=out)
    return EXIT_OK


async def _cmd_show(args: argparse.Namespace, out: TextIO) -> int:
    letters = await read_dead_letters(args.bootstrap, args.topic)
    for letter in _select(letters, args):
        body: dict[str, Any] = letter.summary()
        body["key"] = letter.key.decode("utf-8", "replace") if letter.key is not None else None
        body["headers"] = {k: v.decode("utf-8", "replace") for k, v in letter.headers}
        body["payload"] = letter.event or (letter.value or b"").decode("utf-8", "replace")
        print(json.dumps(body, indent=2, ensure_ascii=False), file=out)
    return EXIT_OK


async def _cmd_replay(args: argparse.Namespace, out: TextIO) -> int:
    letters = await read_dead_letters(args.bootstrap, args.topic)
    if args.all:
        chosen = [d for d in letters if not d.replayed_at]
        if not chosen:
            print(f"{dlq_name(args.topic)}: nothing to replay", file=out)
            return EXIT_OK
    else:
        chosen = _select(letters, args)
        done = [d for d in chosen if d.replayed_at]
        if done and not args.force:
            raise DlqError(
                f"{done[0].topic} {done[0].position} was already replayed at {done[0].replayed_at}"
                " (--force replays it again)",
                EXIT_NOT_FOUND,
            )
    if args.dry_run:
        for d in chosen:
            print(f"would replay {d.topic} {d.position} ({d.event_type} {d.event_id})", file=out)
        return EXIT_OK
    for d in await replay(args.bootstrap, chosen):
        print(
            f"replayed {d.topic} {d.position} -> {d.info.get('dlq_original_topic')} "
            f"({d.event_type} {d.event_id})",
            file=out,
        )
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m aintech_devtools.dlq",
        description="List, show and replay dead-lettered events.",
        epilog="Exit codes: 0 done, 1 nothing matched or already replayed, 2 usage, 3 Kafka unreachable.",
    )
    parser.add_argument(
        "--bootstrap",
        default=os.environ.get("AINTECH_KAFKA_BOOTSTRAP", "127.0.0.1:9092"),
        help="Kafka bootstrap servers (default: $AINTECH_KAFKA_BOOTSTRAP or %(default)s)",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    listing = commands.add_parser("list", help="dead letters per topic: error, consumer, original position")
    listing.add_argument("--topic", action="append", help="a topic or its .dlq (repeatable; default: all)")
    listing.add_argument("--json", action="store_true", help="one JSON object per dead letter")

    def selector(sub: argparse.ArgumentParser, *, allow_all: bool) -> None:
        sub.add_argument("topic", help="the original topic (crm.policy) or its dead-letter topic")
        which = sub.add_mutually_exclusive_group(required=True)
        which.add_argument("--offset", type=int, help="offset on the dead-letter topic")
        which.add_argument("--event-id", help="the CloudEvent id (its latest dead letter)")
        if allow_all:
            which.add_argument("--all", action="store_true", help="every dead letter not replayed yet")
        sub.add_argument("--partition", type=int, default=0, help="with --offset (default: %(default)s)")

    show = commands.add_parser("show", help="one dead letter: headers and payload")
    selector(show, allow_all=False)
    again = commands.add_parser("replay", help="send dead letters back to their original topic")
    selector(again, allow_all=True)
    again.add_argument("--force", action="store_true", help="replay a dead letter already replayed")
    again.add_argument("--dry-run", action="store_true", help="print what would be replayed")
    return parser


async def run(argv: Sequence[str] | None = None, out: TextIO = sys.stdout) -> int:
    args = build_parser().parse_args(argv)
    handlers = {"list": _cmd_list, "show": _cmd_show, "replay": _cmd_replay}
    try:
        return await handlers[args.command](args, out)
    except DlqError as exc:
        print(f"dlq: {exc}", file=sys.stderr)
        return exc.code
    except BrokenPipeError:  # the output was piped into a command that stopped reading
        return EXIT_OK
    except (KafkaError, OSError) as exc:
        print(f"dlq: Kafka at {args.bootstrap} unreachable: {exc}", file=sys.stderr)
        return EXIT_UNREACHABLE


def main(argv: Sequence[str] | None = None) -> int:
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)  # its retries are not the operator's news
    return asyncio.run(run(argv))


if __name__ == "__main__":
    raise SystemExit(main())
