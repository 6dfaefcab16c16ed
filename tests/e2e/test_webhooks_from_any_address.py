"""Signed provider webhooks through the gateway from a client that is not 127.0.0.1.

Twilio and SendGrid reach the platform from their own addresses. The client here is bound to
127.0.0.55: the gateway forwards it (X-Forwarded-For 127.0.0.55, the public scheme and host) to
services that must still recognise the gateway as the trusted proxy, rebuild the public URL and
accept the signature. Before the chassis kept the TCP peer, every one of these was 403.
"""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from aintech_shared.webhooks import SENDGRID_SIGNATURE, SENDGRID_TIMESTAMP, TWILIO_SIGNATURE, twilio_signature
from omnichannel.settings import DEV_TWILIO_AUTH_TOKEN as OMNICHANNEL_TOKEN
from telephony.settings import DEV_TWILIO_AUTH_TOKEN as TELEPHONY_TOKEN

from .conftest import Fleet

OUTSIDE = "127.0.0.55"
SEED_PASSWORD = "Aintech-Demo-2026!"


@pytest.fixture
def outsider(fleet: Fleet) -> Iterator[httpx.Client]:
    """A client connecting from 127.0.0.55, as a provider reaching the gateway from elsewhere."""
    transport = httpx.HTTPTransport(local_address=OUTSIDE)
    with httpx.Client(base_url=fleet.gateway, transport=transport, timeout=30) as client:
        yield client


def test_a_signed_twilio_voice_webhook_from_another_address_is_answered(outsider: httpx.Client) -> None:
    url = f"{outsider.base_url}".rstrip("/") + "/webhooks/twilio/voice/incoming"
    caller = {
        "AccountSid": "AC" + "0" * 32,
        "CallSid": "CA" + uuid.uuid4().hex,
        "From": "+34699123124",
        "To": "+34910000000",
        "CallStatus": "ringing",
        "Direction": "inbound",
    }
    forged = {TWILIO_SIGNATURE: "Zm9yZ2Vk"}
    assert outsider.post("/webhooks/twilio/voice/incoming", data=caller, headers=forged).status_code == 403
    signed = {TWILIO_SIGNATURE: twilio_signature(TELEPHONY_TOKEN, url, caller)}
    answered = outsider.post("/webhooks/twilio/voice/incoming", data=caller, headers=signed)
    assert answered.status_code == 200, answered.text
    assert answered.headers["content-type"].startswith("application/xml")
    assert "<Gather" in answered.text, "the caller hears the menu"


def test_a_signed_twilio_message_from_another_address_reaches_the_inbox(
    outsider: httpx.Client, gw: httpx.Client
) -> None:
    number = "+346" + str(uuid.uuid4().int)[:8]
    params = {
        "MessageSid": "SM" + uuid.uuid4().hex,
        "From": f"whatsapp:{number}",
        "To": "whatsapp:+14155238886",
        "Body": "Hola desde otra dirección",
    }
    url = f"{outsider.base_url}".rstrip("/") + "/webhooks/twilio/messaging"
    signed = {TWILIO_SIGNATURE: twilio_signature(OMNICHANNEL_TOKEN, url, params)}
    accepted = outsider.post("/webhooks/twilio/messaging", data=params, headers=signed)
    assert accepted.status_code == 200, accepted.text

    login = gw.post("/api/auth/login", json={"email": "agent1@aintech.com", "password": SEED_PASSWORD})
    agent = {"Authorization": f"Bearer {login.json()['access_token']}"}
    inbox = gw.get("/api/omnichannel/conversations", params={"channel": "whatsapp"}, headers=agent)
    assert [c["address"] for c in inbox.json()["items"] if c["address"] == number] == [number]


def test_a_signed_sendgrid_event_batch_from_another_address_is_applied(
    outsider: httpx.Client, sendgrid_webhook_key: ec.EllipticCurvePrivateKey
) -> None:
    payload = f'[{{"event":"delivered","sg_event_id":"{uuid.uuid4().hex}","email":"x@example.com"}}]'.encode()
    timestamp = str(int(time.time()))
    raw = sendgrid_webhook_key.sign(timestamp.encode() + payload, ec.ECDSA(hashes.SHA256()))
    headers = {SENDGRID_SIGNATURE: base64.b64encode(raw).decode(), SENDGRID_TIMESTAMP: timestamp}
    accepted = outsider.post("/webhooks/sendgrid/events", content=payload, headers=headers)
    assert accepted.status_code == 200, accepted.text
    assert sum(accepted.json().values()) == 1
    tampered = outsider.post("/webhooks/sendgrid/events", content=payload + b" ", headers=headers)
    assert tampered.status_code == 403
