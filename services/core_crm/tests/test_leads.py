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

from aintech_contracts.envelope import CloudEvent
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
