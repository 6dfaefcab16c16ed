"""Policy proposals from parsed carrier documents: a document about a known policy proposes the
fields that differ, an unknown one proposes the policy; nothing changes until an agent accepts,
flagged fields only with the agent's value, once per event and once per acceptance."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from aintech_contracts.envelope import CloudEvent
from aintech_contracts.events.scraper import ParsedField, PolicyDocumentParsed
from core_crm.consumers import consumer_specs

from .conftest import DNIS, Api, Flow, once


def _document(number: str, **fields: Any) -> PolicyDocumentParsed:
    read: dict[str, Any] = {
        "policy_number": {"value": number, "confidence": 0.85},
        "holder": {"value": "Lucía Martín", "confidence": 0.85},
        "start_date": {"value": "2026-01-01", "confidence": 0.95},
        "end_date": {"value": "2027-01-01", "confidence": 0.95},
        "premium_total": {"value": "420.00", "confidence": 0.9, "taxes_included": True},
        "property_address": {"value": "Calle Mayor 12", "confidence": 0.85},
        **fields,
    }
    return PolicyDocumentParsed(
        job_id=uuid.uuid4(),
        carrier="mapfre",
        carrier_name="Mapfre",
        policy_number=number,
        fields={k: ParsedField.model_validate(v) for k, v in read.items() if v is not None},
        unreadable=[k for k, v in read.items() if v is None],
        pages=2,
        parsed_at=datetime.now(UTC),
    )


async def _deliver(api: Api, app: FastAPI, payload: PolicyDocumentParsed, event_id: str | None = None) -> str:
    """The CRM's consumer handler on the test's session, as the worker runs it."""
    spec = next(s for s in consumer_specs(app.state.runtime) if s.name == "core-crm.proposals")
    event = CloudEvent.wrap(payload, type_=payload.event_type, source="scraper", subject=payload.carrier)
    if event_id is not None:
        event = event.model_copy(update={"id": event_id})
    async with AsyncSession(bind=api.conn, join_transaction_mode="create_savepoint") as session:
        await spec.handlers[payload.event_type](session, event)
        await session.commit()
    return str(event.id)


async def _proposals(api: Api, number: str, **params: str) -> list[dict[str, Any]]:
    page = (await api.call("GET", "/policy-proposals", params={"limit": "100", **params}, expect=200)).json()
    return [p for p in page["items"] if p["policy_number"] == number]


def _number() -> str:
    return f"MAP-{uuid.uuid4().hex[:10].upper()}"


async def test_a_document_of_a_known_policy_proposes_only_the_fields_that_differ(
    api: Api, app: FastAPI
) -> None:
    customer = await api.customer(dni=DNIS[0])
    number = _number()
    policy = await api.policy(customer["id"], policy_number=number)
    document = _document(
        number,
        premium_total={"value": "455.30", "confidence": 0.9},
        end_date={"value": "2027-02-01", "confidence": 0.95},
    )
    event_id = await _deliver(api, app, document)
    await _deliver(api, app, document, event_id=event_id)  # redelivered: still one proposal
    (proposal,) = await _proposals(api, number)
    assert proposal["kind"] == "reconcile" and proposal["status"] == "pending"
    assert proposal["policy_id"] == policy["id"] and proposal["customer_id"] == customer["id"]
    assert {f["field"]: (f["old"], f["new"], f["confidence"]) for f in proposal["fields"]} == {
        "premium_total": ("420.00", "455.30", 0.9),
        "end_date": ("2027-01-01", "2027-02-01", 0.95),
    }
    unchanged = (await api.call("GET", f"/policies/{policy['id']}", expect=200)).json()
    assert unchanged["premium_amount"] == "420.00" and unchanged["version"] == policy["version"]


async def test_accepting_a_reconcile_updates_the_policy_once(api: Api, app: FastAPI) -> None:
    customer = await api.customer()
    number = _number()
    policy = await api.policy(customer["id"], policy_number=number)
    await _deliver(
        api,
        app,
        _document(
            number,
            premium_total={"value": "455.30", "confidence": 0.9},
            property_address={"value": "Calle Mayor 14", "confidence": 0.85},
        ),
    )
    (proposal,) = await _proposals(api, number)
    url = f"/policy-proposals/{proposal['id']}/accept"
    await api.call("POST", url, json={}, expect=428)  # neither If-Match nor Idempotency-Key
    key = once()
    accepted = (await api.call("POST", url, json={}, headers={**api.agent, **key}, expect=200)).json()
    replay = await api.call("POST", url, json={}, headers={**api.agent, **key}, expect=200)
    assert replay.headers.get("Idempotent-Replayed") and replay.json() == accepted
    await api.call("POST", url, json={}, headers={**api.agent, **once()}, expect=409)
    assert accepted["status"] == "accepted" and accepted["applied"] == ["premium_total", "property_address"]
    after = (await api.call("GET", f"/policies/{policy['id']}", expect=200)).json()
    assert after["premium_amount"] == "455.30" and after["annual_premium"] == "455.30"
    assert after["details"]["property_address"] == "Calle Mayor 14"
    terms = (await api.call("GET", f"/policies/{policy['id']}/terms", expect=200)).json()
    assert [t["premium_amount"] for t in terms] == ["455.30"]
    history = (await api.call("GET", f"/policies/{policy['id']}/history", expect=200)).json()["items"]
    changed = [h for h in history if h["operation"] == "updated" and "premium_amount" in h["changes"]]
    assert [h["changes"]["premium_amount"] for h in changed] == [{"old": 420.0, "new": 455.3}]
    assert changed[0]["actor"]["id"] == api.agent_id


async def test_a_flagged_field_is_shown_but_never_applied_without_the_agents_value(
    api: Api, app: FastAPI
) -> None:
    customer = await api.customer()
    number = _number()
    policy = await api.policy(customer["id"], policy_number=number)
    await _deliver(
        api,
        app,
        _document(
            number,
            premium_total={"value": "999.00", "confidence": 0.4},
            property_address={"value": "Calle Mayor 14", "confidence": 0.85},
        ),
    )
    (proposal,) = await _proposals(api, number)
    (flagged,) = [f for f in proposal["fields"] if f["field"] == "premium_total"]
    assert flagged["flagged"] and "low confidence" in flagged["reason"] and flagged["new"] == "999.00"
    accepted = (
        await api.call(
            "POST",
            f"/policy-proposals/{proposal['id']}/accept",
            json={},
            headers={**api.agent, **once()},
            expect=200,
        )
    ).json()
    assert accepted["applied"] == ["property_address"]
    after = (await api.call("GET", f"/policies/{policy['id']}", expect=200)).json()
    assert after["premium_amount"] == "420.00"
    assert after["details"]["property_address"] == "Calle Mayor 14"


async def test_a_flagged_field_is_applied_with_the_value_the_agent_supplies(api: Api, app: FastAPI) -> None:
    customer = await api.customer()
    number = _number()
    policy = await api.policy(customer["id"], policy_number=number)
    await _deliver(api, app, _document(number, premium_total={"value": "999.00", "confidence": 0.4}))
    (proposal,) = await _proposals(api, number)
    url = f"/policy-proposals/{proposal['id']}/accept"
    bad = await api.call(
        "POST", url, json={"values": {"premium_total": "abc"}}, headers={**api.agent, **once()}, expect=422
    )
    assert "values.premium_total" in bad.json()["detail"]
    read = await api.call("GET", f"/policy-proposals/{proposal['id']}", expect=200)
    accepted = (
        await api.call(
            "POST",
            url,
            json={"values": {"premium_total": "460.00"}},
            headers={**api.agent, "If-Match": read.headers["ETag"]},
            expect=200,
        )
    ).json()
    assert accepted["applied"] == ["premium_total"]
    after = (await api.call("GET", f"/policies/{policy['id']}", expect=200)).json()
    assert after["premium_amount"] == "460.00"


async def test_an_unknown_policy_proposes_creating_it_for_the_holder_found_by_dni(
    api: Api, app: FastAPI
) -> None:
    customer = await api.customer(dni=DNIS[1])
    number = _number()
    await _deliver(
        api,
        app,
        _document(number, holder_id={"value": DNIS[1], "confidence": 0.99, "check_letter_valid": True}),
    )
    (proposal,) = await _proposals(api, number, kind="create")
    assert (
        proposal["kind"] == "create"
        and proposal["customer_id"] == customer["id"]
        and proposal["policy_id"] is None
    )
    assert {f["field"] for f in proposal["fields"]} >= {
        "start_date",
        "end_date",
        "premium_total",
        "property_address",
    }
    assert await api.call("GET", f"/policies/by-number/{number}", expect=404)
    url = f"/policy-proposals/{proposal['id']}/accept"
    key = {**api.agent, **once()}
    body = {"details": {"property_type": "apartment"}}
    accepted = (await api.call("POST", url, json=body, headers=key, expect=200)).json()
    await api.call("POST", url, json=body, headers=key, expect=200)  # replayed, not a second policy
    policy = (await api.call("GET", f"/policies/by-number/{number}", expect=200)).json()
    assert accepted["policy_id"] == policy["id"] and policy["customer_id"] == customer["id"]
    assert policy["carrier"] == "Mapfre" and policy["premium_amount"] == "420.00"
    assert policy["details"] == {"property_address": "Calle Mayor 12", "property_type": "apartment"}
    (created,) = await api.events("policy.created", key=policy["id"])
    assert created["data"]["policy_number"] == number
    count = await api.conn.scalar(
        text("SELECT count(*) FROM crm.policies WHERE policy_number = :n"), {"n": number}
    )
    assert count == 1


async def test_a_wrong_check_letter_matches_no_customer_and_the_agent_names_one(
    api: Api, app: FastAPI
) -> None:
    customer = await api.customer(dni=DNIS[2])
    number = _number()
    await _deliver(
        api,
        app,
        _document(
            number, holder_id={"value": DNIS[2][:-1] + "A", "confidence": 0.3, "check_letter_valid": False}
        ),
    )
    (proposal,) = await _proposals(api, number)
    assert proposal["customer_id"] is None
    (holder_id,) = [f for f in proposal["fields"] if f["field"] == "holder_id"]
    assert holder_id["flagged"] and "check letter" in holder_id["reason"]
    url = f"/policy-proposals/{proposal['id']}/accept"
    body: dict[str, Any] = {"details": {"property_type": "house"}}
    refused = await api.call("POST", url, json=body, headers={**api.agent, **once()}, expect=422)
    assert "customer_id" in refused.json()["detail"]
    accepted = await api.call(
        "POST", url, json={**body, "customer_id": customer["id"]}, headers={**api.agent, **once()}, expect=200
    )
    assert accepted.json()["customer_id"] == customer["id"]


async def test_rejecting_keeps_the_reason_and_changes_nothing(api: Api, app: FastAPI) -> None:
    customer = await api.customer()
    number = _number()
    policy = await api.policy(customer["id"], policy_number=number)
    await _deliver(api, app, _document(number, premium_total={"value": "455.30", "confidence": 0.9}))
    (proposal,) = await _proposals(api, number, status="pending")
    url = f"/policy-proposals/{proposal['id']}"
    rejected = (
        await api.call(
            "POST",
            f"{url}/reject",
            json={"reason": "Documento de otra anualidad"},
            headers={**api.agent, **once()},
            expect=200,
        )
    ).json()
    assert rejected["status"] == "rejected" and rejected["rejection_reason"] == "Documento de otra anualidad"
    await api.call("POST", f"{url}/accept", json={}, headers={**api.agent, **once()}, expect=409)
    assert await _proposals(api, number, status="pending") == []
    assert [p["id"] for p in await _proposals(api, number, status="rejected")] == [proposal["id"]]
    after = (await api.call("GET", f"/policies/{policy['id']}", expect=200)).json()
    assert after["premium_amount"] == "420.00" and after["version"] == policy["version"]


async def test_customers_cannot_see_or_decide_proposals_even_about_their_own_policy(
    api: Api, app: FastAPI
) -> None:
    customer = await api.customer()
    number = _number()
    await api.policy(customer["id"], policy_number=number)
    await _deliver(api, app, _document(number, premium_total={"value": "1.00", "confidence": 0.9}))
    (proposal,) = await _proposals(api, number)
    me = await api.customer_login(customer["id"])
    await api.call("GET", "/policy-proposals", headers=me, expect=403)
    await api.call("GET", f"/policy-proposals/{proposal['id']}", headers=me, expect=403)
    await api.call(
        "POST", f"/policy-proposals/{proposal['id']}/accept", json={}, headers={**me, **once()}, expect=403
    )
    await api.call(
        "POST",
        f"/policy-proposals/{proposal['id']}/reject",
        json={"reason": "x"},
        headers={**me, **once()},
        expect=403,
    )
    assert (await api.call("GET", f"/policy-proposals/{proposal['id']}", expect=200)).json()[
        "status"
    ] == "pending"


async def test_a_document_number_of_another_carrier_is_not_that_policy(api: Api, app: FastAPI) -> None:
    customer = await api.customer()
    number = _number()
    await api.policy(customer["id"], policy_number=number, carrier="Allianz")
    await _deliver(api, app, _document(number))
    (proposal,) = await _proposals(api, number)
    assert proposal["kind"] == "create" and proposal["policy_id"] is None


async def test_parsed_documents_on_kafka_become_proposals(flow: Flow) -> None:
    api = flow.api
    customer = await api.customer(dni=DNIS[3])
    number = _number()
    await api.policy(customer["id"], policy_number=number)
    unknown = _number()
    await flow.publish(
        _document(number, premium_total={"value": "470.00", "confidence": 0.9}),
        key="mapfre",
        source="scraper",
    )
    await flow.publish(
        _document(unknown, holder_id={"value": DNIS[3], "confidence": 0.99, "check_letter_valid": True}),
        key="mapfre",
        source="scraper",
    )
    for n in (number, unknown):
        await flow.wait_for("SELECT id FROM crm.policy_proposals WHERE policy_number = :n", {"n": n})
    kinds = {n: (await _proposals(api, n))[0] for n in (number, unknown)}
    assert kinds[number]["kind"] == "reconcile" and kinds[unknown]["kind"] == "create"
    assert kinds[unknown]["customer_id"] == customer["id"]
    await api.conn.execute(
        text("DELETE FROM crm.policy_proposals WHERE policy_number IN (:a, :b)"), {"a": number, "b": unknown}
    )


async def test_a_document_of_the_next_term_is_accepted_as_a_renewal(api: Api, app: FastAPI) -> None:
    customer = await api.customer()
    number = _number()
    policy = await api.policy(customer["id"], policy_number=number)
    await _deliver(
        api,
        app,
        _document(
            number,
            start_date={"value": "2027-01-01", "confidence": 0.95},
            end_date={"value": "2028-01-01", "confidence": 0.95},
            premium_total={"value": "441.00", "confidence": 0.9},
        ),
    )
    (proposal,) = await _proposals(api, number)
    await api.call(
        "POST",
        f"/policy-proposals/{proposal['id']}/accept",
        json={},
        headers={**api.agent, **once()},
        expect=200,
    )
    after = (await api.call("GET", f"/policies/{policy['id']}", expect=200)).json()
    assert after["term_number"] == 2 and after["coverage_end_date"] == "2028-01-01"
    terms = (await api.call("GET", f"/policies/{policy['id']}/terms", expect=200)).json()
    assert [(t["start_date"], t["premium_amount"]) for t in terms] == [
        ("2026-01-01", "420.00"),
        ("2027-01-01", "441.00"),
    ]
    (renewed,) = await api.events("policy.renewed", key=policy["id"])
    assert renewed["data"]["previous_end_date"] == "2027-01-01"
