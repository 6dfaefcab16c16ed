"""Tests for deploy/local/infra.py against real Postgres and Kafka servers."""

from __future__ import annotations

import asyncio
import importlib.util
import os
import socket
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

INFRA_PATH = Path(__file__).resolve().parents[1] / "infra.py"


def _load_infra() -> ModuleType:
    """Import infra.py by path so the test does not depend on sys.path or package layout."""
    name = "aintech_local_infra"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, INFRA_PATH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


infra = _load_infra()


def _free_port() -> int:
    """Return a currently unused TCP port on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _query(url: str, sql: str) -> list[tuple[Any, ...]]:
    """Run sql over TCP with whichever Postgres driver is installed and return the rows."""
    if importlib.util.find_spec("psycopg") is not None:
        import psycopg

        with psycopg.connect(url, autocommit=True) as conn, conn.cursor() as cur:
            cur.execute(sql)
            return list(cur.fetchall()) if cur.description else []
    asyncpg = pytest.importorskip("asyncpg", reason="needs psycopg or asyncpg")

    async def run() -> list[tuple[Any, ...]]:
        conn = await asyncpg.connect(url)
        try:
            return [tuple(row) for row in await conn.fetch(sql)]
        finally:
            await conn.close()

    return asyncio.run(run())


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return a fresh data directory shared by the tests of this module."""
    return tmp_path_factory.mktemp("infra")


@pytest.fixture(scope="module")
def pg_dir(data_dir: Path) -> Iterator[Path]:
    """Yield the Postgres data dir, making sure the server is stopped afterwards."""
    path = data_dir / "postgres"
    yield path
    infra.stop_postgres(path)


@pytest.fixture(scope="module")
def kafka_dir(data_dir: Path) -> Iterator[Path]:
    """Yield the Kafka data dir, making sure the broker is stopped afterwards."""
    path = data_dir / "kafka"
    yield path
    infra.stop_kafka(path, timeout=10)


def test_postgres_start_query_restart_persists(pg_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(infra.PG_PASSWORD_ENV, raising=False)
    port = _free_port()
    assert not infra.postgres_running(pg_dir)
    infra.stop_postgres(pg_dir)

    url = infra.start_postgres(pg_dir, port)
    assert url == f"postgresql://postgres:postgres-dev@127.0.0.1:{port}/aintech"
    assert infra.postgres_running(pg_dir)
    assert _query(url, "SELECT current_database(), current_user") == [("aintech", "postgres")]
    _query(url, "CREATE TABLE infra_check (id int PRIMARY KEY, note text)")
    _query(url, "INSERT INTO infra_check VALUES (1, 'survives restarts')")

    started = time.monotonic()
    assert infra.start_postgres(pg_dir, port) == url
    assert time.monotonic() - started < 5

    bad_url = url.replace("postgres-dev", "wrong-password")
    with pytest.raises(Exception, match="password authentication failed"):
        _query(bad_url, "SELECT 1")

    infra.stop_postgres(pg_dir)
    assert not infra.postgres_running(pg_dir)
    infra.stop_postgres(pg_dir)

    assert infra.start_postgres(pg_dir, port) == url
    assert _query(url, "SELECT note FROM infra_check WHERE id = 1") == [("survives restarts",)]
    assert (pg_dir / "log").is_dir()
    infra.stop_postgres(pg_dir)
    assert not infra.postgres_running(pg_dir)


def test_kafka_start_topics_produce_consume_stop(kafka_dir: Path) -> None:
    aiokafka = pytest.importorskip("aiokafka")
    port, controller_port = _free_port(), _free_port()
    jars = infra.ensure_kafka_jars(infra.DEFAULT_KAFKA_CACHE)
    assert (jars / f"kafka_2.13-{infra.KAFKA_VERSION}.jar").is_file()
    assert not infra.kafka_running(kafka_dir)
    infra.stop_kafka(kafka_dir)

    bootstrap = infra.start_kafka(kafka_dir, port, controller_port, jars=jars)
    assert bootstrap == f"127.0.0.1:{port}"
    assert infra.kafka_running(kafka_dir)
    pid = int((kafka_dir / "kafka.pid").read_text())
    assert infra.start_kafka(kafka_dir, port, controller_port, jars=jars) == bootstrap
    assert int((kafka_dir / "kafka.pid").read_text()) == pid

    topic = f"infra.check.{uuid.uuid4().hex[:8]}"
    infra.ensure_topics(bootstrap, {topic: 3})
    infra.ensure_topics(bootstrap, {topic: 5})

    async def roundtrip() -> tuple[int, bytes | None]:
        producer = aiokafka.AIOKafkaProducer(bootstrap_servers=bootstrap)
        await producer.start()
        try:
            await producer.send_and_wait(topic, b"hello", key=b"k1")
        finally:
            await producer.stop()
        consumer = aiokafka.AIOKafkaConsumer(
            topic, bootstrap_servers=bootstrap, group_id="infra-check", auto_offset_reset="earliest"
        )
        await consumer.start()
        try:
            partitions = consumer.partitions_for_topic(topic) or set()
            message = await asyncio.wait_for(consumer.getone(), timeout=30)
            await consumer.commit()
        finally:
            await consumer.stop()
        return len(partitions), message.value

    assert asyncio.run(roundtrip()) == (3, b"hello")
    log = (kafka_dir / "logs" / "server.log").read_text()
    assert "Kafka Server started" in log
    assert "SLF4J" not in (kafka_dir / "logs" / "kafka.out").read_text()

    infra.stop_kafka(kafka_dir)
    assert not infra.kafka_running(kafka_dir)
    assert not (kafka_dir / "kafka.pid").exists()
    with pytest.raises(ProcessLookupError):
        _signal_zero_unless_zombie(pid)

    assert infra.start_kafka(kafka_dir, port, controller_port, jars=jars) == bootstrap
    infra.ensure_topics(bootstrap, {topic: 3})
    infra.stop_kafka(kafka_dir)
    assert not infra.kafka_running(kafka_dir)


def _signal_zero_unless_zombie(pid: int) -> None:
    """Raise ProcessLookupError if pid is gone or only a zombie awaiting its parent."""
    os.kill(pid, 0)
    stat = Path(f"/proc/{pid}/stat")
    if stat.exists() and stat.read_text().rpartition(")")[2].split()[0] == "Z":
        raise ProcessLookupError(pid)


def test_kafka_refuses_busy_port(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = int(busy.getsockname()[1])
        with pytest.raises(RuntimeError, match="already in use"):
            infra.start_kafka(tmp_path / "kafka", port, _free_port(), jars=tmp_path / "no-jars")
    assert not infra.kafka_running(tmp_path / "kafka")


def test_cli_status_reports_down(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert infra.main(["status", "--data-dir", str(tmp_path)]) == 1
    assert capsys.readouterr().out.splitlines() == ["postgres: down", "kafka: down"]


def test_ensure_topics_refuses_running_loop() -> None:
    async def call() -> None:
        infra.ensure_topics("127.0.0.1:1", {"never": 1})

    with pytest.raises(RuntimeError, match="ensure_topics_async"):
        asyncio.run(call())


def test_kafka_heap_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(infra.KAFKA_HEAP_ENV, raising=False)
    assert infra._kafka_heap() == ("256m", "512m")
    monkeypatch.setenv(infra.KAFKA_HEAP_ENV, "1g")
    assert infra._kafka_heap() == ("256m", "1g")
    monkeypatch.setenv(infra.KAFKA_HEAP_ENV, "128m")
    assert infra._kafka_heap() == ("128m", "128m")
    monkeypatch.setenv(infra.KAFKA_HEAP_ENV, "lots")
    with pytest.raises(ValueError, match=infra.KAFKA_HEAP_ENV):
        infra._kafka_heap()


def test_long_data_dir_uses_short_socket_dir(tmp_path: Path) -> None:
    short = tmp_path / "pg"
    assert infra._pg_socket_dir(short, 5433) == short
    deep = tmp_path / ("x" * 120) / "postgres"
    socket_dir = infra._pg_socket_dir(deep, 5433)
    assert socket_dir != deep
    assert len(str(socket_dir / ".s.PGSQL.5433")) <= 100
    assert infra._pg_socket_dir(deep, 5433) == socket_dir


def test_cluster_id_shape() -> None:
    for _ in range(50):
        cluster_id = infra._new_cluster_id()
        assert len(cluster_id) == 22
        assert not cluster_id.startswith("-")


def test_url_quotes_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(infra.PG_PASSWORD_ENV, "p@ss/word:1")
    assert infra.postgres_url(5433) == "postgresql://postgres:p%40ss%2Fword%3A1@127.0.0.1:5433/aintech"
