"""Account takeover and business-rule attacks, performed through the gateway on the booted fleet,
each refused (docs/security.md, "Attacks refused"): a stranger registering with a CRM customer's
e-mail address reads none of their mail; agents read no reset or verification link; a customer
cannot make someone else's phone number theirs nor join the signalling of that person's call; an
agent cannot take a colleague's conversation."""

from __future__ import annotations

import asyncio
import time
import uuid
import xml.etree.ElementTree as ET
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest
from twilio.request_validator import RequestValidator
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from aintech_devtools.testing import find_event
from aintech_shared.webhooks import TWILIO_SIGNATURE, twilio_signature
from omnichannel.settings import DEV_TWILIO_AUTH_TOKEN as MESSAGING_TOKEN
from telephony.settings import DEV_TWILIO_AUTH_TOKEN as VOICE_TOKEN

from .conftest import Fleet

SEED_PASSWORD = "Aintech-Demo-2026!"
PASSWORD = "Tejado-Azul-42!"


def bearer(gw: httpx.Client, email: str, password: str = SEED_PASSWORD) -> dict[str, str]:
    response = gw.post("/api/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def subject(headers: dict[str, str]) -> str:
    token = headers["Authorization"].removeprefix("Bearer ")
    return str(jwt.decode(token, options={"verify_signature": False})["sub"])


def eventually(what: str, check: Any, *, within: float = 60.0) -> Any:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.25)
    raise AssertionError(f"{what}: not within {within}s")


def kafka_event(kafka_bootstrap: str, topic: str, event_type: str, **data: str) -> dict[str, Any]:
    """The data of the first ``event_type`` on ``topic`` whose fields match ``data`` (what the
    mailbox's owner would get in their mail, read here from the broker)."""
    found = asyncio.run(
        find_event(
            kafka_bootstrap,
            topic,
            lambda e: e.type == event_type and all(str(e.data.get(k)) == v for k, v in data.items()),
            within=60,
        )
    )
    assert found is not None, f"{event_type} never reached {topic}"
    return dict(found[0].data)


def register(gw: httpx.Client, email: str, first_name: str = "Lucía") -> dict[str, str]:
    created = gw.post(
        "/api/auth/register",
        json={"email": email, "password": PASSWORD, "first_name": first_name, "last_name": "Martín"},
    )
    assert created.status_code == 202, created.text
    return bearer(gw, email, PASSWORD)


def verified_customer(gw: httpx.Client, kafka_bootstrap: str, agent: dict[str, str], **fields: str) -> Any:
    """A person who registered, proved their address, and whom an agent then entered in the CRM
    (linked to the account at once): (their auth header, their CRM record)."""
    email = f"e2e-{uuid.uuid4().hex[:10]}@example.com"
    me = register(gw, email)
    request = kafka_event(
        kafka_bootstrap, "auth.security", "auth.email_verification_requested", user_id=subject(me)
    )
    token = parse_qs(urlsplit(request["verification_url"]).query)["token"][0]
    assert gw.post("/api/auth/verify-email", json={"token": token}).status_code == 200

    record = gw.post(
        "/api/crm/customers",
        headers=agent,
        json={"first_name": "Lucía", "last_name": "Martín", "email": email, **fields},
    )
    assert record.status_code == 201, record.text

    def linked() -> Any:  # at creation, or when the CRM reads the verification, whichever is later
        found = gw.get(f"/api/crm/customers/{record.json()['id']}", headers=agent).json()
        return found if found["user_id"] == subject(me) else None

    # As in test_crm_flow: the CRM's account consumer may lag behind a busy fleet.
    return me, eventually("the CRM links the verified account", linked, within=180)


def console(gw: httpx.Client, headers: dict[str, str], to: str) -> httpx.Response:
    return gw.get(
        "/api/omnichannel/providers/console/deliveries",
        params={"channel": "email", "to": to},
        headers=headers,
    )


# --- High: mailbox takeover through a shared e-mail conversation ---------------------------------


def test_registering_with_a_crm_customers_address_reads_none_of_their_mail(
    gw: httpx.Client, kafka_bootstrap: str
) -> None:
    agent, admin = bearer(gw, "agent1@aintech.com"), bearer(gw, "admin@aintech.com")
    mailbox = f"victim-{uuid.uuid4().hex[:10]}@example.com"
    victim = gw.post(
        "/api/crm/customers",
        headers=agent,
        json={"first_name": "Víctor", "last_name": "Ruiz", "email": mailbox, "preferred_channel": "email"},
    )
    assert victim.status_code == 201, victim.text
    victim_id = victim.json()["id"]

    def claim_mail_sent() -> bool:  # once omnichannel knows the customer
        sent = gw.post(
            "/api/omnichannel/messages/template",
            headers=agent,
            json={
                "customer_id": victim_id,
                "template": "claim_update",
                "channel": "email",
                "variables": {"claim_number": "SIN-2026-4242", "status": "investigating"},
            },
        )
        return sent.status_code == 202

    eventually("the claim e-mail to the customer", claim_mail_sent)

    # The attack: register with the customer's address (no verification needed to sign in).
    stranger = register(gw, mailbox, first_name="Intruso")
    request = kafka_event(
        kafka_bootstrap, "auth.security", "auth.email_verification_requested", user_id=subject(stranger)
    )
    secret = parse_qs(urlsplit(request["verification_url"]).query)["token"][0]

    def delivered() -> list[dict[str, Any]]:
        page = console(gw, admin, mailbox)
        assert page.status_code == 200, page.text
        return [d for d in page.json()["items"] if "verify-email?token=" in d["body"]]

    [verification] = eventually("the verification e-mail", delivered)
    assert secret not in verification["body"] and secret not in str(verification["payload"])

    listed = gw.get("/api/omnichannel/conversations", headers=stranger)
    assert listed.status_code == 200 and listed.json()["items"] == [], "the stranger lists no conversation"
    [thread] = gw.get(
        "/api/omnichannel/conversations", params={"customer_id": victim_id}, headers=agent
    ).json()["items"]
    for path in (f"/conversations/{thread['id']}", f"/conversations/{thread['id']}/messages"):
        assert gw.get(f"/api/omnichannel{path}", headers=stranger).status_code == 404
    messages = gw.get(f"/api/omnichannel/conversations/{thread['id']}/messages", headers=agent).json()
    assert [m["template"] for m in messages] == ["claim_update"], "account mails stay out of the thread"
    assert gw.get("/api/crm/customers/me", headers=stranger).status_code == 404, "not linked to the record"


# --- High: agents reading password-reset and verification links ---------------------------------


def test_agents_read_no_reset_link_and_the_console_log_is_for_administrators(
    gw: httpx.Client, kafka_bootstrap: str
) -> None:
    agent, supervisor = bearer(gw, "agent2@aintech.com"), bearer(gw, "supervisor1@aintech.com")
    admin = bearer(gw, "admin@aintech.com")
    requested = gw.post("/api/auth/forgot-password", json={"email": "admin@aintech.com"})
    assert requested.status_code == 202, requested.text
    for staff in (agent, supervisor):
        refused = console(gw, staff, "admin@aintech.com")
        assert refused.status_code == 403, refused.text
        assert refused.headers["content-type"] == "application/problem+json"

    reset = kafka_event(
        kafka_bootstrap, "auth.security", "auth.password_reset_requested", email="admin@aintech.com"
    )
    secret = parse_qs(urlsplit(reset["reset_url"]).query)["token"][0]

    def delivered() -> list[dict[str, Any]]:
        page = console(gw, admin, "admin@aintech.com")
        return [d for d in page.json()["items"] if "reset-password?token=" in d["body"]]

    eventually("the reset e-mail", delivered)
    page = console(gw, admin, "admin@aintech.com").json()
    assert secret not in str(page), "even the console log keeps the link redacted"
    inbox = gw.get("/api/omnichannel/conversations", params={"channel": "email"}, headers=agent).json()
    assert all(c["address"] != "admin@aintech.com" for c in inbox["items"]), "account mails are not listed"


# --- Medium: caller-ID hijack --------------------------------------------------------------------


def test_a_customer_cannot_take_someone_elses_number_nor_join_their_call(
    fleet: Fleet, gw: httpx.Client, kafka_bootstrap: str
) -> None:
    agent = bearer(gw, "agent1@aintech.com")
    number = "+34699" + str(uuid.uuid4().int)[:6]
    owner, owner_record = verified_customer(gw, kafka_bootstrap, agent, mobile=number)
    attacker, attacker_record = verified_customer(gw, kafka_bootstrap, agent)

    me = gw.get("/api/crm/customers/me", headers=attacker)
    direct = gw.patch(
        f"/api/crm/customers/{attacker_record['id']}",
        json={"mobile": number},
        headers={**attacker, "If-Match": me.headers["etag"]},
    )
    assert direct.status_code == 403, direct.text
    asked = gw.post(
        "/api/crm/customers/me/contact-changes", json={"field": "mobile", "value": number}, headers=attacker
    )
    assert asked.status_code == 202, asked.text
    confirm = f"/api/crm/customers/me/contact-changes/{asked.json()['id']}/confirm"
    answers = [gw.post(confirm, json={"code": f"{n:06d}"}, headers=attacker).status_code for n in range(6)]
    assert answers[:5] == [422] * 5 and answers[5] == 409, f"guessing burns the change: {answers}"
    assert gw.get("/api/crm/customers/me", headers=attacker).json()["mobile"] is None

    # The owner calls: the call is theirs, and only theirs to join.
    base = str(gw.base_url).rstrip("/")
    supervisor = bearer(gw, "supervisor1@aintech.com")  # sees every call
    rung: list[dict[str, str]] = []

    def twilio(path: str, params: dict[str, str]) -> httpx.Response:
        url = f"{base}/webhooks/twilio/voice/{path}"
        headers = {TWILIO_SIGNATURE: twilio_signature(VOICE_TOKEN, url, params)}
        return gw.post(f"/webhooks/twilio/voice/{path}", data=params, headers=headers)

    def matched_call() -> str | None:
        params = {
            "AccountSid": "AC" + "0" * 32,
            "CallSid": "CA" + uuid.uuid4().hex,
            "From": number,
            "To": "+34910000000",
            "CallStatus": "ringing",
            "Direction": "inbound",
        }
        greeted = twilio("incoming", params)
        assert greeted.status_code == 200, greeted.text
        rung.append(params)
        gather = ET.fromstring(greeted.text).find("Gather")  # noqa: S314 - our own service's answer
        assert gather is not None, greeted.text
        call_id = parse_qs(urlsplit(gather.get("action", "")).query)["call_id"][0]
        call = gw.get(f"/api/telephony/calls/{call_id}", headers=supervisor)
        assert call.status_code == 200, call.text
        return call_id if call.json()["customer_id"] == owner_record["id"] else None

    try:
        call_id = eventually("telephony matches the owner's number", matched_call)
        room = f"{fleet.gateway.replace('http://', 'ws://')}/ws/telephony/calls/{call_id}"

        async def join(headers: dict[str, str]) -> int:
            token = headers["Authorization"].removeprefix("Bearer ")
            try:
                async with connect(room, subprotocols=["bearer", token]):  # type: ignore[list-item]
                    return 101
            except InvalidStatus as refused:
                return refused.response.status_code

        assert asyncio.run(join(attacker)) == 403, "the attacker is no party to the owner's call"
        assert asyncio.run(join(owner)) == 101, "the caller joins their own call"
    finally:
        for params in rung:  # the caller hangs up
            assert (
                twilio("status", {**params, "CallStatus": "completed", "CallDuration": "3"}).status_code
                == 204
            )


# --- Medium: conversation stealing ---------------------------------------------------------------


def test_an_agent_cannot_take_a_colleagues_conversation(gw: httpx.Client) -> None:
    first, second = bearer(gw, "agent2@aintech.com"), bearer(gw, "agent3@aintech.com")
    supervisor = bearer(gw, "supervisor2@aintech.com")
    for auth in (first, second):  # known to the inbox, without taking new conversations
        away = gw.put("/api/omnichannel/agents/me/presence", json={"status": "away"}, headers=auth)
        assert away.status_code == 200, away.text
    number = "+346" + str(uuid.uuid4().int)[:8]
    params = {
        "MessageSid": "SM" + uuid.uuid4().hex,
        "From": f"whatsapp:{number}",
        "To": "whatsapp:+14155238886",
        "Body": "Necesito ayuda con mi póliza",
    }
    url = f"{str(gw.base_url).rstrip('/')}/webhooks/twilio/messaging"
    signature = RequestValidator(MESSAGING_TOKEN).compute_signature(url, params)
    assert gw.post(
        "/webhooks/twilio/messaging", data=params, headers={"X-Twilio-Signature": signature}
    ).is_success
    [conversation] = [
        c
        for c in gw.get(
            "/api/omnichannel/conversations", params={"channel": "whatsapp"}, headers=first
        ).json()["items"]
        if c["address"] == number
    ]
    assign = f"/api/omnichannel/conversations/{conversation['id']}/assign"
    # Whoever the round robin gave it to (agents of other tests may be online), it is now the first's.
    given = gw.post(assign, json={"agent_id": subject(first)}, headers=supervisor)
    assert given.status_code == 200 and given.json()["assignee_id"] == subject(first), given.text

    for body in ({"agent_id": subject(second)}, {"agent_id": None}):
        stolen = gw.post(assign, json=body, headers=second)
        assert stolen.status_code == 403, stolen.text
        assert "colleague" in stolen.json()["detail"]
    handed = gw.post(assign, json={"agent_id": subject(second)}, headers=first)
    assert handed.status_code == 200 and handed.json()["assignee_id"] == subject(second), "a hand-over"
    moved = gw.post(assign, json={"agent_id": subject(first)}, headers=supervisor)
    assert moved.status_code == 200 and moved.json()["assignee_id"] == subject(first), moved.text


@pytest.fixture(autouse=True)
def _offline_after(gw: httpx.Client) -> Any:
    yield
    for email in ("agent2@aintech.com", "agent3@aintech.com"):
        gw.put("/api/omnichannel/agents/me/presence", json={"status": "offline"}, headers=bearer(gw, email))
