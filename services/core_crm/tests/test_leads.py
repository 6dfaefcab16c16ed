"""Inbound leads: signed per source, a timestamp window, replays refused; matched or created as a
prospect, source and campaign recorded, the lead workflow started."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx
import orjson
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from aintech_contracts.envelope import CloudEvent
from core_crm.consumers import consumer_specs
from core_crm.leads import scoring
from core_crm.leads.service import sign
from core_crm.workflows import service as workflows

from .conftest import DNIS, LEAD_SECRET, Api

URL = "/webhooks/leads/web"


def _signed(
    body: dict[str, Any], *, secret: str = LEAD_SECRET, at: int | None = None
) -> tuple[bytes, dict[str, str]]:
    raw = orjson.dumps(body)
    stamp = str(at if at is not None else int(time.time()))
    return raw, {
        "Content-Type": "application/json",
        "X-Lead-Timestamp": stamp,
        "X-Lead-Signature": sign(secret, stamp, raw),
    }


async def _post(api: Api, raw: bytes, headers: dict[str, str], *, path: str = URL) -> httpx.Response:
    return await api.client.post(path, content=raw, headers=headers)


COUNTS = {"leads": "SELECT count(*) FROM crm.leads", "customers": "SELECT count(*) FROM crm.customers"}


async def _count(api: Api, table: str) -> int:
    return int(await api.conn.scalar(text(COUNTS[table])) or 0)


def _lead(**fields: Any) -> dict[str, Any]:
    return {
        "first_name": "Marta",
        "last_name": "Gil",
        "email": f"lead-{uuid.uuid4().hex[:8]}@example.com",
        "campaign": "auto-invierno-2026",
        "interest": "auto",
        **fields,
    }


async def test_a_new_lead_becomes_a_prospect_with_its_source_and_campaign(api: Api) -> None:
    raw, headers = _signed(_lead(phone="612 345 678"))
    answer = await _post(api, raw, headers)
    assert answer.status_code == 202, answer.text
    body = answer.json()
    assert body["matched"] is False and body["matched_by"] is None
    customer = (await api.call("GET", f"/customers/{body['customer_id']}", expect=200)).json()
    assert customer["status"] == "prospect" and customer["lead_source"] == "web"
    assert customer["mobile"] == "+34612345678" and "lead:web" in customer["tags"]
    row = (
        await api.conn.execute(
            text("SELECT source, campaign FROM crm.leads WHERE id = :l"), {"l": body["lead_id"]}
        )
    ).one()
    assert tuple(row) == ("web", "auto-invierno-2026")
    [event] = await api.events("lead.received", key=body["customer_id"])
    assert event["data"]["campaign"] == "auto-invierno-2026" and event["data"]["matched"] is False
    [created] = (await api.call("GET", f"/customers/{body['customer_id']}/history", expect=200)).json()[
        "items"
    ]
    assert created["actor"] == {"type": "system"}  # no user behind a webhook


async def test_a_lead_matches_a_live_customer_by_email_phone_or_dni(api: Api) -> None:
    by_email = await api.customer()
    by_phone = await api.customer(mobile="633111222")
    by_dni = await api.customer(dni=DNIS[6])
    cases = [
        (_lead(email=by_email["email"].upper()), by_email, "email"),
        (_lead(email=None, phone="+34 633 111 222"), by_phone, "phone"),
        (_lead(email=None, dni=DNIS[6]), by_dni, "dni"),
    ]
    before = await _count(api, "customers")
    for payload, customer, how in cases:
        raw, headers = _signed(payload)
        answer = await _post(api, raw, headers)
        assert answer.status_code == 202, answer.text
        assert (answer.json()["customer_id"], answer.json()["matched_by"]) == (customer["id"], how)
    assert await _count(api, "customers") == before  # nobody new


async def test_a_replayed_lead_is_refused_and_nothing_is_stored(api: Api) -> None:
    raw, headers = _signed(_lead())
    assert (await _post(api, raw, headers)).status_code == 202
    leads, customers = await _count(api, "leads"), await _count(api, "customers")
    again = await _post(api, raw, headers)
    assert again.status_code == 409 and again.headers["content-type"].startswith("application/problem+json")
    assert "already received" in again.json()["detail"]
    assert (await _count(api, "leads"), await _count(api, "customers")) == (leads, customers)


async def test_bad_signatures_stale_timestamps_and_bad_leads_store_nothing(api: Api) -> None:
    payload = _lead()
    raw, good = _signed(payload)
    stale_raw, stale = _signed(payload, at=int(time.time()) - 3600)
    refusals = [
        (raw, {**good, "X-Lead-Signature": "sha256=" + "0" * 64}, URL, 403),
        (raw, _signed(payload, secret="another-secret-0123456789")[1], URL, 403),
        (raw + b" ", good, URL, 403),  # the body changed after signing
        (stale_raw, stale, URL, 403),
        (raw, {"Content-Type": "application/json"}, URL, 403),
        (raw, good, "/webhooks/leads/facebook", 404),
        (*_signed({"first_name": "Sin contacto"}), URL, 422),
        (*_signed(_lead(email="not-an-address")), URL, 422),
        (*_signed(_lead(dni="12345678A")), URL, 422),
        (
            b"{not json",
            _signed({})[1] | {"X-Lead-Signature": sign(LEAD_SECRET, good["X-Lead-Timestamp"], b"{not json")},
            URL,
            422,
        ),
    ]
    before = (await _count(api, "leads"), await _count(api, "customers"))
    for body, headers, path, expected in refusals:
        answer = await _post(api, body, headers, path=path)
        assert answer.status_code == expected, (path, headers, answer.text)
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert answer.json()["detail"]
    assert (await _count(api, "leads"), await _count(api, "customers")) == before


async def test_a_lead_starts_the_lead_workflow(api: Api, app: FastAPI) -> None:
    body = {
        "name": "Nuevo lead: llamar en 1 hora",
        "trigger": {
            "type": "event",
            "event_type": "lead.received",
            "conditions": [{"path": "source", "op": "eq", "value": "web"}],
        },
        "steps": [{"type": "create_task", "title": "Llamar al lead de ${campaign}", "priority": "high"}],
    }
    await api.call("POST", "/workflows", json=body, headers=api.supervisor, expect=201)
    raw, headers = _signed(_lead())
    answer = await _post(api, raw, headers)
    [event] = await api.events("lead.received", key=answer.json()["customer_id"])
    async with app.state.db.transaction() as session:
        assert await workflows.on_event(session, event=CloudEvent.model_validate(event)) == 1
    runs = await api.conn.scalar(
        text("SELECT count(*) FROM crm.workflow_executions WHERE trigger_data->'event'->>'id' = :e"),
        {"e": event["id"]},
    )
    assert runs == 1


def test_the_score_is_bounded_and_explained() -> None:
    facts = scoring.Facts(
        source="referral",
        details={"email": True, "phone": True, "mobile": True, "dni": True, "postal_code": True},
        replies=9,
        quotes=9,
        calls=9,
    )
    total, reasons = scoring.score(facts)
    assert total == 100  # 25 + 25 + 20 + 30 + 15 = 115, capped
    assert {r["factor"]: r["points"] for r in reasons} == {
        "source": 25,
        "completeness": 25,
        "replies": 20,
        "quotes_requested": 30,
        "calls": 15,
    }
    assert scoring.score(scoring.Facts(None, {}, 0, 0, 0)) == (0, [])


async def _deliver_to_scores(api: Api, app: FastAPI, event_type: str, key: str) -> None:
    spec = next(s for s in consumer_specs(app.state.runtime) if s.name == "core-crm.leads")
    for payload in await api.events(event_type, key=key):
        async with AsyncSession(bind=api.conn, join_transaction_mode="create_savepoint") as session:
            await spec.handlers[event_type](session, CloudEvent.model_validate(payload))
            await session.commit()


async def test_the_score_rises_with_replies_and_quotes_and_agents_list_leads_best_first(
    api: Api, app: FastAPI
) -> None:
    bare = (await _post(api, *_signed(_lead(campaign=None)))).json()
    rich = (await _post(api, *_signed(_lead(phone="655 000 111", postal_code="46001")))).json()
    first = (await api.call("GET", f"/customers/{bare['customer_id']}/lead-score", expect=200)).json()
    assert first["score"] == 20 and [r["factor"] for r in first["reasons"]] == ["source", "completeness"]
    await api.call(
        "POST",
        "/interactions",
        json={
            "customer_id": bare["customer_id"],
            "type": "whatsapp",
            "direction": "inbound",
            "description": "¿Precio?",
        },
        expect=201,
    )
    await api.call(
        "POST",
        "/quotes",
        json={
            "customer_id": bare["customer_id"],
            "quote_type": "auto",
            "coverage_details": {"cover": "terceros"},
            "base_premium": "500.00",
        },
        expect=201,
    )
    await _deliver_to_scores(api, app, "interaction.created", bare["customer_id"])
    await _deliver_to_scores(api, app, "quote.created", bare["customer_id"])
    after = (await api.call("GET", f"/customers/{bare['customer_id']}/lead-score", expect=200)).json()
    assert after["score"] == 20 + 10 + 15
    assert {r["factor"] for r in after["reasons"]} >= {"replies", "quotes_requested"}
    listed = (await api.call("GET", "/leads", params={"limit": 1}, expect=200)).json()
    assert listed["items"][0]["customer_id"] == bare["customer_id"] and listed["items"][0]["score"] == 45
    second = (
        await api.call("GET", "/leads", params={"limit": 1, "cursor": listed["next_cursor"]}, expect=200)
    ).json()
    assert second["items"][0]["customer_id"] == rich["customer_id"] and second["items"][0]["score"] == 30
    me = await api.customer_login(bare["customer_id"])
    await api.call("GET", "/leads", headers=me, expect=403)
