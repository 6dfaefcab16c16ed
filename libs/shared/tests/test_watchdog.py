"""The loop-stall watchdog: a handler that blocks the event loop is logged once, with its frame."""

from __future__ import annotations

import asyncio
import json
import time
from typing import ClassVar

import pytest
from fastapi import APIRouter, FastAPI, Request
from httpx import ASGITransport, AsyncClient
from pydantic_settings import SettingsConfigDict

from aintech_shared.app import create_service_app
from aintech_shared.logging import flush_logs
from aintech_shared.settings import ServiceSettings
from aintech_shared.watchdog import LoopWatchdog

DEADLINE = 30.0


class DemoSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="DEMO_", extra="ignore")
    service_name: ClassVar[str] = "demo"
    db_schema: ClassVar[str] = "demo"


def _app() -> FastAPI:
    router = APIRouter()

    @router.get("/block")
    async def block_the_loop(request: Request) -> dict[str, int]:
        watchdog = request.app.state.loop_watchdog
        caught = watchdog.caught
        deadline = time.monotonic() + DEADLINE
        while time.monotonic() < deadline:  # until the watchdog caught this very stall
            if watchdog.caught > caught and "block_the_loop" in watchdog.last_stack:
                return {"caught": 1}
            time.sleep(0.01)  # noqa: ASYNC251 - blocking the loop is the point
        return {"caught": 0}

    return create_service_app(
        DemoSettings(), title="demo", description="demo", routers=[router], with_database=False
    )


async def test_a_handler_blocking_the_loop_yields_one_stall_line_with_its_frame_and_the_length(
    capsys: pytest.CaptureFixture[str],
) -> None:
    app = _app()
    flush_logs()
    capsys.readouterr()
    async with app.router.lifespan_context(app):
        watchdog = app.state.loop_watchdog
        ended = watchdog.stalls
        async with AsyncClient(transport=ASGITransport(app=app), base_url="http://demo") as client:
            assert (await client.get("/block")).json() == {"caught": 1}
        deadline = time.monotonic() + DEADLINE
        while watchdog.stalls == ended:  # the heartbeat runs again and measures the stall
            assert time.monotonic() < deadline, "the stall's end was never logged"
            await asyncio.sleep(0.01)
    flush_logs()
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    stalled = [line for line in lines if line["event"] == "event_loop_stalled"]
    ours = [line for line in stalled if "block_the_loop" in line["stack"]]
    assert len(ours) == 1, stalled
    assert "time.sleep(0.01)" in ours[0]["stack"]
    assert ours[0]["level"] == "warning" and ours[0]["logger"] == "aintech.watchdog"
    assert ours[0]["stalled_ms"] >= 250
    ended_lines = [line for line in lines if line["event"] == "event_loop_stall_ended"]
    assert ended_lines and all(line["stall_ms"] >= 250 for line in ended_lines)
    # where the loop thread's time went, from the kernel's scheduler statistics (Linux)
    assert {"on_cpu_ms", "waiting_for_cpu_ms", "off_cpu_ms", "interval_ms"} <= ended_lines[-1].keys()
    assert ours[0]["thread_state"] in set("RSD"), ours[0]["thread_state"]


async def test_the_watchdog_counts_stalls_in_the_metrics() -> None:
    from prometheus_client import REGISTRY

    def count() -> float:
        return REGISTRY.get_sample_value("event_loop_stalls_seconds_count") or 0.0

    app = _app()
    before = count()
    async with app.router.lifespan_context(app):  # the watchdog starts here, after ``before``
        watchdog = app.state.loop_watchdog
        async with AsyncClient(transport=ASGITransport(app=app), base_url="http://demo") as client:
            await client.get("/block")
            deadline = time.monotonic() + DEADLINE
            while watchdog.stalls == 0:
                assert time.monotonic() < deadline
                await asyncio.sleep(0.01)
            metrics = (await client.get("/metrics")).text
    # every stall this watchdog measured (the blocking handler's, and any a loaded machine adds)
    assert count() - before == watchdog.stalls >= 1
    assert "event_loop_stalls_seconds_bucket" in metrics


async def test_no_watchdog_when_its_threshold_is_zero(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AINTECH_LOOP_STALL_MS", "0")
    app = _app()
    async with app.router.lifespan_context(app):
        assert app.state.loop_watchdog is None


async def test_a_second_watchdog_on_a_loop_replaces_the_first() -> None:
    """One watchdog per loop: an app whose lifespan never ended leaves no second one logging and
    counting every stall again."""
    first = LoopWatchdog(100, idle_period=0.2)
    second = LoopWatchdog(100, idle_period=0.2)
    first.start()
    second.start()
    try:
        time.sleep(0.5)  # noqa: ASYNC251 - a stall both would see
        deadline = time.monotonic() + DEADLINE
        while second.stalls == 0:
            assert time.monotonic() < deadline, "the watching one never measured the stall"
            await asyncio.sleep(0.01)
        assert (first.stalls, first.caught) == (0, 0)
    finally:
        second.stop()
        first.stop()
