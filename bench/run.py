"""`make bench`: print the platform's performance figures.

Starts its own Postgres and Kafka (profile "bench", own ports and data) unless
AINTECH_DATABASE_URL / AINTECH_KAFKA_BOOTSTRAP are set, then measures (``--only`` picks some):

- ``hotpath``: one authenticated read, measured with wrk beside a bare anchor started in the same
  run (Starlette + asyncpg, one row by primary key, one uvicorn worker): ``GET /me`` on the
  authenticator directly and through the gateway; req/s, p50/p99, CPU-ms per request of the
  service, the gateway and Postgres, ratios to the anchor and PASS/FAIL against the targets;
- ``events``: outbox -> Kafka -> consumer: events/s through the relay and end to end through a
  consumer that de-duplicates and writes one row per event, plus the outbox write rate;
- ``gateway``: the same request direct to a service and through the gateway (separate uvicorn
  processes, keep-alive client), latency percentiles and requests/s;
- ``clients``: aiohttp vs httpx issuing the same upstream calls (the gateway's forwarding client);
- ``logins``: authenticator logins/s with the production Argon2id parameters.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "deploy" / "local"))

import aiohttp  # noqa: E402
import httpx  # noqa: E402
from sqlalchemy import func, insert, select  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncSession  # noqa: E402

import infra  # noqa: E402
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


async def bench_gateway(
    env: dict[str, str], requests: int, concurrency: int, *, overhead: bool, clients: bool
) -> None:
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
        if overhead:
            await _gateway_overhead(direct_url, via_url, requests, concurrency)
        if clients:
            await bench_clients(direct_url, requests, concurrency)
    finally:
        for proc in procs:
            os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            proc.wait(15)


async def _gateway_overhead(direct_url: str, via_url: str, requests: int, concurrency: int) -> None:
    heading(f"gateway overhead ({requests} GETs of /healthz, concurrency {concurrency}, keep-alive)")
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
    figure("gateway overhead (p50 / p99)", f"+{g['p50'] - d['p50']:.2f} ms / +{g['p99'] - d['p99']:.2f} ms")
    lat, _ = await load(direct_url, 200, 1)
    lat_gw, _ = await load(via_url, 200, 1)
    single = percentiles(lat_gw)["p50"] - percentiles(lat)["p50"]
    figure("gateway overhead, one client at a time (p50)", f"+{single:.2f} ms")


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


# --- hot path: one authenticated read beside the bare anchor --------------------------------------

ANCHOR = ROOT / "bench" / "anchor.py"
WRK_SCRIPT = ROOT / "bench" / "report.lua"
CLOCK_TICK = os.sysconf("SC_CLK_TCK")
DIRECT_VS_ANCHOR = 0.20  # GET /me on the service >= this share of the anchor's req/s
GATEWAY_VS_DIRECT = 0.70  # the same call through the gateway >= this share of direct
GATEWAY_P99_MS = 50.0  # ... with p99 under this at the bench's connection count


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


def cpu_seconds(pid: int) -> float:
    """utime + stime of ``pid`` (plus its reaped children) from /proc/<pid>/stat, in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    # fields[0] is the state (field 3): utime, stime, cutime, cstime are fields 14-17.
    return sum(int(v) for v in fields[11:15]) / CLOCK_TICK


def process_tree(root: int) -> list[int]:
    """``root`` and its live descendants (Postgres: the postmaster and its backends)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rpartition(")")[2].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


class CpuMeter:
    """CPU consumed by named processes (a process tree for Postgres) between two readings."""

    def __init__(self, pids: dict[str, int], trees: dict[str, int]) -> None:
        self.pids, self.trees = pids, trees

    def read(self) -> dict[str, float]:
        reading: dict[str, float] = {}
        for name, pid in self.pids.items():
            reading[name] = cpu_seconds(pid)
        for name, root in self.trees.items():
            total = 0.0
            for pid in process_tree(root):
                try:
                    total += cpu_seconds(pid) if pid == root else sum_self(pid)
                except OSError:
                    continue
            reading[name] = total
        return reading


def sum_self(pid: int) -> float:
    """utime + stime of ``pid`` alone (a backend's reaped children are counted by its parent)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICK


def spawn_anchor(port: int, dsn: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, str(ANCHOR), str(port)],
        cwd=ROOT,
        env={**os.environ, "ANCHOR_DSN": dsn},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


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


def postmaster_pid(env: dict[str, str]) -> int | None:
    """The bench Postgres's postmaster, when this run started it (no figure for an external one)."""
    if stack.EXTERNAL_DATABASE:
        return None
    info = infra._read_postmaster((stack.PROFILES["bench"].data_dir / "postgres").resolve())
    return info[0] if info else None


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


async def bench_hotpath(env: dict[str, str], plan: LoadPlan) -> list[str]:
    """GET /me direct and through the gateway beside the bare anchor; returns the failed checks."""
    generator = "wrk" if plan.use_wrk else "aiohttp (fallback)"
    heading(
        f"hot path: authenticated GET /me beside a bare anchor ({generator}, {plan.connections} connections, "
        f"{plan.rounds} rounds of {plan.seconds:g} s per target after {plan.warmup:g} s warm-up)"
    )
    offset = stack.PROFILES["bench"].port_offset
    auth_port, gw_port, anchor_port = 8001 + offset, 8000 + offset, 8099 + offset
    jwks = f"http://127.0.0.1:{auth_port}/.well-known/jwks.json"
    service_env = {**env, "AINTECH_JWKS_URL": jwks, "AINTECH_LOG_LEVEL": "INFO"}
    anchor_dsn = make_url(env["AINTECH_DATABASE_URL"]).set(drivername="postgresql")
    procs = {
        "anchor": spawn_anchor(anchor_port, anchor_dsn.render_as_string(hide_password=False)),
        "service": spawn("authenticator", {**service_env, "AUTHENTICATOR_PORT": str(auth_port)}),
        "gateway": spawn(
            "gateway",
            {**service_env, "GATEWAY_PORT": str(gw_port), "GATEWAY_PORT_OFFSET": str(offset)},
        ),
    }
    try:
        for url in (
            f"http://127.0.0.1:{anchor_port}/healthz",
            f"http://127.0.0.1:{auth_port}/healthz",
            f"http://127.0.0.1:{gw_port}/healthz",
        ):
            await wait_http(url)
        token, user_id = await login(f"http://127.0.0.1:{auth_port}")
        bearer = {"Authorization": f"Bearer {token}"}
        pids = {name: proc.pid for name, proc in procs.items()}
        pg = postmaster_pid(env)
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
        for proc in procs.values():
            os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs.values():
            proc.wait(15)
    return report_hotpath(rounds)


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


def report_hotpath(rounds: list[list[Measured]]) -> list[str]:
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
    failures = anchor.failures + direct.failures + via.failures
    checks = [
        (
            "GET /me direct vs anchor (req/s)",
            f"{direct_ratio:.2f}x",
            f">= {DIRECT_VS_ANCHOR:.2f}x",
            direct_ratio >= DIRECT_VS_ANCHOR,
        ),
        (
            "GET /me through the gateway vs direct (req/s)",
            f"{gateway_ratio:.2f}x",
            f">= {GATEWAY_VS_DIRECT:.2f}x",
            gateway_ratio >= GATEWAY_VS_DIRECT,
        ),
        (
            "GET /me through the gateway, p99",
            f"{via.p99_ms:.1f} ms",
            f"< {GATEWAY_P99_MS:g} ms",
            via.p99_ms < GATEWAY_P99_MS,
        ),
        ("every request answered 2xx", f"{failures} errors", "0", failures == 0),
    ]
    print(f"\n  {'check':<48} {'figure':>10} {'target':>10}  result", flush=True)
    for name, value, target, ok in checks:
        print(f"  {name:<48} {value:>10} {target:>10}  {'PASS' if ok else 'FAIL'}", flush=True)
    return [name for name, _, _, ok in checks if not ok]


# --- logins ---------------------------------------------------------------------------------------


async def bench_logins(env: dict[str, str], logins: int) -> None:
    heading(f"authenticator logins ({logins} logins, production Argon2id, 4 concurrent)")
    offset = stack.PROFILES["bench"].port_offset
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
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(15)


# --- main ------------------------------------------------------------------------------------------

SECTIONS = ("hotpath", "events", "gateway", "clients", "logins")


def machine_load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min) / {five:.2f} (5 min) on {os.cpu_count()} cores"


async def main_async(args: argparse.Namespace, env: dict[str, str]) -> list[str]:
    failed: list[str] = []
    only = set(args.only)
    if only & {"hotpath", "logins"}:
        stack.seed(env)
    if "hotpath" in only:
        plan = LoadPlan(
            seconds=args.duration,
            warmup=args.warmup,
            connections=args.connections,
            threads=args.threads,
            use_wrk=ensure_wrk(),
            rounds=args.rounds,
        )
        failed += await bench_hotpath(env, plan)
    if "events" in only:
        await bench_events(
            env["AINTECH_DATABASE_URL"], env["AINTECH_KAFKA_BOOTSTRAP"], args.events, args.writers
        )
    if only & {"gateway", "clients"}:
        await bench_gateway(
            env,
            args.requests,
            args.concurrency,
            overhead="gateway" in only,
            clients="clients" in only,
        )
    if "logins" in only:
        await bench_logins(env, args.logins)
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
    parser.add_argument("--duration", type=float, default=6.0, help="hotpath: seconds measured per target")
    parser.add_argument("--warmup", type=float, default=2.0, help="hotpath: warm-up seconds per target")
    parser.add_argument("--rounds", type=int, default=3, help="hotpath: interleaved rounds (median reported)")
    parser.add_argument("--connections", type=int, default=32, help="hotpath: wrk connections")
    parser.add_argument("--threads", type=int, default=1, help="hotpath: wrk threads")
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--requests", type=int, default=3000, help="gateway/clients: requests per figure")
    parser.add_argument("--concurrency", type=int, default=16, help="gateway/clients: concurrent requests")
    parser.add_argument("--logins", type=int, default=60)
    parser.add_argument("--strict", action="store_true", help="exit 1 when a hot-path check fails")
    parser.add_argument("--keep", action="store_true", help="leave the bench Postgres and Kafka running")
    args = parser.parse_args()
    profile = stack.PROFILES["bench"]
    print(
        f"AINTECH benchmarks — {time.strftime('%Y-%m-%d %H:%M')} — Python {sys.version.split()[0]} — "
        f"{machine_load()}",
        flush=True,
    )
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
