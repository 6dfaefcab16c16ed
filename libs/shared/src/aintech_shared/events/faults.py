"""Tell an outage (the database or Kafka unreachable) from a handler's own failure.

An outage is never the message's fault: consumers wait and retry, commit nothing and dead-letter
nothing. Only a handler's own error (bad data, a rule refusing the event, an exception that keeps
happening while the database answers) may end in a dead-letter topic.
"""

from __future__ import annotations

from collections.abc import Iterator

import asyncpg
from aiokafka.errors import KafkaError
from sqlalchemy import exc as sa_exc

# SQLSTATEs of a server that is going away, restarting or refusing connections.
_OUTAGE_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "53300"})
_CONNECTION_CLASS = "08"  # connection exception


def exception_chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc``, what it wraps (SQLAlchemy's ``orig``), its causes and contexts; each once."""
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo and len(seen) < 32:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        orig = getattr(current, "orig", None)
        for nxt in (orig, current.__cause__, current.__context__):
            if isinstance(nxt, BaseException):
                todo.append(nxt)


def _sqlstate(exc: BaseException) -> str | None:
    code = getattr(exc, "sqlstate", None) or getattr(exc, "pgcode", None)
    return code if isinstance(code, str) else None


def _is_outage_sqlstate(code: str) -> bool:
    return code.startswith(_CONNECTION_CLASS) or code in _OUTAGE_SQLSTATES


# OSErrors about local files are a handler's own business, not a server being away.
_LOCAL_OS_ERRORS = (
    FileNotFoundError,
    FileExistsError,
    IsADirectoryError,
    NotADirectoryError,
    PermissionError,
)


def _one_is_outage(exc: BaseException) -> bool:
    if isinstance(exc, _LOCAL_OS_ERRORS):
        return False
    if isinstance(exc, (OSError, KafkaError)):  # OSError covers ConnectionError and TimeoutError
        return True
    if isinstance(exc, (asyncpg.PostgresConnectionError, asyncpg.InterfaceError)):
        return True
    if isinstance(exc, asyncpg.PostgresError):
        code = _sqlstate(exc)
        return code is not None and _is_outage_sqlstate(code)
    if isinstance(exc, (sa_exc.TimeoutError, sa_exc.DisconnectionError, sa_exc.InterfaceError)):
        return True  # pool exhausted or timed out; the connection is gone
    if isinstance(exc, sa_exc.DBAPIError):
        if exc.connection_invalidated:
            return True
        if isinstance(exc, sa_exc.OperationalError):
            code = _sqlstate(exc.orig) if exc.orig is not None else None
            return code is None or _is_outage_sqlstate(code)
    return False


def is_outage(exc: BaseException) -> bool:
    """True when ``exc`` (or anything it wraps) says the database or Kafka is unreachable."""
    return any(_one_is_outage(e) for e in exception_chain(exc))


def describe(exc: BaseException) -> str:
    """``Type: message`` of an exception, bounded for logs, headers and health reports."""
    return f"{type(exc).__name__}: {exc}"[:2000]
