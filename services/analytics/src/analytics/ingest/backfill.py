"""Backfill: replay every ingested topic from offset 0 into the store, with a progress bar.

``python -m analytics.ingest.backfill`` (or ``aintech-analytics-backfill``). It reads with a
throw-away consumer group that commits nothing (the live ingest's offsets are untouched) up to
the end offsets seen at start, and writes through the same de-duplicating writer, so running it
twice, or beside the live ingest on a ClickHouse server, changes no figure. With chDB the data
directory belongs to one process: stop the analytics API first (or point
``ANALYTICS_CHDB_PATH`` at a new directory and swap it in).
"""

from __future__ import annotations

import argparse
import asyncio
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from aintech_contracts.envelope import CloudEvent
from aintech_contracts.events import TOPICS
from aintech_shared.events.consumer import MalformedMessage, parse_message
from analytics.ingest.facts import ingested_topics
from analytics.ingest.writer import write_events
from analytics.settings import Settings
from analytics.store.port import Store, open_store
from analytics.store.schema import create_schema


@dataclass(frozen=True)
class BackfillResult:
    read: int
    new: int
    malformed: int


async def backfill(
    store: Store,
    *,
    bootstrap: str,
    topics: Sequence[str],
    batch_rows: int = 20_000,
    show_progress: bool = False,
) -> BackfillResult:
    """Replay ``topics`` from their first offset to their end offset at start."""
    # A throw-away group that never commits (aiokafka's group-less consumer fails to stop cleanly).
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        group_id=f"analytics.backfill.{uuid.uuid4().hex}",
    )
    await consumer.start()
    read = new = malformed = 0
    try:
        known = await consumer.topics()
        # the partition counts the event catalogue declares (what provisioning created)
        partitions = [TopicPartition(t, p) for t in topics if t in known for p in range(TOPICS.get(t, 1))]
        if not partitions:
            return BackfillResult(0, 0, 0)
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        beginning = await consumer.beginning_offsets(partitions)
        end = await consumer.end_offsets(partitions)
        todo = {tp: end[tp] for tp in partitions if end[tp] > beginning[tp]}
        total = sum(end[tp] - beginning[tp] for tp in todo)
        with Progress(
            TextColumn("backfill"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            disable=not show_progress,
        ) as progress:
            bar = progress.add_task("events", total=total)
            buffer: list[tuple[CloudEvent, str]] = []
            while todo:
                batch = await consumer.getmany(*todo, timeout_ms=500, max_records=batch_rows)
                for tp, records in batch.items():
                    for record in records:
                        if record.offset >= end[tp]:
                            break
                        read += 1
                        try:
                            buffer.append((parse_message(record), record.topic))
                        except MalformedMessage:
                            malformed += 1
                    if await consumer.position(tp) >= end[tp]:
                        todo.pop(tp, None)
                        consumer.pause(tp)
                if len(buffer) >= batch_rows or not todo:
                    new += await write_events(store, buffer)
                    progress.update(bar, advance=len(buffer))
                    buffer = []
    finally:
        await consumer.stop()
    return BackfillResult(read=read, new=new, malformed=malformed)


async def _main(argv: Sequence[str] | None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--topic", action="append", help="Only this topic (repeatable); default: every one.")
    args = parser.parse_args(argv)
    settings = Settings()
    store = open_store(
        clickhouse_url=settings.clickhouse_url, chdb_path=settings.chdb_path, database=settings.store_database
    )
    await create_schema(store)
    result = await backfill(
        store,
        bootstrap=settings.kafka_bootstrap,
        topics=args.topic or ingested_topics(),
        batch_rows=settings.ingest_batch_rows,
        show_progress=True,
    )
    print(f"read {result.read} events, {result.new} new, {result.malformed} malformed (skipped)")


def main(argv: Sequence[str] | None = None) -> None:
    asyncio.run(_main(argv))


if __name__ == "__main__":
    main()
