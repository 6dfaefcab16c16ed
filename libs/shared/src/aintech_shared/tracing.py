"""OpenTelemetry traces across gateway -> service -> Kafka -> consumer; off (and free) by default.

Tracing turns on when an OTLP endpoint is configured (``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` or
``OTEL_EXPORTER_OTLP_ENDPOINT``, the SDK's own variables; ``OTEL_EXPORTER_OTLP_HEADERS`` and the
other ``OTEL_*`` settings apply as documented by OpenTelemetry). Then:

- each app wraps its HTTP handling in :class:`TracingMiddleware` (one ASGI wrapper, installed only
  when tracing is on): a server span per request named by the route template, continuing the
  caller's W3C ``traceparent``;
- :func:`aintech_shared.context.outgoing_headers` adds the current ``traceparent``, so the
  gateway's forwarded request continues the trace in the service;
- the outbox stamps the publishing span's ``traceparent`` into the CloudEvent (the CloudEvents
  distributed-tracing extension attribute), and each consumer handles the event inside a
  consumer span whose parent is that span.

The correlation id stays what it was and is each span's ``aintech.correlation_id`` attribute.
When tracing is off nothing of OpenTelemetry is imported, no middleware is installed, and the
helpers below return at their first line.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from aintech_shared.context import correlation_id_var, traceparent_source

if TYPE_CHECKING:
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.trace import Tracer

CORRELATION_ATTRIBUTE = "aintech.correlation_id"
_state: dict[str, Any] = {"tracer": None, "provider": None}


def otlp_endpoint() -> str | None:
    """The configured OTLP endpoint for traces, or None (tracing off)."""
    return (
        os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    ) or None


def enabled() -> bool:
    return _state["tracer"] is not None


def configure(service: str, *, exporter: SpanExporter | None = None) -> bool:
    """Turn tracing on for this process when OTLP is configured (or ``exporter`` is given, as
    tests do); returns whether it is on. Spans go out in batches (synchronously to ``exporter``)."""
    if exporter is None and otlp_endpoint() is None:
        return enabled()
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    if exporter is None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    else:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    _state["provider"] = provider
    _state["tracer"] = provider.get_tracer("aintech")
    traceparent_source[:] = [current_traceparent]
    return True


def shutdown() -> None:
    """Flush and stop the exporter; tracing is off afterwards."""
    provider, _state["provider"], _state["tracer"] = _state["provider"], None, None
    traceparent_source.clear()
    if provider is not None:
        provider.shutdown()


def _tracer() -> Tracer:
    tracer: Tracer = _state["tracer"]
    return tracer


def current_traceparent() -> str | None:
    """The W3C ``traceparent`` of the current span, or None (tracing off or no span)."""
    if _state["tracer"] is None:
        return None
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    carrier: dict[str, str] = {}
    TraceContextTextMapPropagator().inject(carrier)
    return carrier.get("traceparent")


def _context_from(traceparent: str | None, tracestate: str | None = None) -> Any:
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    carrier = {"traceparent": traceparent} if traceparent else {}
    if traceparent and tracestate:
        carrier["tracestate"] = tracestate
    return TraceContextTextMapPropagator().extract(carrier)


@contextlib.contextmanager
def consumer_span(event: Any, consumer: str, topic: str | None = None) -> Iterator[None]:
    """Handle ``event`` (a CloudEvent) inside a consumer span continuing its ``traceparent``."""
    if _state["tracer"] is None:
        yield
        return
    from opentelemetry.trace import SpanKind

    parent = _context_from(getattr(event, "traceparent", None), getattr(event, "tracestate", None))
    attributes = {
        "messaging.system": "kafka",
        "messaging.operation.type": "process",
        "messaging.consumer.group.name": consumer,
        "messaging.message.id": event.id,
        "cloudevents.event_type": event.type,
        CORRELATION_ATTRIBUTE: event.correlationid or event.id,
    }
    if topic:
        attributes["messaging.destination.name"] = topic
    with _tracer().start_as_current_span(
        f"process {event.type}", context=parent, kind=SpanKind.CONSUMER, attributes=attributes
    ):
        yield


class TracingMiddleware:
    """A server span per HTTP request, continuing the caller's ``traceparent``.

    Installed inside the observability middleware, so the request's correlation id is known.
    """

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or _state["tracer"] is None:
            await self.app(scope, receive, send)
            return
        from opentelemetry.trace import SpanKind, Status, StatusCode

        from aintech_shared.observability import _route_template

        traceparent = tracestate = None
        for name, value in scope["headers"]:
            if name == b"traceparent":
                traceparent = value.decode("latin-1")
            elif name == b"tracestate":
                tracestate = value.decode("latin-1")
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        method = scope["method"]
        with _tracer().start_as_current_span(
            method,
            context=_context_from(traceparent, tracestate),
            kind=SpanKind.SERVER,
            attributes={
                "http.request.method": method,
                "service.name": self.service,
                CORRELATION_ATTRIBUTE: correlation_id_var.get() or "",
            },
        ) as span:
            try:
                await self.app(scope, receive, send_wrapper)
            finally:
                route = _route_template(scope)
                span.update_name(f"{method} {route}")
                span.set_attribute("http.route", route)
                span.set_attribute("http.response.status_code", status)
                if status >= 500:
                    span.set_status(Status(StatusCode.ERROR))
