"""Workflows: definitions and versions, every step type, conditions, retries, SSRF-safe webhooks."""

from __future__ import annotations

import asyncio
import ipaddress
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp import web
from fastapi import FastAPI
from sqlalchemy import text

from aintech_contracts.envelope import CloudEvent
from aintech_contracts.events import CATALOGUE
from aintech_contracts.events.telephony import QueueCallAbandoned
from aintech_devtools.testing import publish_event
from core_crm.consumers import workflow_triggers
from core_crm.core.runtime import build_runtime
from core_crm.workflows import conditions, engine, webhook
from core_crm.workflows import service as workflows
from core_crm.workflows.triggers import TRIGGER_EVENTS

from .conftest import Api, Flow, Live, crm_settings


@dataclass
class FakeReceiver:
    """A webhook receiver on 127.0.0.1 that fails the first ``failures`` calls; ``/slow`` answers
    only once ``release`` is set (``holding`` is set when a call is being held)."""

    url: str = ""
    failures: int = 0
    calls: list[dict[str, Any]] = field(default_factory=list)
    keys: list[str | None] = field(default_factory=list)
    delay: float = 0.0
    holding: asyncio.Event = field(default_factory=asyncio.Event)
    release: asyncio.Event = field(default_factory=asyncio.Event)


@pytest.fixture
async def receiver() -> AsyncIterator[FakeReceiver]:
    state = FakeReceiver()

    async def hook(request: web.Request) -> web.StreamResponse:
        state.calls.append(await request.json() if request.can_read_body else {})
        state.keys.append(request.headers.get("Idempotency-Key"))
        if state.delay:
            await asyncio.sleep(state.delay)
        if len(state.calls) <= state.failures:
            return web.Response(status=503, text="busy")
        return web.json_response({"ok": True, "received": len(state.calls)})

    async def big(_: web.Request) -> web.Response:
        return web.Response(body=b"x" * (512 * 1024))

    async def slow(_: web.Request) -> web.Response:
        state.holding.set()
        await state.release.wait()
        return web.json_response({"ok": True, "slow": True})

    app = web.Application()
    app.router.add_post("/hook", hook)
    app.router.add_post("/slow", slow)
    app.router.add_post("/big", big)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    state.url = f"http://127.0.0.1:{port}"
    yield state
    await runner.cleanup()


async def _workflow(
    api: Api, steps: list[dict[str, Any]], trigger: dict[str, Any] | None = None
) -> dict[str, Any]:
    body = {"name": f"wf-{uuid.uuid4().hex[:6]}", "trigger": trigger or {"type": "manual"}, "steps": steps}
    return dict((await api.call("POST", "/workflows", json=body, headers=api.supervisor, expect=201)).json())


async def _execute(api: Api, workflow_id: str, data: dict[str, Any]) -> str:
    response = await api.call(
        "POST", f"/workflows/{workflow_id}/execute", json={"data": data}, headers=api.supervisor, expect=202
    )
    return str(response.json()["id"])


async def _advance(app: FastAPI) -> None:
    await workflows.advance_due(app.state.db, rt=build_runtime(crm_settings()))


async def _execution(api: Api, execution_id: str) -> dict[str, Any]:
    return dict((await api.call("GET", f"/workflows/executions/{execution_id}", expect=200)).json())


async def test_manual_run_executes_every_step_and_records_results(api: Api, app: FastAPI) -> None:
    owner = str(uuid.uuid4())
    customer = await api.customer(owner_id=owner)
    wf = await _workflow(
        api,
        [
            {"type": "condition_check", "conditions": [{"path": "score", "op": "gte", "value": "7"}]},
            {"type": "create_task", "title": "Llamar a ${customer_id} (${score})", "priority": "high"},
            {
                "type": "send_email",
                "subject": "Hola",
                "body": "Puntuación ${score}; ${unknown} se queda así.",
            },
            {"type": "update_record", "entity": "customer", "set": {"segment": "vip", "add_tags": ["NPS"]}},
        ],
    )
    execution_id = await _execute(api, wf["id"], {"customer_id": customer["id"], "score": "9"})
    await _advance(app)
    run = await _execution(api, execution_id)
    assert run["status"] == "completed" and run["steps_completed"] == 4
    assert [(s["step_index"], s["status"]) for s in run["steps"]] == [
        (0, "succeeded"),
        (1, "succeeded"),
        (2, "succeeded"),
        (3, "succeeded"),
    ]
    task = (await api.call("GET", f"/tasks/{run['results']['1']['task_id']}", expect=200)).json()
    assert task["title"] == f"Llamar a {customer['id']} (9)" and task["assigned_to"] == owner
    [email] = await api.events("crm.email_requested", key=customer["id"])
    assert email["data"]["to"] == customer["email"] and "${unknown}" in email["data"]["body_text"]
    refreshed = (await api.call("GET", f"/customers/{customer['id']}", expect=200)).json()
    assert refreshed["segment"] == "vip" and "nps" in refreshed["tags"]


async def test_condition_check_stops_or_fails(api: Api, app: FastAPI) -> None:
    customer = await api.customer()
    stop = await _workflow(
        api,
        [
            {"type": "condition_check", "conditions": [{"path": "amount", "op": "gt", "value": 1000}]},
            {"type": "create_task", "title": "No debería existir"},
        ],
    )
    fail = await _workflow(
        api,
        [
            {
                "type": "condition_check",
                "conditions": [{"path": "amount", "op": "gt", "value": 1000}],
                "on_false": "fail",
            },
        ],
    )
    stopped = await _execute(api, stop["id"], {"customer_id": customer["id"], "amount": "999.99"})
    failed = await _execute(api, fail["id"], {"amount": "5"})
    await _advance(app)
    assert (await _execution(api, stopped))["status"] == "completed"
    assert (await _execution(api, stopped))["steps_completed"] == 1
    assert (await _execution(api, failed))["status"] == "failed"
    tasks = (await api.call("GET", "/tasks", params={"customer_id": customer["id"]}, expect=200)).json()[
        "items"
    ]
    assert [t["task_type"] for t in tasks] == [], "the run stopped before creating the task"


async def test_running_execution_keeps_its_version(api: Api, app: FastAPI) -> None:
    customer = await api.customer()
    wf = await _workflow(
        api, [{"type": "wait_duration", "seconds": 60}, {"type": "create_task", "title": "v1"}]
    )
    first = await _execute(api, wf["id"], {"customer_id": customer["id"]})
    await _advance(app)
    assert (await _execution(api, first))["status"] == "waiting"
    new = {"trigger": {"type": "manual"}, "steps": [{"type": "create_task", "title": "v2"}]}
    updated = (
        await api.call(
            "PUT", f"/workflows/{wf['id']}/definition", json=new, headers=api.supervisor, expect=200
        )
    ).json()
    assert updated["current_version"] == 2 and updated["definition"]["steps"][0]["title"] == "v2"
    second = await _execute(api, wf["id"], {"customer_id": customer["id"]})
    await api.conn.execute(
        text("UPDATE crm.workflow_executions SET next_run_at = now() WHERE id = :id"), {"id": first}
    )
    await _advance(app)
    runs = {first: await _execution(api, first), second: await _execution(api, second)}
    assert (runs[first]["version"], runs[first]["status"]) == (1, "completed")
    assert (runs[second]["version"], runs[second]["status"]) == (2, "completed")
    titles = sorted(
        t["title"]
        for t in (await api.call("GET", "/tasks", params={"customer_id": customer["id"]}, expect=200)).json()[
            "items"
        ]
    )
    assert titles == ["v1", "v2"]
    versions = (await api.call("GET", f"/workflows/{wf['id']}/versions", expect=200)).json()
    assert [v["version"] for v in versions] == [1, 2]


async def test_failed_step_retries_with_backoff_then_resumes_from_where_it_failed(
    api: Api, app: FastAPI, receiver: FakeReceiver
) -> None:
    customer = await api.customer()
    receiver.failures = 10
    wf = await _workflow(
        api,
        [
            {"type": "create_task", "title": "Antes del webhook"},
            {
                "type": "call_webhook",
                "url": f"{receiver.url}/hook",
                "body": {"customer": "${customer_id}"},
                "retry": {"max_attempts": 3, "backoff_seconds": 30},
            },
            {"type": "create_task", "title": "Después del webhook"},
        ],
    )
    execution_id = await _execute(api, wf["id"], {"customer_id": customer["id"]})
    await _advance(app)
    run = await _execution(api, execution_id)
    assert (run["status"], run["current_step"], run["attempt"]) == ("retrying", 1, 1)
    assert "HTTP 503" in run["error_message"]
    for _ in range(2):
        await api.conn.execute(
            text("UPDATE crm.workflow_executions SET next_run_at = now() WHERE id = :id"),
            {"id": execution_id},
        )
        await _advance(app)
    run = await _execution(api, execution_id)
    assert run["status"] == "failed" and run["current_step"] == 1
    attempts = [(s["step_index"], s["attempt"], s["status"]) for s in run["steps"]]
    assert attempts == [(0, 1, "succeeded"), (1, 1, "failed"), (1, 2, "failed"), (1, 3, "failed")]
    assert all("503" in s["error"] for s in run["steps"][1:])
    receiver.failures = 0
    await api.call("POST", f"/workflows/executions/{execution_id}/retry", headers=api.supervisor, expect=200)
    await _advance(app)
    run = await _execution(api, execution_id)
    assert run["status"] == "completed" and run["results"]["1"]["status"] == 200
    tasks = (await api.call("GET", "/tasks", params={"customer_id": customer["id"]}, expect=200)).json()[
        "items"
    ]
    assert sorted(t["title"] for t in tasks) == ["Antes del webhook", "Después del webhook"], (
        "step 0 ran once"
    )
    assert receiver.calls[-1] == {"customer": "${customer_id}"}, "a given body is sent as written"
    await api.call("POST", f"/workflows/executions/{execution_id}/retry", headers=api.supervisor, expect=409)


async def _until(live: Live, query: str, params: dict[str, Any], *, within: float = 30.0) -> Any:
    """Poll (from another connection) until ``query`` gives a truthy value, with a deadline."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        if value := await live.conn.scalar(text(query), params):
            return value
        assert asyncio.get_running_loop().time() < deadline, f"not within {within}s: {query} {params}"
        await asyncio.sleep(0.05)


async def test_a_slow_webhook_holds_no_transaction_and_delays_no_other_run(
    live: Live, live_app: FastAPI, receiver: FakeReceiver
) -> None:
    customer = await live.customer()
    slow = await _workflow(
        live,
        [
            {"type": "call_webhook", "url": f"{receiver.url}/slow"},
            {"type": "create_task", "title": "Tras el webhook lento"},
        ],
    )
    quick = await _workflow(
        live,
        [
            {"type": "call_webhook", "url": f"{receiver.url}/hook"},
            {"type": "create_task", "title": "Tras el webhook rápido"},
        ],
    )
    held = await _execute(live, slow["id"], {"customer_id": customer["id"]})
    other = await _execute(live, quick["id"], {"customer_id": customer["id"]})
    advancing = asyncio.create_task(
        workflows.advance_due(live_app.state.db, rt=build_runtime(crm_settings(webhook_timeout_seconds=30)))
    )
    try:
        await asyncio.wait_for(receiver.holding.wait(), 60)
        # While the slow target holds its call, the other run finishes and is committed...
        await _until(
            live, "SELECT status = 'completed' FROM crm.workflow_executions WHERE id = :id", {"id": other}
        )
        assert not advancing.done()
        # ...and the held run is claimed and committed, with no lock left on it.
        claimed = (
            await live.conn.execute(
                text(
                    "SELECT e.status, e.next_run_at > now() + interval '25 seconds', r.status"
                    " FROM crm.workflow_executions e JOIN crm.workflow_step_runs r ON r.execution_id = e.id"
                    " WHERE e.id = :id FOR UPDATE OF e NOWAIT"
                ),
                {"id": held},
            )
        ).one()
        assert tuple(claimed) == ("running", True, "running"), "claimed with a lease, then committed"
    finally:
        receiver.release.set()
    assert await asyncio.wait_for(advancing, 60) == 2
    run = await _execution(live, held)
    assert run["status"] == "completed" and run["results"]["0"]["status"] == 200
    assert [(s["step_index"], s["attempt"], s["status"]) for s in run["steps"]] == [
        (0, 1, "succeeded"),
        (1, 1, "succeeded"),
    ]
    tasks = (await live.call("GET", "/tasks", params={"customer_id": customer["id"]}, expect=200)).json()
    assert sorted(t["title"] for t in tasks["items"]) == ["Tras el webhook lento", "Tras el webhook rápido"]


async def test_a_webhook_outcome_is_recorded_once_and_a_lost_call_is_retried(
    live: Live, live_app: FastAPI, receiver: FakeReceiver
) -> None:
    customer = await live.customer()
    wf = await _workflow(
        live,
        [
            {"type": "call_webhook", "url": f"{receiver.url}/hook", "retry": {"max_attempts": 3}},
            {"type": "create_task", "title": "Una sola vez"},
        ],
    )
    execution_id = await _execute(live, wf["id"], {"customer_id": customer["id"]})
    rt = build_runtime(crm_settings())
    db = live_app.state.db
    # A worker claims the call and stops before making it (its process dies).
    async with db.transaction() as session:
        [execution] = [
            e for e in await workflows.repository.claim_due(session, limit=50) if str(e.id) == execution_id
        ]
        lost = await engine.run_execution(session, rt=rt, execution=execution)
    assert lost is not None
    await _advance(live_app)
    assert receiver.calls == [], "the lease has not run out: nobody calls again"
    await live.conn.execute(
        text("UPDATE crm.workflow_executions SET next_run_at = now() WHERE id = :id"), {"id": execution_id}
    )
    await _advance(live_app)  # the lease ran out: the attempt counts as failed, retried later
    await live.conn.execute(
        text("UPDATE crm.workflow_executions SET next_run_at = now() WHERE id = :id"), {"id": execution_id}
    )
    await _advance(live_app)
    run = await _execution(live, execution_id)
    assert run["status"] == "completed"
    assert [(s["step_index"], s["attempt"], s["status"]) for s in run["steps"]] == [
        (0, 1, "failed"),
        (0, 2, "succeeded"),
        (1, 1, "succeeded"),
    ]
    assert engine.LOST_CALL in run["steps"][0]["error"]
    assert receiver.keys == [f"workflow:{execution_id}:0"], "the target can recognise a repeat"
    # The first worker's late outcome changes nothing.
    late = engine.WebhookOutcome(output={"status": 200, "body": "", "truncated": False})
    async with db.transaction() as session:
        assert await engine.record_call(session, rt=rt, call=lost, outcome=late) is None
    assert (await _execution(live, execution_id))["steps"] == run["steps"]
    tasks = (await live.call("GET", "/tasks", params={"customer_id": customer["id"]}, expect=200)).json()
    assert [t["title"] for t in tasks["items"]] == ["Una sola vez"]


async def test_webhooks_to_private_addresses_are_refused_without_retry(
    api: Api, app: FastAPI, receiver: FakeReceiver
) -> None:
    rt_allowlist: list[str] = []
    for url in (
        "http://127.0.0.1:9/x",
        "http://169.254.169.254/latest/meta-data",
        "http://10.1.2.3/",
        "http://[::1]:8080/",
        "http://[::ffff:127.0.0.1]/",
        "http://localhost:8080/",
        "http://0.0.0.0/",
        "http://100.64.0.1/",
    ):
        with pytest.raises(webhook.WebhookRefused):
            await webhook.call(
                url,
                method="POST",
                headers={},
                body={},
                timeout_seconds=2,
                max_bytes=1024,
                allowlist=rt_allowlist,
            )
    with pytest.raises(webhook.WebhookRefused):
        await webhook.call(
            "ftp://example.com/",
            method="POST",
            headers={},
            body={},
            timeout_seconds=2,
            max_bytes=1024,
            allowlist=[],
        )
    allowed = await webhook.call(
        f"{receiver.url}/hook",
        method="POST",
        headers={"Host": "evil"},
        body={"a": 1},
        timeout_seconds=30,  # a loaded machine may answer late; the timeout has its own case below
        max_bytes=1024,
        allowlist=["127.0.0.1"],
    )
    assert allowed.status == 200
    capped = await webhook.call(
        f"{receiver.url}/big",
        method="POST",
        headers={},
        body={},
        timeout_seconds=30,
        max_bytes=2048,
        allowlist=["127.0.0.0/8"],
    )
    assert capped.truncated and len(capped.body) <= 2048
    receiver.delay = 3
    with pytest.raises(webhook.WebhookFailed):
        await webhook.call(
            f"{receiver.url}/hook",
            method="POST",
            headers={},
            body={},
            timeout_seconds=0.5,
            max_bytes=1024,
            allowlist=["127.0.0.1"],
        )
    # Through the engine: a refused target fails the run at once (no retries).
    wf = await _workflow(api, [{"type": "call_webhook", "url": "http://169.254.169.254/latest/meta-data"}])
    execution_id = await _execute(api, wf["id"], {})
    await _advance(app)
    run = await _execution(api, execution_id)
    assert run["status"] == "failed" and len(run["steps"]) == 1 and "private" in run["steps"][0]["error"]


EMBEDDED_IPV4 = (
    "http://[64:ff9b::a9fe:a9fe]/latest/meta-data",  # NAT64 of 169.254.169.254
    "http://[64:ff9b::10.0.0.1]/",  # NAT64 of a private address
    "http://[::a9fe:a9fe]/",  # IPv4-compatible metadata address
    "http://[::127.0.0.1]:8080/",  # IPv4-compatible loopback
    "http://[::ffff:0:a00:1]/",  # IPv4-translated 10.0.0.1
    "http://[2002:a9fe:a9fe::1]/",  # 6to4 of the metadata address
    "http://[2002:7f00:1::]/",  # 6to4 of loopback
    "http://[::ffff:a9fe:a9fe]/",  # IPv4-mapped, hexadecimal spelling
    "http://[0:0:0:0:0:ffff:192.168.0.1]/",  # IPv4-mapped, long spelling
    "http://[64:ff9b:1::a00:1]/",  # local-use NAT64: its mapping is unknowable here
    "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/",  # Teredo
)


@pytest.mark.parametrize("url", EMBEDDED_IPV4)
async def test_ipv6_forms_embedding_private_ipv4_are_refused(url: str) -> None:
    with pytest.raises(webhook.WebhookRefused) as refused:
        await webhook.call(
            url, method="POST", headers={}, body={}, timeout_seconds=2, max_bytes=1024, allowlist=[]
        )
    assert "private or reserved" in str(refused.value)


def test_ipv6_forms_embedding_public_ipv4_stay_public() -> None:
    for address in ("64:ff9b::808:808", "2002:808:808::1", "2a00:1450:4003:80e::200e"):
        assert webhook.is_public(ipaddress.ip_address(address)), address


async def test_a_refusal_does_not_say_what_an_internal_name_resolves_to() -> None:
    with pytest.raises(webhook.WebhookRefused) as refused:
        await webhook.resolve_checked("localhost", 80, [])
    message = str(refused.value)
    assert message.startswith("localhost resolves to a private")
    assert "127.0.0.1" not in message and "::1" not in message


async def test_event_trigger_with_conditions_and_no_loops(api: Api, app: FastAPI) -> None:
    wf = await _workflow(
        api,
        [{"type": "create_task", "title": "Gran siniestro ${claim_number}"}],
        trigger={
            "type": "event",
            "event_type": "claim.created",
            "conditions": [
                {"path": "claimed_amount", "op": "gte", "value": 5000},
                {"path": "claim_type", "op": "in", "value": ["fire", "flood"]},
            ],
        },
    )

    def event(amount: str, kind: str, correlation: str | None = None) -> CloudEvent:
        return CloudEvent(
            source="core-crm",
            type="claim.created",
            subject="x",
            correlationid=correlation,
            data={"claimed_amount": amount, "claim_type": kind, "claim_number": "CLM-1"},
        )

    async with app.state.db.transaction() as session:
        big = event("7500.00", "fire")
        assert await workflows.on_event(session, event=big) == 1
        assert await workflows.on_event(session, event=big) == 0, "the same event starts one run"
        assert await workflows.on_event(session, event=event("4999.99", "fire")) == 0
        assert await workflows.on_event(session, event=event("9000", "theft")) == 0
        assert await workflows.on_event(session, event=event("9000", "flood", "workflow-x-y")) == 0
    runs = (await api.call("GET", f"/workflows/{wf['id']}/executions", expect=200)).json()["items"]
    assert (
        len(runs) == 1
        and runs[0]["trigger_type"] == "event"
        and runs[0]["trigger_data"]["event"]["id"] == big.id
    )


async def test_only_business_events_start_workflows_and_only_their_topics_are_read(api: Api) -> None:
    for event_type in (
        "auth.password_reset_requested",
        "session.revoked",
        "crm.email_requested",
        "message.sent",
    ):
        body = {
            "name": "no",
            "trigger": {"type": "event", "event_type": event_type},
            "steps": [{"type": "call_webhook", "url": "https://hooks.example.com/x"}],
        }
        await api.call("POST", "/workflows", json=body, headers=api.supervisor, expect=422)
    spec = workflow_triggers(build_runtime(crm_settings()))
    assert set(spec.handlers) == TRIGGER_EVENTS
    assert set(spec.topics) == {CATALOGUE[t].topic for t in TRIGGER_EVENTS}
    for unread in (
        "auth.security",
        "auth.session",
        "crm.notification",
        "telephony.agent",
        "analytics.report",
    ):
        assert unread not in spec.topics, unread


async def test_an_event_from_another_service_starts_a_workflow_through_kafka(flow: Flow) -> None:
    api = flow.api
    customer = await api.customer()
    wf = await _workflow(
        api,
        [{"type": "create_task", "title": "Devolver la llamada a ${customer_phone}", "priority": "high"}],
        trigger={
            "type": "event",
            "event_type": "queue.call_abandoned",
            "conditions": [{"path": "waited_seconds", "op": "gte", "value": 30}],
        },
    )
    try:
        published = []
        for waited in (12, 95):  # the short wait does not meet the condition
            abandoned = QueueCallAbandoned(
                call_id=uuid.uuid4(),
                call_sid=f"CA{uuid.uuid4().hex}",
                customer_id=uuid.UUID(customer["id"]),
                customer_phone="+34611223344",
                department="renewals",
                priority="normal",
                waited_seconds=waited,
                abandoned_at=datetime.now(UTC),
            )
            event = await publish_event(
                flow.bootstrap, abandoned, key=str(abandoned.call_id), source="telephony"
            )
            published.append(event.id)
        for event_id in published:
            await flow.wait_for(
                "SELECT 1 FROM crm.processed_events"
                " WHERE event_id = :e AND consumer LIKE '%core-crm.workflows'",
                {"e": event_id},
            )
        await workflows.advance_due(flow.db, rt=flow.rt)
        [run] = (await api.call("GET", f"/workflows/{wf['id']}/executions", expect=200)).json()["items"]
        assert run["status"] == "completed" and run["trigger_data"]["waited_seconds"] == 95
        task = (await api.call("GET", f"/tasks/{run['results']['0']['task_id']}", expect=200)).json()
        assert task["title"] == "Devolver la llamada a +34611223344"
    finally:
        for statement in (
            "DELETE FROM crm.tasks WHERE dedupe_key LIKE 'workflow:%' AND customer_id = :c",
            "DELETE FROM crm.workflow_step_runs WHERE execution_id IN"
            " (SELECT id FROM crm.workflow_executions WHERE workflow_id = :w)",
            "DELETE FROM crm.workflow_executions WHERE workflow_id = :w",
            "DELETE FROM crm.workflow_versions WHERE workflow_id = :w",
            "DELETE FROM crm.workflows WHERE id = :w",
        ):
            await api.conn.execute(text(statement), {"w": wf["id"], "c": customer["id"]})


async def test_schedule_trigger_fires_once_per_slot(api: Api, app: FastAPI) -> None:
    wf = await _workflow(
        api,
        [{"type": "create_task", "title": "Informe semanal"}],
        trigger={"type": "schedule", "cron": "0 9 * * 1", "timezone": "Europe/Madrid"},
    )
    assert wf["next_fire_at"] is not None
    await api.conn.execute(
        text("UPDATE crm.workflows SET next_fire_at = now() - interval '1 minute' WHERE id = :id"),
        {"id": wf["id"]},
    )
    async with app.state.db.transaction() as session:
        await workflows.fire_schedules(session)
        await workflows.fire_schedules(session)
    after = (await api.call("GET", f"/workflows/{wf['id']}", expect=200)).json()
    assert after["execution_count"] == 1 and after["next_fire_at"] > wf["created_at"]


async def test_definitions_are_validated(api: Api) -> None:
    bad: list[dict[str, Any]] = [
        {
            "trigger": {"type": "event", "event_type": "policy.exploded"},
            "steps": [{"type": "wait_duration", "seconds": 1}],
        },
        {
            "trigger": {"type": "schedule", "cron": "every day"},
            "steps": [{"type": "wait_duration", "seconds": 1}],
        },
        {"trigger": {"type": "manual"}, "steps": []},
        {
            "trigger": {"type": "manual"},
            "steps": [{"type": "update_record", "entity": "customer", "set": {"dni": "x"}}],
        },
        {"trigger": {"type": "manual"}, "steps": [{"type": "call_webhook", "url": "file:///etc/passwd"}]},
        {"trigger": {"type": "manual"}, "steps": [{"type": "eval", "code": "__import__('os')"}]},
        {
            "trigger": {"type": "manual"},
            "steps": [
                {"type": "condition_check", "conditions": [{"path": "a", "op": "matches", "value": ".*"}]}
            ],
        },
    ]
    for definition in bad:
        await api.call(
            "POST", "/workflows", json={"name": "x", **definition}, headers=api.supervisor, expect=422
        )
    await api.call(
        "POST",
        "/workflows",
        json={"name": "x", "trigger": {"type": "manual"}, "steps": [{"type": "wait_duration", "seconds": 1}]},
        expect=403,
    )


def test_conditions_compare_numbers_as_decimals() -> None:
    data = {"premium_amount": "612.40", "tags": ["vip"], "customer": {"province": "Madrid"}, "n": 3}
    assert conditions.holds({"path": "premium_amount", "op": "gt", "value": 600}, data)
    assert not conditions.holds({"path": "premium_amount", "op": "gt", "value": "1000"}, data)
    assert conditions.holds({"path": "premium_amount", "op": "eq", "value": "612.4"}, data)
    assert conditions.holds({"path": "customer.province", "op": "contains", "value": "mad"}, data)
    assert conditions.holds({"path": "tags", "op": "contains", "value": "vip"}, data)
    assert conditions.holds({"path": "n", "op": "in", "value": [1, 2, 3]}, data)
    assert not conditions.holds({"path": "missing", "op": "eq", "value": None}, data)
    assert conditions.holds({"path": "missing", "op": "exists", "value": False}, data)
    assert not conditions.holds({"path": "customer.province", "op": "lt", "value": 5}, data)


async def test_a_new_workflow_is_on_or_off_by_a_boolean_not_a_number(api: Api) -> None:
    """Found by the merged contract run: `"active": 0` was accepted (coerced to false) where the
    document says boolean; the edit already refused it."""
    body = {
        "name": "wf-strict",
        "trigger": {"type": "manual"},
        "steps": [{"type": "wait_duration", "seconds": 60}],
    }
    for wrong in (0, 1, "false"):
        await api.call(
            "POST", "/workflows", json={**body, "active": wrong}, headers=api.supervisor, expect=422
        )
    made = await api.call(
        "POST", "/workflows", json={**body, "active": False}, headers=api.supervisor, expect=201
    )
    assert made.json()["active"] is False


@pytest.mark.parametrize(
    ("step", "field"),
    [
        ({"type": "create_task", "title": "t", "due_in_hours": False}, "due_in_hours"),
        ({"type": "create_task", "title": "t", "due_in_hours": "48"}, "due_in_hours"),
        ({"type": "wait_duration", "seconds": True}, "seconds"),
        ({"type": "wait_duration", "seconds": 60, "retry": {"max_attempts": True}}, "max_attempts"),
        ({"type": "wait_duration", "seconds": 60, "retry": {"backoff_seconds": "30"}}, "backoff_seconds"),
        ({"type": "call_webhook", "url": "https://hooks.example.com/x", "timeout_seconds": True}, "timeout"),
        ({"type": "call_webhook", "url": "https://hooks.example.com/x", "timeout_seconds": "5"}, "timeout"),
    ],
)
async def test_a_step_number_is_a_json_number_not_a_boolean_or_text(
    api: Api, step: dict[str, Any], field: str
) -> None:
    """Found by the contract run's coverage phase: `"due_in_hours": false` was stored as a task due
    now (pydantic's lax int reads false as 0), where the document says integer. Each step's numbers
    now take exactly what the document states, on create and on a new definition alike."""
    body = {"name": "wf-typed", "trigger": {"type": "manual"}, "steps": [step]}
    refused = await api.call("POST", "/workflows", json=body, headers=api.supervisor, expect=422)
    assert refused.headers["content-type"] == "application/problem+json"
    assert field in refused.text
    wf = await _workflow(api, [{"type": "wait_duration", "seconds": 60}])
    await api.call(
        "PUT",
        f"/workflows/{wf['id']}/definition",
        json={"trigger": {"type": "manual"}, "steps": [step]},
        headers=api.supervisor,
        expect=422,
    )
    listed = (await api.call("GET", "/workflows", params={"limit": 100}, expect=200)).json()["items"]
    assert [w["id"] for w in listed if w["name"] == "wf-typed"] == []


async def test_a_step_number_may_be_written_with_a_zero_fraction(api: Api) -> None:
    """JSON Schema's integer is a number without a fractional part: 48.0 is 48 hours."""
    wf = await _workflow(
        api,
        [
            {"type": "create_task", "title": "t", "due_in_hours": 48.0, "retry": {"max_attempts": 2.0}},
            {"type": "call_webhook", "url": "https://hooks.example.com/x", "timeout_seconds": 5},
        ],
    )
    steps = wf["definition"]["steps"]
    assert steps[0]["due_in_hours"] == 48 and steps[0]["retry"]["max_attempts"] == 2
    assert steps[1]["timeout_seconds"] == 5
