"""A relay that cannot reach Kafka says so: the worker's /healthz turns 503 naming it, then recovers."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import uuid

import httpx
import uvicorn
from prometheus_client import REGISTRY

from aintech_contracts.events import EventData, dead_letter_topic
from aintech_devtools.testing import ScratchSchema, find_event
from aintech_shared.events.outbox import Outbox, OutboxRelay
from aintech_shared.health import EmbeddedServer, health_app

from .conftest import create_topics

RUN = uuid.uuid4().hex[:8]
TOPIC = f"test.renewals.{RUN}"


class RenewalQuoted(EventData, catalogued=False):
    event_type = f"renewal.quoted.{RUN}"
    topic = TOPIC
    policy_id: str


class KafkaGate:
    """A TCP door to the broker's bootstrap address: closed (nothing listens), then opened.

    Clients bootstrap through it and then talk to the broker's advertised address, so while
    it is closed Kafka is unreachable for a client that has not bootstrapped yet.
    """

    def __init__(self, bootstrap: str) -> None:
        host, _, port = bootstrap.rpartition(":")
        self.target = (host, int(port))
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        self.server: asyncio.Server | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def open(self) -> None:
        self.server = await asyncio.start_server(self._pipe, "127.0.0.1", self.port)

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.server.wait_closed(), 30)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.target)

        async def copy(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(copy(reader, up_writer), copy(up_reader, writer))


async def wait_status(client: httpx.AsyncClient, code: int, within: float = 30) -> httpx.Response:
    deadline = asyncio.get_running_loop().time() + within
    while True:
        resp = await client.get("/healthz")
        if resp.status_code == code or asyncio.get_running_loop().time() > deadline:
            return resp
        await asyncio.sleep(0.1)


async def test_relay_against_unreachable_kafka_turns_healthz_503_naming_it_then_recovers(
    outbox_emptied_after: ScratchSchema, kafka_bootstrap: str
) -> None:
    await create_topics(kafka_bootstrap, {TOPIC: 1, dead_letter_topic(TOPIC): 1})
    db, tables = outbox_emptied_after.db, outbox_emptied_after.tables
    policy = f"POL-{RUN}"
    async with db.transaction() as session:
        await Outbox(tables, source="tests").publish(session, RenewalQuoted(policy_id=policy), key=policy)
    gate = KafkaGate(kafka_bootstrap)
    relay = OutboxRelay(db, tables, bootstrap=gate.address, max_failures=3, max_backoff=0.5)
    loop = f"relay:{tables.schema}"
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    transport = httpx.ASGITransport(app=health_app([relay.health], "crm-worker"))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://worker") as client:
            resp = await wait_status(client, 503)
            assert resp.status_code == 503, resp.text
            assert resp.headers["content-type"] == "application/problem+json"
            body = resp.json()
            assert body["stalled"] == [loop]
            assert "consecutive failures" in body["detail"] and "KafkaConnectionError" in body["detail"]
            failures = REGISTRY.get_sample_value("worker_loop_consecutive_failures", {"loop": loop})
            assert failures is not None and failures >= 3

            await gate.open()  # Kafka is reachable again
            resp = await wait_status(client, 200)
            assert resp.status_code == 200, resp.text
            assert resp.json()["loops"][loop]["consecutive_failures"] == 0
        found = await find_event(kafka_bootstrap, TOPIC, lambda e: e.data.get("policy_id") == policy)
        assert found is not None, "the waiting event went out once Kafka was back"
    finally:
        stop.set()
        await task
        await gate.close()


async def test_the_embedded_health_server_answers_and_stops_when_told_to_exit() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = EmbeddedServer(
        uvicorn.Config(
            health_app([], "idle-worker"), host="127.0.0.1", port=port, log_config=None, lifespan="off"
        )
    )
    task = asyncio.create_task(server.serve())
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            deadline = asyncio.get_running_loop().time() + 30
            while not server.started:
                assert asyncio.get_running_loop().time() < deadline, "the server did not start"
                await asyncio.sleep(0.05)
            answer = await client.get("/healthz")
            assert answer.status_code == 200
            assert "date" in answer.headers, "its Date header is kept as uvicorn keeps it"
        server.should_exit = True
        await asyncio.wait_for(task, timeout=30)  # it waits for the exit, not out its turns
    finally:
        if not task.done():
            task.cancel()
    assert server.should_exit
