"""Omnichannel benchmarks: inbound webhook to an agent's socket, chat fan-out, campaign send rate.

``bench_omnichannel(env)`` is the section the harness calls (env: the AINTECH_* variables of a
migrated bench stack); it returns the failed checks. Standalone: ``uv run python bench/channels.py``
starts the bench Postgres and Kafka (like ``make bench``), migrates, measures and stops them.

1. A signed Twilio inbound webhook -> stored (message, conversation, outbox rows) -> pushed to an
   agent's ``/ws/inbox`` socket: p50/p99 from the POST to the frame, one API process.
2. Chat fan-out: 200 sockets in one room, spread over two API processes (LISTEN/NOTIFY between
   them); a message posted over REST, latency until each socket has it (p50/p99 of all deliveries,
   and of the slowest socket per message).
3. Campaign send rate: 500 recipients paced at 6000/min through the real SendGrid SDK against a
   fake server on loopback; and the dispatcher's raw drain rate with no pacing.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))
sys.path.insert(1, str(ROOT / "deploy" / "local"))

import aiohttp  # noqa: E402
import orjson  # noqa: E402
import uvicorn  # noqa: E402
from sqlalchemy import text  # noqa: E402
from starlette.applications import Starlette  # noqa: E402
from starlette.requests import Request  # noqa: E402
from starlette.responses import JSONResponse, Response  # noqa: E402
from starlette.routing import Route  # noqa: E402
from twilio.request_validator import RequestValidator  # noqa: E402
from websockets.asyncio.client import connect  # noqa: E402

import stack  # noqa: E402
from aintech_contracts.events.crm import CustomerCreated  # noqa: E402
from aintech_contracts.rbac import Role  # noqa: E402
from aintech_devtools.testing import TestKeys  # noqa: E402
from aintech_shared.db import Database  # noqa: E402
from bench.common import Checks  # noqa: E402
from omnichannel.campaigns import service as campaigns  # noqa: E402
from omnichannel.campaigns.schemas import CampaignIn  # noqa: E402
from omnichannel.contacts import service as contacts  # noqa: E402
from omnichannel.delivery.dispatcher import Dispatcher  # noqa: E402
from omnichannel.messaging import outbound as outbound_queue  # noqa: E402
from omnichannel.providers.factory import build_providers  # noqa: E402
from omnichannel.settings import DEV_TWILIO_AUTH_TOKEN, Settings  # noqa: E402

ISSUER, AUDIENCE = "https://auth.aintech.local", "aintech-api"
SENDGRID_KEY = "SG.bench"


def heading(title: str) -> None:
    print(f"\n== {title} ==", flush=True)


def figure(label: str, value: str) -> None:
    print(f"  {label:<46} {value}", flush=True)


# Floors of this section (regression guards on a quiet machine, not provider limits).
SOCKET_P99_MS = 100.0  # an inbound message on the agent's inbox socket
FAN_OUT_P99_MS = 500.0  # a chat message on the slowest of 200 sockets


def p99(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] * 1000


def ms(samples: list[float]) -> str:
    ordered = sorted(samples)
    p50 = ordered[len(ordered) // 2] * 1000
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] * 1000
    return f"p50 {p50:.1f} ms  p99 {p99:.1f} ms  mean {statistics.fmean(ordered) * 1000:.1f} ms"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Background:
    """An ASGI app served by uvicorn on a thread (the JWKS endpoint, the fake SendGrid)."""

    def __init__(self, app: Any) -> None:
        self.port = free_port()
        self.server = uvicorn.Server(
            uvicorn.Config(
                app, host="127.0.0.1", port=self.port, log_config=None, access_log=False, lifespan="off"
            )
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        while not self.server.started:
            time.sleep(0.02)
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def jwks_app(keys: TestKeys) -> Starlette:
    async def jwks(_: Request) -> JSONResponse:
        return JSONResponse(keys.jwks())

    return Starlette(routes=[Route("/.well-known/jwks.json", jwks)])


def fake_sendgrid(counter: list[int]) -> Starlette:
    async def send(request: Request) -> Response:
        await request.body()
        counter[0] += 1
        return Response(status_code=202, headers={"X-Message-Id": uuid.uuid4().hex[:22]})

    return Starlette(routes=[Route("/v3/mail/send", send, methods=["POST"])])


def spawn_api(env: dict[str, str], port: int, jwks_url: str) -> subprocess.Popen[bytes]:
    child = {
        **os.environ,
        **env,
        "OMNICHANNEL_PORT": str(port),
        "AINTECH_JWKS_URL": jwks_url,
        "AINTECH_LOG_LEVEL": "WARNING",
        "OMNICHANNEL_SEND_LIMIT_PER_USER_PER_MINUTE": "100000",
        "OMNICHANNEL_CHAT_LIMIT_PER_USER_PER_MINUTE": "100000",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "omnichannel"],
        env=child,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


async def wait_ready(url: str) -> None:
    async with aiohttp.ClientSession() as session:
        for _ in range(300):
            try:
                async with session.get(f"{url}/healthz") as r:
                    if r.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} did not start")


async def truncate(db: Database) -> None:
    async with db.engine.begin() as conn:
        await conn.execute(
            text(
                "TRUNCATE omnichannel.messages, omnichannel.conversations, omnichannel.campaign_recipients, "
                "omnichannel.campaigns, omnichannel.contacts, omnichannel.rate_counters, omnichannel.outbox, "
                "omnichannel.agents, omnichannel.console_deliveries CASCADE"
            )
        )


async def bench_webhook_to_socket(base: str, keys: TestKeys, samples: int, checks: Checks) -> None:
    agent = keys.token(role=Role.agent, sub=str(uuid.uuid4()))
    url = f"{base}/webhooks/twilio/messaging"
    validator = RequestValidator(DEV_TWILIO_AUTH_TOKEN)
    ws = await connect(base.replace("http", "ws") + "/ws/inbox", subprotocols=["bearer", agent])  # type: ignore[list-item]
    await ws.recv()  # hello
    latencies: list[float] = []
    async with aiohttp.ClientSession() as session:
        for n in range(samples + 20):
            body = f"bench-{n}-{uuid.uuid4().hex[:6]}"
            params = {"MessageSid": "SM" + uuid.uuid4().hex, "From": f"+3461{n % 50:07d}", "Body": body}
            headers = {"X-Twilio-Signature": validator.compute_signature(url, params)}
            t0 = time.perf_counter()
            async with session.post(url, data=params, headers=headers) as r:
                assert r.status == 200, await r.text()
            while True:
                frame = orjson.loads(await ws.recv())
                if frame.get("type") == "message.created" and frame["message"]["body"] == body:
                    break
            if n >= 20:  # warm-up excluded
                latencies.append(time.perf_counter() - t0)
    await ws.close()
    figure(f"webhook -> stored -> agent socket ({samples} msgs)", ms(latencies))
    worst = p99(latencies)
    checks.add(
        "webhook -> agent's inbox socket, p99",
        f"{worst:.1f} ms",
        f"< {SOCKET_P99_MS:g} ms",
        worst < SOCKET_P99_MS,
    )


async def bench_fan_out(
    bases: list[str], keys: TestKeys, clients: int, messages: int, checks: Checks
) -> None:
    customer_id = str(uuid.uuid4())
    customer = keys.token(role=Role.customer, sub=customer_id)
    async with aiohttp.ClientSession() as session:
        async with session.post(
            f"{bases[0]}/chat/conversations", json={}, headers={"Authorization": f"Bearer {customer}"}
        ) as r:
            conversation = (await r.json())["id"]
        tokens = [keys.token(role=Role.agent, sub=str(uuid.uuid4())) for _ in range(clients)]
        sockets = []
        for n, token in enumerate(tokens):
            base = bases[n % len(bases)]
            ws = await connect(
                base.replace("http", "ws") + f"/ws/chat/{conversation}",
                subprotocols=["bearer", token],  # type: ignore[list-item]
                ping_interval=None,
            )
            sockets.append(ws)
        for ws in sockets:  # drain hello and the join events
            await ws.recv()

        deliveries: list[float] = []
        slowest: list[float] = []

        async def receive(ws: Any, body: str, t0: float) -> float:
            while True:
                frame = orjson.loads(await ws.recv())
                if frame.get("type") == "ping":
                    await ws.send('{"type":"pong"}')
                elif frame.get("type") == "message" and frame["message"]["body"] == body:
                    return time.perf_counter() - t0

        for n in range(messages):
            body = f"fan-out {n}"
            t0 = time.perf_counter()
            waiting = [asyncio.create_task(receive(ws, body, t0)) for ws in sockets]
            async with session.post(
                f"{bases[0]}/chat/conversations/{conversation}/messages",
                json={"body": body},
                headers={"Authorization": f"Bearer {customer}"},
            ) as r:
                assert r.status == 201, await r.text()
            got = await asyncio.gather(*waiting)
            deliveries.extend(got)
            slowest.append(max(got))
        for ws in sockets:
            await ws.close()
    figure(f"chat fan-out, {clients} sockets on {len(bases)} replicas", ms(deliveries))
    figure("  slowest socket per message", ms(slowest))
    worst = p99(slowest)
    checks.add(
        f"chat fan-out to {clients} sockets, slowest p99",
        f"{worst:.1f} ms",
        f"< {FAN_OUT_P99_MS:g} ms",
        worst < FAN_OUT_P99_MS,
    )


async def bench_campaign(
    db: Database, settings: Settings, recipients: int, sent: list[int], checks: Checks
) -> None:
    segment = f"bench-{uuid.uuid4().hex[:6]}"
    async with db.transaction() as session:
        for n in range(recipients):
            await contacts.apply_customer(
                session,
                event=CustomerCreated(
                    customer_id=uuid.uuid4(),
                    customer_type="individual",
                    first_name=f"Cliente {n}",
                    last_name="Bench",
                    email=f"bench{n}@example.com",
                    segment=segment,
                    status="active",
                ),
            )
    providers = build_providers(settings, db)
    dispatcher = Dispatcher(db, settings, providers)
    async with db.transaction() as session:
        campaign = await campaigns.create(
            session,
            body=CampaignIn(
                name="bench",
                channel="email",
                template="announcement",
                segment=segment,
                variables={"title": "Novedades", "message": "Texto"},
                rate_per_minute=6000,
            ),
            created_by=uuid.uuid4(),
            default_rate=6000,
        )
        await campaigns.start(session, campaign=campaign)
    stop = asyncio.Event()
    sending = asyncio.create_task(dispatcher.run(stop))
    t0 = time.perf_counter()
    while True:
        async with db.transaction() as session:
            await campaigns.pace(session)
            done = (await campaigns.get(session, campaign_id=campaign.id)).status == "completed"
        if done:
            break
        await asyncio.sleep(0.5)
    elapsed = time.perf_counter() - t0
    figure(
        f"campaign, {recipients} e-mails at 6000/min", f"{recipients / elapsed:,.0f} msg/s ({elapsed:.1f} s)"
    )

    async with db.transaction() as session:
        for n in range(recipients):
            await outbound_queue.queue(
                session,
                outbound=outbound_queue.Outbound(
                    channel="email",
                    to_address=f"raw{n}@example.com",
                    subject="x",
                    body="x",
                    purpose="transactional",
                ),
            )
    t0 = time.perf_counter()
    while True:
        async with db.engine.connect() as conn:
            left = (
                await conn.execute(
                    text("SELECT count(*) FROM omnichannel.messages WHERE status IN ('queued','sending')")
                )
            ).scalar_one()
        if not left:
            break
        await asyncio.sleep(0.05)
    elapsed = time.perf_counter() - t0
    figure("dispatcher drain, SendGrid SDK (no pacing)", f"{recipients / elapsed:,.0f} msg/s")
    checks.add(
        "e-mails accepted by the (fake) SendGrid",
        f"{sent[0]}",
        f">= {2 * recipients}",
        sent[0] >= 2 * recipients,
    )
    stop.set()
    await sending
    await providers.close()


async def bench_omnichannel(
    env: dict[str, str], *, samples: int = 300, clients: int = 200, recipients: int = 500
) -> list[str]:
    """The omnichannel section of ``make bench``; returns the failed checks."""
    heading("omnichannel (real Postgres; API processes on loopback)")
    checks = Checks("omnichannel")
    os.environ.update(env)
    keys = TestKeys(issuer=ISSUER, audience=AUDIENCE)
    sent = [0]
    with Background(jwks_app(keys)) as jwks_base, Background(fake_sendgrid(sent)) as sendgrid_base:
        settings = Settings(sendgrid_api_key=SENDGRID_KEY, sendgrid_api_host=sendgrid_base)
        db = Database(settings.service_database_url, schema=settings.db_schema, pool_size=8)
        await truncate(db)
        ports = [free_port(), free_port()]
        procs = [spawn_api(env, port, f"{jwks_base}/.well-known/jwks.json") for port in ports]
        bases = [f"http://127.0.0.1:{port}" for port in ports]
        try:
            for base in bases:
                await wait_ready(base)
            await bench_webhook_to_socket(bases[0], keys, samples, checks)
            await bench_fan_out(bases, keys, clients, 20, checks)
        finally:
            for proc in procs:
                os.killpg(proc.pid, signal.SIGTERM)
            for proc in procs:
                proc.wait(15)
        await bench_campaign(db, settings, recipients, sent, checks)
        await truncate(db)
        await db.dispose()
    return checks.report()


def main() -> int:
    profile = stack.PROFILES["bench"]
    env = stack.start_infra(profile)
    try:
        stack.migrate(env)
        failed = asyncio.run(bench_omnichannel(env))
    finally:
        stack.stop_infra(profile)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
