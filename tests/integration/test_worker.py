"""A service worker end to end: relays its outbox, runs its jobs, reports liveness and metrics."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from sqlalchemy import select
from sqlalchemy.engine import make_url

from aintech_contracts.envelope import CloudEvent
from aintech_contracts.events import EventData, dead_letter_topic
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
            # The relay counts a batch once its commit marking the rows sent is done, which can be
            # a moment after the consumer above has read the event: wait for it, within a deadline.
            sent = 'outbox_events_sent_total{schema="crm"}'
            deadline = asyncio.get_running_loop().time() + 30
            metrics = (await client.get(f"{health}/metrics")).text
            while sent not in metrics and asyncio.get_running_loop().time() < deadline:
                await asyncio.sleep(0.1)
                metrics = (await client.get(f"{health}/metrics")).text
            assert sent in metrics

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


async def _produce(bootstrap: str, topic: str, event: CloudEvent) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, 1, 1), NewTopic(dead_letter_topic(topic), 1, 1)])
    finally:
        await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(
            topic, event.to_bytes(), headers=[("content-type", b"application/cloudevents+json")]
        )
    finally:
        await producer.stop()


def start_worker(topic: str, event_type: str, env: dict[str, str], log_file: Path) -> subprocess.Popen[bytes]:
    with log_file.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, str(Path(__file__).with_name("worker_process.py")), topic, event_type],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


@pytest.mark.parametrize("database", ["up", "down"])
async def test_worker_stops_within_seconds_of_sigterm_mid_failing_batch(
    kafka_bootstrap: str, admin_database_url: str, database: str, tmp_path: Path
) -> None:
    """SIGTERM in the middle of a failing batch (database up: the handler's own error, retried
    with backoff) or of an outage backoff (database down): the worker exits in seconds, far
    inside Kubernetes' 30 s termination grace period."""
    run = uuid.uuid4().hex[:8]
    topic, event_type = f"test.shutdown.{run}", f"premium.due.{run}"
    await _produce(kafka_bootstrap, topic, CloudEvent(source="tests", type=event_type, data={}))
    env = {**os.environ, "CORE_CRM_WORKER_PORT": str(free_port())}
    if database == "down":
        with socket.socket() as s:  # a port nothing listens on
            s.bind(("127.0.0.1", 0))
            dead = s.getsockname()[1]
        url = make_url(admin_database_url).set(port=dead)
        env["AINTECH_DATABASE_URL"] = url.render_as_string(hide_password=False)
    marker = "handler_failed_retrying" if database == "up" else "consumer_outage"
    log_file = tmp_path / "worker.log"
    proc = start_worker(topic, event_type, env, log_file)
    try:
        deadline = time.monotonic() + 60
        while marker not in log_file.read_text() and time.monotonic() < deadline:
            assert proc.poll() is None, log_file.read_text()[-2000:]
            await asyncio.sleep(0.1)
        assert marker in log_file.read_text(), f"never reached {marker}:\n{log_file.read_text()[-2000:]}"
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        try:
            code = await asyncio.to_thread(proc.wait, 30)
        except subprocess.TimeoutExpired:
            code = None
        took = time.monotonic() - started
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    logs = log_file.read_text()[-2000:]
    assert code == 0, f"worker did not exit cleanly within 30 s (code {code}):\n{logs}"
    print(f"worker ({database=}) stopped {took:.2f}s after SIGTERM")
    assert took < 10, f"worker took {took:.1f}s to stop after SIGTERM"
    assert "worker_stopped" in log_file.read_text()
