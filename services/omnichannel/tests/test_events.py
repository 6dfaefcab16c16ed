"""Event-driven delivery and the notification centre: CRM events become templates on the customer's
preferred channel and in-app notifications pushed live; the read model follows customer events."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text
from websockets.exceptions import InvalidStatus

from aintech_contracts.envelope import CloudEvent
from aintech_contracts.events import crm
from aintech_contracts.events.base import EventData
from aintech_contracts.rbac import Role
from aintech_contracts.statuses import ClaimStatus
from aintech_devtools.api import eventually
from aintech_devtools.testing import patient_consumer, publish_event
from aintech_shared.events.consumer import EventConsumer
from omnichannel.consumers import consumer_specs
from omnichannel.contacts import service as contacts
from omnichannel.core.runtime import build_runtime
from omnichannel.delivery import consumers, parking
from omnichannel.delivery.dispatcher import Dispatcher
from omnichannel.models import MESSAGING
from omnichannel.settings import Settings

from .conftest import Api
from .sockets import Socket, ws_url


def phone() -> str:
    return "+346" + str(uuid.uuid4().int)[:8]


async def handle(api: Api, handler: Any, payload: EventData, *, event_id: str | None = None) -> CloudEvent:
    event = CloudEvent.wrap(payload, type_=payload.event_type, source="core-crm", subject=None)
    if event_id:
        event.id = event_id
    async with api.db.transaction() as session:
        await handler(session, event)
    return event


async def test_a_quote_goes_out_on_whatsapp_or_sms_in_the_customers_language_and_email_is_the_crms(
    api: Api, dispatcher: Dispatcher
) -> None:
    number, mail = phone(), f"q-{uuid.uuid4().hex[:8]}@example.com"
    by_whatsapp = await api.customer(mobile=number, email=mail, preferred_channel="whatsapp")
    await api.open_whatsapp_window(number)  # free text (templates: test_whatsapp_templates.py)
    sms_number = phone()
    by_sms = await api.customer(mobile=sms_number, preferred_channel="sms", language="en", first_name="John")
    by_email = await api.customer(
        email=f"en-{mail}", mobile=phone(), preferred_channel="email", language="en"
    )
    for customer_id in (by_whatsapp, by_sms, by_email):
        await handle(
            api,
            consumers.on_quote_created,
            crm.QuoteCreated(
                quote_id=uuid.uuid4(),
                quote_number="Q-2026-0007",
                quote_type="auto",
                customer_id=customer_id,
                status="sent",
                base_premium=Decimal("400.00"),
                total_premium=Decimal("385.20"),
                carriers=[crm.CarrierOffer(carrier="Allianz", premium=Decimal("385.20"))],
                best_carrier="Allianz",
            ),
        )
    assert await dispatcher.dispatch_once() == 2
    [whatsapp] = api.twilio.to(number)
    assert whatsapp["to"] == f"whatsapp:{number}"
    assert (
        "Q-2026-0007" in whatsapp["body"] and "385.20" in whatsapp["body"] and "Allianz" in whatsapp["body"]
    )
    [sms] = api.twilio.to(sms_number)
    assert sms["body"].startswith("Hello John, your quote Q-2026-0007")
    assert api.sendgrid.to(f"en-{mail}") == [], "e-mail is the CRM's comparison (crm.email_requested)"
    assert api.sendgrid.to(mail) == [], "the WhatsApp customer got no e-mail"


async def test_claim_status_changes_notify_the_customer_live_and_by_template(
    api: Api, dispatcher: Dispatcher, replicas: list[str]
) -> None:
    user_id, mail = uuid.uuid4(), f"c-{uuid.uuid4().hex[:8]}@example.com"
    customer_id = await api.customer(email=mail, user_id=user_id, preferred_channel="email")
    adjuster = uuid.uuid4()
    owner = api.person(Role.customer, user_id=user_id)
    socket = await Socket.open(ws_url(replicas[0], "/ws/notifications"), owner.token)
    try:
        assert (await socket.until(lambda f: f["type"] == "hello"))["unread"] == 0
        approved = crm.ClaimApproved(
            claim_id=uuid.uuid4(),
            claim_number="CLM-77",
            customer_id=customer_id,
            policy_id=uuid.uuid4(),
            approved_amount=Decimal("1250.00"),
            adjuster_id=adjuster,
            approved_by=uuid.uuid4(),
        )
        await handle(api, consumers.on_claim, approved)
        pushed = await socket.until(lambda f: f["type"] == "notification")
        assert pushed["notification"]["kind"] == "claim_status_changed"
        assert pushed["notification"]["title"] == "Siniestro CLM-77: aprobado"
        assert pushed["unread"] == 1
    finally:
        await socket.close()
    await dispatcher.dispatch_once()
    mails = api.sendgrid.to(mail)
    assert len(mails) == 1
    assert "1250.00" in mails[0]["content"][0]["value"]

    history = (await api.client.get("/notifications", headers=owner.auth)).json()
    assert len(history["items"]) == 1 and history["next_cursor"] is None
    note_id = history["items"][0]["id"]
    adjuster_person = api.person(Role.agent, user_id=adjuster)
    assert (await api.client.get("/notifications/unread-count", headers=adjuster_person.auth)).json() == {
        "unread": 1
    }
    assert (
        await api.client.post(f"/notifications/{note_id}/read", headers=adjuster_person.auth)
    ).status_code == 404
    read = await api.client.post(f"/notifications/{note_id}/read", headers=owner.auth)
    assert read.status_code == 200 and read.json()["read_at"] is not None
    assert (await api.client.get("/notifications/unread-count", headers=owner.auth)).json() == {"unread": 0}
    assert (await api.client.post("/notifications/read-all", headers=adjuster_person.auth)).json() == {
        "unread": 0
    }


async def test_a_new_claim_reaches_the_customer_as_received_in_their_language(
    api: Api, dispatcher: Dispatcher
) -> None:
    """The CRM's first claim status is ``reported``: the customer reads "recibido" / "received"."""
    spanish_number, english_number = phone(), phone()
    spanish = await api.customer(mobile=spanish_number, preferred_channel="sms")
    english = await api.customer(
        mobile=english_number, preferred_channel="sms", language="en", first_name="John"
    )
    for customer_id, number in ((spanish, "SIN-2026-1"), (english, "SIN-2026-2")):
        await handle(
            api,
            consumers.on_claim,
            crm.ClaimCreated(
                claim_id=uuid.uuid4(),
                claim_number=number,
                claim_type="auto",
                status=ClaimStatus.reported,
                customer_id=customer_id,
                policy_id=uuid.uuid4(),
                policy_number="POL-1",
                incident_date=datetime.now(UTC),
                description="Golpe en el aparcamiento",
            ),
        )
    assert await dispatcher.dispatch_once() == 2
    [in_spanish] = api.twilio.to(spanish_number)
    assert in_spanish["body"].startswith("Hola Lucía, su siniestro SIN-2026-1: recibido.")
    [in_english] = api.twilio.to(english_number)
    assert in_english["body"].startswith("Hello John, your claim SIN-2026-2: received.")
    assert "reported" not in in_spanish["body"] + in_english["body"]


async def test_a_claim_edit_without_a_status_change_tells_the_customer_nothing(
    api: Api, dispatcher: Dispatcher
) -> None:
    """An adjuster assigned or a field edited publishes ``claim.updated`` with no previous status:
    the customer, told once of the new claim, is not told its unchanged status again."""
    number = phone()
    customer_id = await api.customer(mobile=number, preferred_channel="sms")
    await handle(
        api,
        consumers.on_claim,
        crm.ClaimUpdated(
            claim_id=uuid.uuid4(),
            claim_number="SIN-2026-3",
            status=ClaimStatus.reported,
            customer_id=customer_id,
            policy_id=uuid.uuid4(),
            adjuster_id=uuid.uuid4(),
            changed_fields=["adjuster_id"],
        ),
    )
    assert await dispatcher.dispatch_once() == 0
    assert api.twilio.to(number) == []


async def test_preferences_choose_the_channels_of_each_kind(api: Api, dispatcher: Dispatcher) -> None:
    agent_id, number = uuid.uuid4(), phone()
    await api.customer(mobile=number, user_id=agent_id)  # the assignee's contact details
    agent = api.person(Role.agent, user_id=agent_id)
    prefs = await api.client.put(
        "/notifications/preferences",
        json={"preferences": [{"kind": "task_assigned", "in_app": False, "sms": True}]},
        headers=agent.auth,
    )
    assert prefs.status_code == 200
    by_kind = {p["kind"]: p for p in prefs.json()}
    assert by_kind["task_assigned"] == {
        "kind": "task_assigned",
        "in_app": False,
        "email": False,
        "sms": True,
        "whatsapp": False,
    }
    assert by_kind["claim_status_changed"]["in_app"] is True
    await handle(
        api,
        consumers.on_task_created,
        crm.TaskCreated(
            task_id=uuid.uuid4(),
            title="Llamar a Lucía por la renovación",
            priority="high",
            assigned_to=agent_id,
        ),
    )
    assert (await api.client.get("/notifications", headers=agent.auth)).json()["items"] == []
    await dispatcher.dispatch_once()
    [sms] = api.twilio.to(number)
    assert "Llamar a Lucía" in sms["body"]
    bad = await api.client.put(
        "/notifications/preferences", json={"preferences": [{"kind": "nope"}]}, headers=agent.auth
    )
    assert bad.status_code == 422


async def test_customer_events_keep_the_read_model_and_older_updates_lose(api: Api) -> None:
    customer_id, number = uuid.uuid4(), phone()
    base: dict[str, Any] = {
        "customer_id": customer_id,
        "customer_type": "individual",
        "first_name": "Ana",
        "last_name": "Ruiz",
        "status": "active",
        "mobile": number,
        "email": "Ana.Ruiz@Example.com",
        "segment": "premium",
    }
    await handle(api, consumers.on_customer, crm.CustomerCreated(**base))
    await handle(
        api,
        consumers.on_customer,
        crm.CustomerUpdated(**{**base, "first_name": "Ana María"}, changed_fields=["first_name"], version=3),
    )
    await handle(
        api,
        consumers.on_customer,
        crm.CustomerUpdated(**{**base, "first_name": "Viejo"}, changed_fields=["first_name"], version=2),
    )
    [row] = await api.sql(
        "SELECT first_name, email, segment FROM omnichannel.contacts WHERE customer_id = :c", c=customer_id
    )
    assert row == {"first_name": "Ana María", "email": "ana.ruiz@example.com", "segment": "premium"}

    await api.inbound(number, "Hola")
    [conversation] = await api.sql(
        "SELECT customer_id FROM omnichannel.conversations WHERE address = :a", a=number
    )
    assert conversation["customer_id"] == customer_id

    await handle(
        api,
        consumers.on_customer_deleted,
        crm.CustomerDeleted(customer_id=customer_id, reason="erased", deleted_at=datetime.now(UTC)),
    )
    [erased] = await api.sql(
        "SELECT first_name, email, mobile, deleted_at FROM omnichannel.contacts WHERE customer_id = :c",
        c=customer_id,
    )
    assert (
        erased["first_name"] == ""
        and erased["email"] is None
        and erased["mobile"] is None
        and erased["deleted_at"]
    )


async def test_crm_email_requests_are_delivered_as_written_once_per_request(
    api: Api, dispatcher: Dispatcher
) -> None:
    to = f"r-{uuid.uuid4().hex[:8]}@example.com"
    request = crm.EmailRequested(
        request_id=uuid.uuid4(),
        to=to,
        subject="Su presupuesto",
        body_text="Adjuntamos su presupuesto.",
        template="quote",
    )
    # The same request published twice (two event ids): delivered once.
    await handle(api, consumers.on_email_requested, request)
    await handle(api, consumers.on_email_requested, request)
    await dispatcher.dispatch_once()
    [mail] = api.sendgrid.to(to)
    assert mail["subject"] == "Su presupuesto"
    assert mail["content"][0]["value"] == "Adjuntamos su presupuesto."


async def test_the_inbox_socket_pushes_an_inbound_message_to_agents(api: Api, replicas: list[str]) -> None:
    agent = api.person(Role.agent)
    socket = await Socket.open(ws_url(replicas[1], "/ws/inbox"), agent.token)
    try:
        await socket.until(lambda f: f["type"] == "hello")
        number = phone()
        await api.inbound(number, "¿Está mi póliza activa?")
        created = await socket.until(lambda f: f["type"] == "message.created")
        assert created["message"]["body"] == "¿Está mi póliza activa?"
        assert created["message"]["from_address"] == number
    finally:
        await socket.close()
    customer = api.person(Role.customer)
    with pytest.raises(InvalidStatus) as refused:
        await Socket.open(ws_url(replicas[1], "/ws/inbox"), customer.token)
    assert refused.value.response.status_code == 403


async def test_a_notification_is_created_once_per_source_event(api: Api) -> None:
    from omnichannel.notifications import service as notifications

    user_id = uuid.uuid4()
    for _ in range(2):
        async with api.db.transaction() as session:
            await notifications.notify(
                session,
                user_id=user_id,
                kind="fraud_alert",
                title="Alerta",
                body="Revisar",
                source_event_id="ev-1",
            )
    person = api.person(Role.supervisor, user_id=user_id)
    assert (await api.client.get("/notifications/unread-count", headers=person.auth)).json() == {"unread": 1}


def quote_for(customer_id: uuid.UUID, number: str) -> crm.QuoteCreated:
    return crm.QuoteCreated(
        quote_id=uuid.uuid4(),
        quote_number=number,
        quote_type="home",
        customer_id=customer_id,
        status="sent",
        base_premium=Decimal("300.00"),
        total_premium=Decimal("290.00"),
        carriers=[crm.CarrierOffer(carrier="Mapfre", premium=Decimal("290.00"))],
        best_carrier="Mapfre",
    )


def customer_created(customer_id: uuid.UUID, number: str) -> crm.CustomerCreated:
    return crm.CustomerCreated(
        customer_id=customer_id,
        customer_type="individual",
        first_name="Marta",
        last_name="Gil",
        mobile=number,
        preferred_channel="whatsapp",
        preferred_language="es",
        status="active",
    )


async def parked_rows(api: Api, customer_id: uuid.UUID) -> list[dict[str, Any]]:
    return await api.sql(
        "SELECT event_type, status, detail FROM omnichannel.parked_deliveries WHERE customer_id = :c",
        c=customer_id,
    )


async def test_a_quote_that_arrives_before_its_customer_is_sent_when_the_customer_does(
    api: Api, dispatcher: Dispatcher
) -> None:
    customer_id, number = uuid.uuid4(), phone()
    await api.open_whatsapp_window(number)  # free text (templates: test_whatsapp_templates.py)
    early = await handle(api, consumers.on_quote_created, quote_for(customer_id, "Q-EARLY-1"))
    await handle(api, consumers.on_quote_created, quote_for(customer_id, "Q-EARLY-1"), event_id=early.id)
    assert await dispatcher.dispatch_once() == 0, "nobody to write to yet"
    assert await parked_rows(api, customer_id) == [
        {"event_type": "quote.created", "status": "parked", "detail": None}
    ], "parked once, even when the event is delivered twice"

    supervisor = api.person(Role.supervisor)
    listed = await api.client.get("/deliveries/parked", params={"status": "parked"}, headers=supervisor.auth)
    assert listed.status_code == 200
    assert [(p["event_id"], p["customer_id"]) for p in listed.json()["items"]] == [
        (early.id, str(customer_id))
    ]
    forbidden = await api.client.get("/deliveries/parked", headers=api.person(Role.agent).auth)
    assert forbidden.status_code == 403

    await handle(api, consumers.on_customer, customer_created(customer_id, number))
    assert await dispatcher.dispatch_once() == 1
    [sent] = api.twilio.to(number)
    assert "Q-EARLY-1" in sent["body"]
    assert (await parked_rows(api, customer_id))[0]["status"] == "released"

    # Later customer events release nothing again.
    await handle(api, consumers.on_customer, customer_created(customer_id, number))
    assert await dispatcher.dispatch_once() == 0
    assert len(api.twilio.to(number)) == 1


async def test_the_sweep_releases_what_the_customer_event_missed_and_expires_what_waited_too_long(
    api: Api, dispatcher: Dispatcher
) -> None:
    known_later, never = uuid.uuid4(), uuid.uuid4()
    number = phone()
    await api.open_whatsapp_window(number)  # free text (templates: test_whatsapp_templates.py)
    await handle(api, consumers.on_quote_created, quote_for(known_later, "Q-SWEEP-1"))
    await handle(api, consumers.on_quote_created, quote_for(never, "Q-NEVER-1"))
    # The customer reaches the read model without passing the release (a concurrent transaction
    # parked the quote after the customer's consumer looked): the sweep finds it.
    async with api.db.transaction() as session:
        await contacts.apply_customer(session, event=customer_created(known_later, number))
    async with api.db.transaction() as session:
        await parking.sweep(session, handlers=consumers.waiting_handlers(), max_wait=timedelta(hours=1))
    assert await dispatcher.dispatch_once() == 1
    assert "Q-SWEEP-1" in api.twilio.to(number)[0]["body"]
    assert (await parked_rows(api, known_later))[0]["status"] == "released"
    assert (await parked_rows(api, never))[0]["status"] == "parked", "still within the wait"

    async with api.db.engine.begin() as conn:
        await conn.execute(
            text("UPDATE omnichannel.parked_deliveries SET parked_at = now() - interval '2 hours'")
        )
    async with api.db.transaction() as session:
        await parking.sweep(session, handlers=consumers.waiting_handlers(), max_wait=timedelta(hours=1))
    assert await parked_rows(api, never) == [
        {"event_type": "quote.created", "status": "expired", "detail": "the customer never became known"}
    ]
    supervisor = api.person(Role.supervisor)
    expired = (
        await api.client.get("/deliveries/parked", params={"status": "expired"}, headers=supervisor.auth)
    ).json()
    assert [p["customer_id"] for p in expired["items"]] == [str(never)]
    # An expired delivery stays expired: the customer arriving now sends nothing old.
    late = phone()
    await handle(api, consumers.on_customer, customer_created(never, late))
    assert await dispatcher.dispatch_once() == 0
    assert api.twilio.to(late) == []

    # Resolved deliveries (they hold customer data) are deleted after their retention; waiting ones stay.
    still_waiting = uuid.uuid4()
    await handle(api, consumers.on_quote_created, quote_for(still_waiting, "Q-WAIT-1"))
    async with api.db.transaction() as session:
        assert await parking.purge(session, before=datetime.now(UTC) - timedelta(days=1)) == 0
        assert await parking.purge(session, before=datetime.now(UTC) + timedelta(seconds=1)) == 2
    assert await parked_rows(api, known_later) == [] and await parked_rows(api, never) == []
    assert [r["status"] for r in await parked_rows(api, still_waiting)] == ["parked"]


async def test_from_kafka_a_quote_published_before_its_customer_reaches_the_customer(
    api: Api, dispatcher: Dispatcher, kafka_bootstrap: str
) -> None:
    """The CRM's topics as they really arrive: quote.created is consumed first (parked), then
    customer.created on its own topic releases it, and the quote reaches the customer's WhatsApp once."""
    customer_id, number = uuid.uuid4(), phone()
    await api.open_whatsapp_window(number)  # free text (templates: test_whatsapp_templates.py)
    await publish_event(
        kafka_bootstrap, quote_for(customer_id, "Q-KAFKA-1"), key=str(customer_id), source="core-crm"
    )
    spec = patient_consumer(
        consumer_specs(build_runtime(Settings()))[1], name=f"test-crm-{uuid.uuid4().hex[:8]}"
    )
    stop = asyncio.Event()
    tasks = [
        asyncio.create_task(
            EventConsumer(spec, db=api.db, tables=MESSAGING, bootstrap=kafka_bootstrap).run(stop)
        ),
        asyncio.create_task(dispatcher.run(stop)),
    ]
    try:
        await eventually(lambda: parked_rows(api, customer_id), within=60)
        assert api.twilio.to(number) == []
        await publish_event(
            kafka_bootstrap, customer_created(customer_id, number), key=str(customer_id), source="core-crm"
        )
        [sent] = await eventually(lambda: _texts(api, number), within=60)
    finally:
        stop.set()
        await asyncio.gather(*tasks)
    assert "Q-KAFKA-1" in sent["body"]
    assert (await parked_rows(api, customer_id))[0]["status"] == "released"


async def _texts(api: Api, to: str) -> list[dict[str, Any]]:
    return api.twilio.to(to)
