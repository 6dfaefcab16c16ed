"""Omnichannel through the gateway on the booted fleet (console providers: nothing leaves the
machine): an authenticator password reset ends as a delivered e-mail, signed Twilio webhooks reach
the inbox, unsigned ones are refused."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx
from twilio.request_validator import RequestValidator

from omnichannel.settings import DEV_TWILIO_AUTH_TOKEN

SEED_PASSWORD = "Aintech-Demo-2026!"


def bearer(gw: httpx.Client, email: str) -> dict[str, str]:
    response = gw.post("/api/auth/login", json={"email": email, "password": SEED_PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def wait_for(check: Any, *, within: float = 60.0) -> Any:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.25)
    raise AssertionError(f"not within {within}s")


def test_a_password_reset_request_ends_as_a_delivered_email(gw: httpx.Client) -> None:
    admin = bearer(gw, "admin@aintech.com")  # the console log is for administrators
    requested = gw.post("/api/auth/forgot-password", json={"email": "customer1@aintech.com"})
    assert requested.status_code == 202, requested.text

    def delivered() -> list[dict[str, Any]]:
        page = gw.get(
            "/api/omnichannel/providers/console/deliveries",
            params={"channel": "email", "to": "customer1@aintech.com"},
            headers=admin,
        )
        assert page.status_code == 200, page.text
        return [d for d in page.json()["items"] if "reset-password?token=" in d["body"]]

    mail = wait_for(delivered)[0]
    assert mail["subject"] in ("Restablezca su contraseña", "Reset your password")
    assert "<a href=" in mail["payload"]["html"]


def test_signed_twilio_webhooks_through_the_gateway_reach_the_inbox(gw: httpx.Client) -> None:
    agent = bearer(gw, "agent1@aintech.com")
    number = "+346" + str(uuid.uuid4().int)[:8]
    params = {
        "MessageSid": "SM" + uuid.uuid4().hex,
        "From": f"whatsapp:{number}",
        "To": "whatsapp:+14155238886",
        "Body": "Hola desde WhatsApp",
    }
    url = f"{gw.base_url}/webhooks/twilio/messaging".replace("//webhooks", "/webhooks")
    unsigned = gw.post("/webhooks/twilio/messaging", data=params)
    assert unsigned.status_code == 403
    assert unsigned.headers["content-type"] == "application/problem+json"
    signature = RequestValidator(DEV_TWILIO_AUTH_TOKEN).compute_signature(url, params)
    accepted = gw.post("/webhooks/twilio/messaging", data=params, headers={"X-Twilio-Signature": signature})
    assert accepted.status_code == 200, accepted.text

    inbox = gw.get("/api/omnichannel/conversations", params={"channel": "whatsapp"}, headers=agent)
    assert inbox.status_code == 200
    [conversation] = [c for c in inbox.json()["items"] if c["address"] == number]
    messages = gw.get(f"/api/omnichannel/conversations/{conversation['id']}/messages", headers=agent).json()
    assert [m["body"] for m in messages] == ["Hola desde WhatsApp"]

    reply = gw.post(
        f"/api/omnichannel/conversations/{conversation['id']}/reply", json={"body": "¡Hola!"}, headers=agent
    )
    assert reply.status_code == 202, reply.text

    def sent() -> dict[str, Any] | None:
        message = gw.get(f"/api/omnichannel/messages/{reply.json()['id']}", headers=agent).json()
        return message if message["status"] == "sent" else None

    assert wait_for(sent)["provider"] == "console"
