"""Request and correlation ids carried across HTTP calls and Kafka messages."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from contextvars import ContextVar

REQUEST_ID_HEADER = "x-request-id"
CORRELATION_ID_HEADER = "x-correlation-id"

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
correlation_id_var: ContextVar[str | None] = ContextVar("correlation_id", default=None)
# Set by aintech_shared.tracing when tracing is on: the current span's W3C traceparent.
traceparent_source: list[Callable[[], str | None]] = []


def new_id() -> str:
    return uuid.uuid4().hex


def current_correlation_id() -> str:
    """The correlation id of the work in progress, minting one when none is set."""
    cid = correlation_id_var.get()
    if cid is None:
        cid = new_id()
        correlation_id_var.set(cid)
    return cid


def outgoing_headers() -> dict[str, str]:
    """Headers to put on an outgoing HTTP call so the next service logs the same ids."""
    headers = {CORRELATION_ID_HEADER: current_correlation_id()}
    rid = request_id_var.get()
    if rid:
        headers[REQUEST_ID_HEADER] = rid
    if traceparent_source and (traceparent := traceparent_source[0]()):
        headers["traceparent"] = traceparent
    return headers
