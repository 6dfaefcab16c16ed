"""Provider webhooks through the chassis as served: signatures over the public URL behind a proxy.

The service runs under the chassis' own uvicorn configuration on loopback. A "gateway" hop is a
client connecting from 127.0.0.1 (a trusted proxy) that forwards a customer at another address;
an outside client connects from 127.0.0.55 itself.
"""

from __future__ import annotations

import base64
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import httpx
import pytest
import uvicorn
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import Depends, FastAPI, Request
from pydantic import SecretStr

from aintech_devtools.testing import uvicorn_serving
from aintech_shared.app import create_service_app
from aintech_shared.errors import Forbidden
from aintech_shared.proxies import TrustedProxies
from aintech_shared.serve import config
from aintech_shared.settings import ServiceSettings
from aintech_shared.webhooks import (
    SENDGRID_SIGNATURE,
    SENDGRID_TIMESTAMP,
    TWILIO_SIGNATURE,
    FormParams,
    check_sendgrid_events,
    read_body,
    twilio_form,
    twilio_signature,
)

TOKEN = "a-twilio-auth-token"
ACCOUNT = "AC" + "7" * 32
PUBLIC = "https://api.aintech.example"
OUTSIDE = "127.0.0.55"  # any client address but 127.0.0.1 (the whole 127/8 is loopback)
SENDGRID_KEY = ec.generate_private_key(ec.SECP256R1())
SENDGRID_PUBLIC = base64.b64encode(
    SENDGRID_KEY.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
).decode()


class HookSettings(ServiceSettings, service="telephony"):
    twilio_auth_token: SecretStr = SecretStr(TOKEN)
    twilio_account_sid: str = ACCOUNT


TwilioForm = Annotated[FormParams, Depends(twilio_form(max_bytes=2048, check_account=True))]


def build() -> FastAPI:
    app = create_service_app(HookSettings(), title="hooks", description="webhook intake", with_database=False)

    @app.post("/webhooks/twilio/test")
    async def twilio(form: TwilioForm) -> Any:
        return {"fields": dict(form)}

    @app.post("/webhooks/sendgrid/test")
    async def sendgrid(request: Request) -> Any:
        body = await read_body(request, 4096)
        check_sendgrid_events(
            public_key=SENDGRID_PUBLIC,
            payload=body,
            signature=request.headers.get(SENDGRID_SIGNATURE),
            timestamp=request.headers.get(SENDGRID_TIMESTAMP),
            max_age=600,
        )
        return {"events": len(body)}

    return app


@asynccontextmanager
async def served() -> AsyncIterator[str]:
    """The app under the chassis' uvicorn configuration (as ``serve()`` runs it) on a free port."""
    server = uvicorn.Server(config(build(), HookSettings(), host="127.0.0.1", port=0, loop="asyncio"))
    async with uvicorn_serving(server) as port:
        yield f"http://127.0.0.1:{port}"


@pytest.fixture
async def service() -> AsyncIterator[str]:
    async with served() as base:
        yield base


def client_from(address: str, base: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=base, transport=httpx.AsyncHTTPTransport(local_address=address))


def gateway_headers(signature: str, client: str = OUTSIDE) -> dict[str, str]:
    """What the gateway adds when it forwards a provider's call to the service."""
    return {
        TWILIO_SIGNATURE: signature,
        "X-Forwarded-For": client,
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Host": "api.aintech.example",
    }


FORM = {"AccountSid": ACCOUNT, "CallSid": "CA" + "1" * 32, "From": "+34600111222"}


async def test_twilio_signed_over_the_public_url_is_accepted_whatever_the_callers_address(
    service: str,
) -> None:
    signature = twilio_signature(TOKEN, f"{PUBLIC}/webhooks/twilio/test", FORM)
    async with client_from("127.0.0.1", service) as gateway:
        for caller in (OUTSIDE, "203.0.113.9", "127.0.0.1"):
            accepted = await gateway.post(
                "/webhooks/twilio/test", data=FORM, headers=gateway_headers(signature, caller)
            )
            assert accepted.status_code == 200, (caller, accepted.text)
            assert accepted.json()["fields"]["CallSid"] == FORM["CallSid"]


async def test_forwarding_headers_from_an_untrusted_peer_are_not_believed(service: str) -> None:
    forged = twilio_signature(TOKEN, f"{PUBLIC}/webhooks/twilio/test", FORM)
    direct = twilio_signature(TOKEN, f"{service}/webhooks/twilio/test", FORM)
    async with client_from(OUTSIDE, service) as outsider:
        refused = await outsider.post("/webhooks/twilio/test", data=FORM, headers=gateway_headers(forged))
        assert refused.status_code == 403
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["detail"] == "Invalid Twilio signature."
        # The same peer signing the URL it really called is fine.
        accepted = await outsider.post("/webhooks/twilio/test", data=FORM, headers={TWILIO_SIGNATURE: direct})
        assert accepted.status_code == 200, accepted.text


async def test_twilio_intake_refuses_a_wrong_signature_another_account_and_a_large_body(service: str) -> None:
    url = f"{PUBLIC}/webhooks/twilio/test"
    other = {**FORM, "AccountSid": "AC" + "8" * 32}
    big = {**FORM, "Body": "x" * 3000}
    async with client_from("127.0.0.1", service) as gateway:
        tampered = await gateway.post(
            "/webhooks/twilio/test",
            data={**FORM, "From": "+34999"},
            headers=gateway_headers(twilio_signature(TOKEN, url, FORM)),
        )
        assert tampered.status_code == 403
        foreign = await gateway.post(
            "/webhooks/twilio/test", data=other, headers=gateway_headers(twilio_signature(TOKEN, url, other))
        )
        assert foreign.status_code == 400
        assert foreign.json()["detail"] == "The callback is for another Twilio account."
        large = await gateway.post(
            "/webhooks/twilio/test", data=big, headers=gateway_headers(twilio_signature(TOKEN, url, big))
        )
        assert large.status_code == 413
        assert large.json()["detail"] == "The webhook body exceeds 2048 bytes."


def _sendgrid_sign(payload: bytes, timestamp: str) -> str:
    raw = SENDGRID_KEY.sign(timestamp.encode() + payload, ec.ECDSA(hashes.SHA256()))
    return base64.b64encode(raw).decode()


async def test_sendgrid_events_are_checked_with_its_ecdsa_signature(service: str) -> None:
    payload = b'[{"event":"delivered","sg_event_id":"e1"}]'
    now = str(int(time.time()))
    stale = str(int(time.time()) - 3600)
    async with client_from(OUTSIDE, service) as outsider:
        signed = {SENDGRID_SIGNATURE: _sendgrid_sign(payload, now), SENDGRID_TIMESTAMP: now}
        accepted = await outsider.post("/webhooks/sendgrid/test", content=payload, headers=signed)
        assert accepted.status_code == 200, accepted.text
        changed = await outsider.post("/webhooks/sendgrid/test", content=payload + b" ", headers=signed)
        assert changed.status_code == 403 and changed.json()["detail"] == "Invalid SendGrid signature."
        old = {SENDGRID_SIGNATURE: _sendgrid_sign(payload, stale), SENDGRID_TIMESTAMP: stale}
        late = await outsider.post("/webhooks/sendgrid/test", content=payload, headers=old)
        assert late.status_code == 403
        assert late.json()["detail"] == "Missing or stale SendGrid signature timestamp."


def test_sendgrid_check_refuses_when_no_key_is_configured() -> None:
    with pytest.raises(Forbidden, match="not configured"):
        check_sendgrid_events(public_key="", payload=b"[]", signature="x", timestamp="1", max_age=600)


def test_the_client_is_the_rightmost_hop_no_trusted_proxy_added() -> None:
    proxies = TrustedProxies(["10.0.0.0/8", "127.0.0.1"])
    assert proxies.client_ip("10.1.2.3", "203.0.113.9, 10.0.0.5") == "203.0.113.9"
    assert proxies.client_ip("10.1.2.3", "1.2.3.4, 203.0.113.9, 10.0.0.5") == "203.0.113.9"
    assert proxies.client_ip("198.51.100.7", "203.0.113.9") == "198.51.100.7"  # not a proxy: peer
    assert proxies.client_ip("10.1.2.3", "not-an-ip") == "10.1.2.3"
    assert proxies.forwarded_for("10.1.2.3", "203.0.113.9") == "203.0.113.9, 10.1.2.3"
    assert proxies.forwarded_for("198.51.100.7", "1.2.3.4") == "198.51.100.7"
