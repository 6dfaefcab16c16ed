"""Telephony benchmarks: the inbound voice webhook through the gateway, and queue assignment.

``bench_telephony(env)`` is the section the harness calls (env: the AINTECH_* variables of a
migrated bench stack); it returns the failed checks. Standalone: ``uv run python bench/voice.py``
starts the bench Postgres and Kafka (like ``make bench``), migrates, measures and stops them.

1. p50/p90/p99 of Twilio's first request for a new call (``/webhooks/twilio/voice/incoming``: the
   signature check, caller lookup, call row, ``call.initiated`` outbox row, TwiML) and of the IVR
   choice (queue row, position, direct assignment), through the gateway — Twilio waits 15 s at most;
   the target is p99 under 50 ms.
2. Queue assignment with 500 waiting callers and 50 available agents over 4 skills: latency of one
   skills-based assignment (one statement picks and locks the caller and the agent, one writes the
   queue row, call, agent status and its history, two outbox events; target p95 under 20 ms) in
   blocks alternating with an anchor from the same run (one committed row update), the CPU per
   assignment of the bench process and of Postgres, and two replicas assigning concurrently.
"""

from __future__ import annotations

import asyncio
import os
import signal
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))
sys.path.insert(1, str(ROOT / "deploy" / "local"))

import aiohttp  # noqa: E402
import httpx  # noqa: E402
from sqlalchemy import text  # noqa: E402

import stack  # noqa: E402
from aintech_shared.db import Database  # noqa: E402
from aintech_shared.webhooks import TWILIO_SIGNATURE, twilio_signature  # noqa: E402
from bench.common import BENCH_ENV, Checks, CpuMeter, fleet_offset, machine_load, postmaster_pid  # noqa: E402
from bench.common import percentiles as percentiles_ms  # noqa: E402
from telephony.agents.models import AgentStatus  # noqa: E402
from telephony.calls.models import Call, QueueEntry  # noqa: E402
from telephony.core.base import utcnow  # noqa: E402
from telephony.core.runtime import worker_runtime  # noqa: E402
from telephony.queue import service as queue  # noqa: E402
from telephony.settings import DEV_TWILIO_AUTH_TOKEN, Settings  # noqa: E402

WEBHOOK_P99_MS = 50.0  # Twilio waits up to 15 s; callers should hear the menu at once
TABLES = (
    "telephony.signalling_presence, telephony.call_queue, telephony.calls, telephony.agent_status, "
    "telephony.agent_status_changes, telephony.webhook_receipts"
)


def heading(title: str) -> None:
    print(f"\n== {title} ==", flush=True)


def figure(label: str, value: str) -> None:
    print(f"  {label:<46} {value}", flush=True)


def p99(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] * 1000


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    return (
        f"p50 {at(0.5):.2f} ms  p90 {at(0.9):.2f} ms  p99 {at(0.99):.2f} ms  "
        f"mean {statistics.fmean(ordered) * 1000:.2f} ms"
    )


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _spawn(module: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", module],
        cwd=ROOT,
        env={**os.environ, **env, "AINTECH_LOG_LEVEL": "WARNING"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


async def _wait_http(url: str, within: float = 60) -> None:
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


async def _clean(db: Database) -> None:
    async with db.transaction() as session:
        await session.execute(text(f"TRUNCATE {TABLES}"))
        await session.execute(text("DELETE FROM telephony.outbox"))


async def bench_webhook(
    env: dict[str, str], checks: Checks, *, calls: int, concurrency: int, offset: int
) -> None:
    heading(f"inbound voice webhook through the gateway ({calls} new calls per run)")
    print(f"  (load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)", flush=True)
    tel_port, gw_port = 8003 + offset, 8000 + offset
    base = f"http://127.0.0.1:{gw_port}"
    child = {
        **env,
        **BENCH_ENV,
        "TELEPHONY_PORT": str(tel_port),
        "GATEWAY_PORT": str(gw_port),
        "GATEWAY_PORT_OFFSET": str(offset),
    }
    procs = [_spawn("telephony", child), _spawn("gateway", child)]
    try:
        await _wait_http(f"http://127.0.0.1:{tel_port}/healthz")
        await _wait_http(f"{base}/healthz")
        incoming_url = f"{base}/webhooks/twilio/voice/incoming"
        incoming: list[float] = []
        choices: list[float] = []
        connector = aiohttp.TCPConnector(limit=concurrency)
        async with aiohttp.ClientSession(connector=connector) as session:

            async def post(url: str, params: dict[str, str]) -> tuple[float, str]:
                headers = {TWILIO_SIGNATURE: twilio_signature(DEV_TWILIO_AUTH_TOKEN, url, params)}
                t = time.perf_counter()
                async with session.post(url, data=params, headers=headers) as r:
                    body = await r.text()
                    assert r.status == 200, (r.status, body[:300])
                return time.perf_counter() - t, body

            async def one_call(n: int, *, record: bool) -> None:
                sid = "CA" + uuid.uuid4().hex
                params = {
                    "CallSid": sid,
                    "From": f"+3469{n % 10_000_000:07d}",
                    "To": "+34910000000",
                    "CallStatus": "ringing",
                    "AccountSid": "AC" + "0" * 32,
                }
                elapsed, body = await post(incoming_url, params)
                action = body.split('action="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
                chosen, _ = await post(
                    action, {**params, "CallStatus": "in-progress", "Digits": str(1 + n % 3)}
                )
                if record:
                    incoming.append(elapsed)
                    choices.append(chosen)

            for n in range(50):  # warm-up
                await one_call(n, record=False)
            for workers in sorted({1, concurrency}):
                incoming.clear()
                choices.clear()
                numbers = iter(range(calls))

                async def worker(numbers: Iterator[int]) -> None:
                    for n in numbers:
                        await one_call(n, record=True)

                cpu0 = [_cpu_seconds(p.pid) for p in procs]
                t0 = time.perf_counter()
                await asyncio.gather(*(worker(numbers) for _ in range(workers)))
                elapsed = time.perf_counter() - t0
                cpu = [(_cpu_seconds(p.pid) - c) * 1000 / calls for p, c in zip(procs, cpu0, strict=True)]
                figure(f"incoming, {workers} concurrent (menu TwiML)", percentiles(incoming))
                figure(f"IVR choice, {workers} concurrent (queue, route)", percentiles(choices))
                figure(f"calls handled, {workers} concurrent", f"{calls / elapsed:,.0f} calls/s")
                figure("CPU per call (2 webhooks): telephony, gateway", f"{cpu[0]:.1f} ms, {cpu[1]:.1f} ms")
                if workers == 1:
                    for name, samples in (("incoming webhook", incoming), ("IVR choice webhook", choices)):
                        worst = p99(samples)
                        checks.add(
                            f"{name} via the gateway, 1 at a time, p99",
                            f"{worst:.1f} ms",
                            f"< {WEBHOOK_P99_MS:g} ms",
                            worst < WEBHOOK_P99_MS,
                        )
    finally:
        for proc in procs:
            os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            proc.wait(15)


# Four skills: three departments and English (Spanish is everyone's). Callers need a department and
# a language; agents hold one or two departments and Spanish, every fifth one English too.
CALLER_SKILLS = (["claims", "es"], ["sales", "es"], ["renewals", "es"], ["claims", "en"], ["sales", "es"])
AGENT_SKILLS = (
    {"claims": 3, "es": 5},
    {"sales": 4, "es": 5},
    {"renewals": 2, "sales": 2, "es": 5},
    {"claims": 2, "sales": 3, "es": 5},
    {"claims": 4, "es": 5, "en": 4},
)


async def _seed(db: Database, *, callers: int, agents: int) -> None:
    now = utcnow()
    async with db.transaction() as session:
        for n in range(callers):
            sid = "CA" + uuid.uuid4().hex
            call = Call(
                direction="inbound",
                customer_phone=f"+3469{n:07d}",
                our_number="+34910000000",
                status="in-progress",
                call_sid=sid,
                created_at=now,
                metadata_={},
            )
            session.add(call)
            await session.flush()
            level = 1 + n % 4
            session.add(
                QueueEntry(
                    call_id=call.id,
                    call_sid=sid,
                    customer_phone=call.customer_phone,
                    department="sales",
                    priority=level,
                    base_priority=level,
                    state="waiting",
                    enqueued_at=now + timedelta(milliseconds=n),
                    required_skills=CALLER_SKILLS[n % len(CALLER_SKILLS)],
                )
            )
        for n in range(agents):
            session.add(
                AgentStatus(
                    agent_id=uuid.uuid4(),
                    status="available",
                    capabilities={},
                    skills=AGENT_SKILLS[n % len(AGENT_SKILLS)],
                    last_status_change=now + timedelta(milliseconds=n),
                )
            )


ASSIGNMENT_P95_MS = 20.0
ANCHOR_AGENT = uuid.UUID(int=1)  # an offline agent whose row the anchor rewrites


async def _anchor(db: Database) -> float:
    """The bare floor of a committed write on the same database: one row updated by primary key."""
    t = time.perf_counter()
    async with db.transaction() as session:
        await session.execute(
            text("UPDATE telephony.agent_status SET reason = 'anchor' WHERE agent_id = :a"),
            {"a": ANCHOR_AGENT},
        )
    return time.perf_counter() - t


async def bench_queue(checks: Checks, *, callers: int = 500, agents: int = 50, rounds: int = 3) -> None:
    heading(f"queue assignment ({callers} waiting callers, {agents} available agents, 4 skills)")
    print(f"  ({machine_load()})", flush=True)
    settings = Settings()
    rt = worker_runtime(settings)
    db = Database(settings.service_database_url, schema=settings.db_schema, pool_size=4)
    postmaster = postmaster_pid()
    meter = CpuMeter({"bench": os.getpid()}, {"postgres": postmaster} if postmaster else {})
    try:
        one: list[float] = []
        anchor: list[float] = []
        cpu: dict[str, float] = {}
        anchor_cpu: dict[str, float] = {}
        for _ in range(rounds):
            await _clean(db)
            await _seed(db, callers=callers, agents=agents)
            async with db.transaction() as session:
                session.add(AgentStatus(agent_id=ANCHOR_AGENT, status="offline", capabilities={}))
            for _ in range(5):  # warm the anchor's statement and connections
                await _anchor(db)
            # Alternate blocks of the anchor and of the assignment, so both see the same load.
            for block in range(0, agents, 10):
                before = meter.read()
                for _ in range(10):
                    anchor.append(await _anchor(db))
                for name, ms in CpuMeter.per_request(before, meter.read(), 1).items():
                    anchor_cpu[name] = anchor_cpu.get(name, 0.0) + ms
                before = meter.read()
                for _ in range(min(10, agents - block)):
                    t = time.perf_counter()
                    async with db.transaction() as session:
                        assigned = await queue.assign_next(session, rt=rt)
                    one.append(time.perf_counter() - t)
                    assert assigned is not None
                for name, ms in CpuMeter.per_request(before, meter.read(), 1).items():
                    cpu[name] = cpu.get(name, 0.0) + ms
        at = percentiles_ms(one)
        floor = percentiles_ms(anchor)
        figure("anchor: one committed row update", _latency(floor))
        figure("one assignment, committed", _latency(at))
        figure("assignment p95 / anchor p95", f"{at['p95'] / floor['p95']:.1f}x")
        figure(
            "CPU per assignment: bench process, Postgres",
            ", ".join(f"{cpu.get(n, 0.0) / len(one):.2f} ms" for n in ("bench", "postgres")),
        )
        figure(
            "CPU per anchor: bench process, Postgres",
            ", ".join(f"{anchor_cpu.get(n, 0.0) / len(anchor):.2f} ms" for n in ("bench", "postgres")),
        )
        checks.add(
            f"skills assignment, {callers} waiting, {agents} agents, p95",
            f"{at['p95']:.1f} ms",
            f"< {ASSIGNMENT_P95_MS:.0f} ms",
            at["p95"] <= ASSIGNMENT_P95_MS,
        )

        positions: list[float] = []
        async with db.transaction() as session:
            entries = await queue.waiting(session, limit=callers)
            for entry in entries[:: max(1, callers // 100)]:
                t = time.perf_counter()
                await queue.position(session, call_id=entry.call_id)
                positions.append(time.perf_counter() - t)
        figure("caller's position (wait URL)", _latency(percentiles_ms(positions)))

        await _clean(db)
        await _seed(db, callers=callers, agents=agents)

        async def replica() -> int:
            done = 0
            while True:
                async with db.transaction() as session:
                    if await queue.assign_next(session, rt=rt) is None:
                        return done
                done += 1

        t0 = time.perf_counter()
        counts = await asyncio.gather(replica(), replica())
        elapsed = time.perf_counter() - t0
        checks.add(
            f"{agents} agents, 2 replicas: each assigned once",
            f"{sum(counts)}",
            f"{agents}",
            sum(counts) == agents,
        )
        figure(f"{agents} assignments by 2 replicas", f"{elapsed * 1000:.0f} ms ({counts[0]} + {counts[1]})")
    finally:
        await _clean(db)
        await db.dispose()


def _latency(at: dict[str, float]) -> str:
    return f"p50 {at['p50']:.2f} ms  p95 {at['p95']:.2f} ms  p99 {at['p99']:.2f} ms  mean {at['mean']:.2f} ms"


async def bench_telephony(
    env: dict[str, str], *, offset: int | None = None, calls: int = 300, concurrency: int = 8
) -> list[str]:
    """The telephony section of ``make bench``; returns the failed checks."""
    os.environ.update(env)
    checks = Checks("telephony")
    if offset is None:
        offset = fleet_offset(stack.PROFILES["bench"].port_offset)
    await bench_webhook(env, checks, calls=calls, concurrency=concurrency, offset=offset)
    await bench_queue(checks)
    return checks.report()


def main() -> int:
    profile = stack.PROFILES["bench"]
    print(
        f"AINTECH telephony benchmarks — {os.cpu_count()} cores, Python {sys.version.split()[0]}", flush=True
    )
    env = stack.start_infra(profile)
    try:
        stack.migrate(env)
        os.environ.update(env)
        failed = asyncio.run(bench_telephony(env))
    finally:
        stack.stop_infra(profile)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
