"""A workflow waiting on a timer survives the worker being killed (real worker processes)."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import text

from .conftest import Api

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def worker_process() -> Iterator[subprocess.Popen[bytes]]:
    env = {
        **os.environ,
        "CORE_CRM_WORKER_PORT": str(_free_port()),
        "CORE_CRM_WORKFLOW_TICK_SECONDS": "0.5",
        "AINTECH_LOG_JSON": "true",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "core_crm.worker"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


async def _until(api: Api, query: str, params: dict[str, object], *, within: float = 60.0) -> object:
    deadline = asyncio.get_running_loop().time() + within
    while asyncio.get_running_loop().time() < deadline:
        value = await api.conn.scalar(text(query), params)
        if value:
            return value
        await asyncio.sleep(0.2)
    raise AssertionError(f"not within {within}s: {query}")


async def test_a_timer_wait_survives_a_killed_worker(committed: Api) -> None:
    api = committed
    customer = await api.customer()
    workflow = (
        await api.call(
            "POST",
            "/workflows",
            headers=api.supervisor,
            expect=201,
            json={
                "name": "Seguimiento tras 4 s",
                "trigger": {"type": "manual"},
                "steps": [
                    {"type": "wait_duration", "seconds": 4},
                    {"type": "create_task", "title": "Seguimiento"},
                ],
            },
        )
    ).json()
    try:
        execution = (
            await api.call(
                "POST",
                f"/workflows/{workflow['id']}/execute",
                headers=api.supervisor,
                json={"data": {"customer_id": customer["id"]}},
                expect=202,
            )
        ).json()
        params = {"id": execution["id"]}
        with worker_process() as first:
            await _until(api, "SELECT status = 'waiting' FROM crm.workflow_executions WHERE id = :id", params)
            os.killpg(first.pid, signal.SIGKILL)
            first.wait(10)
        await _until(
            api,
            "SELECT clock_timestamp() > next_run_at + interval '1 second'"
            " FROM crm.workflow_executions WHERE id = :id",
            params,
        )
        assert (
            await api.conn.scalar(text("SELECT status FROM crm.workflow_executions WHERE id = :id"), params)
            == "waiting"
        )
        with worker_process():
            await _until(
                api, "SELECT status = 'completed' FROM crm.workflow_executions WHERE id = :id", params
            )
        runs = (await api.call("GET", f"/workflows/executions/{execution['id']}", expect=200)).json()["steps"]
        assert [(r["step_index"], r["step_type"], r["status"]) for r in runs] == [
            (0, "wait_duration", "succeeded"),
            (1, "create_task", "succeeded"),
        ]
        tasks = await api.conn.scalar(
            text("SELECT count(*) FROM crm.tasks WHERE customer_id = :c AND title = 'Seguimiento'"),
            {"c": customer["id"]},
        )
        assert tasks == 1
    finally:
        await api.conn.execute(
            text(
                "DELETE FROM crm.workflow_step_runs WHERE execution_id IN"
                " (SELECT id FROM crm.workflow_executions WHERE workflow_id = :w)"
            ),
            {"w": workflow["id"]},
        )
        await api.conn.execute(
            text("DELETE FROM crm.workflow_executions WHERE workflow_id = :w"), {"w": workflow["id"]}
        )
        await api.conn.execute(text("DELETE FROM crm.workflows WHERE id = :w"), {"w": workflow["id"]})
