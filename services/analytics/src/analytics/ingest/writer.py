"""Writing a batch of events into the store: de-duplicated on event id, facts before the raw row.

An event whose id is already in ``raw_events`` is skipped (a replayed topic changes no figure).
The batch's changes to the KPI aggregates are stored with its raw rows (``ingest.aggregates``).
Fact rows are inserted before the raw rows: if the process dies in between, the redelivered batch
finds no raw row, inserts the facts again (collapsed by their ReplacingMergeTree key) and the raw
rows once, so the views fed by ``raw_events`` never count an event twice.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from prometheus_client import Counter

from aintech_contracts.envelope import CloudEvent
from analytics.ingest.aggregates import batch_deltas, resolve_dimensions
from analytics.ingest.facts import rows_of
from analytics.store.port import Store, array_param

INGESTED = Counter("analytics_events_ingested_total", "Events written to the analytics store", ["outcome"])

FACT_ORDER = (
    "customers",
    "policy_terms",
    "policy_cancellations",
    "claim_events",
    "quotes",
    "quote_conversions",
    "calls",
    "messages",
    "message_sentiment",
)


async def known_ids(store: Store, ids: Sequence[str]) -> set[str]:
    """The ids among ``ids`` already in ``raw_events``."""
    if not ids:
        return set()
    rows = await store.query(
        "SELECT event_id FROM $db.raw_events WHERE event_id IN {ids:Array(String)}",
        {"ids": array_param(ids)},
    )
    return {str(r["event_id"]) for r in rows}


async def write_events(store: Store, events: Sequence[tuple[CloudEvent, str]]) -> int:
    """Insert the new events among ``events`` ((event, topic) pairs); returns how many were new."""
    unique: dict[str, tuple[CloudEvent, str]] = {}
    for event, topic in events:
        unique.setdefault(event.id, (event, topic))
    seen = await known_ids(store, list(unique))
    tables: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for event_id, (event, topic) in unique.items():
        if event_id in seen:
            continue
        for table, rows in rows_of(event, topic).items():
            tables[table].extend(rows)
    raw = tables.get("raw_events", [])
    if not raw:
        INGESTED.labels("duplicate").inc(len(events))
        return 0
    await resolve_dimensions(store, tables)
    new_ids = {row["event_id"] for row in raw}

    async def committed(ids: Sequence[str]) -> set[str]:
        return await known_ids(store, ids)

    # the batch's changes to the KPI aggregates, from its own rows in memory and the touched
    # entities' rows stored by earlier events; they ride on its first raw row (ingest.aggregates)
    raw[0].update(await batch_deltas(store, tables, new_ids, committed))
    for table in FACT_ORDER:
        if tables.get(table):
            await store.insert(f"$db.{table}", tables[table])
    new = len(raw)
    await store.insert("$db.raw_events", raw)
    INGESTED.labels("new").inc(new)
    INGESTED.labels("duplicate").inc(len(events) - new)
    return new
