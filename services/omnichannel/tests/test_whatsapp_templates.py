"""WhatsApp outside the customer's 24-hour window: templates registered per purpose and language,
sent through the Twilio SDK (content SID + variables) or recorded by the console adapter; free text
refused with a 409 naming the reason; rejections and WhatsApp errors surfaced, never dropped."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from aintech_contracts.envelope import CloudEvent
from aintech_contracts.events import crm
from aintech_contracts.rbac import Role
from aintech_contracts.statuses import ClaimStatus
from aintech_shared.db import Database
from omnichannel.campaigns import service as campaigns
from omnichannel.delivery import consumers
from omnichannel.delivery.dispatcher import Dispatcher
from omnichannel.providers.factory import build_providers
from omnichannel.settings import Settings

from .conftest import Api
from .fakes import TWILIO_SID

REMINDER_SID = "HX" + "a1" * 16
CLAIM_SID = "HX" + "c3" * 16


def phone() -> str:
    return "+346" + str(uuid.uuid4().int)[:8]


REMINDER_VARIABLES = {
    "policy_number": "POL-2026-001",
    "carrier": "Mapfre",
    "coverage_end_date": "2027-01-15",
    "days_left": "30",
}


async def register(api: Api, purpose: str, language: str, **body: Any) -> Any:
    admin = api.person(Role.admin)
    return await api.client.put(f"/whatsapp/templates/{purpose}/{language}", json=body, headers=admin.auth)


async def messages_to(api: Api, number: str) -> list[dict[str, Any]]:
    return await api.sql(
        "SELECT status, template, context, error_code, error_message FROM omnichannel.messages "
        "WHERE to_address = :n ORDER BY created_at",
        n=number,
    )


async def test_admins_register_templates_per_purpose_and_language_and_bad_ones_are_refused(api: Api) -> None:
    ok = await register(
        api,
        "policy_renewal_reminder",
        "es",
        content_sid=REMINDER_SID,
        variables=["first_name", "policy_number", "coverage_end_date"],
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["status"] == "approved" and ok.json()["variables"][1] == "policy_number"
    replaced = await register(
        api, "policy_renewal_reminder", "es", content_sid=REMINDER_SID, variables=["first_name"]
    )
    assert replaced.status_code == 200 and replaced.json()["id"] == ok.json()["id"]

    agent = api.person(Role.agent)
    by_agent = await api.client.put(
        "/whatsapp/templates/quote/es", json={"content_sid": REMINDER_SID}, headers=agent.auth
    )
    assert by_agent.status_code == 403
    listed = await api.client.get("/whatsapp/templates", headers=agent.auth)
    assert listed.status_code == 200
    assert [(t["purpose"], t["language"]) for t in listed.json()["items"]] == [
        ("policy_renewal_reminder", "es")
    ]
    assert "claim_number" in listed.json()["purposes"]["claim_update"]
    customer = api.person(Role.customer)
    assert (await api.client.get("/whatsapp/templates", headers=customer.auth)).status_code == 403

    for purpose, language, body, status, fragment in (
        ("password_reset", "es", {"content_sid": REMINDER_SID}, 422, "No WhatsApp purpose"),
        ("quote", "es", {"content_sid": REMINDER_SID, "variables": ["iban"]}, 422, "has no variable 'iban'"),
        (
            "quote",
            "es",
            {"content_sid": REMINDER_SID, "variables": ["first_name", "first_name"]},
            422,
            "twice",
        ),
        ("quote", "es", {"content_sid": "HX123"}, 422, ""),
        ("quote", "fr", {"content_sid": REMINDER_SID}, 422, ""),
        ("quote", "es", {"content_sid": REMINDER_SID, "status": "maybe"}, 422, ""),
    ):
        refused = await register(api, purpose, language, **body)
        assert refused.status_code == status, (purpose, body, refused.text)
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert fragment in refused.json()["detail"]
    rows = await api.sql("SELECT purpose FROM omnichannel.whatsapp_templates")
    assert rows == [{"purpose": "policy_renewal_reminder"}], "a refused registration stored something"


async def test_free_text_outside_the_window_is_a_409_naming_the_reason_and_nothing_is_queued(
    api: Api, dispatcher: Dispatcher
) -> None:
    agent = api.person(Role.agent)
    number = phone()
    refused = await api.client.post("/whatsapp/send", json={"to": number, "body": "Hola"}, headers=agent.auth)
    assert refused.status_code == 409, refused.text
    problem = refused.json()
    assert problem["reason"] == "window_closed" and "24-hour WhatsApp window" in problem["detail"]
    assert await messages_to(api, number) == []

    await api.inbound("whatsapp:" + number, "Hola, una pregunta")  # the customer opens the window
    sent = await api.client.post("/whatsapp/send", json={"to": number, "body": "Dígame"}, headers=agent.auth)
    assert sent.status_code == 202, sent.text
    assert await dispatcher.dispatch_once() == 1
    at_twilio = api.twilio.to(number)
    assert at_twilio[-1]["body"] == "Dígame" and at_twilio[-1]["content_sid"] is None

    # 25 hours later the window has closed again: a reply on the conversation is refused too.
    await api.execute(
        "UPDATE omnichannel.conversations SET last_inbound_at = now() - interval '25 hours' "
        "WHERE address = :n",
        n=number,
    )
    conversation_id = (
        await api.sql("SELECT id FROM omnichannel.conversations WHERE address = :n", n=number)
    )[0]["id"]
    late = await api.client.post(
        f"/conversations/{conversation_id}/reply", json={"body": "¿Sigue ahí?"}, headers=agent.auth
    )
    assert late.status_code == 409 and late.json()["reason"] == "window_closed"
    assert [m["status"] for m in await messages_to(api, number)] == ["sent"]


async def test_a_template_message_outside_the_window_goes_as_the_approved_template_through_the_sdk(
    api: Api, dispatcher: Dispatcher
) -> None:
    number = phone()
    customer_id = await api.customer(mobile=number, preferred_channel="whatsapp")
    assert (
        await register(
            api,
            "policy_renewal_reminder",
            "es",
            content_sid=REMINDER_SID,
            variables=["first_name", "policy_number", "coverage_end_date"],
        )
    ).status_code == 200
    agent = api.person(Role.agent)
    sent = await api.client.post(
        "/messages/template",
        json={
            "customer_id": str(customer_id),
            "template": "policy_renewal_reminder",
            "channel": "whatsapp",
            "variables": REMINDER_VARIABLES,
        },
        headers=agent.auth,
    )
    assert sent.status_code == 202, sent.text
    assert await dispatcher.dispatch_once() == 1
    at_twilio = api.twilio.to(number)
    assert len(at_twilio) == 1
    assert at_twilio[0]["content_sid"] == REMINDER_SID and at_twilio[0]["body"] is None
    assert json.loads(at_twilio[0]["content_variables"]) == {
        "1": "Lucía",
        "2": "POL-2026-001",
        "3": "2027-01-15",
    }
    stored = await messages_to(api, number)
    assert stored[0]["status"] == "sent" and stored[0]["context"]["content_sid"] == REMINDER_SID


async def test_a_template_variable_left_empty_is_a_422_and_nothing_is_sent(api: Api) -> None:
    number = phone()
    customer_id = await api.customer(mobile=number, preferred_channel="whatsapp")
    await register(
        api,
        "policy_renewal_reminder",
        "es",
        content_sid=REMINDER_SID,
        variables=["first_name", "policy_number"],
    )
    agent = api.person(Role.agent)
    refused = await api.client.post(
        "/messages/template",
        json={
            "customer_id": str(customer_id),
            "template": "policy_renewal_reminder",
            "channel": "whatsapp",
            "variables": {**REMINDER_VARIABLES, "policy_number": " "},
        },
        headers=agent.auth,
    )
    assert refused.status_code == 422, refused.text
    assert "policy_number" in refused.json()["detail"]
    assert await messages_to(api, number) == []
    assert api.twilio.to(number) == []


async def test_outside_the_window_without_an_approved_template_is_a_409_naming_why(api: Api) -> None:
    number = phone()
    customer_id = await api.customer(mobile=number, preferred_channel="whatsapp")
    agent = api.person(Role.agent)
    body = {
        "customer_id": str(customer_id),
        "template": "policy_renewal_reminder",
        "channel": "whatsapp",
        "variables": REMINDER_VARIABLES,
    }
    missing = await api.client.post("/messages/template", json=body, headers=agent.auth)
    assert missing.status_code == 409 and missing.json()["reason"] == "template_missing", missing.text
    assert "no WhatsApp template is registered for 'policy_renewal_reminder'" in missing.json()["detail"]

    await register(api, "policy_renewal_reminder", "es", content_sid=REMINDER_SID, variables=["first_name"])
    rejected = await api.twilio_webhook(
        "/webhooks/twilio/content/status",
        {
            "ContentSid": REMINDER_SID,
            "ApprovalStatus": "rejected",
            "RejectionReason": "Variables at the edges",
        },
    )
    assert rejected.status_code == 204, rejected.text
    refused = await api.client.post("/messages/template", json=body, headers=agent.auth)
    assert refused.status_code == 409 and refused.json()["reason"] == "template_rejected"
    assert "Variables at the edges" in refused.json()["detail"]
    assert await messages_to(api, number) == []

    # Inside the window the platform's own text may go (there is no approved template to prefer).
    await api.inbound("whatsapp:" + number, "Hola")
    inside = await api.client.post("/messages/template", json=body, headers=agent.auth)
    assert inside.status_code == 202, inside.text


async def test_template_rejections_are_signed_listed_with_their_reason_and_pushed_to_the_inbox(
    api: Api, app: Any
) -> None:
    await register(api, "quote", "en", content_sid=CLAIM_SID, variables=["first_name"])
    forged = await api.twilio_webhook(
        "/webhooks/twilio/content/status",
        {"ContentSid": CLAIM_SID, "ApprovalStatus": "rejected"},
        token="not-the-token",
    )
    assert forged.status_code == 403
    subscription = app.state.hub.subscribe("inbox")
    try:
        rejected = await api.twilio_webhook(
            "/webhooks/twilio/content/status",
            {"ContentSid": CLAIM_SID, "ApprovalStatus": "rejected", "RejectionReason": "Promotional content"},
        )
        assert rejected.status_code == 204
        pushed: Any = await asyncio.wait_for(subscription.get(), timeout=30)
        while pushed.get("type") != "whatsapp.problem":
            pushed = await asyncio.wait_for(subscription.get(), timeout=30)
    finally:
        subscription.close()
    assert pushed["type"] == "whatsapp.problem" and pushed["reason"] == "template_rejected"
    assert "Promotional content" in pushed["detail"]
    supervisor = api.person(Role.supervisor)
    listed = (await api.client.get("/whatsapp/templates", headers=supervisor.auth)).json()["items"]
    assert listed[0]["status"] == "rejected" and listed[0]["rejection_reason"] == "Promotional content"


async def test_error_63016_fails_the_message_in_words_agents_understand(
    api: Api, dispatcher: Dispatcher
) -> None:
    number = phone()
    agent = api.person(Role.agent)
    await api.inbound("whatsapp:" + number, "Hola")
    sent = await api.client.post("/whatsapp/send", json={"to": number, "body": "Dígame"}, headers=agent.auth)
    assert sent.status_code == 202
    await dispatcher.dispatch_once()
    sid = api.twilio.to(number)[-1]["sid"]
    callback = await api.twilio_webhook(
        "/webhooks/twilio/messaging/status",
        {"MessageSid": sid, "MessageStatus": "failed", "ErrorCode": "63016", "AccountSid": TWILIO_SID},
    )
    assert callback.status_code == 204
    message = (await api.client.get(f"/messages/{sent.json()['id']}", headers=agent.auth)).json()
    assert message["status"] == "failed" and message["error_code"] == "63016"
    assert "24-hour WhatsApp window" in message["error_message"]


async def test_a_claim_update_outside_the_window_goes_as_its_template_and_without_one_is_not_sent(
    api: Api, dispatcher: Dispatcher
) -> None:
    await register(
        api, "claim_update", "es", content_sid=CLAIM_SID, variables=["first_name", "claim_number", "status"]
    )
    with_template, english = phone(), phone()
    customer_id = await api.customer(mobile=with_template, preferred_channel="whatsapp")
    other = await api.customer(mobile=english, preferred_channel="whatsapp", language="en")
    for customer, number in ((customer_id, "SIN-2026-9"), (other, "SIN-2026-10")):
        event = crm.ClaimCreated(
            claim_id=uuid.uuid4(),
            claim_number=number,
            claim_type="auto",
            status=ClaimStatus.reported,
            customer_id=customer,
            policy_id=uuid.uuid4(),
            policy_number="POL-1",
            incident_date=datetime.now(UTC),
            description="Golpe en el aparcamiento",
        )
        async with api.db.transaction() as session:
            await consumers.on_claim(
                session, CloudEvent.wrap(event, type_=event.event_type, source="core-crm", subject=None)
            )
    assert await dispatcher.dispatch_once() == 1
    sent = api.twilio.to(with_template)
    assert sent[0]["content_sid"] == CLAIM_SID
    assert json.loads(sent[0]["content_variables"]) == {"1": "Lucía", "2": "SIN-2026-9", "3": "recibido"}
    assert await messages_to(api, english) == [], "no English template and the window closed: nothing is sent"


async def test_the_console_adapter_records_the_content_sid_and_variables(
    api: Api, db: Database, settings: Settings
) -> None:
    console_settings = settings.model_copy(update={"twilio_account_sid": ""})
    providers = build_providers(console_settings, db)
    try:
        console = Dispatcher(db, console_settings, providers)
        number = phone()
        customer_id = await api.customer(mobile=number, preferred_channel="whatsapp")
        await register(
            api, "policy_renewal_reminder", "es", content_sid=REMINDER_SID, variables=["policy_number"]
        )
        sent = await api.client.post(
            "/messages/template",
            json={
                "customer_id": str(customer_id),
                "template": "policy_renewal_reminder",
                "variables": REMINDER_VARIABLES,
            },
            headers=api.person(Role.agent).auth,
        )
        assert sent.status_code == 202, sent.text
        assert await console.dispatch_once() == 1
    finally:
        await providers.close()
    rows = await api.sql("SELECT payload FROM omnichannel.console_deliveries WHERE to_address = :n", n=number)
    assert rows[0]["payload"]["content_sid"] == REMINDER_SID
    assert rows[0]["payload"]["content_variables"] == {"1": "POL-2026-001"}
    assert api.twilio.to(number) == []


async def test_a_whatsapp_campaign_goes_as_its_template_and_without_one_says_why_each_recipient_was_skipped(
    api: Api, dispatcher: Dispatcher
) -> None:
    segment = f"wa-{uuid.uuid4().hex[:6]}"
    spanish, english = phone(), phone()
    await api.customer(mobile=spanish, segment=segment)
    await api.customer(mobile=english, segment=segment, language="en")
    await register(api, "announcement", "es", content_sid=REMINDER_SID, variables=["first_name", "title"])
    supervisor = api.person(Role.supervisor)
    created = await api.client.post(
        "/campaigns",
        json={
            "name": "Novedades",
            "channel": "whatsapp",
            "template": "announcement",
            "segment": segment,
            "variables": {"title": "Nuevas coberturas", "message": "Ahora cubrimos daños eléctricos."},
            "rate_per_minute": 600,
        },
        headers=supervisor.auth,
    )
    assert created.status_code == 201, created.text
    cid = created.json()["id"]
    assert (await api.client.post(f"/campaigns/{cid}/start", headers=supervisor.auth)).status_code == 200
    await api.execute(
        "UPDATE omnichannel.campaigns SET last_batch_at = now() - interval '1 minute' WHERE id = :i", i=cid
    )
    async with api.db.transaction() as session:
        await campaigns.pace(session)
    assert await dispatcher.dispatch_once() == 1
    [sent] = api.twilio.to(spanish)
    assert sent["content_sid"] == REMINDER_SID
    assert json.loads(sent["content_variables"]) == {"1": "Lucía", "2": "Nuevas coberturas"}
    rows = await api.sql(
        "SELECT address, status, detail FROM omnichannel.campaign_recipients WHERE campaign_id = :c", c=cid
    )
    skipped = [r for r in rows if r["address"] == english]
    assert skipped[0]["status"] == "skipped"
    assert "no WhatsApp template is registered for 'announcement' in 'en'" in skipped[0]["detail"]


RENEWED_SID = "HX" + "e5" * 16


def _renewed(customer_id: uuid.UUID, *, automatic: bool) -> crm.PolicyRenewed:
    return crm.PolicyRenewed(
        policy_id=uuid.uuid4(),
        policy_number="POL-2026-042",
        policy_type="auto",
        carrier="Mapfre",
        customer_id=customer_id,
        status="active",
        coverage_start_date=datetime(2027, 2, 1, tzinfo=UTC).date(),
        coverage_end_date=datetime(2028, 2, 1, tzinfo=UTC).date(),
        premium_amount=Decimal("90.00"),
        premium_frequency="monthly",
        previous_start_date=datetime(2026, 2, 1, tzinfo=UTC).date(),
        previous_end_date=datetime(2027, 2, 1, tzinfo=UTC).date(),
        previous_premium_amount=Decimal("83.33"),
        term_number=2,
        automatic=automatic,
    )


async def test_an_automatic_renewal_reaches_the_customer_as_the_approved_template_in_their_language(
    api: Api, dispatcher: Dispatcher
) -> None:
    await register(
        api,
        "policy_renewed",
        "es",
        content_sid=RENEWED_SID,
        variables=["first_name", "policy_number", "coverage_end_date", "premium_amount"],
    )
    on_whatsapp, by_hand, english_sms = phone(), phone(), phone()
    spanish = await api.customer(mobile=on_whatsapp, preferred_channel="whatsapp")
    renewed_by_agent = await api.customer(mobile=by_hand, preferred_channel="whatsapp")
    english = await api.customer(
        mobile=english_sms, preferred_channel="sms", language="en", first_name="John"
    )
    for customer, automatic in ((spanish, True), (renewed_by_agent, False), (english, True)):
        event = _renewed(customer, automatic=automatic)
        async with api.db.transaction() as session:
            await consumers.on_policy_renewed(
                session, CloudEvent.wrap(event, type_=event.event_type, source="core-crm", subject=None)
            )
    assert await dispatcher.dispatch_once() == 2
    (sent,) = api.twilio.to(on_whatsapp)
    assert sent["content_sid"] == RENEWED_SID  # outside the window: the approved template
    assert json.loads(sent["content_variables"]) == {
        "1": "Lucía",
        "2": "POL-2026-042",
        "3": "01/02/2028",
        "4": "90.00",
    }
    assert api.twilio.to(by_hand) == [], "a renewal an agent issued is the agent's to tell"
    (sms,) = api.twilio.to(english_sms)
    assert sms["body"].startswith(
        "Hello John, your policy POL-2026-042 (Mapfre) has been renewed until 01/02/2028"
    )
    assert "90.00 € (monthly)" in sms["body"]
