"""Telephony through the gateway: a customer's call from ring to the CRM timeline on the real broker,
and an outbound call simulated end to end by the console adapter (no Twilio account)."""

from __future__ import annotations

import asyncio
import time
import uuid
import xml.etree.ElementTree as ET
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from aintech_devtools.testing import find_event
from aintech_shared.webhooks import TWILIO_SIGNATURE, twilio_signature
from telephony.settings import DEV_TWILIO_AUTH_TOKEN

SEED_PASSWORD = "Aintech-Demo-2026!"


def agent_headers(gw: httpx.Client, email: str) -> dict[str, str]:
    resp = gw.post("/api/auth/login", json={"email": email, "password": SEED_PASSWORD})
    assert resp.status_code == 200, resp.text
    return {"Authorization": f"Bearer {resp.json()['access_token']}"}


def twilio_posts(gw: httpx.Client, url: str, params: dict[str, str]) -> httpx.Response:
    """What Twilio does: POST the form to a public URL, signed for exactly that URL."""
    path = url.removeprefix(str(gw.base_url).rstrip("/"))
    assert path.startswith("/webhooks/twilio/voice/"), url
    return gw.post(
        path, data=params, headers={TWILIO_SIGNATURE: twilio_signature(DEV_TWILIO_AUTH_TOKEN, url, params)}
    )


def twiml(text: str) -> ET.Element:
    root = ET.fromstring(text)  # noqa: S314 - our own service's answer
    assert root.tag == "Response", text
    return root


def test_inbound_call_from_ring_to_the_crm_timeline(gw: httpx.Client, kafka_bootstrap: str) -> None:
    base = str(gw.base_url).rstrip("/")
    auth = agent_headers(gw, "agent1@aintech.com")
    ready = gw.post("/api/telephony/agents/status", json={"status": "available"}, headers=auth)
    assert ready.status_code == 200, ready.text
    agent_id = ready.json()["agent_id"]

    sid = "CA" + uuid.uuid4().hex
    caller = {
        "AccountSid": "AC" + "0" * 32,
        "CallSid": sid,
        "From": "+34699123123",
        "To": "+34910000000",
        "CallStatus": "ringing",
        "Direction": "inbound",
    }
    forged = gw.post("/webhooks/twilio/voice/incoming", data=caller, headers={TWILIO_SIGNATURE: "Zm9yZ2Vk"})
    assert forged.status_code == 403
    greeted = twilio_posts(gw, f"{base}/webhooks/twilio/voice/incoming", caller)
    assert greeted.status_code == 200, greeted.text
    gather = twiml(greeted.text).find("Gather")
    assert gather is not None
    action = gather.get("action", "")
    assert action.startswith(f"{base}/webhooks/twilio/voice/ivr?call_id="), (
        "callbacks come back via the gateway"
    )
    call_id = parse_qs(urlsplit(action).query)["call_id"][0]

    routed = twilio_posts(gw, action, {**caller, "CallStatus": "in-progress", "Digits": "1"})
    conference = twiml(routed.text).find("Dial/Conference")
    assert conference is not None and conference.text == f"call-{call_id}"
    accepted = gw.post(f"/api/telephony/calls/{call_id}/accept", headers=auth)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["agent_id"] == agent_id

    hung_up = twilio_posts(
        gw,
        f"{base}/webhooks/twilio/voice/status",
        {**caller, "CallStatus": "completed", "CallDuration": "95"},
    )
    assert hung_up.status_code == 204
    call = gw.get(f"/api/telephony/calls/{call_id}", headers=auth).json()
    assert call["status"] == "completed" and call["outcome"] == "answered" and call["duration_seconds"] == 95
    assert gw.get("/api/telephony/agents/me", headers=auth).json()["status"] == "available"

    found = asyncio.run(
        find_event(
            kafka_bootstrap,
            "crm.interaction",
            lambda e: e.type == "interaction.logged" and e.data.get("external_id") == sid,
            within=60,
        )
    )
    assert found is not None, "interaction.logged never reached the CRM's intake topic"
    event, key = found
    assert event.source == "telephony" and key == b"+34699123123"
    assert event.data["direction"] == "inbound" and event.data["agent_id"] == agent_id
    assert event.data["outcome"] == "answered" and event.data["duration_seconds"] == 95
    ended = asyncio.run(
        find_event(
            kafka_bootstrap,
            "telephony.call",
            lambda e: e.type == "call.ended" and e.data.get("call_id") == call_id,
            within=60,
        )
    )
    assert ended is not None


def test_console_adapter_simulates_an_outbound_call_through_the_gateway(gw: httpx.Client) -> None:
    auth = agent_headers(gw, "agent2@aintech.com")
    assert (
        gw.post("/api/telephony/agents/status", json={"status": "available"}, headers=auth).status_code == 200
    )
    placed = gw.post("/api/telephony/calls/initiate", json={"to": "+34 612 345 678"}, headers=auth)
    assert placed.status_code == 201, placed.text
    call_id = placed.json()["id"]

    def state() -> dict[str, Any]:
        return dict(gw.get(f"/api/telephony/calls/{call_id}", headers=auth).json())

    deadline = time.monotonic() + 60
    while state()["status"] != "in-progress":
        assert time.monotonic() < deadline, f"the simulated call never connected: {state()}"
        time.sleep(0.2)
    assert state()["answered_at"] is not None
    ended = gw.post(f"/api/telephony/calls/{call_id}/end", headers=auth)
    assert ended.status_code == 200 and ended.json()["status"] == "completed"
    supervisor = agent_headers(gw, "supervisor1@aintech.com")
    log = gw.get("/api/telephony/console/requests", headers=supervisor).json()
    assert log["console"] is True
    creates = [
        r
        for r in log["items"]
        if r["operation"] == "calls.create" and r["call_sid"] == placed.json()["call_sid"]
    ]
    assert len(creates) == 1 and creates[0]["params"]["to"] == "+34612345678"
