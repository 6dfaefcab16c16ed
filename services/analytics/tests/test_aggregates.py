"""The KPI aggregates kept by the writer: whatever the order and batching of the events, and after
a batch that died half-way, they hold what a rebuild from the facts computes, and the KPIs read
from them are the hand-worked ones (test_kpis_by_hand)."""

from __future__ import annotations

import random
import uuid
from collections import Counter, defaultdict
from datetime import UTC, datetime
from typing import Any

from analytics.ingest.aggregates import rebuild
from analytics.ingest.facts import rows_of
from analytics.ingest.writer import FACT_ORDER, write_events
from analytics.kpis import service
from analytics.kpis.repository import _median
from analytics.store.port import ChdbStore, Store
from analytics.store.schema import create_schema, drop_schema

from .test_kpis_by_hand import Q1, history

DIMS = "carrier, line, province"
# aggregate -> (its dimensions, its summed measures)
TABLES = {
    "policy_daily": (
        DIMS,
        "sum(written) AS written, sum(rate) AS rate, sum(active) AS active, "
        "sum(started) AS started, sum(up) AS up, sum(renewed) AS renewed, sum(cancelled) AS cancelled",
    ),
    "claim_daily": (DIMS, "sum(claims) AS claims, sum(incurred) AS incurred, sum(paid) AS paid"),
    "quote_daily": (DIMS, "sum(issued) AS issued, sum(bound) AS bound"),
    "call_daily": (
        "agent_id",
        "sum(calls) AS calls, sum(answered) AS answered, sum(answered_seconds) AS answered_seconds",
    ),
    "message_daily": ("channel", "sum(inbound) AS inbound, sum(outbound) AS outbound"),
    "response_daily": ("channel, seconds", "sum(conversations) AS conversations"),
    "conversion_daily": ("agent_id", "sum(conversions) AS conversions"),
}


async def snapshot(store: Store) -> dict[str, list[dict[str, Any]]]:
    """Each aggregate's rows, summed per day and dimension, zero rows left out."""
    out = {}
    for table, (dims, sums) in TABLES.items():
        rows = await store.query(
            f"SELECT toString(day) AS day, {dims}, {sums} FROM $db.{table} "  # noqa: S608
            f"GROUP BY day, {dims} ORDER BY day, {dims}"
        )
        keys = {"day", *(d.strip() for d in dims.split(","))}
        out[table] = [r for r in rows if any(v for k, v in r.items() if k not in keys)]
    return out


async def kpis(store: Store) -> list[Any]:
    return [
        *[
            await service.kpis(store, period=Q1, filters={}, by=by)
            for by in (None, "carrier", "line", "province")
        ],
        await service.agents(store, period=Q1, filters={}),
        await service.channels(store, period=Q1),
    ]


async def other_store(chdb_path: str) -> Store:
    store = ChdbStore(chdb_path, database=f"t_{uuid.uuid4().hex[:12]}")
    await create_schema(store)
    return store


async def test_the_aggregates_equal_a_rebuild_from_the_facts(store: Store) -> None:
    h, _ = history()
    await write_events(store, h.events)
    kept = await snapshot(store)
    assert all(kept[table] for table in TABLES)
    figures = await kpis(store)
    await rebuild(store)
    assert await snapshot(store) == kept
    assert await kpis(store) == figures


async def test_any_order_and_batching_gives_the_same_figures(store: Store, chdb_path: str) -> None:
    h, _ = history()
    await write_events(store, h.events)
    expected = await snapshot(store)
    figures = await kpis(store)
    for seed in (1, 2, 3):
        # customers first (a term takes its customer's province as known when it is stored), then
        # the rest in any order: a cancellation before its policy, a conversion before its quote,
        # a claim's payment before its report, a renewal before the first term
        customers = [e for e in h.events if e[0].type == "customer.created"]
        events = [e for e in h.events if e[0].type != "customer.created"]
        random.Random(seed).shuffle(events)
        events = customers + events
        scratch = await other_store(chdb_path)
        try:
            i = 0
            rng = random.Random(seed)
            while i < len(events):
                size = rng.randint(1, 6)
                await write_events(scratch, events[i : i + size])
                i += size
            assert await snapshot(scratch) == expected, f"order {seed}"
            assert await kpis(scratch) == figures
        finally:
            await drop_schema(scratch)


async def test_a_batch_that_died_before_its_raw_rows_counts_once(store: Store, chdb_path: str) -> None:
    h, _ = history()
    await write_events(store, h.events)
    expected = await snapshot(store)
    scratch = await other_store(chdb_path)
    try:
        half = len(h.events) // 2
        await write_events(scratch, h.events[:half])
        # the second half's fact rows were stored, then the process died before its raw rows
        tables: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for event, topic in h.events[half:]:
            for table, rows in rows_of(event, topic).items():
                tables[table].extend(rows)
        for table in FACT_ORDER:
            if tables.get(table):
                await scratch.insert(f"$db.{table}", tables[table])
        # redelivered in other batches
        await write_events(scratch, h.events[half : half + 5])
        await write_events(scratch, h.events[half + 5 :])
        assert await snapshot(scratch) == expected
        assert await write_events(scratch, h.events) == 0
        assert await snapshot(scratch) == expected
    finally:
        await drop_schema(scratch)


async def test_the_median_first_response_is_clickhouses_inclusive_median(store: Store) -> None:
    rng = random.Random(5)
    for size in (1, 2, 3, 4, 7, 10, 51):
        values = [rng.randint(0, 50) for _ in range(size)]
        counts = sorted(Counter(values).items())
        rows = await store.query(
            "SELECT quantileExactInclusive(0.5)(x) AS m FROM (SELECT arrayJoin({xs:Array(Int64)}) AS x)",
            {"xs": "[" + ",".join(map(str, values)) + "]"},
        )
        assert _median(counts) == float(rows[0]["m"]), values


async def test_first_responses_in_whole_seconds_as_the_rebuild_counts_them(store: Store) -> None:
    h, _ = history()
    conversation = uuid.uuid4()
    # 10:00:00.900 -> 10:00:02.100 is 2 s by dateDiff('second') (1.2 s of clock time)
    h.message_in(conversation, channel="sms", when=datetime(2026, 2, 3, 10, 0, 0, 900_000, tzinfo=UTC))
    h.message_out(conversation, channel="sms", when=datetime(2026, 2, 3, 10, 0, 2, 100_000, tzinfo=UTC))
    await write_events(store, h.events)
    kept = await snapshot(store)
    assert {"day": "2026-02-03", "channel": "sms", "seconds": 2, "conversations": 1} in kept["response_daily"]
    await rebuild(store)
    assert await snapshot(store) == kept
