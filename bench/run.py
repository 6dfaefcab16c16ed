"""`make bench`: print the platform's performance figures, each beside its target.

Starts its own Postgres and Kafka (profile "bench", own ports and data) unless
AINTECH_DATABASE_URL / AINTECH_KAFKA_BOOTSTRAP are set — or neither when every chosen section runs
in process (``--only analytics``) — then measures (``--only`` picks some):

- ``hotpath``: one authenticated read, measured with wrk beside a bare anchor started in the same
  run (Starlette + asyncpg, one row by primary key, one uvicorn worker): ``GET /me`` on the
  authenticator directly and through the gateway; req/s, p50/p99, CPU-ms per request of the
  service, the gateway and Postgres, ratios to the anchor;
- ``crm``: core-crm over 100k customers (``bench/crm.py``): read by id and name search with wrk,
  through the gateway and directly, CPU-ms per request, EXPLAIN ANALYZE of the search;
- ``gateway``: the gateway's cost on an authenticated business path (a CRM customer by id):
  wrk through the gateway vs direct, the gateway's CPU per forwarded request, and the latency it
  adds one request at a time;
- ``events``: outbox -> Kafka -> consumer: events/s through the relay and end to end through a
  consumer that de-duplicates and writes one row per event, plus the outbox write rate; one
  partition through a batch handler (a per-event handler beside it); commit -> effect p95, split
  into relay, consumer fetch and the consumer's commit;
- ``clients``: aiohttp vs httpx issuing the same upstream calls (the gateway's client for streamed
  uploads, HEAD and WebSockets; plain requests go through its own keep-alive pool, decision 0067);
- ``logins``: authenticator logins/s with the production Argon2id parameters;
- ``omnichannel``: webhook to an agent's socket, chat fan-out, campaign sending
  (``bench/channels.py``);
- ``telephony``: the voice webhooks through the gateway and queue assignment (``bench/voice.py``);
- ``quotes``: the quote engine's comparison across 20 products, in process (``bench/quotes.py``)
  and through the gateway at 8 clients beside the anchor (``bench/edge.py``);
- ``analytics``: ingest into chDB, every KPI and dashboard query over a large table, the weekly
  report PDF and the dashboard first paint's server part, in
  process (``bench/analytics.py``);
- ``dashboard``: the analytics dashboard's first paint and its KPI figures shown, timed by headless
  Chromium through the gateway over the same large store (``bench/dashboard.py``);
- ``fraud``: ai-fraud's score in process and its photo lookup (``bench/fraud.py``), and the score
  of one claim through the gateway beside the anchor (``bench/edge.py``);
- ``idle``: the whole fleet (every API and worker) idle: CPU % of one core and RSS per process
  (``bench/idle.py``).

Every section ends with its checks: figure, target, PASS or FAIL. The bench fleet's gateway gets
budgets sized for a load generator (``bench.common.BENCH_ENV``), still charged on every call.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# bench/ itself stays off the import path: sections are imported as bench.<name>, and no file here
# may shadow a service package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))
sys.path.insert(1, str(ROOT / "deploy" / "local"))

import aiohttp  # noqa: E402
import httpx  # noqa: E402
import orjson  # noqa: E402
from sqlalchemy import func, insert, select  # noqa: E402
from sqlalchemy import text as sql_text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncSession  # noqa: E402

import stack  # noqa: E402
from aintech_contracts.envelope import CloudEvent  # noqa: E402
from aintech_contracts.events import EventData, dead_letter_topic  # noqa: E402
from aintech_devtools.testing import ScratchSchema, scratch_schema  # noqa: E402
from aintech_shared.events.consumer import ConsumerSpec, EventConsumer  # noqa: E402
from aintech_shared.events.outbox import Outbox, OutboxRelay  # noqa: E402
from bench import crm  # noqa: E402
from bench.common import (  # noqa: E402
    BENCH_ENV,
    Checks,
    CpuMeter,
    ensure_running,
    figure,
    fleet_offset,
    heading,
    machine_load,
    percentiles,
    postmaster_pid,
    shared_cores_ratio,
    spawn,
    spawn_anchor,
    stop,
    wait_http,
)

RUN = uuid.uuid4().hex[:8]
TOPIC = f"bench.premiums.{RUN}"


class PremiumCollected(EventData, catalogued=False):
    event_type = "premium.collected"
    topic = TOPIC
    policy_id: str
    amount: str
    n: int


# --- 1. outbox -> Kafka -> consumer ----------------------------------------------------------------


# Floors of the events section (regression guards; a quiet machine does several times these).
OUTBOX_MIN_TX = 300.0
RELAY_MIN_EVENTS = 1000.0
CONSUMER_MIN_EVENTS = 500.0
# The targets of issue #15.
ONE_PARTITION_MIN_EVENTS = 5000.0  # one partition, de-duplicated, one row written per event
END_TO_END_P95_MS = 250.0  # the publisher's commit -> the consumer's effect visible


async def bench_events(
    admin_url: str, bootstrap: str, events: int, writers: int, one_partition: int = 20_000
) -> list[str]:
    heading(f"outbox -> Kafka -> consumer ({events} events, real Postgres + Kafka)")
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    await admin.create_topics([NewTopic(TOPIC, 6, 1), NewTopic(dead_letter_topic(TOPIC), 1, 1)])
    await admin.close()

    checks = Checks("events")
    async with scratch_schema(admin_url, "bench", pool_size=writers + 4) as scratch:
        await _events_in(scratch, bootstrap, events, writers, checks)
    async with scratch_schema(admin_url, "bench", pool_size=8) as scratch:
        await _one_partition(scratch, bootstrap, one_partition, checks)
    async with scratch_schema(admin_url, "bench", pool_size=8) as scratch:
        await _end_to_end_latency(scratch, bootstrap, checks)
    return checks.report()


async def _ledger_apply(ledger: Any) -> Callable[[AsyncSession, CloudEvent], Awaitable[None]]:
    async def apply(session: AsyncSession, event: CloudEvent) -> None:
        await session.execute(
            insert(ledger).values(
                event_id=event.id, policy_id=event.data["policy_id"], seq=int(event.data["n"])
            )
        )

    return apply


async def _ledger_apply_batch(ledger: Any) -> Callable[[AsyncSession, Sequence[CloudEvent]], Awaitable[None]]:
    async def apply(session: AsyncSession, events: Sequence[CloudEvent]) -> None:
        await session.execute(
            insert(ledger),
            [
                {"event_id": event.id, "policy_id": event.data["policy_id"], "seq": int(event.data["n"])}
                for event in events
            ],
        )

    return apply


async def _one_partition(scratch: ScratchSchema, bootstrap: str, count: int, checks: Checks) -> None:
    """The consumer alone on one partition: ``count`` events already in Kafka, each de-duplicated
    (its processed-event row) and writing one ledger row, with the consumer's production settings
    (default batch size); events/s from the first poll until the last row is visible. The check is
    the batch handler (the whole batch's rows in one statement, in the claim's transaction); the
    per-event handler runs on a fifth of the events beside it, for comparison."""
    fewer = max(1000, count // 5)
    batched = await _consume_one_partition(scratch, bootstrap, count, batch=True)
    per_event = await _consume_one_partition(scratch, bootstrap, fewer, batch=False)
    figure(f"consumer, one partition, per-event handler ({fewer:,} events)", f"{per_event:,.0f} events/s")
    figure(
        f"consumer, one partition, batch handler ({count:,} events, dedup + 1 row each)",
        f"{batched:,.0f} events/s",
    )
    checks.add(
        "consumer, one partition, idempotent DB write (events/s)",
        f"{batched:,.0f}",
        f">= {ONE_PARTITION_MIN_EVENTS:,.0f}",
        batched >= ONE_PARTITION_MIN_EVENTS,
    )


async def _consume_one_partition(scratch: ScratchSchema, bootstrap: str, count: int, *, batch: bool) -> float:
    from aiokafka import AIOKafkaProducer
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    from aintech_contracts.envelope import KAFKA_HEADERS

    topic = f"bench.one.{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    await admin.create_topics([NewTopic(topic, 1, 1), NewTopic(dead_letter_topic(topic), 1, 1)])
    await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, max_batch_size=1 << 20)
    await producer.start()
    try:
        futures = []
        for n in range(count):
            policy = f"POL-{n % 500}"
            payload = PremiumCollected(policy_id=policy, amount="42.50", n=n)
            event = CloudEvent.wrap(
                payload, type_=payload.event_type, source="bench", subject=policy, partitionkey=policy
            )
            futures.append(
                await producer.send(topic, event.to_bytes(), key=policy.encode(), headers=KAFKA_HEADERS)
            )
        await asyncio.gather(*futures)
    finally:
        await producer.stop()
    db, ledger = scratch.db, scratch.ledger
    async with db.transaction() as s:
        await s.execute(ledger.delete())
    if batch:
        spec = ConsumerSpec(
            name=f"bench-one-{topic}",
            topics=[topic],
            handlers={},
            batch_handlers={"premium.collected": await _ledger_apply_batch(ledger)},
        )
    else:
        handler = await _ledger_apply(ledger)
        spec = ConsumerSpec(
            name=f"bench-one-{topic}", topics=[topic], handlers={"premium.collected": handler}
        )
    consumer = EventConsumer(spec, db=db, tables=scratch.tables, bootstrap=bootstrap)
    stop_event = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop_event))
    started: float | None = None
    first = 0
    while True:
        async with db.transaction() as s:
            done = await s.scalar(select(func.count()).select_from(ledger)) or 0
        if done and started is None:
            started = time.perf_counter()  # the first batch is in: group join and fetch are behind us
            first = done
        if done >= count:
            break
        await asyncio.sleep(0.02)
    assert started is not None
    elapsed = time.perf_counter() - started
    rate = (count - first) / elapsed if elapsed > 0 else float("inf")
    stop_event.set()
    await task
    return rate


async def _end_to_end_latency(
    scratch: ScratchSchema, bootstrap: str, checks: Checks, *, events: int = 300, per_second: float = 30.0
) -> None:
    """Commit -> effect: ``events`` published one per transaction at ``per_second`` (relay and
    consumer running, as in a service, with the batch handler); each latency is from the
    publisher's COMMIT returning to the consumer's transaction being committed, seen by a LISTEN
    on a NOTIFY the handler sends in that transaction (Postgres delivers it at commit: no polling
    reader loading the process or the database). Split: commit -> Kafka acknowledged the relay's
    send (the relay's wake-up, its transaction, the producer's linger and acks), -> the handler is
    called (the consumer's fetch and batch), -> its commit seen."""
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    e2e_topic = f"bench.e2e.{uuid.uuid4().hex[:8]}"

    class Timed(EventData, catalogued=False):
        event_type = "premium.collected"
        topic = e2e_topic
        policy_id: str
        amount: str
        n: int

    topic = e2e_topic
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    await admin.create_topics([NewTopic(topic, 6, 1), NewTopic(dead_letter_topic(topic), 1, 1)])
    await admin.close()
    db, tables, ledger = scratch.db, scratch.tables, scratch.ledger
    outbox = Outbox(tables, source="bench")
    stop_event = asyncio.Event()
    relay = OutboxRelay(db, tables, bootstrap=bootstrap)
    channel = f"bench_e2e_{uuid.uuid4().hex[:8]}"
    write = await _ledger_apply_batch(ledger)
    handled: dict[int, float] = {}
    acked: dict[int, float] = {}
    get_producer = relay._get_producer

    async def traced_producer() -> Any:
        """The relay's producer, each send's acknowledgement timed (bench instrumentation)."""
        producer = await get_producer()
        if not getattr(producer, "_bench_traced", False):
            send = producer.send

            async def timed_send(topic: str, value: bytes, **kwargs: Any) -> Any:
                future = await send(topic, value=value, **kwargs)
                n = int(orjson.loads(value)["data"]["n"])
                future.add_done_callback(lambda _: acked.setdefault(n, time.perf_counter()))
                return future

            producer.send = timed_send
            producer._bench_traced = True
        return producer

    relay._get_producer = traced_producer  # type: ignore[method-assign]

    async def apply(session: AsyncSession, batch: Sequence[CloudEvent]) -> None:
        now = time.perf_counter()
        for event in batch:
            handled.setdefault(int(event.data["n"]), now)
        await write(session, batch)
        await session.execute(
            sql_text("SELECT pg_notify(:channel, n) FROM unnest(CAST(:ns AS text[])) AS n"),
            {"channel": channel, "ns": [str(event.data["n"]) for event in batch]},
        )

    spec = ConsumerSpec(
        name=f"bench-e2e-{RUN}", topics=[topic], handlers={}, batch_handlers={"premium.collected": apply}
    )
    consumer = EventConsumer(spec, db=db, tables=tables, bootstrap=bootstrap)
    seen: dict[int, float] = {}
    warmed = asyncio.Event()
    done = asyncio.Event()

    def on_notify(*args: Any) -> None:
        n = int(args[3])
        seen.setdefault(n, time.perf_counter())
        if n == -1:
            warmed.set()
        if len(seen) >= events + 1:
            done.set()

    async with db.engine.connect() as listen_conn:
        raw = await listen_conn.get_raw_connection()
        driver: Any = raw.driver_connection
        await driver.add_listener(channel, on_notify)
        tasks = [asyncio.create_task(relay.run(stop_event)), asyncio.create_task(consumer.run(stop_event))]
        # One event through first: the consumer has joined its group before the clock starts.
        async with db.transaction() as session:
            await outbox.publish(session, Timed(policy_id="POL-warm", amount="1.00", n=-1), key="POL-warm")
        await asyncio.wait_for(warmed.wait(), timeout=60)
        committed: dict[int, float] = {}
        interval = 1.0 / per_second
        t0 = time.perf_counter()
        for n in range(events):
            policy = f"POL-{n % 50}"
            async with db.transaction() as session:
                await outbox.publish(session, Timed(policy_id=policy, amount="42.50", n=n), key=policy)
            committed[n] = time.perf_counter()
            await asyncio.sleep(max(0.0, t0 + (n + 1) * interval - time.perf_counter()))
        await asyncio.wait_for(done.wait(), timeout=60)
        stop_event.set()
        await asyncio.gather(*tasks)
        await driver.remove_listener(channel, on_notify)
    p = percentiles([seen[n] - committed[n] for n in range(events)])
    to_kafka = percentiles([acked[n] - committed[n] for n in range(events)])
    to_handler = percentiles([handled[n] - acked[n] for n in range(events)])
    to_commit = percentiles([seen[n] - handled[n] for n in range(events)])
    figure(
        f"end to end, commit -> effect ({events} events at {per_second:g}/s)",
        f"p50 {p['p50']:.1f} ms  p95 {p['p95']:.1f} ms  p99 {p['p99']:.1f} ms",
    )
    figure(
        "  of which commit -> send acknowledged (relay)",
        f"p50 {to_kafka['p50']:.1f} ms  p95 {to_kafka['p95']:.1f} ms",
    )
    figure(
        "  then -> handler called (consumer fetch, batch)",
        f"p50 {to_handler['p50']:.1f} ms  p95 {to_handler['p95']:.1f} ms",
    )
    figure(
        "  and handler -> its commit seen", f"p50 {to_commit['p50']:.1f} ms  p95 {to_commit['p95']:.1f} ms"
    )
    checks.add(
        "event end to end (commit -> consumer effect), p95",
        f"{p['p95']:.1f} ms",
        f"<= {END_TO_END_P95_MS:g} ms",
        p["p95"] <= END_TO_END_P95_MS,
    )


async def _events_in(
    scratch: ScratchSchema, bootstrap: str, events: int, writers: int, checks: Checks
) -> None:
    db, tables, ledger = scratch.db, scratch.tables, scratch.ledger
    outbox = Outbox(tables, source="bench")

    async def writer(start: int, count: int) -> None:
        for n in range(start, start + count):
            async with db.transaction() as session:
                policy = f"POL-{n % 500}"
                await outbox.publish(
                    session, PremiumCollected(policy_id=policy, amount="42.50", n=n), key=policy
                )

    per = events // writers
    t0 = time.perf_counter()
    await asyncio.gather(*(writer(i * per, per) for i in range(writers)))
    staged = per * writers
    elapsed = time.perf_counter() - t0
    rate = staged / elapsed
    figure(f"outbox writes ({writers} concurrent, 1 event per tx)", f"{rate:,.0f} tx/s")
    checks.add("outbox writes (tx/s)", f"{rate:,.0f}", f">= {OUTBOX_MIN_TX:,.0f}", rate >= OUTBOX_MIN_TX)

    apply = await _ledger_apply(ledger)

    stop = asyncio.Event()
    relay = OutboxRelay(db, tables, bootstrap=bootstrap, batch_size=500)
    t0 = time.perf_counter()
    relay_task = asyncio.create_task(relay.run(stop))
    unsent = tables.outbox.c.sent_at.is_(None)
    while True:
        async with db.transaction() as s:
            left = await s.scalar(select(func.count()).select_from(tables.outbox).where(unsent))
        if not left:
            break
        await asyncio.sleep(0.05)
    relay_elapsed = time.perf_counter() - t0
    rate = staged / relay_elapsed
    figure("relay: outbox -> Kafka (acks=all, idempotent)", f"{rate:,.0f} events/s")
    checks.add(
        "relay, outbox -> Kafka (events/s)",
        f"{rate:,.0f}",
        f">= {RELAY_MIN_EVENTS:,.0f}",
        rate >= RELAY_MIN_EVENTS,
    )

    spec = ConsumerSpec(name=f"bench-{RUN}", topics=[TOPIC], handlers={"premium.collected": apply})
    consumer = EventConsumer(spec, db=db, tables=tables, bootstrap=bootstrap, max_records=500)
    t0 = time.perf_counter()
    consumer_task = asyncio.create_task(consumer.run(stop))
    while True:
        async with db.transaction() as s:
            done = await s.scalar(select(func.count()).select_from(ledger)) or 0
        if done >= staged:
            break
        await asyncio.sleep(0.05)
    consume_elapsed = time.perf_counter() - t0
    rate = staged / consume_elapsed
    figure("consumer: Kafka -> handler tx (dedup + 1 row)", f"{rate:,.0f} events/s")
    checks.add(
        "consumer, Kafka -> handler (events/s)",
        f"{rate:,.0f}",
        f">= {CONSUMER_MIN_EVENTS:,.0f}",
        rate >= CONSUMER_MIN_EVENTS,
    )

    # End to end with both running at once, on a fresh batch.
    await asyncio.gather(*(writer(staged + i * per, per) for i in range(writers)))
    t0 = time.perf_counter()
    while True:
        async with db.transaction() as s:
            done = await s.scalar(select(func.count()).select_from(ledger)) or 0
        if done >= 2 * staged:
            break
        await asyncio.sleep(0.05)
    e2e = time.perf_counter() - t0
    rate = staged / e2e
    figure("end to end (relay + consumer concurrently)", f"{rate:,.0f} events/s")
    checks.add(
        "end to end (events/s)", f"{rate:,.0f}", f">= {CONSUMER_MIN_EVENTS:,.0f}", rate >= CONSUMER_MIN_EVENTS
    )
    stop.set()
    await asyncio.gather(relay_task, consumer_task)


# --- gateway overhead on an authenticated business path --------------------------------------------


async def load(
    url: str, requests: int, concurrency: int, headers: dict[str, str] | None = None
) -> tuple[list[float], float]:
    """``requests`` GETs of ``url`` from ``concurrency`` keep-alive connections (aiohttp)."""
    latencies: list[float] = []
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:
        for _ in range(50):  # warm-up
            async with session.get(url) as r:
                await r.read()
        queue = iter(range(requests))

        async def worker() -> None:
            for _ in queue:
                t = time.perf_counter()
                async with session.get(url) as r:
                    await r.read()
                    assert r.status == 200, r.status
                latencies.append(time.perf_counter() - t)

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return latencies, time.perf_counter() - t0


GATEWAY_VS_DIRECT = 0.85  # through the gateway >= this share of the direct req/s
GATEWAY_ADDED_P50_MS = 1.0  # one request at a time, the gateway adds less than this


async def bench_gateway(fleet: crm.CrmFleet, plan: LoadPlan) -> list[str]:
    """A CRM customer by id: the anchor, direct and through the gateway; returns the failed checks."""
    heading(
        f"gateway overhead on an authenticated business path: GET /customers/{{id}} "
        f"(wrk, {plan.connections} connections, {plan.rounds} interleaved rounds of {plan.seconds:g} s)"
    )
    pg = postmaster_pid()
    trees = {"postgres": pg} if pg else {}
    bearer = {"Authorization": f"Bearer {fleet.token}"}
    customer = fleet.ids[0]
    targets = [
        ("anchor: Starlette + asyncpg, customer by id", f"{fleet.anchor}/rows/{customer}", {}),
        ("GET /customers/{id}, core-crm directly", f"{fleet.crm}/customers/{customer}", bearer),
        (
            "GET /api/crm/customers/{id} through the gateway",
            f"{fleet.gateway}/api/crm/customers/{customer}",
            bearer,
        ),
    ]
    meters = [
        CpuMeter({"service": fleet.pids["anchor"]}, trees),
        CpuMeter({"service": fleet.pids["crm"]}, trees),
        CpuMeter({"service": fleet.pids["crm"], "gateway": fleet.pids["gateway"]}, trees),
    ]
    rounds: list[list[Measured]] = []
    for _ in range(plan.rounds):
        rounds.append(
            [
                await measure(label, url, plan, meter, headers)
                for (label, url, headers), meter in zip(targets, meters, strict=True)
            ]
        )
    anchor, direct, via = (median_of([r[i] for r in rounds]) for i in range(3))
    ratio = statistics.median(r[2].rps / r[1].rps for r in rounds)
    vs_anchor = statistics.median(r[1].rps / r[0].rps for r in rounds)
    print(
        f"\n  {'median of ' + str(len(rounds)) + ' round(s)':<50} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7}"
        f" {'x anchor':>8}   CPU-ms/req: server  gateway  postgres",
        flush=True,
    )
    for m in (anchor, direct, via):
        print(
            f"  {m.label:<50} {m.rps:>8,.0f} {m.p50_ms:>7.2f} {m.p99_ms:>7.2f} {m.rps / anchor.rps:>7.2f}x   "
            f"{m.cpu_ms['service']:>17.2f} {m.cpu_ms.get('gateway', float('nan')):>8.2f} "
            f"{m.cpu_ms.get('postgres', float('nan')):>9.2f}",
            flush=True,
        )
    print(shared_cores_ratio(direct.cpu_ms, via.cpu_ms, GATEWAY_VS_DIRECT), flush=True)
    lat, _ = await load(targets[1][1], 300, 1, bearer)
    lat_gw, _ = await load(targets[2][1], 300, 1, bearer)
    added = percentiles(lat_gw)["p50"] - percentiles(lat)["p50"]
    checks = Checks("gateway")
    checks.add(
        "through the gateway vs direct (req/s)",
        f"{ratio:.2f}x",
        f">= {GATEWAY_VS_DIRECT:.2f}x",
        ratio >= GATEWAY_VS_DIRECT,
    )
    checks.add(
        "core-crm direct vs the anchor (req/s)",
        f"{vs_anchor:.2f}x",
        f">= {DIRECT_VS_ANCHOR:.2f}x",
        vs_anchor >= DIRECT_VS_ANCHOR,
    )
    checks.add(
        f"core-crm CPU per read by id (anchor {anchor.cpu_ms['service']:.2f})",
        f"{direct.cpu_ms['service']:.2f} ms",
        f"<= {SERVICE_CPU_MS:g} ms",
        direct.cpu_ms["service"] <= SERVICE_CPU_MS,
    )
    checks.add(
        "gateway CPU per forwarded request",
        f"{via.cpu_ms['gateway']:.2f} ms",
        f"<= {GATEWAY_CPU_MS:g} ms",
        via.cpu_ms["gateway"] <= GATEWAY_CPU_MS,
    )
    checks.add(
        "p50 added by the gateway, one request at a time",
        f"{added:+.2f} ms",
        f"< {GATEWAY_ADDED_P50_MS:g} ms",
        added < GATEWAY_ADDED_P50_MS,
    )
    failures = anchor.failures + direct.failures + via.failures
    checks.add("every request answered 2xx", f"{failures} errors", "0", failures == 0)
    return checks.report()


CLIENTS_MIN_RATIO = 1.0  # aiohttp is the gateway's general-purpose client because it is the faster one here


async def bench_clients(url: str, requests: int, concurrency: int) -> list[str]:
    heading(
        f"forwarding client: aiohttp vs httpx ({requests} GETs to one service, concurrency {concurrency})"
    )

    async def run(call: Callable[[], Awaitable[None]]) -> float:
        for _ in range(50):
            await call()
        queue = iter(range(requests))

        async def worker() -> None:
            for _ in queue:
                await call()

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return requests / (time.perf_counter() - t0)

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:

        async def via_aiohttp() -> None:
            async with session.get(url) as r:
                await r.read()

        a = await run(via_aiohttp)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits) as client:

        async def via_httpx() -> None:
            (await client.get(url)).read()

        h = await run(via_httpx)
    figure("aiohttp ClientSession", f"{a:,.0f} req/s")
    figure("httpx AsyncClient", f"{h:,.0f} req/s")
    checks = Checks("clients")
    checks.add(
        "aiohttp / httpx (req/s)", f"{a / h:.2f}x", f"> {CLIENTS_MIN_RATIO:.1f}x", a / h > CLIENTS_MIN_RATIO
    )
    return checks.report()


# --- hot path: one authenticated read beside the bare anchor --------------------------------------

WRK_SCRIPT = ROOT / "bench" / "report.lua"
# The targets of issue #15, each printed beside the anchor measured in the same run.
DIRECT_VS_ANCHOR = 0.50  # an authenticated read on the service >= this share of the anchor's req/s
SERVICE_CPU_MS = 0.6  # CPU-ms of the service per authenticated read
GATEWAY_CPU_MS = 0.3  # CPU-ms of the gateway per forwarded request
GATEWAY_P99_MS = 50.0  # through the gateway, p99 under this at the bench's connection count


@dataclass
class Measured:
    """One load run: throughput, latency and CPU per request of the processes that served it."""

    label: str
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    failures: int
    cpu_ms: dict[str, float]
    rps_override: float | None = None

    @property
    def rps(self) -> float:
        if self.rps_override is not None:
            return self.rps_override
        return self.requests / self.seconds if self.seconds else 0.0


async def run_wrk(
    url: str, *, headers: dict[str, str], seconds: float, connections: int, threads: int
) -> dict[str, float]:
    """One wrk run; returns the totals printed by bench/report.lua."""
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s", "--timeout", "10s"]
    command += ["-s", str(WRK_SCRIPT)]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    proc = await asyncio.create_subprocess_exec(
        *command, url, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    out, _ = await proc.communicate()
    text = out.decode()
    line = next((ln for ln in text.splitlines() if ln.startswith("BENCH_JSON ")), None)
    if proc.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({proc.returncode}):\n{text}")
    result: dict[str, float] = json.loads(line.removeprefix("BENCH_JSON "))
    return result


async def run_aiohttp(
    url: str, *, headers: dict[str, str], seconds: float, connections: int
) -> dict[str, float]:
    """Fallback load generator when wrk is missing: same shape of result, Python's own overhead."""
    latencies: list[float] = []
    failures = 0
    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:
        deadline = time.perf_counter() + seconds

        async def worker() -> None:
            nonlocal failures
            while time.perf_counter() < deadline:
                t = time.perf_counter()
                async with session.get(url) as r:
                    await r.read()
                    failures += r.status >= 400
                latencies.append(time.perf_counter() - t)

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(connections)))
        elapsed = time.perf_counter() - t0
    p = percentiles(latencies)
    return {
        "requests": len(latencies),
        "duration_us": elapsed * 1e6,
        "non_2xx": failures,
        "p50_us": p["p50"] * 1000,
        "p99_us": p["p99"] * 1000,
    }


@dataclass
class LoadPlan:
    seconds: float
    warmup: float
    connections: int
    threads: int
    use_wrk: bool
    rounds: int


async def measure(
    label: str, url: str, plan: LoadPlan, meter: CpuMeter, headers: dict[str, str] | None = None
) -> Measured:
    """Warm up, then load ``url`` for the plan's duration and read the CPU the processes spent."""
    headers = headers or {}

    async def once(seconds: float) -> dict[str, float]:
        if plan.use_wrk:
            return await run_wrk(
                url, headers=headers, seconds=seconds, connections=plan.connections, threads=plan.threads
            )
        return await run_aiohttp(url, headers=headers, seconds=seconds, connections=plan.connections)

    await once(plan.warmup)
    before = meter.read()
    result = await once(plan.seconds)
    after = meter.read()
    requests = int(result["requests"])
    failures = int(result["non_2xx"]) + sum(
        int(result.get(k, 0)) for k in ("connect", "read", "write", "timeout")
    )
    cpu = {name: (after[name] - before[name]) * 1000 / max(requests, 1) for name in before}
    return Measured(
        label=label,
        requests=requests,
        seconds=result["duration_us"] / 1e6,
        p50_ms=result["p50_us"] / 1000,
        p99_ms=result["p99_us"] / 1000,
        failures=failures,
        cpu_ms=cpu,
    )


def ensure_wrk() -> bool:
    if shutil.which("wrk"):
        return True
    print(
        "  wrk is not installed (make bench installs it with apt-get when it can; by hand:\n"
        "  `apt-get install -y wrk`). Falling back to the Python aiohttp load generator, which\n"
        "  shares the CPU with the servers: the ratios below are indicative only.",
        flush=True,
    )
    return False


async def login(base: str) -> tuple[str, str]:
    """Sign the seeded agent in; returns (access token, user id)."""
    credentials = {
        "email": "agent1@aintech.com",
        "password": os.environ.get("AINTECH_SEED_PASSWORD", "Aintech-Demo-2026!"),
    }
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{base}/login", json=credentials) as r:
            body = await r.json()
            assert r.status == 200, body
        token = str(body["access_token"])
        async with session.get(f"{base}/me", headers={"Authorization": f"Bearer {token}"}) as r:
            me = await r.json()
            assert r.status == 200, me
    return token, str(me["id"])


async def bench_hotpath(env: dict[str, str], plan: LoadPlan, offset: int) -> list[str]:
    """GET /me direct and through the gateway beside the bare anchor; returns the failed checks."""
    generator = "wrk" if plan.use_wrk else "aiohttp (fallback)"
    heading(
        f"hot path: authenticated GET /me beside a bare anchor ({generator}, {plan.connections} connections, "
        f"{plan.rounds} rounds of {plan.seconds:g} s per target after {plan.warmup:g} s warm-up)"
    )
    auth_port, gw_port, anchor_port = 8001 + offset, 8000 + offset, 8099 + offset
    jwks = f"http://127.0.0.1:{auth_port}/.well-known/jwks.json"
    service_env = {**env, **BENCH_ENV, "AINTECH_JWKS_URL": jwks}
    anchor_dsn = make_url(env["AINTECH_DATABASE_URL"]).set(drivername="postgresql")
    procs = {
        "anchor": spawn_anchor(anchor_port, anchor_dsn.render_as_string(hide_password=False)),
        "service": spawn(
            "authenticator", {**service_env, "AUTHENTICATOR_PORT": str(auth_port)}, log_level="INFO"
        ),
        "gateway": spawn(
            "gateway",
            {**service_env, "GATEWAY_PORT": str(gw_port), "GATEWAY_PORT_OFFSET": str(offset)},
            log_level="INFO",
        ),
    }
    try:
        for url in (
            f"http://127.0.0.1:{anchor_port}/healthz",
            f"http://127.0.0.1:{auth_port}/healthz",
            f"http://127.0.0.1:{gw_port}/healthz",
        ):
            await wait_http(url, status=200, procs=procs)
        token, user_id = await login(f"http://127.0.0.1:{auth_port}")
        bearer = {"Authorization": f"Bearer {token}"}
        # Authenticated calls wait until the gateway's revoked-session feed has caught up.
        await wait_http(f"http://127.0.0.1:{gw_port}/api/auth/me", headers=bearer, status=200, procs=procs)
        ensure_running(procs)
        pids = {name: proc.pid for name, proc in procs.items()}
        pg = postmaster_pid()
        trees = {"postgres": pg} if pg else {}
        targets = [
            ("anchor: Starlette + asyncpg, 1 row", f"http://127.0.0.1:{anchor_port}/rows/{user_id}", {}),
            ("GET /me, authenticator directly", f"http://127.0.0.1:{auth_port}/me", bearer),
            ("GET /api/auth/me through the gateway", f"http://127.0.0.1:{gw_port}/api/auth/me", bearer),
        ]
        meters = [
            CpuMeter({"anchor": pids["anchor"]}, trees),
            CpuMeter({"service": pids["service"]}, trees),
            CpuMeter({"service": pids["service"], "gateway": pids["gateway"]}, trees),
        ]
        # Rounds interleave the three targets, so a change in what else loads the machine hits
        # all three alike; ratios are taken within a round and the median round is reported.
        rounds: list[list[Measured]] = []
        for n in range(plan.rounds):
            print(f"  round {n + 1}/{plan.rounds} ...", flush=True)
            rounds.append(
                [
                    await measure(label, url, plan, meter, headers)
                    for (label, url, headers), meter in zip(targets, meters, strict=True)
                ]
            )
    finally:
        stop(procs.values())
    return report_hotpath(rounds, plan.connections)


def median_of(runs: list[Measured]) -> Measured:
    """One figure per field: the median over the rounds (requests summed, for the error count)."""
    names = runs[0].cpu_ms.keys()
    return Measured(
        label=runs[0].label,
        requests=sum(m.requests for m in runs),
        seconds=sum(m.seconds for m in runs),
        p50_ms=statistics.median(m.p50_ms for m in runs),
        p99_ms=statistics.median(m.p99_ms for m in runs),
        failures=sum(m.failures for m in runs),
        cpu_ms={name: statistics.median(m.cpu_ms[name] for m in runs) for name in names},
        rps_override=statistics.median(m.rps for m in runs),
    )


def report_hotpath(rounds: list[list[Measured]], connections: int = 32) -> list[str]:
    anchor, direct, via = (median_of([r[i] for r in rounds]) for i in range(3))
    direct_ratio = statistics.median(r[1].rps / r[0].rps for r in rounds)
    gateway_ratio = statistics.median(r[2].rps / r[1].rps for r in rounds)

    def cpu(m: Measured, name: str) -> str:
        return f"{m.cpu_ms[name]:.2f}" if name in m.cpu_ms else "-"

    print(
        f"\n  median of {len(rounds)} round(s)               {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'x anchor':>8}   CPU-ms/req: server  gateway  postgres   errors",
        flush=True,
    )
    for m in (anchor, direct, via):
        server = cpu(m, "anchor") if "anchor" in m.cpu_ms else cpu(m, "service")
        print(
            f"  {m.label:<38} {m.rps:>8,.0f} {m.p50_ms:>7.2f} {m.p99_ms:>7.2f} {m.rps / anchor.rps:>7.2f}x"
            f"   {server:>18} {cpu(m, 'gateway'):>8} {cpu(m, 'postgres'):>9}   {m.failures:>6}",
            flush=True,
        )
    print(
        "  per round, direct/anchor: "
        + ", ".join(f"{r[1].rps / r[0].rps:.2f}x" for r in rounds)
        + "; gateway/direct: "
        + ", ".join(f"{r[2].rps / r[1].rps:.2f}x" for r in rounds),
        flush=True,
    )
    print(
        f"  CPU per request, anchor/service: {anchor.cpu_ms['anchor'] / direct.cpu_ms['service']:.2f}x "
        "(the same ratio in CPU, less sensitive to what else runs on the machine)",
        flush=True,
    )
    if "gateway" in via.cpu_ms:  # decision 0080: what the ratio can be on shared cores
        print(shared_cores_ratio(direct.cpu_ms, via.cpu_ms, GATEWAY_VS_DIRECT), flush=True)
    if "gateway" in via.cpu_ms:  # decision 0070: what one process and this machine can serve
        path_ms = via.cpu_ms["service"] + via.cpu_ms["gateway"] + via.cpu_ms.get("postgres", 0.0)
        cores = os.cpu_count() or 1
        service_ms, gateway_ms = direct.cpu_ms["service"], via.cpu_ms["gateway"]
        print(
            f"  one process' ceiling (1000 / CPU-ms): authenticator {1000 / service_ms:,.0f}/s, "
            f"gateway {1000 / gateway_ms:,.0f}/s; this {cores}-core machine, all of it for the path "
            f"through the gateway ({path_ms:.2f} CPU-ms, wrk not counted): "
            f"{cores * 1000 / path_ms:,.0f}/s, so at {connections} connections a mean latency of "
            f"at least {connections * path_ms / cores:.0f} ms",
            flush=True,
        )
    failures = anchor.failures + direct.failures + via.failures
    checks = Checks("hotpath")
    checks.add(
        "GET /me direct vs anchor (req/s)",
        f"{direct_ratio:.2f}x",
        f">= {DIRECT_VS_ANCHOR:.2f}x",
        direct_ratio >= DIRECT_VS_ANCHOR,
    )
    checks.add(
        "GET /me through the gateway vs direct (req/s)",
        f"{gateway_ratio:.2f}x",
        f">= {GATEWAY_VS_DIRECT:.2f}x",
        gateway_ratio >= GATEWAY_VS_DIRECT,
    )
    checks.add(
        "GET /me through the gateway, p99",
        f"{via.p99_ms:.1f} ms",
        f"< {GATEWAY_P99_MS:g} ms",
        via.p99_ms < GATEWAY_P99_MS,
    )
    checks.add(
        f"GET /me, authenticator CPU per request (anchor {anchor.cpu_ms['anchor']:.2f})",
        f"{direct.cpu_ms['service']:.2f} ms",
        f"<= {SERVICE_CPU_MS:g} ms",
        direct.cpu_ms["service"] <= SERVICE_CPU_MS,
    )
    checks.add(
        "GET /me, gateway CPU per forwarded request",
        f"{via.cpu_ms['gateway']:.2f} ms",
        f"<= {GATEWAY_CPU_MS:g} ms",
        via.cpu_ms["gateway"] <= GATEWAY_CPU_MS,
    )
    checks.add("every request answered 2xx", f"{failures} errors", "0", failures == 0)
    return checks.report()


# --- logins ---------------------------------------------------------------------------------------


LOGIN_P50_MS = 1000.0  # a person signing in waits under a second, 4 sign-ins at a time


async def bench_logins(env: dict[str, str], logins: int, offset: int) -> list[str]:
    heading(f"authenticator logins ({logins} logins, production Argon2id, 4 concurrent)")
    auth_port = 8001 + offset
    jwks = f"http://127.0.0.1:{auth_port}/.well-known/jwks.json"
    proc = spawn("authenticator", {**env, "AUTHENTICATOR_PORT": str(auth_port), "AINTECH_JWKS_URL": jwks})
    base = f"http://127.0.0.1:{auth_port}"
    credentials = {
        "email": "agent1@aintech.com",
        "password": os.environ.get("AINTECH_SEED_PASSWORD", "Aintech-Demo-2026!"),
    }
    try:
        await wait_http(f"{base}/healthz")
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=4)) as session:

            async def one_login() -> None:
                async with session.post(f"{base}/login", json=credentials) as r:
                    body = await r.json()
                    assert r.status == 200, body

            await one_login()
            queue = iter(range(logins))
            latencies: list[float] = []

            async def worker() -> None:
                for _ in queue:
                    t = time.perf_counter()
                    await one_login()
                    latencies.append(time.perf_counter() - t)

            t0 = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(4)))
            elapsed = time.perf_counter() - t0
        p = percentiles(latencies)
        figure(
            "logins (Argon2id m=19MiB t=2 p=1, 4 concurrent)",
            f"{logins / elapsed:,.1f} logins/s  p50 {p['p50']:.0f} ms",
        )
    finally:
        stop([proc])
    checks = Checks("logins")
    checks.add(
        "sign-in p50, 4 concurrent", f"{p['p50']:.0f} ms", f"< {LOGIN_P50_MS:g} ms", p["p50"] < LOGIN_P50_MS
    )
    return checks.report()


# --- main ------------------------------------------------------------------------------------------

SECTIONS = (
    "hotpath",
    "crm",
    "gateway",
    "events",
    "clients",
    "logins",
    "omnichannel",
    "telephony",
    "quotes",
    "analytics",
    "dashboard",
    "idle",
    "fraud",
    "scraper",
)

# Sections measured in process over their own embedded store: they need neither Postgres nor Kafka.
IN_PROCESS = frozenset({"analytics"})


def seed_accounts(env: dict[str, str]) -> None:
    """The authenticator's demo accounts (the agent the hot path signs in as), idempotently.

    Only the authenticator's seed: the CRM's demo data is not read here, and creating it through
    the service beside the bench's 100k customers takes minutes on a busy machine.
    """
    subprocess.run([sys.executable, "-m", "authenticator.seed"], env={**os.environ, **env}, check=True)


async def main_async(args: argparse.Namespace, env: dict[str, str]) -> list[str]:
    failed: list[str] = []
    only = set(args.only)
    offset = fleet_offset(stack.PROFILES["bench"].port_offset)
    plan = LoadPlan(
        seconds=args.duration,
        warmup=args.warmup,
        connections=args.connections,
        threads=args.threads,
        use_wrk=ensure_wrk(),
        rounds=args.rounds,
    )
    if only & {"hotpath", "logins"}:
        seed_accounts(env)
    if "hotpath" in only:
        failed += await bench_hotpath(env, plan, offset)
    if only & {"crm", "gateway", "clients"}:
        ids = await crm.prepare(env["AINTECH_DATABASE_URL"], args.customers)
        async with crm.crm_fleet(env, offset, ids) as fleet:
            if "crm" in only:
                if plan.use_wrk:
                    failed += await crm.bench_crm(
                        fleet,
                        env["AINTECH_DATABASE_URL"],
                        customers=args.customers,
                        seconds=args.crm_duration,
                        connections=args.connections,
                        threads=args.threads,
                        term_seconds=args.term_seconds,
                    )
                else:
                    failed.append("crm: wrk is not installed")
            if "gateway" in only:
                failed += await bench_gateway(fleet, plan)
            if "clients" in only:
                failed += await bench_clients(f"{fleet.crm}/healthz", args.requests, args.concurrency)
    if "events" in only:
        failed += await bench_events(
            env["AINTECH_DATABASE_URL"],
            env["AINTECH_KAFKA_BOOTSTRAP"],
            args.events,
            args.writers,
            args.one_partition,
        )
    if "logins" in only:
        failed += await bench_logins(env, args.logins, offset)
    if "omnichannel" in only:
        from bench.channels import bench_omnichannel

        failed += await bench_omnichannel(env)
    if "telephony" in only:
        from bench.voice import bench_telephony

        failed += await bench_telephony(env, offset=offset)
    if "quotes" in only:
        from bench.quotes import bench_quotes

        failed += bench_quotes()
        from bench.edge import bench_quotes_gateway

        failed += await bench_quotes_gateway(env, offset, seconds=args.crm_duration)
    if "analytics" in only:
        from bench.analytics import bench_analytics

        failed += await bench_analytics(
            args.analytics_ingest, args.analytics_events, args.analytics_runs, args.analytics_store
        )
    if "dashboard" in only:
        from bench.dashboard import bench_dashboard_gateway

        failed += await bench_dashboard_gateway(
            env, offset, size=args.analytics_events, loads=args.dashboard_loads, keep=args.analytics_store
        )
    if "idle" in only:
        from bench.idle import bench_idle

        failed += await bench_idle(env)
    if "fraud" in only:
        from bench.fraud import bench_fraud

        failed += await bench_fraud()
        from bench.edge import bench_fraud_gateway

        failed += await bench_fraud_gateway(env, offset, seconds=args.crm_duration)
    if "scraper" in only:
        from bench.scraper import bench_scraper

        failed += await bench_scraper()
    return failed


def sections(value: str) -> list[str]:
    chosen = [s.strip() for s in value.split(",") if s.strip()]
    unknown = [s for s in chosen if s not in SECTIONS]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown section(s) {unknown}; choose from {', '.join(SECTIONS)}")
    return chosen


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--only", type=sections, default=list(SECTIONS), help=f"comma-separated: {', '.join(SECTIONS)}"
    )
    parser.add_argument(
        "--duration", type=float, default=6.0, help="hotpath/gateway: seconds measured per target"
    )
    parser.add_argument(
        "--warmup", type=float, default=2.0, help="hotpath/gateway: warm-up seconds per target"
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="hotpath/gateway: interleaved rounds (median reported)"
    )
    parser.add_argument("--connections", type=int, default=32, help="wrk connections")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--customers", type=int, default=100_000, help="crm: customers seeded")
    parser.add_argument("--crm-duration", type=float, default=10.0, help="crm: seconds measured per workload")
    parser.add_argument(
        "--term-seconds", type=float, default=3.0, help="crm: seconds per search term alone (0: skip)"
    )
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument(
        "--one-partition", type=int, default=20_000, help="events: events the one-partition consumer reads"
    )
    parser.add_argument(
        "--analytics-ingest", type=int, default=100_000, help="analytics: events ingested for the rate"
    )
    parser.add_argument(
        "--analytics-events", type=int, default=1_000_000, help="analytics: fact rows the KPI queries read"
    )
    parser.add_argument("--analytics-runs", type=int, default=20, help="analytics: timed runs per query")
    parser.add_argument(
        "--analytics-store",
        default=None,
        help="analytics: a directory where the large store is built once and reused (e.g. for 10M rows)",
    )
    parser.add_argument(
        "--dashboard-loads", type=int, default=20, help="dashboard: cold loads timed in Chromium"
    )
    parser.add_argument("--requests", type=int, default=3000, help="clients: requests per figure")
    parser.add_argument("--concurrency", type=int, default=16, help="clients: concurrent requests")
    parser.add_argument("--logins", type=int, default=60)
    parser.add_argument("--strict", action="store_true", help="exit 1 when any check fails")
    parser.add_argument("--keep", action="store_true", help="leave the bench Postgres and Kafka running")
    args = parser.parse_args()
    profile = stack.PROFILES["bench"]
    print(
        f"AINTECH benchmarks — {time.strftime('%Y-%m-%d %H:%M')} — Python {sys.version.split()[0]} — "
        f"{machine_load()}",
        flush=True,
    )
    if set(args.only) <= IN_PROCESS:
        # Nothing chosen talks to Postgres or Kafka: do not start (or migrate) them.
        failed = asyncio.run(main_async(args, {}))
    else:
        env = stack.start_infra(profile)
        try:
            stack.migrate(env)
            os.environ.update(env)
            failed = asyncio.run(main_async(args, env))
        finally:
            if not args.keep:
                stack.stop_infra(profile)
    print(f"\nfinished — {machine_load()}", flush=True)
    if failed:
        print("FAILED: " + "; ".join(failed), flush=True)
    return 1 if failed and args.strict else 0


if __name__ == "__main__":
    raise SystemExit(main())
