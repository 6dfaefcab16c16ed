"""Last-touch conversions kept at ingest (``conversion_daily``): the agents dashboard reads them from
the aggregate, and they equal the join of the raw facts whatever the order and batching of the
events (a call that arrives after the sale it precedes moves the sale to its agent)."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from analytics.ingest.aggregates import rebuild
from analytics.ingest.writer import write_events
from analytics.kpis import repository
from analytics.store.port import ChdbStore, Store
from analytics.store.schema import create_schema, drop_schema

from .history import History, at

NO_FILTER: dict[str, str] = {}
PERIODS = [
    (date(2026, 1, 1), date(2026, 12, 31)),
    (date(2026, 2, 1), date(2026, 2, 28)),
    (date(2026, 3, 10), date(2026, 5, 20)),
    (date(2025, 12, 1), date(2026, 1, 31)),
]


def counts(rows: list[dict[str, Any]]) -> dict[str, int]:
    return {str(r["agent_id"]): int(r["conversion_count"]) for r in rows}


async def both(store: Store, start: date, end: date, filters: dict[str, str] = NO_FILTER) -> tuple[Any, Any]:
    kept = await repository.agent_conversions(store, start=start, end=end, filters=filters)
    joined = await repository.agent_conversions_from_facts(store, start=start, end=end, filters=filters)
    return counts(kept), counts(joined)


def mixed_history(seed: int) -> History:
    """Customers with new policies, renewals, and answered, missed and agentless calls from 45 days
    before to 5 days after each sale (every call at its own minute: no equal end instants)."""
    rng = random.Random(seed)
    h = History()
    agents = [uuid.uuid4() for _ in range(4)]
    minute = 0
    for _ in range(25):
        customer = h.customer(province="Madrid", when=at(date(2025, 11, 1)))
        for _ in range(rng.randint(1, 3)):
            start = date(2026, 1, 1) + timedelta(days=rng.randrange(180))
            policy = h.policy(customer, start=start, premium="300.00")
            if rng.random() < 0.3:
                h.renew(
                    policy, customer, previous_start=start, start=start + timedelta(days=365),
                    premium="320.00", previous_premium="300.00",
                )  # fmt: skip
            for _ in range(rng.randint(0, 4)):
                minute += 1
                ended = at(start) + timedelta(days=rng.randint(-45, 5), minutes=minute % 600 - 300)
                h.call(
                    rng.choice(agents) if rng.random() > 0.1 else None,  # type: ignore[arg-type]
                    customer,
                    on=ended,
                    seconds=rng.randint(20, 600),
                    answered=rng.random() > 0.2,
                )
    return h


async def scratch_store(chdb_path: str) -> Store:
    store = ChdbStore(chdb_path, database=f"t_{uuid.uuid4().hex[:12]}")
    await create_schema(store)
    return store


async def test_the_kept_conversions_equal_the_raw_join_in_any_order(chdb_path: str) -> None:
    h = mixed_history(11)
    customers = [e for e in h.events if e[0].type == "customer.created"]
    rest = [e for e in h.events if e[0].type != "customer.created"]
    reference: list[dict[str, int]] | None = None
    for seed in (1, 2, 3):
        events = list(rest)
        random.Random(seed).shuffle(events)  # calls before or after the sales they precede
        store = await scratch_store(chdb_path)
        try:
            rng = random.Random(seed)
            ordered = customers + events
            i = 0
            while i < len(ordered):
                size = rng.randint(1, 9)
                await write_events(store, ordered[i : i + size])
                i += size
            figures = []
            for start, end in PERIODS:
                kept, joined = await both(store, start, end)
                assert kept == joined, (seed, start, end)
                figures.append(kept)
            # the history attributes sales to several agents, and leaves some sales unattributed
            sales = int(
                (await store.query("SELECT count() AS n FROM $db.policy_terms FINAL WHERE kind = 'new'"))[0][
                    "n"
                ]
            )
            attributed = sum(figures[0].values())
            assert len(figures[0]) >= 3 and 0 < attributed < sales
            agent = next(iter(figures[0]))
            kept, joined = await both(store, *PERIODS[0], {"agent": agent})
            assert kept == joined == {agent: figures[0][agent]}
            if reference is None:
                reference = figures
            assert figures == reference
            await rebuild(store)
            assert [(await both(store, s, e))[0] for s, e in PERIODS] == reference
        finally:
            await drop_schema(store)


async def test_a_later_arriving_call_moves_the_sale_to_its_agent(store: Store) -> None:
    h = History()
    x, y = uuid.uuid4(), uuid.uuid4()
    customer = h.customer(province="Madrid", when=at(date(2025, 12, 1)))
    h.call(x, customer, on=datetime(2026, 2, 1, 9, tzinfo=UTC), seconds=60)
    h.policy(customer, start=date(2026, 2, 20), premium="300.00")  # sold 2026-02-20 10:00
    await write_events(store, h.events)
    assert await both(store, date(2026, 2, 1), date(2026, 2, 28)) == ({str(x): 1}, {str(x): 1})
    late = History()
    late.call(y, customer, on=datetime(2026, 2, 19, 9, tzinfo=UTC), seconds=60)  # y's call came later
    late.call(x, customer, on=datetime(2026, 2, 20, 11, tzinfo=UTC), seconds=60)  # after the sale
    late.call(x, customer, on=datetime(2026, 2, 19, 18, tzinfo=UTC), seconds=0, answered=False)
    await write_events(store, late.events)
    assert await both(store, date(2026, 2, 1), date(2026, 2, 28)) == ({str(y): 1}, {str(y): 1})


async def test_a_touch_counts_up_to_thirty_calendar_days_before_the_sale(store: Store) -> None:
    h = History()
    x, y = uuid.uuid4(), uuid.uuid4()
    a = h.customer(province="Madrid", when=at(date(2025, 12, 1)))
    b = h.customer(province="Madrid", when=at(date(2025, 12, 1)))
    # 2026-03-31 10:00 sale: a call on 2026-03-01 23:59 is 30 calendar days before (counted),
    # one on 2026-02-28 23:59 is 31 (not counted)
    h.call(x, a, on=datetime(2026, 3, 1, 23, 59, tzinfo=UTC), seconds=60)
    h.call(y, b, on=datetime(2026, 2, 28, 23, 59, tzinfo=UTC), seconds=60)
    h.policy(a, start=date(2026, 3, 31), premium="300.00")
    h.policy(b, start=date(2026, 3, 31), premium="300.00")
    await write_events(store, list(reversed(h.events[2:])))  # the sales before the calls
    await write_events(store, h.events[:2])  # and the customers last
    assert await both(store, date(2026, 3, 1), date(2026, 3, 31)) == ({str(x): 1}, {str(x): 1})
