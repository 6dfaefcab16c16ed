"""Analytics, in process over chDB (no Kafka, no HTTP): ingest rate, KPI query latency over a large
table, and the weekly report PDF's time.

* **ingest**: domain events (customers, policies, claims, quotes, calls, messages, built from the
  contracts' models beforehand) stored by the ingester's own writer (``write_events``: the
  duplicate check against ``raw_events``, the fact rows, the raw rows) in the service's batches
  (20,000; the heap frozen after building them, as the service freezes its own). Kafka's
  fetch and the JSON decoding of each event are not in the figure.
* **KPI queries**: the fact tables filled straight by ``INSERT ... SELECT FROM numbers()`` with a
  spread the KPI queries see as real (two years of terms across carriers, lines and provinces;
  claims; quotes and conversions; calls; messages), ``--analytics-events`` rows in all; each
  repository query and each endpoint's service call timed over a one-month and a one-year period.
* **report**: the weekly executive report over that table, figures read and PDF drawn.
* **first paint** (server part, in process): the dashboard page, its two assets and its first
  figures (the sales dashboard of a month as JSON); the same through the gateway in Chromium is
  ``bench/dashboard.py`` (``--only dashboard``).

``--analytics-store DIR`` keeps the large store in ``DIR`` and reuses it on later runs.
"""

# The fill statements are built from this module's own constants and counts, never from input.
# ruff: noqa: S608

from __future__ import annotations

import asyncio
import gc
import importlib.util
import os
import random
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from analytics.ingest.aggregates import REBUILD, rebuild
from analytics.ingest.writer import write_events
from analytics.kpis import dashboards, repository, service
from analytics.kpis.service import Period
from analytics.reports import content, render
from analytics.settings import Settings
from analytics.store.port import ChdbStore, Store, close_chdb
from analytics.store.schema import create_schema, drop_schema
from bench.common import Checks, figure, heading, percentiles

INGEST_TARGET = 20_000  # events/s
KPI_P95_MS = 200.0
REPORT_SECONDS = 5.0
FIRST_PAINT_MS = 1000.0  # through the gateway, in the issue
ROOT = Path(__file__).resolve().parents[1]
CARRIERS = ["Mapfre", "AXA", "Allianz", "Generali", "Zurich", "Mutua", "Reale", "Liberty"]
LINES = ["auto", "home", "life", "health", "business"]
PROVINCES = ["Madrid", "Barcelona", "Sevilla", "Valencia", "Bilbao", "Málaga", "Zaragoza", "Murcia"]


def _history_module() -> Any:
    spec = importlib.util.spec_from_file_location(
        "analytics_bench_history", ROOT / "services" / "analytics" / "tests" / "history.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def build_events(count: int) -> list[Any]:
    """About ``count`` events of every kind the ingester turns into facts."""
    h = _history_module()
    history = h.History()
    rng = random.Random(7)
    agents = [uuid.uuid4() for _ in range(20)]
    day0 = date(2025, 1, 1)
    while len(history.events) < count:
        on = day0 + timedelta(days=rng.randrange(700))
        customer = history.customer(province=rng.choice(PROVINCES), when=h.at(on))
        policy = history.policy(
            customer, start=on, premium=f"{rng.randint(150, 2000)}.00", carrier=rng.choice(CARRIERS),
            line=rng.choice(LINES),
        )  # fmt: skip
        if rng.random() < 0.3:
            history.claim(customer, policy, on=on + timedelta(days=rng.randrange(1, 300)), claimed="800.00")
        history.quote(customer, on=on, premium="500.00", line=rng.choice(LINES))
        t = datetime(on.year, on.month, on.day, 12, tzinfo=UTC)
        history.call(rng.choice(agents), customer, on=t, seconds=rng.randint(30, 900))
        conv = uuid.uuid4()
        history.message_in(conv, channel="whatsapp", when=t)
        history.message_out(conv, channel="whatsapp", when=t + timedelta(minutes=rng.randint(1, 60)))
    return list(history.events[:count])


async def bench_ingest(store: Store, count: int, checks: Checks) -> None:
    t0 = time.perf_counter()
    events = build_events(count)
    figure(
        "events built (contracts' models, not timed)", f"{len(events)} in {time.perf_counter() - t0:.1f} s"
    )
    # the service's batch (ANALYTICS_INGEST_BATCH_ROWS: a backlog fills it); ANALYTICS_BENCH_BATCH
    # to compare another
    batch = int(os.environ.get("ANALYTICS_BENCH_BATCH") or Settings.model_fields["ingest_batch_rows"].default)
    await write_events(store, events[:batch])  # warm-up batch: schema caches, first parts
    # As the service does before serving (aintech_shared.serve.settle_heap): the events built
    # beforehand stand for what Kafka delivers one batch at a time, not a heap the cyclic collector
    # walks on every full collection.
    gc.collect()
    gc.freeze()
    started = time.perf_counter()
    cpu = time.process_time()
    stored = 0
    for i in range(batch, len(events), batch):
        stored += await write_events(store, events[i : i + batch])
    wall = time.perf_counter() - started
    spent = time.process_time() - cpu
    rate = stored / wall if wall else 0.0
    figure(f"events stored (batches of {batch:,}, after a warm-up batch)", str(stored))
    figure("wall / process CPU (every thread, chDB's too)", f"{wall:.2f} s / {spent:.2f} s")
    figure(
        "events per CPU second (the rate on one idle core)", f"{stored / spent:,.0f} ev/s" if spent else "-"
    )
    figure("load average (1, 5, 15 min)", " ".join(f"{x:.1f}" for x in os.getloadavg()))
    checks.add(
        "ingest into chDB (write_events)",
        f"{rate:,.0f} ev/s",
        f">= {INGEST_TARGET:,} ev/s",
        rate >= INGEST_TARGET,
    )


def _fill_sql(n: int) -> list[str]:
    """Fact rows for ``n`` events: 5 % customers, 30 % policy terms, 3 % cancellations, 12 % claim
    events, 20 % quotes, 5 % conversions, 15 % calls, 10 % messages."""
    c = max(1, n * 5 // 100)
    carriers = "[" + ",".join(f"'{x}'" for x in CARRIERS) + "]"
    lines = "[" + ",".join(f"'{x}'" for x in LINES) + "]"
    provinces = "[" + ",".join(f"'{x}'" for x in PROVINCES) + "]"
    t = n * 30 // 100
    return [
        f"""INSERT INTO $db.customers SELECT concat('c', toString(number)),
        {provinces}[number % 8 + 1], 'retail',
            'active', toDateTime64('2024-01-01', 3, 'UTC') + number % 60000000, 0, now64(3)
            FROM numbers({c})""",
        f"""INSERT INTO $db.policy_terms SELECT concat('p', toString(number)),
            toDate('2024-06-01') + (cityHash64(number) % 730),
            toDate('2024-06-01') + (cityHash64(number) % 730) + 365,
            1, concat('POL', toString(number)), {lines}[number % 5 + 1], {carriers}[(intDiv(number,
            5)) % 8 + 1],
            concat('c', toString(number % {c})), toDecimal64(150 + cityHash64(number, 1) % 1800, 2), NULL,
            'annual', 'new', if(number % 6 = 0, concat('q', toString(number)), ''),
            toDateTime64(toDate('2024-06-01') + (cityHash64(number) % 730), 3, 'UTC') + 36000, now64(3),
            {provinces}[(number % {c}) % 8 + 1],
            concat('e', toString(number)) FROM numbers({t})""",
        f"""INSERT INTO $db.policy_cancellations SELECT concat('p', toString(number * 10)),
            concat('c', toString(number * 10 % {c})), 'customer', toDateTime64('2025-01-01', 3, 'UTC')
            + (cityHash64(number) % 40000000), now64(3), '' FROM numbers({n * 3 // 100})""",
        f"""INSERT INTO $db.claim_events SELECT concat('k', toString(intDiv(number, 2))), toString(number),
            if(number % 2 = 0, 'claim.created', 'claim.paid'),
            toDateTime64('2024-07-01', 3, 'UTC') + (cityHash64(intDiv(number,
            2)) % 60000000) + (number % 2) * 86400,
            concat('p', toString(cityHash64(intDiv(number, 2)) % {t})), concat('c',
            toString(number % {c})), 'water',
            if(number % 2 = 0, 'open', 'paid'), toDecimal64(500, 2), NULL,
            if(number % 2 = 0, NULL, toDecimal64(400, 2)) FROM numbers({n * 12 // 100})""",
        f"""INSERT INTO $db.quotes SELECT concat('q', toString(number)), concat('c', toString(number % {c})),
            {lines}[number % 5 + 1], {carriers}[number % 8 + 1], toDecimal64(500, 2),
            toDateTime64('2024-06-01', 3, 'UTC') + (cityHash64(number) % 63000000), now64(3),
            {provinces}[(number % {c}) % 8 + 1], '' FROM numbers({n * 20 // 100})""",
        f"""INSERT INTO $db.quote_conversions SELECT concat('q', toString(number * 4)), concat('p',
        toString(number)),
            concat('c', toString(number % {c})), {carriers}[number % 8 + 1], toDecimal64(500, 2),
            toDateTime64('2024-06-01', 3, 'UTC') + (cityHash64(number * 4) % 63000000) + 86400, now64(3), ''
            FROM numbers({n * 5 // 100})""",
        f"""INSERT INTO $db.calls SELECT concat('call', toString(number)), concat('agent',
        toString(number % 40)),
            concat('c', toString(number % {c})), 'inbound', 'completed', 'answered', 30 + number % 900, 1,
            toDateTime64('2024-06-01', 3, 'UTC') + (cityHash64(number) % 63000000), now64(3), ''
            FROM numbers({n * 15 // 100})""",
        f"""INSERT INTO $db.messages SELECT concat('m', toString(number)), concat('conv',
        toString(intDiv(number, 2))),
            ['whatsapp', 'email', 'sms'][intDiv(number, 2) % 3 + 1], if(number % 2 = 0, 'inbound',
            'outbound'),
            concat('c', toString(number % {c})), 'delivered',
            toDateTime64('2024-06-01', 3, 'UTC') + (cityHash64(intDiv(number,
            2)) % 63000000) + (number % 2) * 600,
            now64(3), '' FROM numbers({n * 10 // 100})""",
    ]


async def _time(call: Callable[[], Awaitable[Any]], runs: int) -> dict[str, float]:
    """Wall percentiles (ms), and ``cpu``: the process's CPU time per run (ms, every thread, chDB's
    too), which the other users of a shared machine do not inflate the way they do the wall."""
    await call()
    samples = []
    cpu = time.process_time()
    for _ in range(runs):
        t = time.perf_counter()
        await call()
        samples.append(time.perf_counter() - t)
    return {**percentiles(samples), "cpu": (time.process_time() - cpu) / runs * 1000}


FACT_TABLES = (
    "customers", "policy_terms", "policy_cancellations", "claim_events", "quotes", "quote_conversions",
    "calls", "messages",
)  # fmt: skip


async def fact_rows(store: Store) -> int:
    rows = 0
    for table in FACT_TABLES:
        rows += int((await store.query(f"SELECT count() AS n FROM $db.{table}"))[0]["n"])
    return rows


async def fill(store: Store, size: int) -> None:
    """The fact tables filled with ``size`` rows, then the aggregates rebuilt from them; a store
    that already holds them (``--analytics-store``, built by an earlier run) is reused."""
    t0 = time.perf_counter()
    if await fact_rows(store) == 0:
        for sql in _fill_sql(size):
            await store.command(sql)
        await store.command("OPTIMIZE TABLE $db.policy_terms FINAL")
        t1 = time.perf_counter()
        await rebuild(store)  # the aggregates the writer keeps, computed from the bulk-loaded facts
        figure("KPI aggregates rebuilt from the facts (not timed)", f"{time.perf_counter() - t1:.1f} s")
        figure(
            "fact rows built (INSERT ... SELECT, not timed)",
            f"{await fact_rows(store):,} in {time.perf_counter() - t0:.1f} s",
        )
    else:
        for table in ("conversion_daily",):  # an aggregate newer than the kept store: rebuild it
            if int((await store.query(f"SELECT count() AS n FROM $db.{table}"))[0]["n"]) == 0:
                await store.command(f"INSERT INTO $db.{table} " + REBUILD[table].split(f"$db.{table}", 1)[1])
        figure("fact rows (a kept store, reused)", f"{await fact_rows(store):,}")


async def bench_kpis(store: Store, size: int, runs: int, checks: Checks) -> None:
    await fill(store, size)
    figure("load average before the queries (1, 5, 15 min)", " ".join(f"{x:.1f}" for x in os.getloadavg()))
    month, year = Period(date(2025, 11, 1), date(2025, 11, 30)), Period(date(2025, 1, 1), date(2025, 12, 31))
    for label, period in (("month", month), ("year", year)):
        kw: dict[str, Any] = {"start": period.start, "end": period.end, "filters": {}}
        calls: dict[str, Callable[[], Awaitable[Any]]] = {
            "figures (3 periods, one statement)": partial(
                repository.figures,
                store,
                periods=[(p.start, p.end) for p in (period, period.previous(), period.year_before())],
                filters={},
                by=None,
            ),
            "agent_figures": partial(repository.agent_figures, store, **kw),
            "agent_conversions": partial(repository.agent_conversions, store, **kw),
            "message_figures": partial(repository.message_figures, store, start=period.start, end=period.end),
            "monthly_written": partial(repository.monthly_written, store, **kw),
            "filter check (known carriers, lines, provinces, agents)": partial(
                service.validate_filters,
                store,
                {"carrier": "Mapfre", "line": "auto", "province": "Madrid", "agent": "agent1"},
            ),
            "GET /kpis": partial(service.kpis, store, period=period, filters={}),
            "GET /kpis?by=carrier": partial(service.kpis, store, period=period, filters={}, by="carrier"),
            "GET /kpis?by=line": partial(service.kpis, store, period=period, filters={}, by="line"),
            "GET /kpis?by=province": partial(service.kpis, store, period=period, filters={}, by="province"),
            "GET /kpis?carrier=Mapfre": partial(
                service.kpis, store, period=period, filters={"carrier": "Mapfre"}
            ),
            **{
                f"GET /dashboard/{kind}": partial(
                    dashboards.build, store, kind=kind, period=period, filters={}
                )
                for kind in ("sales", "agents", "customers", "financial")
            },
            "GET /dashboard/agents?agent=agent1": partial(
                dashboards.build, store, kind="agents", period=period, filters={"agent": "agent1"}
            ),
        }
        for name, call in calls.items():
            p = await _time(call, runs)
            checks.add(
                f"{name}, {label}: p95 (p50 {p['p50']:.0f} ms, CPU {p['cpu']:.0f} ms/run)",
                f"{p['p95']:.0f} ms",
                f"<= {KPI_P95_MS:g} ms",
                p["p95"] <= KPI_P95_MS,
            )
        # what the agents dashboard's conversions cost before conversion_daily (not a check)
        p = await _time(partial(repository.agent_conversions_from_facts, store, **kw), max(3, runs // 4))
        figure(
            f"agent_conversions from the raw facts (the join the aggregate replaced), {label}",
            f"p95 {p['p95']:.0f} ms (p50 {p['p50']:.0f} ms, CPU {p['cpu']:.0f} ms/run)",
        )


async def bench_report(store: Store, checks: Checks) -> None:
    samples = []
    for _ in range(3):
        t = time.perf_counter()
        figures = await content.gather(store, kind="weekly_executive", label="2025-W46")
        pdf = await asyncio.to_thread(render.render, figures)
        samples.append(time.perf_counter() - t)
    figure("weekly report PDF size", f"{len(pdf):,} bytes")
    worst = max(samples)
    checks.add("weekly executive report PDF (worst of 3)", f"{worst:.2f} s", f"<= {REPORT_SECONDS:g} s",
               worst <= REPORT_SECONDS)  # fmt: skip


async def bench_first_paint(store: Store, checks: Checks) -> None:
    """The server's part of the dashboard's first paint, in process: the page, its two assets and
    the first figures it asks for (the sales dashboard of a month, as JSON). Not measured: the
    gateway's hops, the sign-in, the browser's parsing and drawing (``bench/dashboard.py`` times the
    page in Chromium through the gateway)."""
    from analytics.dashboard import router as ui

    period = Period(date(2025, 11, 1), date(2025, 11, 30))

    async def first_paint() -> None:
        await ui.page()
        await ui.asset("dashboard.js")
        await ui.asset("dashboard.css")
        figures = await dashboards.build(store, kind="sales", period=period, filters={})
        figures.model_dump_json()

    p = await _time(first_paint, 10)
    checks.add(
        f"dashboard first paint, server part in process (p50 {p['p50']:.0f} ms, CPU {p['cpu']:.0f} ms): p95",
        f"{p['p95']:.0f} ms",
        f"<= {FIRST_PAINT_MS:g} ms",
        p["p95"] <= FIRST_PAINT_MS,
    )


async def bench_analytics(events: int, size: int, runs: int, keep: str | None = None) -> list[str]:
    """``keep``: a directory where the large store is built once and reused by later runs (its
    database is named by the size; the ingest database is made afresh every run)."""
    heading(f"analytics: ingest {events:,} events; KPI queries over {size:,} fact rows; weekly report")
    checks = Checks("analytics")
    with tempfile.TemporaryDirectory(prefix="bench-chdb-") as scratch:
        path = keep or scratch
        try:
            ingest = ChdbStore(path, database="bench_ingest")
            await drop_schema(ingest)
            await create_schema(ingest)
            await bench_ingest(ingest, events, checks)
            await drop_schema(ingest)
            large = ChdbStore(path, database=f"bench_kpis_{size}")
            await create_schema(large)
            await bench_kpis(large, size, runs, checks)
            await bench_report(large, checks)
            await bench_first_paint(large, checks)
        finally:
            close_chdb(path)  # before its directory goes: chDB aborts when it outlives its files
    return checks.report()
