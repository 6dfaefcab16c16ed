"""WhatsApp and SMS: inbound webhooks, sending through the Twilio SDK, delivery status, consent,
CONFIRMAR, limits and signatures."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx

from aintech_contracts.envelope import CloudEvent
from aintech_contracts.events.crm import PolicyExpiringSoon
from aintech_contracts.rbac import Role
from omnichannel.delivery import consumers
from omnichannel.delivery.dispatcher import Dispatcher
from omnichannel.settings import DEV_TWILIO_AUTH_TOKEN

from .conftest import BASE, Api, build_app, make_settings
from .fakes import TWILIO_SID, twilio_signature


def phone() -> str:
    return "+346" + str(uuid.uuid4().int)[:8]


async def outbox(api: Api, event_type: str) -> list[dict[str, Any]]:
    rows = await api.sql(
        "SELECT payload FROM omnichannel.outbox WHERE event_type = :t ORDER BY seq", t=event_type
    )
    return [r["payload"] for r in rows]


async def test_inbound_whatsapp_is_stored_once_matched_to_the_customer_and_logged(api: Api) -> None:
    number = phone()
    customer_id = await api.customer(mobile=number)
    sid = "SM" + uuid.uuid4().hex
    sender = "whatsapp:" + number.lstrip("+")  # WhatsApp ids are not always E.164
    first = await api.inbound(sender, "Hola, ¿mi póliza cubre granizo?", sid=sid, ProfileName="Lucía")
    again = await api.inbound(sender, "Hola, ¿mi póliza cubre granizo?", sid=sid, ProfileName="Lucía")

    assert first.status_code == 200 and again.status_code == 200, first.text
    assert first.headers["content-type"].startswith("text/xml") and "<Response>" in first.text
    messages = await api.sql("SELECT * FROM omnichannel.messages WHERE provider_message_id = :sid", sid=sid)
    assert len(messages) == 1, "a retried webhook stored a second message"
    conversation = (
        await api.sql(
            "SELECT * FROM omnichannel.conversations WHERE id = :id", id=messages[0]["conversation_id"]
        )
    )[0]
    assert conversation["channel"] == "whatsapp"
    assert conversation["address"] == number
    assert conversation["customer_id"] == customer_id
    received = await outbox(api, "message.received")
    assert [e["data"]["message_id"] for e in received] == [str(messages[0]["id"])]
    logged = await outbox(api, "interaction.logged")
    assert len(logged) == 1
    assert logged[0]["data"]["type"] == "whatsapp" and logged[0]["data"]["direction"] == "inbound"
    assert logged[0]["data"]["customer_id"] == str(customer_id)
    assert logged[0]["data"]["external_id"] == str(messages[0]["id"])


async def test_inbound_media_is_kept(api: Api) -> None:
    response = await api.inbound(
        "whatsapp:" + phone(),
        "Foto del golpe",
        NumMedia="1",
        MediaUrl0="https://api.twilio.com/2010-04-01/Accounts/AC/Messages/MM1/Media/ME1",
        MediaContentType0="image/jpeg",
    )
    assert response.status_code == 200
    rows = await api.sql("SELECT media FROM omnichannel.messages WHERE body = 'Foto del golpe'")
    assert rows[0]["media"] == [
        {
            "url": "https://api.twilio.com/2010-04-01/Accounts/AC/Messages/MM1/Media/ME1",
            "content_type": "image/jpeg",
        }
    ]


async def test_unsigned_or_forged_twilio_webhooks_are_403_and_store_nothing(api: Api) -> None:
    sender = phone()
    params = {"MessageSid": "SM" + uuid.uuid4().hex, "AccountSid": TWILIO_SID, "From": sender, "Body": "hola"}
    unsigned = await api.client.post("/webhooks/twilio/messaging", data=params)
    wrong_key = await api.twilio_webhook("/webhooks/twilio/messaging", params, token="not-the-token")
    signature = twilio_signature(BASE + "/webhooks/twilio/messaging", params)
    tampered = await api.client.post(
        "/webhooks/twilio/messaging",
        data={**params, "Body": "otra cosa"},
        headers={"X-Twilio-Signature": signature},
    )
    status = await api.client.post(
        "/webhooks/twilio/messaging/status", data={"MessageSid": "SMx", "MessageStatus": "delivered"}
    )
    for response in (unsigned, wrong_key, tampered, status):
        assert response.status_code == 403, response.text
        assert response.headers["content-type"] == "application/problem+json"
    assert await api.sql("SELECT id FROM omnichannel.conversations WHERE address = :a", a=sender) == []


async def test_signature_is_checked_against_the_url_the_gateway_was_called_on(api: Api, app: Any) -> None:
    params = {
        "MessageSid": "SM" + uuid.uuid4().hex,
        "AccountSid": TWILIO_SID,
        "From": phone(),
        "Body": "hola",
    }
    public = "https://api.aintech.es/webhooks/twilio/messaging"
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "api.aintech.es"}
    signature = {"X-Twilio-Signature": twilio_signature(public, params)}
    accepted = await api.client.post(
        "/webhooks/twilio/messaging", data=params, headers={**signature, **forwarded}
    )
    assert accepted.status_code == 200, accepted.text
    without_forwarding = await api.client.post("/webhooks/twilio/messaging", data=params, headers=signature)
    assert without_forwarding.status_code == 403
    untrusted = httpx.ASGITransport(app=app, client=("203.0.113.9", 40000))
    async with httpx.AsyncClient(transport=untrusted, base_url=BASE) as outsider:
        spoofed = await outsider.post(
            "/webhooks/twilio/messaging", data=params, headers={**signature, **forwarded}
        )
    assert spoofed.status_code == 403, "X-Forwarded-* from an untrusted peer must not be believed"


async def test_console_mode_still_checks_signatures_with_the_development_token(api: Api, keys: Any) -> None:
    settings = make_settings(
        api.twilio, api.sendgrid, api.signer, twilio_account_sid="", twilio_auth_token=DEV_TWILIO_AUTH_TOKEN
    )
    console_app = build_app(settings, keys)
    transport = httpx.ASGITransport(app=console_app)
    async with (
        console_app.router.lifespan_context(console_app),
        httpx.AsyncClient(transport=transport, base_url=BASE) as client,
    ):
        params = {"MessageSid": "SM" + uuid.uuid4().hex, "From": phone(), "Body": "hola"}
        url = BASE + "/webhooks/twilio/messaging"
        forged = await client.post(
            url, data=params, headers={"X-Twilio-Signature": twilio_signature(url, params)}
        )
        assert forged.status_code == 403
        signed = await client.post(
            url,
            data=params,
            headers={"X-Twilio-Signature": twilio_signature(url, params, DEV_TWILIO_AUTH_TOKEN)},
        )
        assert signed.status_code == 200, signed.text


async def test_agent_sends_whatsapp_with_media_through_the_twilio_sdk_and_status_callbacks_apply_once(
    api: Api, dispatcher: Dispatcher
) -> None:
    agent = api.person(Role.agent)
    number = phone()
    customer_id = await api.customer(mobile=number)
    await api.open_whatsapp_window(number)  # outside the 24-hour window free text is a 409
    sent = await api.client.post(
        "/whatsapp/send",
        json={
            "to": number,
            "body": "Su póliza está lista",
            "media_urls": ["https://cdn.aintech.es/poliza.pdf"],
        },
        headers=agent.auth,
    )
    assert sent.status_code == 202, sent.text
    message = sent.json()
    assert message["status"] == "queued" and message["direction"] == "outbound"

    assert await dispatcher.dispatch_once() == 1
    at_twilio = api.twilio.to(number)
    assert len(at_twilio) == 1
    assert at_twilio[0]["to"] == f"whatsapp:{number}"
    assert at_twilio[0]["from"] == "whatsapp:+14155238886"
    assert at_twilio[0]["media"] == ["https://cdn.aintech.es/poliza.pdf"]
    stored = (await api.client.get(f"/messages/{message['id']}", headers=agent.auth)).json()
    assert stored["status"] == "sent" and stored["provider_message_id"] == at_twilio[0]["sid"]

    sid = at_twilio[0]["sid"]
    for status in ("delivered", "delivered", "sent"):
        callback = await api.twilio_webhook(
            "/webhooks/twilio/messaging/status",
            {"MessageSid": sid, "MessageStatus": status, "AccountSid": TWILIO_SID},
        )
        assert callback.status_code == 204, callback.text
    after = (await api.client.get(f"/messages/{message['id']}", headers=agent.auth)).json()
    assert after["status"] == "delivered", "a late 'sent' callback moved the message backwards"
    assert after["delivered_at"] is not None
    events = await api.sql(
        "SELECT count(*) AS n FROM omnichannel.provider_events WHERE event_id LIKE :p", p=sid + "%"
    )
    assert events[0]["n"] == 2  # delivered once, sent once: the repeat was recognised
    logged = [e["data"] for e in await outbox(api, "interaction.logged")]
    assert [(e["direction"], e["outcome"], e["customer_id"]) for e in logged] == [
        ("inbound", "received", str(customer_id)),  # the customer's message that opened the window
        ("outbound", "sent", str(customer_id)),
    ]
    sent_events = await outbox(api, "message.sent")
    assert sent_events[0]["data"]["status"] == "sent"
    assert await dispatcher.dispatch_once() == 0, "nothing is sent twice"


async def test_provider_refusal_fails_the_message_and_outages_are_retried(
    api: Api, dispatcher: Dispatcher
) -> None:
    agent = api.person(Role.agent)
    refused_to, flaky_to = phone(), phone()
    api.twilio.failures.append((400, 21211, "The 'To' number is not a valid phone number."))
    first = await api.client.post("/sms/send", json={"to": refused_to, "body": "Hola"}, headers=agent.auth)
    assert await dispatcher.dispatch_once() == 1
    refused = (await api.client.get(f"/messages/{first.json()['id']}", headers=agent.auth)).json()
    assert refused["status"] == "failed" and refused["error_code"] == "21211"

    api.twilio.failures.append((503, 20500, "Service unavailable"))
    second = await api.client.post("/sms/send", json={"to": flaky_to, "body": "Hola"}, headers=agent.auth)
    # The first retry waits at least a second after the failed attempt. Measured from before the
    # attempt, not from whenever the row is read back (a loaded machine can take longer than that).
    before_attempt = datetime.now(UTC)
    assert await dispatcher.dispatch_once() == 1
    row = (
        await api.sql(
            "SELECT status, attempts, next_attempt_at >= :earliest AS later"
            " FROM omnichannel.messages WHERE id = :i",
            i=second.json()["id"],
            earliest=before_attempt + timedelta(seconds=1),
        )
    )[0]
    assert row == {"status": "queued", "attempts": 1, "later": True}
    await api.execute(
        "UPDATE omnichannel.messages SET next_attempt_at = now() WHERE id = :i", i=second.json()["id"]
    )
    assert await dispatcher.dispatch_once() == 1
    assert len(api.twilio.to(flaky_to)) == 1
    retried = (await api.client.get(f"/messages/{second.json()['id']}", headers=agent.auth)).json()
    assert retried["status"] == "sent"


async def test_stop_and_baja_opt_out_start_opts_back_in(api: Api) -> None:
    agent = api.person(Role.agent)
    number = phone()
    assert (await api.inbound(number, "BAJA")).status_code == 200
    refused = await api.client.post("/sms/send", json={"to": number, "body": "Oferta"}, headers=agent.auth)
    assert refused.status_code == 409
    assert refused.headers["content-type"] == "application/problem+json"
    listed = (await api.client.get("/opt-outs", headers=agent.auth)).json()
    assert [(o["channel"], o["address"], o["keyword"]) for o in listed["items"]] == [("sms", number, "BAJA")]
    assert (await outbox(api, "contact.opted_out"))[0]["data"]["address"] == number

    await api.inbound(number, "Stop")  # already out: no second event
    assert len(await outbox(api, "contact.opted_out")) == 1
    await api.inbound(number, "ALTA")
    allowed = await api.client.post("/sms/send", json={"to": number, "body": "Hola"}, headers=agent.auth)
    assert allowed.status_code == 202
    assert (await outbox(api, "contact.opted_in"))[0]["data"]["keyword"] == "ALTA"


async def test_confirmar_after_a_renewal_reminder_publishes_one_confirmation(
    api: Api, dispatcher: Dispatcher
) -> None:
    number = phone()
    customer_id = await api.customer(mobile=number, preferred_channel="whatsapp")
    await api.open_whatsapp_window(number)  # free text (templates: test_whatsapp_templates.py)
    policy_id = uuid.uuid4()
    reminder = PolicyExpiringSoon(
        policy_id=policy_id,
        policy_number="POL-2026-0042",
        policy_type="home",
        carrier="Mapfre",
        customer_id=customer_id,
        coverage_end_date=date.today() + timedelta(days=30),
        days_left=30,
        premium_amount=Decimal("412.50"),
    )
    event = CloudEvent.wrap(reminder, type_=reminder.event_type, source="core-crm", subject=str(policy_id))
    async with api.db.transaction() as session:
        await consumers.on_policy_expiring(session, event)
    await dispatcher.dispatch_once()
    sent = api.twilio.to(number)
    assert len(sent) == 1 and "CONFIRMAR" in sent[0]["body"] and "POL-2026-0042" in sent[0]["body"]

    await api.inbound("whatsapp:" + number, "Confirmar")
    await api.inbound("whatsapp:" + number, "CONFIRMAR")
    confirmed = await outbox(api, "renewal.confirmed")
    assert len(confirmed) == 1, "one reminder is confirmed once"
    assert confirmed[0]["data"]["policy_id"] == str(policy_id)
    assert confirmed[0]["data"]["customer_id"] == str(customer_id)
    assert confirmed[0]["data"]["channel"] == "whatsapp"


async def test_sending_is_rate_limited_per_recipient_and_per_user(api: Api) -> None:
    agent, other = api.person(Role.agent), api.person(Role.agent)
    number = phone()
    for _ in range(10):
        assert (
            await api.client.post("/sms/send", json={"to": number, "body": "x"}, headers=agent.auth)
        ).status_code == 202
    limited = await api.client.post("/sms/send", json={"to": number, "body": "x"}, headers=other.auth)
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) > 0
    assert limited.headers["content-type"] == "application/problem+json"
    for _ in range(20):
        await api.client.post("/sms/send", json={"to": phone(), "body": "x"}, headers=agent.auth)
    own_limit = await api.client.post("/sms/send", json={"to": phone(), "body": "x"}, headers=agent.auth)
    assert own_limit.status_code == 429
    assert "sent by you" in own_limit.json()["detail"]


async def test_bad_input_is_problem_json_never_500(api: Api) -> None:
    agent = api.person(Role.agent)
    too_long = await api.client.post(
        "/sms/send", json={"to": phone(), "body": "a" * 1601}, headers=agent.auth
    )
    assert too_long.status_code == 413
    nul = await api.client.post("/sms/send", json={"to": phone(), "body": "a\x00b"}, headers=agent.auth)
    assert nul.status_code == 422
    bad_number = await api.client.post("/sms/send", json={"to": "12", "body": "hola"}, headers=agent.auth)
    assert bad_number.status_code == 422 and bad_number.json()["errors"][0]["field"] == "to"
    http_media = await api.client.post(
        "/whatsapp/send",
        json={"to": phone(), "body": "x", "media_urls": ["http://x.es/a.jpg"]},
        headers=agent.auth,
    )
    assert http_media.status_code == 422
    customer = api.person(Role.customer)
    assert (
        await api.client.post("/sms/send", json={"to": phone(), "body": "x"}, headers=customer.auth)
    ).status_code == 403
    assert (await api.client.post("/sms/send", json={"to": phone(), "body": "x"})).status_code == 401
    huge = await api.client.post(
        "/webhooks/twilio/messaging", content=b"a" * 100, headers={"content-length": str(30 * 1024 * 1024)}
    )
    assert huge.status_code == 413
