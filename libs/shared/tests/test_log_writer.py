"""Log lines leave the event loop: a stream that does not drain never holds a request up, and a
normal stop writes everything that was logged.

Each test serves a small chassis app in its own process (``aintech_shared.serve``, as every service
runs) with its stdout where the test wants it: a pipe nobody reads, or a file.
"""

from __future__ import annotations

import io
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import httpx
import orjson
import pytest
from prometheus_client import REGISTRY

from aintech_shared.logging import LineWriter

SERVICE = """
from typing import ClassVar

from fastapi import APIRouter
from pydantic_settings import SettingsConfigDict

from aintech_shared.app import create_service_app
from aintech_shared.serve import serve
from aintech_shared.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="SINK_", extra="ignore")
    service_name: ClassVar[str] = "sink"
    db_schema: ClassVar[str] = "sink"


router = APIRouter()


@router.get("/echo/{word}")
async def echo(word: str) -> dict[str, int]:
    return {"length": len(word)}


settings = Settings()
serve(
    create_service_app(settings, title="sink", description="sink", routers=[router], with_database=False),
    settings,
)
"""
DEADLINE = 30.0
START_DEADLINE = 90.0  # a Python process importing the chassis, on a loaded machine
# After its graceful shutdown uvicorn raises the SIGTERM it caught again: the exit status says so.
STOPPED = (0, -signal.SIGTERM)
WORD = "w" * 1500  # an access line of ~1.7 kB: a pipe's 64 KiB fill after ~40 requests


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start(stdout: int | IO[bytes], *, queue_lines: int) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    env = {
        **os.environ,
        "SINK_PORT": str(port),
        "AINTECH_LOG_QUEUE_LINES": str(queue_lines),
        "AINTECH_LOOP_STALL_MS": "0",  # only the request lines in the stream
        "AINTECH_LOG_LEVEL": "INFO",
        "AINTECH_LOG_JSON": "true",
    }
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVICE], stdout=stdout, stderr=subprocess.DEVNULL, env=env
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_DEADLINE
    while True:
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return proc, base
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"the service did not start (exit {proc.poll()})")
        time.sleep(0.05)


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=DEADLINE)


def _dropped(base: str) -> float:
    text = httpx.get(f"{base}/metrics", timeout=DEADLINE).text
    found = re.search(r'^log_lines_dropped_total\{reason="queue_full"\} (\S+)$', text, re.M)
    return float(found.group(1)) if found else 0.0


def _lines(raw: bytes) -> list[dict[str, object]]:
    complete = raw[: raw.rfind(b"\n") + 1]  # a line still being written is not read yet
    return [orjson.loads(line) for line in complete.splitlines() if line.startswith(b"{")]


def _reported(lines: list[dict[str, object]]) -> int:
    """Lines the writer said it dropped (its ``log_lines_dropped`` warnings, summed)."""
    return sum(int(str(line["dropped"])) for line in lines if line.get("event") == "log_lines_dropped")


def test_a_log_pipe_nobody_reads_holds_no_request_up_and_its_lost_lines_are_counted(
    processes: list[subprocess.Popen[bytes]],
) -> None:
    read_end, write_end = os.pipe()
    proc, base = _start(write_end, queue_lines=50)
    processes.append(proc)
    os.close(write_end)  # the service holds the only write end; nobody reads until the requests end
    requests = 400
    with httpx.Client(base_url=base, timeout=DEADLINE) as client:
        for _ in range(requests):  # each must be answered; on a loop that writes, the ~40th hangs
            assert client.get(f"/echo/{WORD}").json() == {"length": len(WORD)}
    dropped = _dropped(base)
    assert dropped > 0, "400 lines of 1.7 kB cannot all wait in a full pipe and a 50-line queue"

    received = bytearray()
    reader = threading.Thread(target=lambda: _read_all(read_end, received), daemon=True)
    reader.start()
    deadline = time.monotonic() + DEADLINE
    while _reported(_lines(bytes(received))) < dropped:
        assert time.monotonic() < deadline, "the writer never said how many lines it dropped"
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=DEADLINE) in STOPPED
    reader.join(timeout=DEADLINE)
    lines = _lines(bytes(received))
    written = [line for line in lines if line.get("event") == "http_request"]
    warnings = [line for line in lines if line.get("event") == "log_lines_dropped"]
    assert len(written) + dropped == requests, "every request's line is either written or counted"
    assert _reported(lines) == dropped
    assert all(w["level"] == "warning" and w["service"] == "sink" for w in warnings)


def _read_all(fd: int, into: bytearray) -> None:
    with os.fdopen(fd, "rb", buffering=0) as pipe:
        while chunk := pipe.read(65536):
            into.extend(chunk)


def test_a_normal_stop_writes_every_line_logged_before_and_during_the_shutdown(
    processes: list[subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    log_file = tmp_path / "sink.log"
    with log_file.open("wb") as out:
        proc, base = _start(out, queue_lines=100_000)
    processes.append(proc)
    requests = 300
    with httpx.Client(base_url=base, timeout=DEADLINE) as client:
        for n in range(requests):
            client.get(f"/echo/{WORD}", headers={"x-request-id": f"stop-{n}"}).raise_for_status()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=DEADLINE) in STOPPED
    lines = _lines(log_file.read_bytes())
    ids = [line["request_id"] for line in lines if line.get("event") == "http_request"]
    assert ids == [f"stop-{n}" for n in range(requests)]
    # uvicorn's last line, logged after its graceful shutdown, just before ``serve`` returns
    assert str(lines[-1]["event"]).startswith("Finished server process"), lines[-3:]


class GatedStream(io.StringIO):
    """A stream whose writes wait until the test opens the gate; its clock moves one second for
    each write that had to wait (the writer measures its writes with it)."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()
        self.entered = threading.Event()
        self.now = 0.0

    def write(self, text: str) -> int:
        if not self.gate.is_set():
            self.entered.set()
            assert self.gate.wait(DEADLINE)
            self.now += 1.0
        return super().write(text)

    def clock(self) -> float:
        return self.now


def _dropped_here() -> float:
    return REGISTRY.get_sample_value("log_lines_dropped_total", {"reason": "queue_full"}) or 0.0


def test_a_held_stream_holds_only_the_writer_which_drops_beyond_its_queue_and_says_so() -> None:
    stream = GatedStream()
    writer = LineWriter(stream, capacity=3, service="unit", clock=stream.clock)
    before = _dropped_here()
    writer.start()
    try:
        assert writer.put("first\n")
        assert stream.entered.wait(DEADLINE), "the writer took the line and is held in write"
        accepted = [writer.put(f"{n}\n") for n in range(5)]  # returns at once: the writer holds
        assert accepted == [True, True, True, False, False]
        assert _dropped_here() - before == 2
        stream.gate.set()
        assert writer.flush(DEADLINE)
        assert writer.flush(DEADLINE)  # and the warning the writer queued for itself
    finally:
        assert writer.close(DEADLINE)
    lines = stream.getvalue().splitlines()
    assert lines[:4] == ["first", "0", "1", "2"]
    warnings = {w["event"]: w for w in map(orjson.loads, lines[4:])}
    assert warnings.keys() == {"log_write_blocked", "log_lines_dropped"}
    assert warnings["log_write_blocked"]["write_ms"] == 1000.0 and warnings["log_write_blocked"]["lines"] == 1
    assert (
        warnings["log_lines_dropped"]["dropped"] == 2 and warnings["log_lines_dropped"]["service"] == "unit"
    )
