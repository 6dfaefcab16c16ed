"""Structured JSON logging with structlog; request and correlation ids on every line."""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog

from aintech_shared.context import correlation_id_var, request_id_var


def _add_ids(_: Any, __: str, event: dict[str, Any]) -> dict[str, Any]:
    rid = request_id_var.get()
    cid = correlation_id_var.get()
    if rid and "request_id" not in event:
        event["request_id"] = rid
    if cid and "correlation_id" not in event:
        event["correlation_id"] = cid
    return event


def configure_logging(service: str, *, level: str = "INFO", json: bool = True) -> None:
    """Route structlog and stdlib logging through one JSON (or console) renderer on stdout."""
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        _add_ids,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            lambda _l, _m, ev: {"service": service, **ev},
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("uvicorn.access", "aiokafka", "kafka"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
