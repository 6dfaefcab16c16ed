"""Outbound webhooks: admins subscribe URLs to CRM events; deliveries are signed (Standard
Webhooks), retried with backoff, logged, replayable, SSRF-safe, and never made on the request path."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import orjson
import pytest
from aiohttp import web
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession
from standardwebhooks.webhooks import Webhook

from aintech_contracts.envelope import CloudEvent
from aintech_contracts.rbac import Role
from core_crm.consumers import consumer_specs
from core_crm.core.base import utcnow
from core_crm.core.runtime import build_runtime
from core_crm.integrations import service as webhooks

from .conftest import Api, Live, crm_settings


@dataclass
class Target:
    url: str = ""
    failures: int = 0
    received: list[tuple[dict[str, str], bytes, int]] = field(default_factory=list)

    @property
    def succeeded(self) -> list[tuple[dict[str, str], bytes, int]]:
        return [r for r in self.received if r[2] == 200]


@pytest.fixture
async def target() -> AsyncIterator[Target]:
    state = Target()

    async def hook(request: web.Request) -> web.Response:
        body = await request.read()
        status = 500 if len(state.received) < state.failures else 200
        state.received.append((dict(request.headers), body, status))
        return web.Response(status=status, text="down" if status == 500 else "ok")

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    state.url = f"http://127.0.0.1:{port}/hook"
    yield state
    await runner.cleanup()


def _admin(api: Api) -> dict[str, str]:
    return api.auth(Role.admin, sub=str(uuid.uuid4()))


async def _subscribe(api: Api, url: str, types: list[str], headers: dict[str, str]) -> dict[str, Any]:
    body = {"url": url, "event_types": types}
    return dict(
        (await api.call("POST", "/integrations/webhooks", json=body, headers=headers, expect=201)).json()
    )


async def _fan_out(api: Api, app: FastAPI, event_type: str, key: str) -> CloudEvent:
    """The integrations consumer, as the worker runs it, on the event the CRM put in its outbox."""
    [payload] = await api.events(event_type, key=key)
    event = CloudEvent.model_validate(payload)
    spec = next(s for s in consumer_specs(app.state.runtime) if s.name == "core-crm.integrations")
    async with AsyncSession(bind=api.conn, join_transaction_mode="create_savepoint") as session:
        await spec.handlers[event_type](session, event)
        await spec.handlers[event_type](session, event)  # a redelivery adds nothing
        await session.commit()
    return event


async def _deliver(app: FastAPI, now: datetime) -> int:
    """Run the delivery job until nothing is due. One delivery per pass: the test's one rolled-back
    connection cannot hold the concurrent transactions a real pass records outcomes in."""
    rt = build_runtime(crm_settings(integration_batch_size=1))
    sent = 0
    while batch := await webhooks.deliver_due(app.state.db, rt=rt, now=now):
        sent += batch
    return sent


async def _next_attempt(api: Api, subscription_id: str) -> datetime:
    value = await api.conn.scalar(
        text("SELECT max(next_attempt_at) FROM crm.webhook_deliveries WHERE subscription_id = :s"),
        {"s": subscription_id},
    )
    assert value is not None
    return value


async def test_a_target_failing_three_times_then_succeeding_gets_the_event_once_validly_signed(
    api: Api, app: FastAPI, target: Target
) -> None:
    admin = _admin(api)
    sub = await _subscribe(api, target.url, ["customer.created"], admin)
    assert sub["secret"].startswith("whsec_") and sub["active"] is True
    target.failures = 3
    customer = await api.customer()
    assert target.received == []  # the request path never calls subscribers
    event = await _fan_out(api, app, "customer.created", customer["id"])
    now = utcnow()
    assert await _deliver(app, now) == 1
    for _ in range(3):
        assert await _deliver(app, now) == 0  # not due yet: backoff
        now = await _next_attempt(api, sub["id"])
        assert await _deliver(app, now) == 1
    assert await _deliver(app, now + timedelta(hours=2)) == 0  # delivered: never again
    assert [r[2] for r in target.received] == [500, 500, 500, 200]
    [(headers, body, _)] = target.succeeded
    assert len({h["webhook-id"] for h, _, _ in target.received}) == 1  # one message, four attempts
    verified = Webhook(sub["secret"]).verify(body, headers)
    assert verified["type"] == "customer.created" and verified["event_id"] == event.id
    assert verified["data"]["customer_id"] == customer["id"]
    with pytest.raises(Exception, match="signature"):
        Webhook(webhooks.new_secret()).verify(body, headers)
    log = (
        await api.call("GET", f"/integrations/webhooks/{sub['id']}/deliveries", headers=admin, expect=200)
    ).json()["items"]
    [delivery] = log
    assert delivery["status"] == "succeeded" and delivery["attempt_count"] == 4
    assert [a["status_code"] for a in delivery["attempts"]] == [500, 500, 500, 200]
    assert delivery["message_id"] == headers["webhook-id"]


async def test_backoff_grows_exponentially_with_jitter() -> None:
    import random

    rng = random.Random(7)
    delays = [webhooks.backoff(n, base=5, maximum=3600, rng=rng).total_seconds() for n in range(1, 12)]
    for attempt, delay in enumerate(delays, start=1):
        ceiling = min(3600, 5 * 2 ** (attempt - 1))
        assert ceiling / 2 <= delay <= ceiling
    assert len(set(delays)) == len(delays)  # jittered


async def test_a_target_failing_for_a_day_is_switched_off_with_a_notice(
    api: Api, app: FastAPI, target: Target
) -> None:
    admin = _admin(api)
    sub = await _subscribe(api, target.url, ["customer.created"], admin)
    target.failures = 10**6
    customer = await api.customer()
    await _fan_out(api, app, "customer.created", customer["id"])
    assert await _deliver(app, utcnow()) == 1
    assert await _deliver(app, utcnow() + timedelta(hours=25)) == 1
    got = (await api.call("GET", f"/integrations/webhooks/{sub['id']}", headers=admin, expect=200)).json()
    assert got["active"] is False and "failed for 24 h" in got["disabled_reason"]
    notice = await api.conn.scalar(
        text("SELECT title FROM crm.tasks WHERE assigned_to = :a AND task_type = 'integration'"),
        {"a": sub["created_by"]},
    )
    assert notice == "Webhook desactivado"
    log = (
        await api.call(
            "GET", f"/integrations/webhooks/{sub['id']}/deliveries?status=failed", headers=admin, expect=200
        )
    ).json()["items"]
    assert len(log) == 1 and log[0]["last_status_code"] == 500
    # Switched on again and the failed delivery replayed: it arrives, with the same webhook-id.
    target.failures = 0
    await api.call(
        "PATCH", f"/integrations/webhooks/{sub['id']}", json={"active": True}, headers=admin, expect=200
    )
    replay = (
        await api.call(
            "POST",
            f"/integrations/webhooks/{sub['id']}/deliveries/{log[0]['id']}/replay",
            headers=admin,
            expect=202,
        )
    ).json()
    assert replay["replay_of"] == log[0]["id"] and replay["message_id"] == log[0]["message_id"]
    assert await _deliver(app, utcnow() + timedelta(hours=26)) == 1
    assert target.received[-1][2] == 200
    assert target.received[-1][0]["webhook-id"] == log[0]["message_id"]


async def test_replaying_a_time_range(api: Api, app: FastAPI, target: Target) -> None:
    admin = _admin(api)
    sub = await _subscribe(api, target.url, ["customer.created"], admin)
    for _ in range(2):
        customer = await api.customer()
        await _fan_out(api, app, "customer.created", customer["id"])
    assert await _deliver(app, utcnow()) == 2
    start = utcnow() - timedelta(hours=1)
    body = {"since": start.isoformat(), "until": (start + timedelta(hours=2)).isoformat()}
    replayed = await api.call(
        "POST", f"/integrations/webhooks/{sub['id']}/replay", json=body, headers=admin, expect=202
    )
    assert replayed.json() == {"replayed": 2}
    assert await _deliver(app, utcnow()) == 2
    ids = [h["webhook-id"] for h, _, _ in target.received]
    assert len(ids) == 4 and sorted(ids[:2]) == sorted(ids[2:])
    backwards = {"since": body["until"], "until": body["since"]}
    await api.call(
        "POST", f"/integrations/webhooks/{sub['id']}/replay", json=backwards, headers=admin, expect=422
    )


async def test_only_admins_manage_webhooks_and_bad_subscriptions_store_nothing(
    api: Api, target: Target
) -> None:
    admin = _admin(api)
    body = {"url": target.url, "event_types": ["customer.created"]}
    await api.call("POST", "/integrations/webhooks", json=body, expect=403)  # an agent
    await api.call("POST", "/integrations/webhooks", json=body, headers=api.supervisor, expect=403)
    await api.call("GET", "/integrations/webhooks", headers=api.supervisor, expect=403)
    bad = [
        {"url": target.url, "event_types": ["customer.teleported"]},
        {"url": target.url, "event_types": ["crm.email_requested"]},  # plumbing, not a business event
        {"url": "http://10.1.2.3/hook", "event_types": ["customer.created"]},
        {"url": "http://169.254.169.254/latest/meta-data", "event_types": ["customer.created"]},
        {"url": "http://[::ffff:127.0.0.2]/hook", "event_types": ["customer.created"]},
        {"url": "http://localhost:9/hook", "event_types": ["customer.created"]},
        {"url": "http://metadata.google.internal/hook", "event_types": ["customer.created"]},
        {"url": "http://intranet/hook", "event_types": ["customer.created"]},
        {"url": "http://user:pw@example.com/hook", "event_types": ["customer.created"]},
        {"url": "ftp://example.com/hook", "event_types": ["customer.created"]},
        {"url": target.url, "event_types": []},
    ]
    for payload in bad:
        refused = await api.call("POST", "/integrations/webhooks", json=payload, headers=admin, expect=422)
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert refused.json()["detail"]
    stored = await api.conn.scalar(text("SELECT count(*) FROM crm.webhook_subscriptions"))
    assert stored == 0
    sub = await _subscribe(api, target.url, ["customer.created"], admin)
    await api.call(
        "PATCH",
        f"/integrations/webhooks/{sub['id']}",
        json={"url": "http://192.168.1.1/x"},
        headers=admin,
        expect=422,
    )
    listed = (await api.call("GET", "/integrations/webhooks", headers=admin, expect=200)).json()["items"]
    assert [s["url"] for s in listed] == [target.url] and "secret" not in listed[0]
    await api.call("DELETE", f"/integrations/webhooks/{sub['id']}", headers=admin, expect=204)
    await api.call("GET", f"/integrations/webhooks/{sub['id']}", headers=admin, expect=404)


def test_signatures_are_standard_webhooks() -> None:
    secret = webhooks.new_secret()
    body = orjson.dumps({"type": "policy.renewed", "data": {"policy_id": "p"}})
    headers = webhooks.signed_headers(secret, "msg_1", body, utcnow())
    assert headers["webhook-signature"].startswith("v1,")
    assert Webhook(secret).verify(body, headers)["type"] == "policy.renewed"


async def test_a_pass_sends_deliveries_concurrently_each_recorded_in_its_own_transaction(
    live: Live, live_app: FastAPI, target: Target
) -> None:
    admin = _admin(live)
    subs = [await _subscribe(live, target.url, ["customer.created"], admin) for _ in range(3)]
    customer = await live.customer()
    [payload] = await live.events("customer.created", key=customer["id"])
    async with live_app.state.db.transaction() as session:
        assert await webhooks.fan_out(session, event=CloudEvent.model_validate(payload)) == 3
    sent = await webhooks.deliver_due(live_app.state.db, rt=build_runtime(crm_settings()), now=utcnow())
    assert sent == 3 and len(target.succeeded) == 3
    statuses = await live.conn.scalars(
        text("SELECT status FROM crm.webhook_deliveries WHERE subscription_id = ANY(:s)"),
        {"s": [uuid.UUID(s["id"]) for s in subs]},
    )
    assert statuses.all() == ["succeeded"] * 3


async def test_every_delivery_checks_the_target_again(api: Api, app: FastAPI, target: Target) -> None:
    """Allowed when subscribed, no longer allowed when sent (allow-list changed, or a name that now
    resolves inside): the call is refused before connecting and the attempt logged."""
    admin = _admin(api)
    sub = await _subscribe(api, target.url, ["customer.created"], admin)
    customer = await api.customer()
    await _fan_out(api, app, "customer.created", customer["id"])
    strict = build_runtime(crm_settings(webhook_allowlist=[], integration_batch_size=1))
    assert await webhooks.deliver_due(app.state.db, rt=strict, now=utcnow()) == 1
    assert target.received == []
    [delivery] = (
        await api.call("GET", f"/integrations/webhooks/{sub['id']}/deliveries", headers=admin, expect=200)
    ).json()["items"]
    assert delivery["status"] == "retrying" and delivery["last_error"].startswith("refused: 127.0.0.1")
