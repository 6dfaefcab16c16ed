"""One trace from the gateway's hop through a service, its outbox, real Kafka and a consumer."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import pytest
from fastapi import APIRouter
from httpx import ASGITransport, AsyncClient
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from sqlalchemy.ext.asyncio import AsyncSession

from aintech_contracts.envelope import CloudEvent
from aintech_contracts.events import EventData
from aintech_devtools.testing import ScratchSchema, patient_consumer
from aintech_shared import tracing
from aintech_shared.app import create_service_app
from aintech_shared.context import outgoing_headers
from aintech_shared.events.consumer import ConsumerSpec, EventConsumer
from aintech_shared.events.outbox import Outbox, OutboxRelay
from aintech_shared.settings import ServiceSettings

from .conftest import create_topics

RUN = uuid.uuid4().hex[:8]
TOPIC = f"test.traced.{RUN}"


class Traced(EventData, catalogued=False):
    event_type = f"traced.happened.{RUN}"
    topic = TOPIC
    ref: str


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    assert tracing.configure("tests", exporter=exporter)
    try:
        yield exporter
    finally:
        tracing.shutdown()


def test_tracing_is_off_without_an_otlp_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", raising=False)
    assert not tracing.configure("tests")
    assert tracing.current_traceparent() is None
    assert "traceparent" not in outgoing_headers()
    app = create_service_app(ServiceSettings(), title="AINTECH t", description="", with_database=False)
    assert not any(m.cls is tracing.TracingMiddleware for m in app.user_middleware)


async def test_trace_crosses_http_outbox_kafka_and_consumer(
    exporter: InMemorySpanExporter, outbox_emptied_after: ScratchSchema, kafka_bootstrap: str
) -> None:
    scratch = outbox_emptied_after
    db, tables = scratch.db, scratch.tables
    await create_topics(kafka_bootstrap, {TOPIC: 1})
    ref = f"R-{RUN}"
    outbox = Outbox(tables, source="tests")
    router = APIRouter()

    @router.post("/things/{thing_id}")
    async def publish(thing_id: str) -> dict[str, str]:
        async with db.transaction() as session:
            await outbox.publish(session, Traced(ref=ref), key=thing_id)
        return {"ok": thing_id}

    app = create_service_app(
        ServiceSettings(), title="AINTECH t", description="", routers=[router], with_database=False
    )
    assert any(m.cls is tracing.TracingMiddleware for m in app.user_middleware)

    # The gateway's hop: its span, and the headers it puts on the forwarded request.
    gateway = tracing._tracer().start_span("gateway", kind=SpanKind.SERVER)
    from opentelemetry import trace

    with trace.use_span(gateway, end_on_exit=True):
        headers = outgoing_headers()
        async with AsyncClient(transport=ASGITransport(app=app), base_url="http://svc") as client:
            response = await client.post(f"/things/{uuid.uuid4()}", headers=headers)
    assert response.status_code == 200, response.text
    correlation = response.headers["x-correlation-id"]

    handled = asyncio.Event()
    seen: list[CloudEvent] = []

    async def on_traced(session: AsyncSession, event: CloudEvent) -> None:
        seen.append(event)
        handled.set()

    consumer = EventConsumer(
        patient_consumer(
            ConsumerSpec(name=f"traced-{RUN}", topics=[TOPIC], handlers={Traced.event_type: on_traced})
        ),
        db=db,
        tables=tables,
        bootstrap=kafka_bootstrap,
    )
    relay = OutboxRelay(db, tables, bootstrap=kafka_bootstrap)
    stop = asyncio.Event()
    tasks = [asyncio.create_task(relay.run(stop)), asyncio.create_task(consumer.run(stop))]
    try:
        await asyncio.wait_for(handled.wait(), timeout=60)
    finally:
        stop.set()
        await asyncio.gather(*tasks)

    spans = exporter.get_finished_spans()
    server = next(s for s in spans if s.kind == SpanKind.SERVER and s.name == "POST /things/{thing_id}")
    processed = next(
        s for s in spans if s.kind == SpanKind.CONSUMER and s.name == f"process {Traced.event_type}"
    )
    gw = gateway.get_span_context()
    assert server.context is not None and processed.context is not None
    assert server.context.trace_id == gw.trace_id, "the service continues the gateway's trace"
    assert server.parent is not None and server.parent.span_id == gw.span_id
    assert processed.context.trace_id == gw.trace_id, "the consumer continues it across Kafka"
    assert processed.parent is not None and processed.parent.span_id == server.context.span_id
    assert seen[0].traceparent and seen[0].traceparent.split("-")[1] == format(gw.trace_id, "032x")
    assert server.attributes is not None and processed.attributes is not None
    assert server.attributes["aintech.correlation_id"] == correlation
    assert processed.attributes["aintech.correlation_id"] == correlation
    assert server.attributes["http.route"] == "/things/{thing_id}"
