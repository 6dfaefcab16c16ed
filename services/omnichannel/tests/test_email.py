"""E-mail through the SendGrid SDK: sending with attachments, templates, the signed event webhook,
inbound parse threading, and the authenticator's requests delivered as e-mails over Kafka."""

from __future__ import annotations

import asyncio
import base64
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from aintech_contracts.events.auth import (
    AccountExistsNotice,
    EmailChangeRequested,
    PasswordResetRequested,
    UserEmailChanged,
    UserRegistered,
)
from aintech_contracts.events.crm import EmailRequested
from aintech_contracts.rbac import Role
from aintech_devtools.api import eventually
from aintech_devtools.testing import patient_consumer, publish_event
from aintech_shared.events.consumer import EventConsumer
from omnichannel.consumers import consumer_specs
from omnichannel.core.runtime import build_runtime
from omnichannel.delivery.dispatcher import Dispatcher
from omnichannel.models import MESSAGING
from omnichannel.settings import Settings
from omnichannel.templating.service import LANGUAGES, STATUS_VARIABLES, TEMPLATES, render

from .conftest import Api


def address() -> str:
    return f"cliente-{uuid.uuid4().hex[:10]}@example.com"


async def send_and_dispatch(api: Api, dispatcher: Dispatcher, **body: Any) -> dict[str, Any]:
    agent = api.person(Role.agent)
    response = await api.client.post("/email/send", json=body, headers=agent.auth)
    assert response.status_code == 202, response.text
    assert await dispatcher.dispatch_once() == 1
    message: dict[str, Any] = (
        await api.client.get(f"/messages/{response.json()['id']}", headers=agent.auth)
    ).json()
    return message


async def test_email_with_html_and_attachment_goes_through_the_sendgrid_sdk(
    api: Api, dispatcher: Dispatcher
) -> None:
    to = address()
    pdf = b"%PDF-1.4 poliza"
    message = await send_and_dispatch(
        api,
        dispatcher,
        to=to,
        subject="Documentación de su póliza",
        text="Adjuntamos su póliza.",
        html="<p>Adjuntamos su <b>póliza</b>.</p>",
        attachments=[
            {
                "filename": "poliza.pdf",
                "content_type": "application/pdf",
                "content_base64": base64.b64encode(pdf).decode(),
            }
        ],
    )
    [mail] = api.sendgrid.to(to)
    assert mail["from"] == {"email": "no-reply@aintech.es", "name": "AINTECH Seguros"}
    assert mail["subject"] == "Documentación de su póliza"
    assert [c["type"] for c in mail["content"]] == ["text/plain", "text/html"]
    assert mail["attachments"] == [
        {
            "content": base64.b64encode(pdf).decode(),
            "filename": "poliza.pdf",
            "type": "application/pdf",
            "disposition": "attachment",
        }
    ]
    assert mail["custom_args"] == {"aintech_message_id": message["id"]}
    assert mail["headers"]["Message-ID"] == f"<{message['id']}@reply.aintech.es>"
    assert message["status"] == "sent" and message["provider_message_id"] == mail["x_message_id"]


async def test_signed_event_webhook_updates_delivery_once_and_refuses_forgeries(
    api: Api, dispatcher: Dispatcher
) -> None:
    to = address()
    message = await send_and_dispatch(api, dispatcher, to=to, subject="Hola", text="Hola")
    sg_id = api.sendgrid.to(to)[0]["x_message_id"]
    events = [
        {
            "email": to,
            "event": "delivered",
            "sg_event_id": "ev-" + uuid.uuid4().hex,
            "sg_message_id": f"{sg_id}.filter1",
            "timestamp": int(time.time()),
        },
        {
            "email": to,
            "event": "open",
            "sg_event_id": "ev-" + uuid.uuid4().hex,
            "aintech_message_id": message["id"],
            "timestamp": int(time.time()),
        },
    ]
    body = orjson.dumps(events)
    unsigned = await api.client.post("/webhooks/sendgrid/events", content=body)
    stale = await api.client.post(
        "/webhooks/sendgrid/events",
        content=body,
        headers=api.signer.headers(body, timestamp=int(time.time()) - 3600),
    )
    forged = await api.client.post(
        "/webhooks/sendgrid/events", content=body + b" ", headers=api.signer.headers(body)
    )
    for response in (unsigned, stale, forged):
        assert response.status_code == 403, response.text
    assert (await api.sql("SELECT status FROM omnichannel.messages WHERE id = :i", i=message["id"]))[0][
        "status"
    ] == "sent"

    first = await api.client.post("/webhooks/sendgrid/events", content=body, headers=api.signer.headers(body))
    assert first.status_code == 200, first.text
    assert first.json() == {"applied": 2, "duplicate": 0, "unknown": 0}
    replay = await api.client.post(
        "/webhooks/sendgrid/events", content=body, headers=api.signer.headers(body)
    )
    assert replay.json() == {"applied": 0, "duplicate": 2, "unknown": 0}
    row = (
        await api.sql(
            "SELECT status, delivered_at, read_at FROM omnichannel.messages WHERE id = :i", i=message["id"]
        )
    )[0]
    assert row["status"] == "opened" and row["delivered_at"] and row["read_at"]


async def test_unsubscribe_event_stops_marketing_but_not_account_mail(
    api: Api, dispatcher: Dispatcher
) -> None:
    to = address()
    message = await send_and_dispatch(api, dispatcher, to=to, subject="Hola", text="Hola")
    body = orjson.dumps(
        [
            {
                "email": to,
                "event": "unsubscribe",
                "sg_event_id": uuid.uuid4().hex,
                "aintech_message_id": message["id"],
            }
        ]
    )
    assert (
        await api.client.post("/webhooks/sendgrid/events", content=body, headers=api.signer.headers(body))
    ).status_code == 200
    rows = await api.sql(
        "SELECT opted_out, keyword FROM omnichannel.opt_outs WHERE channel = 'email' AND address = :a", a=to
    )
    assert rows == [{"opted_out": True, "keyword": "unsubscribe"}]
    again = await api.client.post(
        "/email/send", json={"to": to, "subject": "Hola", "text": "x"}, headers=api.person().auth
    )
    assert again.status_code == 202, "an agent's conversation e-mail is not marketing"


def multipart(fields: dict[str, str], files: dict[str, tuple[str, bytes, str]]) -> tuple[bytes, str]:
    boundary = "----aintech" + uuid.uuid4().hex
    parts: list[bytes] = []
    for name, value in fields.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        )
    for name, (filename, content, ctype) in files.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
            f"Content-Type: {ctype}\r\n\r\n".encode()
            + content
            + b"\r\n"
        )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


async def test_inbound_email_threads_to_the_customer_and_keeps_attachments(api: Api) -> None:
    sender = address()
    user_id = uuid.uuid4()
    customer_id = await api.customer(email=sender, user_id=user_id)
    message_id = f"<{uuid.uuid4().hex}@mail.example.com>"
    body, ctype = multipart(
        {
            "from": f"Lucía Martín <{sender.upper()}>",
            "to": "inbox@reply.aintech.es",
            "subject": "Re: Documentación de su póliza",
            "text": "Adjunto el parte del siniestro.",
            "headers": f"Message-ID: {message_id}\nIn-Reply-To: <abc@reply.aintech.es>\nSubject: Re: x\n",
            "attachments": "1",
        },
        {"attachment1": ("parte.pdf", b"%PDF parte", "application/pdf")},
    )
    unsigned = await api.client.post(
        "/webhooks/sendgrid/inbound", content=body, headers={"content-type": ctype}
    )
    assert unsigned.status_code == 403
    signed = {"content-type": ctype, **api.signer.headers(body)}
    assert (
        await api.client.post("/webhooks/sendgrid/inbound", content=body, headers=signed)
    ).status_code == 204
    assert (
        await api.client.post("/webhooks/sendgrid/inbound", content=body, headers=signed)
    ).status_code == 204

    rows = await api.sql("SELECT * FROM omnichannel.messages WHERE email_message_id = :m", m=message_id)
    assert len(rows) == 1, "a retried inbound parse stored the e-mail twice"
    stored = rows[0]
    assert stored["from_address"] == sender and stored["in_reply_to"] == "<abc@reply.aintech.es>"
    conversation = (
        await api.sql("SELECT * FROM omnichannel.conversations WHERE id = :i", i=stored["conversation_id"])
    )[0]
    assert conversation["customer_id"] == customer_id and conversation["channel"] == "email"

    [attachment] = await api.sql(
        "SELECT id, filename, size FROM omnichannel.attachments WHERE message_id = :m", m=stored["id"]
    )
    assert attachment["filename"] == "parte.pdf" and attachment["size"] == len(b"%PDF parte")
    owner = api.person(Role.customer, user_id=user_id)
    stranger = api.person(Role.customer)
    download = await api.client.get(f"/attachments/{attachment['id']}", headers=owner.auth)
    assert download.status_code == 200 and download.content == b"%PDF parte"
    assert download.headers["content-disposition"] == 'attachment; filename="parte.pdf"'
    assert (
        await api.client.get(f"/attachments/{attachment['id']}", headers=stranger.auth)
    ).status_code == 404


async def test_email_size_limits_are_413(api: Api) -> None:
    agent = api.person(Role.agent)
    big_text = await api.client.post(
        "/email/send", json={"to": address(), "subject": "x", "text": "a" * 1_000_001}, headers=agent.auth
    )
    assert big_text.status_code == 413 and big_text.headers["content-type"] == "application/problem+json"
    huge = base64.b64encode(b"0" * (10 * 1024 * 1024 + 1)).decode()
    big_file = await api.client.post(
        "/email/send",
        json={
            "to": address(),
            "subject": "x",
            "text": "x",
            "attachments": [{"filename": "a.bin", "content_base64": huge}],
        },
        headers=agent.auth,
    )
    assert big_file.status_code == 413
    bad = await api.client.post(
        "/email/send",
        json={
            "to": address(),
            "subject": "x",
            "text": "x",
            "attachments": [{"filename": "a.bin", "content_base64": "***"}],
        },
        headers=agent.auth,
    )
    assert bad.status_code == 422
    header_injection = await api.client.post(
        "/email/send",
        json={"to": address(), "subject": "Hola\r\nBcc: x@evil.com", "text": "x"},
        headers=agent.auth,
    )
    assert header_injection.status_code == 422


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_template_renders_in_spanish_and_english_with_html_escaped(language: str) -> None:
    for name, variables in TEMPLATES.items():
        values = {v: f"<script>{v}</script>" for v in variables}
        values.update(
            {v: next(iter(vocabulary)).value for v, vocabulary in STATUS_VARIABLES.get(name, {}).items()}
        )
        rendered = render(name, language=language, variables=values)
        assert "<script>" not in rendered.html, f"{name}/{language}: a variable reached the HTML unescaped"
        assert "&lt;script&gt;" in rendered.html
        assert rendered.subject and "\n" not in rendered.subject
        assert rendered.text and rendered.short
    assert (
        "Restablezca"
        in render(
            "password_reset",
            language="es",
            variables={"first_name": "A", "reset_url": "u", "expires_at": "e"},
        ).subject
    )
    assert (
        "Reset"
        in render(
            "password_reset",
            language="en-GB",
            variables={"first_name": "A", "reset_url": "u", "expires_at": "e"},
        ).subject
    )


async def test_template_preview_refuses_missing_variables(api: Api) -> None:
    agent = api.person(Role.agent)
    missing = await api.client.post(
        "/templates/quote/preview", json={"first_name": "Ana"}, headers=agent.auth
    )
    assert missing.status_code == 422
    assert {e["field"] for e in missing.json()["errors"]} == {
        "variables.quote_number",
        "variables.total_premium",
        "variables.best_carrier",
    }
    listed = (await api.client.get("/templates", headers=agent.auth)).json()
    assert {
        "welcome",
        "quote",
        "policy_renewal_reminder",
        "claim_update",
        "password_reset",
        "email_verification",
        "new_login_alert",
    } <= {t["name"] for t in listed["templates"]}


async def test_password_reset_request_from_kafka_ends_as_a_delivered_email(
    api: Api, dispatcher: Dispatcher, kafka_bootstrap: str
) -> None:
    to = address()
    user_id = uuid.uuid4()
    reset_url = f"https://app.aintech.es/reset-password?token={uuid.uuid4().hex}"
    payload = PasswordResetRequested(
        user_id=user_id,
        email=to,
        first_name="Lucía",
        reset_url=reset_url,
        expires_at=datetime.now(UTC) + timedelta(hours=1),
    )
    await publish_event(kafka_bootstrap, payload, key=str(user_id), source="authenticator")

    spec = patient_consumer(
        consumer_specs(build_runtime(Settings()))[0], name=f"test-accounts-{uuid.uuid4().hex[:8]}"
    )
    consumer = EventConsumer(spec, db=api.db, tables=MESSAGING, bootstrap=kafka_bootstrap)
    stop = asyncio.Event()
    consuming = asyncio.create_task(consumer.run(stop))
    delivering = asyncio.create_task(dispatcher.run(stop))
    try:
        [mail] = await eventually(lambda: _mails(api, to), within=30)
    finally:
        stop.set()
        await asyncio.gather(consuming, delivering)
    assert mail["subject"] == "Restablezca su contraseña"
    assert any(reset_url in c["value"] for c in mail["content"])
    assert "Lucía" in mail["content"][0]["value"]

    message_id = mail["custom_args"]["aintech_message_id"]
    delivered = orjson.dumps(
        [
            {
                "event": "delivered",
                "sg_event_id": uuid.uuid4().hex,
                "aintech_message_id": message_id,
                "email": to,
            }
        ]
    )
    response = await api.client.post(
        "/webhooks/sendgrid/events", content=delivered, headers=api.signer.headers(delivered)
    )
    assert response.json()["applied"] == 1
    row = (await api.sql("SELECT status, template FROM omnichannel.messages WHERE id = :i", i=message_id))[0]
    assert row == {"status": "delivered", "template": "password_reset"}


async def test_account_and_crm_mail_requests_from_kafka_end_as_templated_emails_in_spanish_and_english(
    api: Api, dispatcher: Dispatcher, kafka_bootstrap: str
) -> None:
    """auth.account_exists_notice, auth.email_change_requested, user.email_changed and
    crm.email_requested, published to Kafka as their producers do, reach SendGrid from their
    templates: the person's language, the link to the new address, the notice to the old one."""
    now = datetime.now(UTC)
    spanish, english = uuid.uuid4(), uuid.uuid4()
    await api.customer(email=address(), user_id=english, language="en", first_name="John")
    exists_to, change_old, change_new, crm_to = address(), address(), address(), address()
    events: list[tuple[Any, str, str]] = [
        (
            UserRegistered(
                user_id=english,
                email=change_old,
                first_name="John",
                last_name="Smith",
                role="customer",
                registered_at=now,
            ),
            str(english),
            "authenticator",
        ),
        (
            AccountExistsNotice(
                user_id=spanish,
                email=exists_to,
                first_name="Lucía",
                sign_in_url="https://app.aintech.example/login",
                reset_password_url="https://app.aintech.example/reset",
                requested_at=now,
            ),
            str(spanish),
            "authenticator",
        ),
        (
            EmailChangeRequested(
                user_id=english,
                email=change_old,
                new_email=change_new,
                first_name="John",
                verification_url="https://app.aintech.example/verify?t=abc",
                expires_at=now + timedelta(hours=24),
            ),
            str(english),
            "authenticator",
        ),
        (
            UserEmailChanged(
                user_id=english,
                old_email=change_old,
                new_email=change_new,
                first_name="John",
                changed_at=now,
            ),
            str(english),
            "authenticator",
        ),
        (
            EmailRequested(
                request_id=uuid.uuid4(),
                to=crm_to,
                to_name="Ana <Ruiz>",
                subject="Your quote Q-9",
                body_text="Hello Ana,\n\nOffers:\n- Mapfre: 300 €\n\n<b>Valid</b> for 30 days.",
                template="crm.quote",
                language="en",
            ),
            str(uuid.uuid4()),
            "core-crm",
        ),
    ]
    for payload, key, source in events:
        await publish_event(kafka_bootstrap, payload, key=key, source=source)

    stop = asyncio.Event()
    tasks = [
        asyncio.create_task(
            EventConsumer(
                patient_consumer(spec, name=f"test-{spec.name}-{uuid.uuid4().hex[:8]}"),
                db=api.db,
                tables=MESSAGING,
                bootstrap=kafka_bootstrap,
            ).run(stop)
        )
        for spec in consumer_specs(build_runtime(Settings()))
    ]
    tasks.append(asyncio.create_task(dispatcher.run(stop)))
    try:
        [exists] = await eventually(lambda: _mails(api, exists_to), within=30)
        [change] = await eventually(lambda: _mails(api, change_new), within=30)
        [changed] = await eventually(lambda: _mails(api, change_old), within=30)
        [crm_mail] = await eventually(lambda: _mails(api, crm_to), within=30)
    finally:
        stop.set()
        await asyncio.gather(*tasks)

    text, html = (c["value"] for c in exists["content"])
    assert exists["subject"] == "Ya tiene una cuenta en AINTECH"
    assert "Hola Lucía" in text and "https://app.aintech.example/reset" in text
    assert 'href="https://app.aintech.example/login"' in html

    assert change["subject"] == "Confirm your new e-mail address", "the English customer's language"
    assert "https://app.aintech.example/verify?t=abc" in change["content"][0]["value"]
    assert change_new in change["content"][0]["value"]

    assert changed["subject"] == "Your account's e-mail address was changed"
    assert (
        change_new in changed["content"][0]["value"]
        and "contact us at once" in changed["content"][0]["value"]
    )
    [account] = await api.sql("SELECT email FROM omnichannel.platform_users WHERE user_id = :u", u=english)
    assert account["email"] == change_new, "the read model follows the proven address"

    text, html = (c["value"] for c in crm_mail["content"])
    assert crm_mail["subject"] == "Your quote Q-9"
    assert text == "Hello Ana,\n\nOffers:\n- Mapfre: 300 €\n\n<b>Valid</b> for 30 days."
    assert '<html lang="en">' in html and "&lt;b&gt;Valid&lt;/b&gt;" in html and "<b>Valid" not in html
    [row] = await api.sql(
        "SELECT template, language, status FROM omnichannel.messages WHERE to_address = :a", a=crm_to
    )
    assert row == {"template": "crm.quote", "language": "en", "status": "sent"}


async def _mails(api: Api, to: str) -> list[dict[str, Any]]:
    return api.sendgrid.to(to)
