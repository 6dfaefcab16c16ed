"""The KPI aggregates kept by the writer: whatever the order and batching of the events, and after
a batch that died half-way, they hold what a rebuild from the facts computes, and the KPIs read
from them are the hand-worked ones (test_kpis_by_hand)."""

from __future__ import annotations

import random
import uuid
from collections import defaultdict
from typing import Any

from analytics.ingest.aggregates import rebuild
from analytics.ingest.facts import rows_of
from analytics.ingest.writer import FACT_ORDER, write_events
from analytics.kpis import service
from analytics.store.port import ChdbStore, Store
from analytics.store.schema import create_schema, drop_schema

from .test_kpis_by_hand import Q1, history

TABLES = {
    "policy_daily": "sum(written) AS written, sum(rate) AS rate, sum(active) AS active, "
    "sum(started) AS started, sum(up) AS up, sum(renewed) AS renewed, sum(cancelled) AS cancelled",
    "claim_daily": "sum(claims) AS claims, sum(incurred) AS incurred, sum(paid) AS paid",
    "quote_daily": "sum(issued) AS issued, sum(bound) AS bound",
}


async def snapshot(store: Store) -> dict[str, list[dict[str, Any]]]:
    """Each aggregate's rows, summed per day and dimension, zero rows left out."""
    out = {}
    for table, sums in TABLES.items():
        rows = await store.query(
            f"SELECT toString(day) AS day, carrier, line, province, {sums} FROM $db.{table} "  # noqa: S608
            "GROUP BY day, carrier, line, province ORDER BY day, carrier, line, province"
        )
        out[table] = [
            r for r in rows if any(v for k, v in r.items() if k not in ("day", "carrier", "line", "province"))
        ]
    return out


async def kpis(store: Store) -> list[Any]:
    return [
        await service.kpis(store, period=Q1, filters={}, by=by)
        for by in (None, "carrier", "line", "province")
    ]


async def other_store(chdb_path: str) -> Store:
    store = ChdbStore(chdb_path, database=f"t_{uuid.uuid4().hex[:12]}")
    await create_schema(store)
    return store


async def test_the_aggregates_equal_a_rebuild_from_the_facts(store: Store) -> None:
    h, _ = history()
    await write_events(store, h.events)
    kept = await snapshot(store)
    assert kept["policy_daily"] and kept["claim_daily"] and kept["quote_daily"]
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
