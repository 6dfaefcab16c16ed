"""One small port over ClickHouse SQL, two adapters with the same schema and queries.

* :class:`ChdbStore` runs ClickHouse in this process (chDB) on a data directory that only one
  process may open; analytics' API process owns it (docs/analytics.md, decision 0020).
* :class:`ClickHouseStore` talks to a ClickHouse server through clickhouse-connect (production).

User input reaches SQL only as ``{name:Type}`` server-side parameters; rows are inserted as
``JSONEachRow`` data, which the format parser reads (never the SQL parser). Every call runs in a
worker thread so the event loop stays free; chDB calls are serialised by a lock.
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

import orjson

Row = dict[str, Any]


class StoreError(RuntimeError):
    """The store refused a statement or is unreachable."""


class Store(Protocol):
    """ClickHouse SQL: run a statement, query rows, insert rows.

    ``$db.`` in a statement or a table name stands for the store's database: every table name is
    qualified, and the database is the one place that names it.
    """

    database: str

    async def command(self, sql: str, params: Mapping[str, Any] | None = None) -> None: ...

    async def query(self, sql: str, params: Mapping[str, Any] | None = None) -> list[Row]: ...

    async def insert(self, table: str, rows: Sequence[Mapping[str, Any]]) -> None: ...

    async def close(self) -> None: ...


DATABASE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def qualify(sql: str, database: str) -> str:
    """``sql`` with ``$db.`` replaced by the store's (validated) database name."""
    return sql.replace("$db.", f"{database}.").replace("$db", database)


def _checked(database: str) -> str:
    if not DATABASE_NAME.match(database):
        raise ValueError(f"not a database name: {database!r}")
    return database


def array_param(values: Iterable[str]) -> str:
    """An ``Array(String)`` parameter value in ClickHouse's quoted text form (still a parameter)."""
    quoted = (v.replace("\\", "\\\\").replace("'", "\\'") for v in values)
    return "[" + ",".join(f"'{v}'" for v in quoted) + "]"


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"cannot encode {type(value).__name__}")


def encode_rows(rows: Sequence[Mapping[str, Any]]) -> bytes:
    """Rows as ``JSONEachRow`` input, in its array form (``[{...},{...}]``: one ``orjson`` call for
    the whole batch). A ``String`` column given a JSON object stores the object's text
    (``input_format_json_read_objects_as_strings``): the raw row's payload is not encoded twice."""
    return orjson.dumps(rows, default=_default)


# how the inserted JSON is read (both stores; the server's default since 23.x, explicit here)
INSERT_SETTINGS = {"input_format_json_read_objects_as_strings": 1}


_DECIMAL = ("Decimal", "Nullable(Decimal")


def _decode(payload: bytes) -> list[Row]:
    if not payload.strip():
        return []
    parsed = orjson.loads(payload)
    decimals = [m["name"] for m in parsed.get("meta", []) if str(m["type"]).startswith(_DECIMAL)]
    rows: list[Row] = parsed.get("data", [])
    for row in rows:
        for name in decimals:
            if row[name] is not None:
                row[name] = Decimal(str(row[name]))
    return rows


_QUERY_SETTINGS = (
    "output_format_json_quote_64bit_integers=0, output_format_json_quote_decimals=1, join_use_nulls=1"
)


_CHDB_SESSIONS: dict[str, tuple[Any, threading.Lock]] = {}

# Startup settings of the embedded engine (passed as its command-line arguments), for an idle
# process's wake-ups (issue #15): its memory worker re-reads the allocator's resident size every
# 50 ms by default (20 wake-ups a second; once a second is enough for a memory limit this process
# does not set), and each MergeTree table's background-job assignee looks for work every 0.1 s
# when it found none (~1 wake-up a second per table on each of two pool threads; an insert still
# triggers its merges at once, and the reads use FINAL, so a merge's delay changes no figure).
_CHDB_STARTUP = (
    "memory_worker_period_ms=1000&background_processing_pool_thread_sleep_seconds_if_nothing_to_do=5"
)


class ChdbStore:
    """ClickHouse in process (chDB) on ``path``; one process per directory."""

    def __init__(self, path: str, *, database: str = "analytics") -> None:
        from chdb import session

        self.database = _checked(database)
        key = str(Path(path).resolve())
        if key not in _CHDB_SESSIONS:  # chDB allows one session per process: share it
            Path(key).mkdir(parents=True, exist_ok=True)
            _CHDB_SESSIONS[key] = (session.Session(f"{key}?{_CHDB_STARTUP}"), threading.Lock())
        self._session, self._lock = _CHDB_SESSIONS[key]

    def _run(self, sql: str, params: Mapping[str, Any] | None, fmt: str) -> bytes:
        with self._lock:
            try:
                result = self._session.query(
                    qualify(sql, self.database), fmt, params=dict(params) if params else None
                )
            except Exception as exc:  # chdb raises its own RuntimeError subclasses
                raise StoreError(str(exc)[:500]) from exc
        return bytes(result.bytes()) if result is not None else b""

    async def command(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        await asyncio.to_thread(self._run, sql, params, "CSV")

    async def query(self, sql: str, params: Mapping[str, Any] | None = None) -> list[Row]:
        payload = await asyncio.to_thread(self._run, f"{sql}\nSETTINGS {_QUERY_SETTINGS}", params, "JSON")
        return _decode(payload)

    async def insert(self, table: str, rows: Sequence[Mapping[str, Any]]) -> None:
        if rows:
            await asyncio.to_thread(self._insert, table, encode_rows(rows))

    def _insert(self, table: str, data: bytes) -> None:
        """The rows handed to chDB as a data stream (parsed by the format reader alone)."""
        with self._lock:
            try:
                with self._session.send_insert(
                    f"INSERT INTO {qualify(table, self.database)} SETTINGS "
                    + ", ".join(f"{k}={v}" for k, v in INSERT_SETTINGS.items()),
                    "JSONEachRow",
                ) as ins:
                    ins.append(data)
                    ins.finish()
            except Exception as exc:  # chdb raises its own RuntimeError subclasses
                raise StoreError(str(exc)[:500]) from exc

    async def close(self) -> None:
        """The process-wide session stays open (other stores of this process may share it)."""


def close_chdb(path: str) -> None:
    """Close this process's chDB session on ``path`` (before its directory is removed: a session
    that outlives its files aborts the process at exit)."""
    entry = _CHDB_SESSIONS.pop(str(Path(path).resolve()), None)
    if entry is not None:
        session, lock = entry
        with lock:
            session.close()


class ClickHouseStore:
    """A ClickHouse server through clickhouse-connect (HTTP interface)."""

    def __init__(self, url: str, *, database: str = "analytics") -> None:
        import clickhouse_connect

        self.database = _checked(database)
        self._client = clickhouse_connect.get_client(dsn=url)
        self._lock = threading.Lock()

    async def command(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        def run() -> None:
            with self._lock:
                self._client.command(qualify(sql, self.database), parameters=dict(params or {}))

        await asyncio.to_thread(run)

    async def query(self, sql: str, params: Mapping[str, Any] | None = None) -> list[Row]:
        def run() -> list[Row]:
            with self._lock:
                result = self._client.query(
                    qualify(sql, self.database), parameters=dict(params or {}), settings={"join_use_nulls": 1}
                )
            return [dict(zip(result.column_names, row, strict=True)) for row in result.result_rows]

        return await asyncio.to_thread(run)

    async def insert(self, table: str, rows: Sequence[Mapping[str, Any]]) -> None:
        if not rows:
            return
        data = encode_rows(rows)

        def run() -> None:
            with self._lock:
                self._client.raw_insert(
                    qualify(table, self.database),
                    insert_block=data,
                    fmt="JSONEachRow",
                    settings=INSERT_SETTINGS,
                )

        await asyncio.to_thread(run)

    async def close(self) -> None:
        self._client.close()


def open_store(*, clickhouse_url: str | None, chdb_path: str, database: str) -> Store:
    """The server when one is configured, else chDB in process."""
    if clickhouse_url:
        return ClickHouseStore(clickhouse_url, database=database)
    return ChdbStore(chdb_path, database=database)
