"""Nothing lost on the timeline: calls and messages matching no customer are kept, shown to agents,
linked by hand or automatically once a customer has their phone or e-mail."""

from __future__ import annotations

import asyncio
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import FastAPI
from sqlalchemy import text

from aintech_contracts.envelope import CloudEvent
from aintech_contracts.events.crm import InteractionLogged, InteractionTranscribed
from aintech_contracts.rbac import Role
from aintech_devtools.testing import publish_event
from core_crm.consumers import timeline
from core_crm.core.runtime import build_runtime
from core_crm.intake import service as intake

from .conftest import Api, Flow, Live, crm_settings


def _mobile() -> str:
    return f"+346{secrets.randbelow(10**8):08d}"


def _call(phone: str | None = None, email: str | None = None, **fields: Any) -> InteractionLogged:
    values: dict[str, Any] = {
        "source": "telephony",
        "external_id": f"CA{uuid.uuid4().hex}",
        "type": "call",
        "direction": "inbound",
        "occurred_at": datetime.now(UTC) - timedelta(minutes=5),
        "phone": phone,
        "email": email,
        "subject": "Llamada entrante",
        "summary": "Pregunta por un seguro de hogar.",
        "duration_seconds": 184,
        **fields,
    }
    return InteractionLogged(**values)


async def _publish(flow: Flow, data: InteractionLogged) -> str:
    key = str(data.customer_id or data.phone or data.email)
    return (await publish_event(flow.bootstrap, data, key=key, source=data.source)).id


async def _unmatched(flow: Flow, external_id: str) -> dict[str, Any]:
    intake_id = await flow.wait_for(
        "SELECT id FROM crm.unmatched_interactions WHERE external_id = :x", {"x": external_id}
    )
    return dict((await flow.api.call("GET", f"/unmatched-interactions/{intake_id}", expect=200)).json())


async def _timeline(api: Api, customer_id: str) -> list[dict[str, Any]]:
    page = (await api.call("GET", f"/customers/{customer_id}/timeline", expect=200)).json()
    return list(page["items"])


async def test_an_unmatched_call_is_kept_shown_and_linked_by_an_agent(flow: Flow) -> None:
    api = flow.api
    phone = _mobile()
    call = _call(phone=phone)
    await _publish(flow, call)
    kept = await _unmatched(flow, call.external_id)
    assert (kept["status"], kept["phone"], kept["summary"]) == ("open", phone, call.summary)
    listed = (await api.call("GET", "/unmatched-interactions", expect=200)).json()["items"]
    assert kept["id"] in [row["id"] for row in listed]
    customer_view = api.auth(Role.customer, sub=str(uuid.uuid4()))
    await api.call("GET", "/unmatched-interactions", headers=customer_view, expect=403)

    customer = await api.customer()  # the caller, known by another number
    linked = (
        await api.call(
            "POST",
            f"/unmatched-interactions/{kept['id']}/link",
            json={"customer_id": customer["id"]},
            expect=200,
        )
    ).json()
    assert linked["status"] == "linked" and linked["customer_id"] == customer["id"]
    assert linked["resolved_by"] == api.agent_id
    assert linked["phone"] is None and linked["summary"] is None, "the content lives on the interaction now"
    [entry] = await _timeline(api, customer["id"])
    assert (entry["id"], entry["source"], entry["description"], entry["duration"]) == (
        linked["interaction_id"],
        "telephony",
        call.summary,
        184,
    )
    created = await flow.event("crm.interaction", "interaction.created", customer["id"])
    assert created["data"]["interaction_id"] == linked["interaction_id"]
    await api.call(
        "POST",
        f"/unmatched-interactions/{kept['id']}/link",
        json={"customer_id": customer["id"]},
        expect=409,
    )

    again = await _publish(flow, call)  # a redelivery after the link changes nothing
    await flow.wait_for(
        "SELECT 1 FROM crm.processed_events WHERE event_id = :e AND consumer LIKE '%core-crm.timeline'",
        {"e": again},
    )
    assert len(await _timeline(api, customer["id"])) == 1


async def test_unmatched_contacts_link_themselves_when_a_customer_gets_that_email_or_phone(
    flow: Flow,
) -> None:
    api = flow.api
    email = f"nuevo-{uuid.uuid4().hex[:8]}@example.com"
    message = _call(
        email=email.upper(),
        source="omnichannel",
        external_id=str(uuid.uuid4()),
        type="email",
        subject="Quiero un presupuesto",
        summary="Hola, ¿me podéis llamar?",
        duration_seconds=None,
    )
    phone = _mobile()
    call = _call(phone=phone)
    await _publish(flow, message)
    await _publish(flow, call)
    await _unmatched(flow, message.external_id)
    await _unmatched(flow, call.external_id)

    # A new customer with that e-mail address: the message joins their timeline.
    newcomer = await api.customer(email=email)
    await flow.wait_for(
        "SELECT status = 'linked' FROM crm.unmatched_interactions WHERE external_id = :x",
        {"x": message.external_id},
    )
    [entry] = await _timeline(api, newcomer["id"])
    assert (entry["type"], entry["subject"], entry["source"]) == (
        "email",
        "Quiero un presupuesto",
        "omnichannel",
    )

    # An existing customer whose mobile is corrected to the calling number: the call joins theirs.
    known = await api.customer()
    etag = (await api.call("GET", f"/customers/{known['id']}", expect=200)).headers["etag"]
    await api.call(
        "PATCH",
        f"/customers/{known['id']}",
        json={"mobile": phone},
        headers={**api.agent, "If-Match": etag},
        expect=200,
    )
    resolved = await flow.wait_for(
        "SELECT resolved_at FROM crm.unmatched_interactions WHERE external_id = :x AND status = 'linked'",
        {"x": call.external_id},
    )
    assert resolved is not None
    kept = (await api.call("GET", "/unmatched-interactions", params={"status": "linked"}, expect=200)).json()
    row = next(r for r in kept["items"] if r["external_id"] == call.external_id)
    assert row["customer_id"] == known["id"] and row["resolved_by"] is None, "linked automatically"
    assert [e["type"] for e in await _timeline(api, known["id"])] == ["call"]


async def test_a_contact_kept_while_its_customer_is_created_is_still_linked(
    live: Live, live_app: FastAPI
) -> None:
    """The intake and the link take the same contact lock: a contact stored by a transaction that
    had not committed when the customer appeared is found by the link, which waits for it."""
    rt = build_runtime(crm_settings())
    db = live_app.state.db
    phone = _mobile()
    call = _call(phone=phone)
    async with db.transaction() as storing:
        kept = await intake.take_in(storing, rt=rt, data=call)  # matches nobody yet: kept
        customer = await live.customer(mobile=phone)  # committed meanwhile, on another connection

        async def link() -> int:
            async with db.transaction() as linking:
                return await intake.link_for_customer(linking, rt=rt, customer_id=uuid.UUID(customer["id"]))

        linking = asyncio.create_task(link())
        await live.database.wait_for_lock_waiters(1)  # the link waits for the contact's lock
    assert await linking == 1
    status = await live.conn.scalar(
        text("SELECT status FROM crm.unmatched_interactions WHERE id = :i"), {"i": kept.id}
    )
    assert status == "linked"
    assert [e["external_id"] for e in await _timeline(live, customer["id"])] == [call.external_id]


async def test_dismissing_deletes_the_content_and_closes_the_contact(api: Api, app: FastAPI) -> None:
    call = _call(phone=_mobile())
    async with app.state.db.transaction() as session:
        kept = await intake.take_in(session, rt=build_runtime(crm_settings()), data=call)
    url = f"/unmatched-interactions/{kept.id}"
    await api.call("POST", f"{url}/dismiss", json={"reason": "x" * 256}, expect=422)
    await api.call("POST", f"{url}/dismiss", json={"reason": "Número\x00"}, expect=422)
    await api.call("POST", f"{url}/dismiss", json={}, headers=api.auth(Role.customer), expect=403)
    dismissed = (
        await api.call("POST", f"{url}/dismiss", json={"reason": "Número equivocado"}, expect=200)
    ).json()
    assert (dismissed["status"], dismissed["dismiss_reason"]) == ("dismissed", "Número equivocado")
    assert dismissed["phone"] is None and dismissed["summary"] is None and dismissed["subject"] is None
    customer = await api.customer(mobile=call.phone)
    await api.call("POST", f"{url}/link", json={"customer_id": customer["id"]}, expect=409)
    await api.call(
        "POST",
        f"/unmatched-interactions/{uuid.uuid4()}/link",
        json={"customer_id": customer["id"]},
        expect=404,
    )
    listed = (
        await api.call("GET", "/unmatched-interactions", params={"status": "dismissed"}, expect=200)
    ).json()
    assert str(kept.id) in [r["id"] for r in listed["items"]]
    async with app.state.db.transaction() as session:
        # A redelivery of a dismissed contact stays dismissed, even now that the number is known.
        await intake.take_in(session, rt=build_runtime(crm_settings()), data=call)
    assert await _timeline(api, customer["id"]) == []


async def test_a_number_two_customers_share_matches_neither_and_waits_for_an_agent(flow: Flow) -> None:
    """Whoever typed the number in last (or first) must not get the caller's timeline entry."""
    api = flow.api
    phone = _mobile()
    first = await api.customer(mobile=phone)
    second = await api.customer(phone=phone)
    call = _call(phone=phone)
    await _publish(flow, call)
    kept = await _unmatched(flow, call.external_id)
    assert kept["status"] == "open", "an ambiguous number is left for an agent to choose"
    for customer in (first, second):
        assert await _timeline(api, customer["id"]) == []


async def test_a_calls_recording_consent_is_kept_on_its_interaction(live_app: FastAPI, live: Live) -> None:
    """GDPR/LOPDGDD: the caller's answer to the recording notice stays with the call on the timeline."""
    phone = _mobile()
    customer = await live.customer(mobile=phone)
    call = _call(phone=phone, recording_consent="refused")
    async with live_app.state.db.transaction() as session:
        await intake.take_in(session, rt=build_runtime(crm_settings()), data=call)
    stored = await live.conn.scalar(
        text("SELECT metadata FROM crm.interactions WHERE external_id = :x"), {"x": call.external_id}
    )
    assert stored == {"recording_consent": "refused"}
    assert [e["external_id"] for e in await _timeline(live, customer["id"])] == [call.external_id]


async def test_a_recorded_calls_transcript_is_attached_to_its_interaction_and_searchable(
    live_app: FastAPI, live: Live
) -> None:
    rt = build_runtime(crm_settings())
    phone = _mobile()
    customer = await live.customer(mobile=phone)
    call = _call(phone=phone, summary=None)
    handlers = timeline(rt).handlers
    transcribed = InteractionTranscribed(
        source="telephony",
        external_id=call.external_id,
        transcript="El perito visitará la vivienda el martes por la mañana.",
        transcribed_at=datetime.now(UTC),
    )
    async with live_app.state.db.transaction() as session:
        for payload in (call, transcribed):
            event = CloudEvent.wrap(payload, type_=payload.event_type, source="telephony", subject=None)
            await handlers[payload.event_type](session, event)
    found = (
        await live.call(
            "GET", "/interactions", params={"q": "PERITO visitará", "customer_id": customer["id"]}, expect=200
        )
    ).json()["items"]
    assert [i["external_id"] for i in found] == [call.external_id]
    assert found[0]["metadata"]["transcript"].startswith("El perito")
    none = await live.call(
        "GET", "/interactions", params={"q": "100%_", "customer_id": customer["id"]}, expect=200
    )
    assert none.json()["items"] == [], "wildcards in the query are literal"
    await live.call("GET", "/interactions", params={"q": "a\x00b"}, expect=422)
