"""`make bench`: print the platform's performance figures.

Starts its own Postgres and Kafka (profile "bench", own ports and data) unless
AINTECH_DATABASE_URL / AINTECH_KAFKA_BOOTSTRAP are set, then measures:

1. outbox -> Kafka -> consumer: events/s through the relay and end to end through a consumer
   that de-duplicates and writes one row per event, plus the outbox write rate;
2. gateway overhead: the same request direct to a service and through the gateway (separate
   uvicorn processes, keep-alive client), latency percentiles and requests/s;
3. forwarding client: aiohttp vs httpx issuing the same upstream calls.

4. authenticator: logins/s (production Argon2id parameters) and GET /me latency through the
   gateway with a bearer token.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "deploy" / "local"))

import aiohttp  # noqa: E402
import httpx  # noqa: E402
from sqlalchemy import func, insert, select  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncSession  # noqa: E402

import stack  # noqa: E402
from aintech_contracts.envelope import CloudEvent  # noqa: E402
from aintech_contracts.events import EventData, dead_letter_topic  # noqa: E402
from aintech_devtools.testing import ScratchSchema, scratch_schema  # noqa: E402
from aintech_shared.events.consumer import ConsumerSpec, EventConsumer  # noqa: E402
from aintech_shared.events.outbox import Outbox, OutboxRelay  # noqa: E402

RUN = uuid.uuid4().hex[:8]
TOPIC = f"bench.premiums.{RUN}"


class PremiumCollected(EventData, catalogued=False):
    event_type = "premium.collected"
    topic = TOPIC
    policy_id: str
    amount: str
    n: int


def heading(title: str) -> None:
    print(f"\n== {title} ==", flush=True)


def figure(label: str, value: str) -> None:
    print(f"  {label:<46} {value}", flush=True)


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    return {"p50": at(0.50), "p90": at(0.90), "p99": at(0.99), "mean": statistics.fmean(ordered) * 1000}


# --- 1. outbox -> Kafka -> consumer ----------------------------------------------------------------


async def bench_events(admin_url: str, bootstrap: str, events: int, writers: int) -> None:
    heading(f"outbox -> Kafka -> consumer ({events} events, real Postgres + Kafka)")
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    await admin.create_topics([NewTopic(TOPIC, 6, 1), NewTopic(dead_letter_topic(TOPIC), 1, 1)])
    await admin.close()

    async with scratch_schema(admin_url, "bench", pool_size=writers + 4) as scratch:
        await _events_in(scratch, bootstrap, events, writers)


async def _events_in(scratch: ScratchSchema, bootstrap: str, events: int, writers: int) -> None:
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
    figure(f"outbox writes ({writers} concurrent, 1 event per tx)", f"{staged / elapsed:,.0f} tx/s")

    async def apply(session: AsyncSession, event: CloudEvent) -> None:
        await session.execute(insert(ledger).values(event_id=event.id, policy_id=event.data["policy_id"]))

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
    figure("relay: outbox -> Kafka (acks=all, idempotent)", f"{staged / relay_elapsed:,.0f} events/s")

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
    figure("consumer: Kafka -> handler tx (dedup + 1 row)", f"{staged / consume_elapsed:,.0f} events/s")

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
    figure("end to end (relay + consumer concurrently)", f"{staged / e2e:,.0f} events/s")
    stop.set()
    await asyncio.gather(relay_task, consumer_task)


# --- 2. gateway overhead ---------------------------------------------------------------------------


def spawn(module: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", module],
        cwd=ROOT,
        env={**os.environ, **env, "AINTECH_LOG_LEVEL": "WARNING"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


async def wait_http(url: str, within: float = 60) -> None:
    deadline = time.monotonic() + within
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            try:
                if (await client.get(url)).status_code < 500:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.3)
    raise TimeoutError(url)


async def load(url: str, requests: int, concurrency: int) -> tuple[list[float], float]:
    latencies: list[float] = []
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
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


async def bench_gateway(env: dict[str, str], requests: int, concurrency: int) -> None:
    heading(f"gateway overhead ({requests} GETs, concurrency {concurrency}, keep-alive)")
    offset = stack.PROFILES["bench"].port_offset
    crm_port, gw_port = 8002 + offset, 8000 + offset
    procs = [
        spawn("core_crm", {**env, "CORE_CRM_PORT": str(crm_port)}),
        spawn("gateway", {**env, "GATEWAY_PORT": str(gw_port), "GATEWAY_PORT_OFFSET": str(offset)}),
    ]
    try:
        direct_url = f"http://127.0.0.1:{crm_port}/healthz"
        via_url = f"http://127.0.0.1:{gw_port}/api/crm/healthz"
        await wait_http(direct_url)
        await wait_http(via_url)
        rows = {}
        for label, url in (("direct to core-crm", direct_url), ("through the gateway", via_url)):
            lat, elapsed = await load(url, requests, concurrency)
            rows[label] = (percentiles(lat), requests / elapsed)
            p = rows[label][0]
            figure(
                label,
                f"{rows[label][1]:,.0f} req/s  p50 {p['p50']:.2f} ms  "
                f"p90 {p['p90']:.2f} ms  p99 {p['p99']:.2f} ms",
            )
        d, g = rows["direct to core-crm"][0], rows["through the gateway"][0]
        figure(
            "gateway overhead (p50 / p99)", f"+{g['p50'] - d['p50']:.2f} ms / +{g['p99'] - d['p99']:.2f} ms"
        )
        lat, _ = await load(direct_url, 200, 1)
        lat_gw, _ = await load(via_url, 200, 1)
        single = percentiles(lat_gw)["p50"] - percentiles(lat)["p50"]
        figure("gateway overhead, one client at a time (p50)", f"+{single:.2f} ms")
        await bench_clients(direct_url, requests, concurrency)
    finally:
        for proc in procs:
            os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            proc.wait(15)


async def bench_clients(url: str, requests: int, concurrency: int) -> None:
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
    figure("aiohttp / httpx", f"{a / h:.2f}x")


# --- main ------------------------------------------------------------------------------------------


# --- 4. authenticator ------------------------------------------------------------------------------


async def bench_auth(env: dict[str, str], logins: int, requests: int, concurrency: int) -> None:
    heading(f"authenticator through the gateway ({logins} logins, {requests} authenticated GET /me)")
    stack.seed(env)
    offset = stack.PROFILES["bench"].port_offset
    auth_port, gw_port = 8001 + offset, 8000 + offset
    jwks = f"http://127.0.0.1:{auth_port}/.well-known/jwks.json"
    procs = [
        spawn("authenticator", {**env, "AUTHENTICATOR_PORT": str(auth_port), "AINTECH_JWKS_URL": jwks}),
        spawn("gateway", {**env, "GATEWAY_PORT": str(gw_port), "GATEWAY_PORT_OFFSET": str(offset)}),
    ]
    base = f"http://127.0.0.1:{gw_port}/api/auth"
    try:
        await wait_http(f"http://127.0.0.1:{auth_port}/healthz")
        await wait_http(f"http://127.0.0.1:{gw_port}/healthz")
        credentials = {
            "email": "agent1@aintech.com",
            "password": os.environ.get("AINTECH_SEED_PASSWORD", "Aintech-Demo-2026!"),
        }
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:

            async def one_login() -> str:
                async with session.post(f"{base}/login", json=credentials) as r:
                    body = await r.json()
                    assert r.status == 200, body
                    return str(body["access_token"])

            token = await one_login()
            queue = iter(range(logins))
            login_latencies: list[float] = []

            async def login_worker() -> None:
                for _ in queue:
                    t = time.perf_counter()
                    await one_login()
                    login_latencies.append(time.perf_counter() - t)

            t0 = time.perf_counter()
            await asyncio.gather(*(login_worker() for _ in range(4)))
            elapsed = time.perf_counter() - t0
            p = percentiles(login_latencies)
            figure(
                "logins (Argon2id m=19MiB t=2 p=1, 4 concurrent)",
                f"{logins / elapsed:,.1f} logins/s  p50 {p['p50']:.0f} ms",
            )

            headers = {"Authorization": f"Bearer {token}"}
            for _ in range(50):
                async with session.get(f"{base}/me", headers=headers) as r:
                    await r.read()
            me_latencies: list[float] = []
            me_queue = iter(range(requests))

            async def me_worker() -> None:
                for _ in me_queue:
                    t = time.perf_counter()
                    async with session.get(f"{base}/me", headers=headers) as r:
                        await r.read()
                        assert r.status == 200
                    me_latencies.append(time.perf_counter() - t)

            t0 = time.perf_counter()
            await asyncio.gather(*(me_worker() for _ in range(concurrency)))
            elapsed = time.perf_counter() - t0
            p = percentiles(me_latencies)
            figure(
                f"GET /me via gateway ({concurrency} concurrent)",
                f"{requests / elapsed:,.0f} req/s  p50 {p['p50']:.2f} ms  p99 {p['p99']:.2f} ms",
            )
    finally:
        for proc in procs:
            os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            proc.wait(15)


async def main_async(args: argparse.Namespace, env: dict[str, str]) -> None:
    await bench_events(env["AINTECH_DATABASE_URL"], env["AINTECH_KAFKA_BOOTSTRAP"], args.events, args.writers)
    await bench_gateway(env, args.requests, args.concurrency)
    await bench_auth(env, args.logins, args.requests, args.concurrency)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--logins", type=int, default=60)
    parser.add_argument("--keep", action="store_true", help="leave the bench Postgres and Kafka running")
    args = parser.parse_args()
    profile = stack.PROFILES["bench"]
    print(f"AINTECH benchmarks — {os.cpu_count()} cores, Python {sys.version.split()[0]}", flush=True)
    env = stack.start_infra(profile)
    try:
        stack.migrate(env)
        os.environ.update(env)
        asyncio.run(main_async(args, env))
    finally:
        if not args.keep:
            stack.stop_infra(profile)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
