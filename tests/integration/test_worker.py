"""A service worker end to end: relays its outbox, runs its jobs, reports liveness and metrics."""

from __future__ import annotations

import asyncio
import socket
import uuid

import httpx
from sqlalchemy import select

from aintech_contracts.events import EventData
from aintech_devtools.testing import find_event
from aintech_shared.db import Database
from aintech_shared.events.outbox import Outbox
from aintech_shared.worker import run_worker
from core_crm.models import MESSAGING
from core_crm.settings import Settings


class CustomerNoted(EventData, catalogued=False):
    event_type = "customer.noted"
    topic = "crm.customer"
    customer_id: str
    note: str


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_worker_relays_runs_jobs_and_reports_health(kafka_bootstrap: str) -> None:
    settings = Settings(worker_port=free_port())
    stop = asyncio.Event()
    worker = asyncio.create_task(run_worker(settings, MESSAGING, stop=stop))
    health = f"http://127.0.0.1:{settings.worker_port}"
    db = Database(settings.service_database_url, schema=settings.db_schema)
    customer = f"CUS-{uuid.uuid4().hex[:8]}"
    try:
        async with httpx.AsyncClient() as client:
            for _ in range(100):
                try:
                    resp = await client.get(f"{health}/healthz")
                    if resp.status_code == 200 and resp.json()["loops"]["scheduler"]["status"] == "ok":
                        break
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.1)
            body = resp.json()
            assert body["status"] == "ok"
            assert set(body["loops"]) == {"relay:crm", "scheduler"}

            async with db.transaction() as session:
                await Outbox(MESSAGING, source="core-crm").publish(
                    session, CustomerNoted(customer_id=customer, note="Prefers WhatsApp"), key=customer
                )
            found = await find_event(
                kafka_bootstrap, "crm.customer", lambda e: e.data.get("customer_id") == customer
            )
            assert found is not None
            assert found[0].source == "core-crm"
            metrics = (await client.get(f"{health}/metrics")).text
            assert 'outbox_events_sent_total{schema="crm"}' in metrics

        jobs = MESSAGING.scheduled_jobs
        async with db.transaction() as session:
            runs = await session.scalar(select(jobs.c.runs).where(jobs.c.name == "messaging.purge"))
        assert runs and runs >= 1, "the housekeeping job ran"
    finally:
        stop.set()
        await asyncio.wait_for(worker, timeout=30)
        await db.dispose()
    async with httpx.AsyncClient() as client:
        try:
            await client.get(f"{health}/healthz")
            raise AssertionError("the health server still answers after the worker stopped")
        except httpx.ConnectError:
            pass
