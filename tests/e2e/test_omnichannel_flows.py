"""Omnichannel through the gateway on the booted fleet (console providers: nothing leaves the
machine): an authenticator password reset ends as a delivered e-mail, signed Twilio webhooks reach
the inbox, unsigned ones are refused, and a claim a customer reports reaches them in words."""

from __future__ import annotations

import time
import uuid
from datetime import date, timedelta
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


def test_a_claim_the_customer_reports_reaches_them_in_words_not_as_a_status(gw: httpx.Client) -> None:
    """claim.created carries ``reported``: the customer's notification reads "recibido"."""
    me = bearer(gw, "customer1@aintech.com")
    mine = wait_for(
        lambda: (r := gw.get("/api/crm/customers/me", headers=me)).status_code == 200 and r.json()
    )
    policies = gw.get("/api/crm/policies", headers=me, params={"status": "active"})
    assert policies.status_code == 200, policies.text
    yesterday = date.today() - timedelta(days=1)
    policy = next(
        p
        for p in policies.json()["items"]
        if p["customer_id"] == mine["id"] and date.fromisoformat(p["coverage_start_date"]) <= yesterday
    )
    incident = min(yesterday, date.fromisoformat(policy["coverage_end_date"]))
    reported = gw.post(
        "/api/crm/claims",
        headers=me,
        json={
            "policy_id": policy["id"],
            "claim_type": "water_damage",
            "description": "Fuga en el baño",
            "incident_date": f"{incident}T12:00:00+01:00",
        },
    )
    assert reported.status_code == 201, reported.text
    claim = reported.json()
    assert claim["status"] == "reported"

    def told() -> list[dict[str, Any]]:
        page = gw.get("/api/omnichannel/notifications", headers=me)
        assert page.status_code == 200, page.text
        return [n for n in page.json()["items"] if (n.get("data") or {}).get("claim_id") == claim["id"]]

    [note] = wait_for(told, within=120)
    assert note["kind"] == "claim_status_changed"
    language = mine.get("preferred_language", "es")[:2]
    words = "received" if language == "en" else "recibido"
    assert note["title"].endswith(f"{claim['claim_number']}: {words}"), note
    assert "reported" not in note["title"] + note["body"]


def test_whatsapp_templates_and_their_signed_approval_callback_through_the_gateway(gw: httpx.Client) -> None:
    admin = bearer(gw, "admin@aintech.com")
    content_sid = "HX" + uuid.uuid4().hex
    registered = gw.put(
        "/api/omnichannel/whatsapp/templates/claim_update/en",
        json={"content_sid": content_sid, "variables": ["first_name", "claim_number", "status"]},
        headers=admin,
    )
    assert registered.status_code == 200, registered.text
    params = {"ContentSid": content_sid, "ApprovalStatus": "rejected", "RejectionReason": "Formatting"}
    unsigned = gw.post("/webhooks/twilio/content/status", data=params)
    assert unsigned.status_code == 403, "the gateway routes the callback to omnichannel, which checks it"
    assert unsigned.headers["content-type"] == "application/problem+json"
    url = f"{gw.base_url}/webhooks/twilio/content/status".replace("//webhooks", "/webhooks")
    signature = RequestValidator(DEV_TWILIO_AUTH_TOKEN).compute_signature(url, params)
    signed = gw.post(
        "/webhooks/twilio/content/status", data=params, headers={"X-Twilio-Signature": signature}
    )
    assert signed.status_code == 204, signed.text
    listed = gw.get("/api/omnichannel/whatsapp/templates", headers=admin).json()["items"]
    [mine] = [t for t in listed if t["content_sid"] == content_sid]
    assert (mine["status"], mine["rejection_reason"]) == ("rejected", "Formatting")
    removed = gw.delete("/api/omnichannel/whatsapp/templates/claim_update/en", headers=admin)
    assert removed.status_code == 204


def test_a_supervisor_messages_the_agents_through_the_gateway(gw: httpx.Client) -> None:
    supervisor, agent = bearer(gw, "supervisor1@aintech.com"), bearer(gw, "agent1@aintech.com")
    text = f"Reunión de equipo a las 17:00 ({uuid.uuid4().hex[:6]})"
    refused = gw.post(
        "/api/omnichannel/notifications/messages", json={"everyone": True, "text": text}, headers=agent
    )
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"
    blank = gw.post(
        "/api/omnichannel/notifications/messages", json={"role": "agent", "text": " "}, headers=supervisor
    )
    assert blank.status_code == 422
    assert blank.headers["content-type"] == "application/problem+json"

    # The seeded accounts reach omnichannel through user.registered; until then nobody holds the role.
    def sent() -> httpx.Response | None:
        answer = gw.post(
            "/api/omnichannel/notifications/messages",
            json={"role": "agent", "text": text},
            headers=supervisor,
        )
        return answer if answer.status_code == 201 else None

    answer = wait_for(sent)
    assert answer.json()["recipients"] >= 1
    history = gw.get("/api/omnichannel/notifications", headers=agent).json()["items"]
    mine = [n for n in history if n["kind"] == "staff_message" and n["body"] == text]
    assert len(mine) == 1, "the refused attempts stored nothing; the accepted one once"
    assert mine[0]["data"]["message_id"] == answer.json()["id"]
