"""Structured JSON logging with structlog; request and correlation ids on every line.

The access line (one per HTTP request) skips structlog's processor chain: it is rendered by
``log_access`` with one orjson call into the same JSON shape.

**No log write on the request path** (decision 0086). Every line — stdlib and structlog records,
the access line — is rendered on the thread that logs it (so the request's context variables are
still there) and handed to :class:`LineWriter`, a bounded queue drained by one writer thread that
owns the stream. The event loop never calls ``write``: a sink that blocks (a collector's pipe that
is not read, a file behind dirty-page writeback) stalls only the writer thread. When the queue is
full the new line is dropped and counted (``log_lines_dropped_total{reason="queue_full"}``); when
the writer next gets through, it writes one ``log_lines_dropped`` warning with how many lines were
lost. Lines the stream refuses (closed, broken pipe) are counted with ``reason="write_failed"``.
How long each batch's write took is ``log_write_seconds``; one over 250 ms adds a
``log_write_blocked`` warning (the stream held the writer: on the old path, it held the loop).
:func:`flush_logs` waits until what was logged before the call is written; :func:`shutdown_logging`
(run at interpreter exit, and by ``serve`` after uvicorn's graceful shutdown) drains the queue.
"""

from __future__ import annotations

import atexit
import logging
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from typing import IO, Any

import orjson
import structlog
from prometheus_client import Counter, Histogram

from aintech_shared.context import correlation_id_var, request_id_var

DEFAULT_QUEUE_LINES = 10_000
SHUTDOWN_FLUSH_SECONDS = 5.0
SLOW_WRITE_SECONDS = 0.25  # a batch's write taking longer is reported (``log_write_blocked``)

LOG_LINES_DROPPED = Counter(
    "log_lines_dropped_total",
    "Log lines not written: the writer's queue was full (queue_full) or the stream refused them "
    "(write_failed)",
    ["reason"],
)
LOG_WRITE_SECONDS = Histogram(
    "log_write_seconds",
    "How long the log writer's write and flush of one batch of lines took (the stream's back-pressure)",
    buckets=(0.001, 0.01, 0.05, 0.25, 1, 4, 16),
)
_QUEUE_FULL = LOG_LINES_DROPPED.labels("queue_full")
_WRITE_FAILED = LOG_LINES_DROPPED.labels("write_failed")


def _now_iso() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


class LineWriter:
    """A bounded queue of rendered lines and the one thread that writes them to ``stream``.

    :meth:`put` never waits for the stream: it appends under a lock held for a few instructions,
    or drops the line when ``capacity`` lines are already waiting. The writer thread sleeps on a
    condition while the queue is empty (no wake-ups when nothing is logged), takes everything
    waiting as one batch and writes it with one ``write`` and one ``flush``.
    """

    def __init__(
        self,
        stream: IO[str],
        *,
        capacity: int = DEFAULT_QUEUE_LINES,
        service: str = "service",
        slow_write: float = SLOW_WRITE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream
        self.capacity = capacity
        self.service = service
        self.slow_write = slow_write
        self._clock = clock
        self._lines: deque[str] = deque()
        self._lock = threading.Lock()
        self._waiting = threading.Condition(self._lock)  # lines to write, or stop
        self._written = threading.Condition(self._lock)  # a batch finished
        self._accepted = 0  # lines ever accepted (their sequence numbers)
        self._finished = 0  # lines written or failed, in order
        self._dropped_since_write = 0
        self._stopping = False
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._stopping = False
            self._thread = threading.Thread(target=self._run, name="log-writer", daemon=True)
            self._thread.start()

    def put(self, line: str) -> bool:
        """Queue one rendered line (with its newline); False when it was dropped.

        After :meth:`close` (the process is exiting, nothing serves any more) the line is written
        here, as there is no thread left to hand it to."""
        if self._stopping:
            self._write_now(line)
            return True
        with self._lock:
            if len(self._lines) >= self.capacity:
                self._dropped_since_write += 1
                dropped = True
            else:
                self._lines.append(line)
                self._accepted += 1
                if len(self._lines) == 1:
                    self._waiting.notify()
                dropped = False
        if dropped:
            _QUEUE_FULL.inc()
        return not dropped

    @property
    def pending(self) -> int:
        return len(self._lines)

    def flush(self, timeout: float = SHUTDOWN_FLUSH_SECONDS) -> bool:
        """Wait until every line accepted before the call is written (False: ``timeout`` first)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            target = self._accepted
            while self._finished < target:
                if self._thread is None or not self._thread.is_alive():
                    return False
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._written.wait(left)
        return True

    def retarget(self, stream: IO[str], *, capacity: int, service: str) -> None:
        """Send later lines to ``stream`` (what was queued goes to the old one first)."""
        self.flush(timeout=1.0)
        with self._lock:
            self.stream, self.capacity, self.service = stream, capacity, service

    def close(self, timeout: float = SHUTDOWN_FLUSH_SECONDS) -> bool:
        """Write what is queued (up to ``timeout``), then stop the thread; True when all was written."""
        flushed = self.flush(timeout)
        with self._lock:
            self._stopping = True
            self._waiting.notify()
            thread = self._thread
        if thread is not None:
            thread.join(timeout=0.5 if flushed else 0.05)
        return flushed

    def _write_now(self, line: str) -> None:
        try:
            self.stream.write(line)
            self.stream.flush()
        except Exception:
            _WRITE_FAILED.inc()

    def _warning(self, event: str, **fields: Any) -> str:
        line = {"service": self.service, "event": event, **fields}
        line.update(level="warning", logger="aintech.logging", timestamp=_now_iso())
        return orjson.dumps(line).decode() + "\n"

    def _run(self) -> None:
        while True:
            with self._lock:
                while not self._lines and not self._stopping:
                    self._waiting.wait()
                if not self._lines:  # stopping, nothing left
                    return
                batch = list(self._lines)
                self._lines.clear()
                dropped, self._dropped_since_write = self._dropped_since_write, 0
                stream = self.stream
            text = "".join(batch)
            if dropped:
                text += self._warning("log_lines_dropped", dropped=dropped, capacity=self.capacity)
            started = self._clock()
            try:
                stream.write(text)
                stream.flush()
            except Exception:  # closed or broken stream: the lines are lost, and counted
                _WRITE_FAILED.inc(len(batch))
            took = self._clock() - started
            LOG_WRITE_SECONDS.observe(took)
            if took > self.slow_write:  # the stream held the writer (and, before 0086, the loop)
                warning = self._warning("log_write_blocked", write_ms=round(took * 1000, 1), lines=len(batch))
            else:
                warning = None
            with self._lock:
                if warning is not None:  # the writer's own line, whatever the queue holds
                    self._lines.append(warning)
                    self._accepted += 1
                self._finished += len(batch)
                self._written.notify_all()


_writer = LineWriter(sys.stdout)


class QueuedLineHandler(logging.Handler):
    """A logging handler that formats on the calling thread and queues the line for the writer."""

    def __init__(self, writer: LineWriter) -> None:
        super().__init__()
        self.writer = writer

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
        except Exception:
            self.handleError(record)
            return
        self.writer.put(line + "\n")


def _add_ids(_: Any, __: str, event: dict[str, Any]) -> dict[str, Any]:
    rid = request_id_var.get()
    cid = correlation_id_var.get()
    if rid and "request_id" not in event:
        event["request_id"] = rid
    if cid and "correlation_id" not in event:
        event["correlation_id"] = cid
    return event


def configure_logging(
    service: str,
    *,
    level: str = "INFO",
    json: bool = True,
    stream: IO[str] | None = None,
    queue_lines: int = DEFAULT_QUEUE_LINES,
) -> None:
    """Route structlog and stdlib logging through one JSON (or console) renderer to ``stream``
    (stdout), written by the writer thread through a queue of at most ``queue_lines`` lines."""
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
    _writer.retarget(stream if stream is not None else sys.stdout, capacity=queue_lines, service=service)
    _writer.start()
    handler = QueuedLineHandler(_writer)
    handler.setFormatter(formatter)
    _access.service = service
    _access.writer = _writer if json else None
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("uvicorn.access", "aiokafka", "kafka"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True


def flush_logs(timeout: float = SHUTDOWN_FLUSH_SECONDS) -> bool:
    """Wait until every line logged before the call is written (tests read the stream after it)."""
    return _writer.flush(timeout)


def shutdown_logging(timeout: float = SHUTDOWN_FLUSH_SECONDS) -> bool:
    """Drain the queue to the stream (at most ``timeout`` seconds) and stop the writer thread."""
    return _writer.close(timeout)


atexit.register(shutdown_logging)


class _AccessLine:
    """Where the access line goes: the writer of ``configure_logging`` (None: through structlog)."""

    service = "service"
    writer: LineWriter | None = None


_access = _AccessLine()
_access_logger = logging.getLogger("aintech.access")


def log_access(**fields: Any) -> None:
    """Log one handled request (``event="http_request"``) with the request and correlation ids.

    Same fields and JSON shape as a structlog line, at about a tenth of the cost: the line is
    built as one dict, dumped by orjson and queued for the writer thread (never written here).
    With the console renderer (development) it goes through structlog like every other line.
    """
    if not _access_logger.isEnabledFor(logging.INFO):
        return
    writer = _access.writer
    if writer is None:
        structlog.get_logger("aintech.access").info("http_request", **fields)
        return
    line: dict[str, Any] = {"service": _access.service, **structlog.contextvars.get_contextvars()}
    line["event"] = "http_request"
    line.update(fields)
    rid = request_id_var.get()
    if rid:
        line["request_id"] = rid
    cid = correlation_id_var.get()
    if cid:
        line["correlation_id"] = cid
    line["level"] = "info"
    line["logger"] = "aintech.access"
    line["timestamp"] = _now_iso()
    writer.put(orjson.dumps(line).decode() + "\n")
