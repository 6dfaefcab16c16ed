"""ai-fraud through the gateway: a claim an agent registers in the CRM is scored automatically
(CRM events -> ai-fraud's worker -> stored score), a supervisor reads the explanation, agents and
customers are refused, and an invalid rule is refused with the reason."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx

SEED_PASSWORD = "Aintech-Demo-2026!"


def _token(gw: httpx.Client, email: str) -> dict[str, str]:
    resp = gw.post("/api/auth/login", json={"email": email, "password": SEED_PASSWORD})
    assert resp.status_code == 200, resp.text
    return {"Authorization": f"Bearer {resp.json()['access_token']}"}


def _ok(resp: httpx.Response, status: int = 200) -> Any:
    assert resp.status_code == status, (
        f"{resp.request.method} {resp.request.url} -> {resp.status_code}: {resp.text}"
    )
    return resp.json() if resp.content else None


def test_a_new_claim_is_scored_and_explained_to_a_supervisor_only(gw: httpx.Client) -> None:
    agent = _token(gw, "agent1@aintech.com")
    supervisor = _token(gw, "supervisor1@aintech.com")
    customer_login = _token(gw, "customer1@aintech.com")
    customer = _ok(
        gw.post(
            "/api/crm/customers",
            headers=agent,
            json={
                "first_name": "Íñigo",
                "last_name": "Zubiri",
                "email": f"f-{uuid.uuid4().hex[:8]}@example.com",
                "postal_code": "20001",
            },
        ),
        201,
    )
    policy = _ok(
        gw.post(
            "/api/crm/policies",
            headers=agent,
            json={
                "customer_id": customer["id"],
                "policy_type": "home",
                "carrier": "Allianz",
                "coverage_start_date": str(date.today() - timedelta(days=3)),
                "coverage_end_date": str(date.today() + timedelta(days=362)),
                "premium_amount": "300.00",
                "premium_frequency": "annual",
                "coverage_amount": "10000.00",
                "details": {"property_address": "Calle Mayor 1", "property_type": "apartment"},
            },
        ),
        201,
    )
    incident = (datetime.now(UTC) - timedelta(days=1)).replace(hour=0, minute=30, second=0, microsecond=0)
    claim = _ok(
        gw.post(
            "/api/crm/claims",
            headers=agent,
            json={
                "policy_id": policy["id"],
                "claim_type": "water_damage",
                "description": "Inundación en el salón",
                "incident_date": incident.isoformat(),
                "claimed_amount": "9500.00",
                "metadata": {"police_report": False, "witnesses": 0},
            },
        ),
        201,
    )
    deadline = time.monotonic() + 90
    while True:  # the score appears once the CRM's events went through Kafka and ai-fraud's worker
        resp = gw.get(f"/api/fraud/score/{claim['id']}", headers=supervisor, params={"language": "en"})
        if resp.status_code == 200 or time.monotonic() > deadline:
            break
        assert resp.status_code == 404, resp.text
        time.sleep(0.5)
    scored = _ok(resp)
    codes = {p["code"] for p in scored["parts"]}
    assert {"early_claim", "amount_near_limit", "night_without_evidence"} <= codes
    assert scored["band"] in ("review", "high") and scored["summary"].startswith("Score ")

    for who in (agent, customer_login):
        refused = gw.get(f"/api/fraud/score/{claim['id']}", headers=who)
        assert refused.status_code == 403 and refused.headers["content-type"] == "application/problem+json"
    bad = gw.post(
        "/api/fraud/rules",
        headers=supervisor,
        json={
            "code": "e2e_bad",
            "name_es": "x",
            "name_en": "x",
            "weight": 10,
            "condition": {"feature": "nope", "op": "eq", "value": 1},
        },
    )
    assert bad.status_code == 422 and "unknown feature" in bad.text
