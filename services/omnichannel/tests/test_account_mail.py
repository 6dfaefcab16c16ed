"""Account mails and the mailbox-takeover attack: an e-mail sent to an address never hands its
thread to whoever registered with that address; account mails live in a thread of their own that
nobody lists; their secrets are stored redacted and reach only the provider."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from aintech_contracts.envelope import CloudEvent
from aintech_contracts.events import auth, crm
from aintech_contracts.events.base import EventData
from aintech_contracts.events.crm import CustomerUpdated
from aintech_contracts.rbac import Role
from omnichannel.contacts import service as contacts
from omnichannel.delivery import consumers
from omnichannel.delivery.dispatcher import Dispatcher
from omnichannel.providers.base import OutgoingEmail, OutgoingText
from omnichannel.providers.console import ConsoleEmail, ConsoleMessaging

from .conftest import Api


async def handle(api: Api, handler: Any, payload: EventData) -> None:
    event = CloudEvent.wrap(payload, type_=payload.event_type, source="authenticator", subject=None)
    async with api.db.transaction() as session:
        await handler(session, event)


async def test_registering_with_a_customers_address_shows_the_stranger_none_of_their_mail(
    api: Api, dispatcher: Dispatcher
) -> None:
    mailbox = f"owner-{uuid.uuid4().hex[:8]}@example.com"
    customer_id = await api.customer(email=mailbox, preferred_channel="email")
    agent = api.person(Role.agent)
    claim_mail = await api.client.post(
        "/messages/template",
        json={
            "customer_id": str(customer_id),
            "template": "claim_update",
            "channel": "email",
            "variables": {"claim_number": "SIN-77", "status_label": "en revisión"},
        },
        headers=agent.auth,
    )
    assert claim_mail.status_code == 202, claim_mail.text

    # A stranger registers with the customer's address: the authenticator asks for the verification mail.
    stranger = api.person(Role.customer)
    token = uuid.uuid4().hex
    link = f"https://app.aintech.example/verify-email?token={token}"
    await handle(
        api,
        consumers.on_user_registered,
        auth.UserRegistered(
            user_id=stranger.user_id,
            email=mailbox,
            first_name="Intruso",
            last_name="X",
            role="customer",
            registered_at=datetime.now(UTC),
        ),
    )
    await handle(
        api,
        consumers.on_email_verification,
        auth.EmailVerificationRequested(
            user_id=stranger.user_id,
            email=mailbox,
            first_name="Intruso",
            verification_url=link,
            expires_at=datetime.now(UTC) + timedelta(days=1),
        ),
    )

    listed = await api.client.get("/conversations", headers=stranger.auth)
    assert listed.status_code == 200 and listed.json()["items"] == [], "the stranger lists nothing"
    [thread] = await api.sql(
        "SELECT id FROM omnichannel.conversations WHERE address = :a AND kind = 'contact'", a=mailbox
    )
    for path in (f"/conversations/{thread['id']}", f"/conversations/{thread['id']}/messages"):
        assert (await api.client.get(path, headers=stranger.auth)).status_code == 404

    staff_view = (await api.client.get(f"/conversations/{thread['id']}/messages", headers=agent.auth)).json()
    assert [m["template"] for m in staff_view] == ["claim_update"], "the account mail is not in the thread"
    [account] = await api.sql(
        "SELECT m.id, m.body, m.html, c.customer_id, c.customer_user_id FROM omnichannel.messages m "
        "JOIN omnichannel.conversations c ON c.id = m.conversation_id "
        "WHERE c.address = :a AND c.kind = 'account'",
        a=mailbox,
    )
    assert account["customer_id"] is None and account["customer_user_id"] is None
    assert token not in account["body"] and token not in (account["html"] or "")
    assert "verify-email?token=REDACTED" in account["body"]
    shown = await api.client.get(f"/messages/{account['id']}", headers=agent.auth)
    assert shown.status_code == 200 and token not in shown.text, "agents never read the link"
    assert (await api.client.get(f"/messages/{account['id']}", headers=stranger.auth)).status_code == 404

    await dispatcher.dispatch_once()
    [verification] = [m for m in api.sendgrid.to(mailbox) if "verify-email" in m["content"][0]["value"]]
    assert link in verification["content"][0]["value"], "the mailbox's owner gets the real link"
    assert (
        await api.sql("SELECT 1 FROM omnichannel.sealed_contents WHERE message_id = :i", i=account["id"])
        == []
    ), "the secret is not kept once the provider took the mail"

    # The CRM links the customer to the account that proved the address: now they read their thread.
    owner = api.person(Role.customer)
    async with api.db.transaction() as session:
        await contacts.apply_customer(
            session,
            event=CustomerUpdated(
                customer_id=customer_id,
                customer_type="individual",
                first_name="Lucía",
                last_name="Martín",
                email=mailbox,
                status="active",
                user_id=owner.user_id,
                version=1,
                changed_fields=["user_id"],
            ),
        )
    mine = (await api.client.get("/conversations", headers=owner.auth)).json()["items"]
    assert [c["id"] for c in mine] == [str(thread["id"])]
    assert (await api.client.get("/conversations", headers=stranger.auth)).json()["items"] == []


async def test_an_address_two_customers_share_matches_neither(api: Api) -> None:
    number = "+346" + str(uuid.uuid4().int)[:8]
    first, second = uuid.uuid4(), uuid.uuid4()
    await api.customer(mobile=number, user_id=first)
    await api.customer(mobile=number, user_id=second)
    assert (await api.inbound(number, "¿Quién soy?")).status_code == 200
    [row] = await api.sql("SELECT customer_id FROM omnichannel.conversations WHERE address = :a", a=number)
    assert row["customer_id"] is None, "an ambiguous sender is left for an agent to identify"
    for user_id in (first, second):
        person = api.person(Role.customer, user_id=user_id)
        assert (await api.client.get("/conversations", headers=person.auth)).json()["items"] == []


async def test_the_code_for_a_new_number_reaches_only_that_number_and_is_stored_redacted(
    api: Api, dispatcher: Dispatcher
) -> None:
    number = "+346" + str(uuid.uuid4().int)[:8]
    customer_id = await api.customer(mobile="+34600000001", user_id=uuid.uuid4())
    payload = crm.ContactCodeRequested(
        change_id=uuid.uuid4(),
        customer_id=customer_id,
        field="mobile",
        to=number,
        first_name="Lucía",
        code="482913",
        expires_at=datetime.now(UTC) + timedelta(minutes=10),
    )
    await handle(api, consumers.on_contact_code_requested, payload)
    [stored] = await api.sql(
        "SELECT m.body, c.kind, c.customer_id FROM omnichannel.messages m "
        "JOIN omnichannel.conversations c ON c.id = m.conversation_id WHERE m.to_address = :a",
        a=number,
    )
    assert "482913" not in stored["body"] and "REDACTED" in stored["body"]
    assert (stored["kind"], stored["customer_id"]) == ("account", None)
    await dispatcher.dispatch_once()
    [sms] = api.twilio.to(number)
    assert "482913" in sms["body"], "the number's holder gets the real code"


async def test_the_code_for_a_new_email_address_goes_to_that_address_redacted_in_storage(
    api: Api, dispatcher: Dispatcher
) -> None:
    mailbox = f"nueva-{uuid.uuid4().hex[:8]}@example.com"
    customer_id = await api.customer(email=f"vieja-{uuid.uuid4().hex[:8]}@example.com", user_id=uuid.uuid4())
    payload = crm.ContactCodeRequested(
        change_id=uuid.uuid4(),
        customer_id=customer_id,
        field="email",
        channel="email",
        to=mailbox,
        first_name="Lucía",
        code="730164",
        expires_at=datetime.now(UTC) + timedelta(minutes=10),
    )
    await handle(api, consumers.on_contact_code_requested, payload)
    [stored] = await api.sql(
        "SELECT m.body, m.html, c.kind FROM omnichannel.messages m "
        "JOIN omnichannel.conversations c ON c.id = m.conversation_id WHERE m.to_address = :a",
        a=mailbox,
    )
    assert "730164" not in stored["body"] + (stored["html"] or "") and stored["kind"] == "account"
    await dispatcher.dispatch_once()
    [mail] = api.sendgrid.to(mailbox)
    assert all("730164" in c["value"] for c in mail["content"]), "the address's holder gets the real code"


async def test_the_console_log_records_secret_bearing_messages_redacted(api: Api) -> None:
    """With no provider credentials the console adapters record what was sent: what may be listed."""
    number, mailbox = "+346" + str(uuid.uuid4().int)[:8], f"c-{uuid.uuid4().hex[:8]}@example.com"
    text_log = ConsoleMessaging(api.db, sms_from="+34900000000", whatsapp_from="+14155238886")
    mail_log = ConsoleEmail(api.db, from_email="no-reply@aintech.test")
    await text_log.send_text(
        OutgoingText(
            channel="sms", to=number, body="Su código es 482913", listed_body="Su código es REDACTED"
        )
    )
    await mail_log.send_email(
        OutgoingEmail(
            to=mailbox,
            to_name=None,
            subject="Restablezca su contraseña",
            text="https://app/reset-password?token=s3cr3t",
            html='<a href="https://app/reset-password?token=s3cr3t">x</a>',
            message_id=str(uuid.uuid4()),
            rfc_message_id="<x@aintech.test>",
            listed_text="https://app/reset-password?token=REDACTED",
            listed_html='<a href="https://app/reset-password?token=REDACTED">x</a>',
        )
    )
    rows = await api.sql(
        "SELECT body, payload::text AS payload FROM omnichannel.console_deliveries "
        "WHERE to_address IN (:n, :m)",
        n=number,
        m=mailbox,
    )
    assert len(rows) == 2
    for row in rows:
        assert "482913" not in row["body"] and "s3cr3t" not in row["body"] + row["payload"]
        assert "REDACTED" in row["body"]
