"""ai-fraud through the gateway: a claim an agent registers in the CRM is scored automatically
(CRM events -> ai-fraud's worker -> stored score), a supervisor reads the explanation, agents and
customers are refused, and an invalid rule is refused with the reason; a photo reused from another
customer's claim, uploaded through the CRM, puts the claim in the high band, the CRM shows it to
supervisors, opens an investigation task, and omnichannel notifies the supervisors."""

from __future__ import annotations

import hashlib
import io
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import numpy as np
from PIL import Image

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


def _home_policy(
    gw: httpx.Client, agent: dict[str, str], customer_id: str, *, carrier: str, days_old: int, address: str
) -> Any:
    """A one-year home policy for 10,000 € that started ``days_old`` days ago (the CRM's UTC day)."""
    today = datetime.now(UTC).date()
    return _ok(
        gw.post(
            "/api/crm/policies",
            headers=agent,
            json={
                "customer_id": customer_id,
                "policy_type": "home",
                "carrier": carrier,
                "coverage_start_date": str(today - timedelta(days=days_old)),
                "coverage_end_date": str(today - timedelta(days=days_old) + timedelta(days=365)),
                "premium_amount": "300.00",
                "premium_frequency": "annual",
                "coverage_amount": "10000.00",
                "details": {"property_address": address, "property_type": "apartment"},
            },
        ),
        201,
    )


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
    policy = _home_policy(gw, agent, customer["id"], carrier="Allianz", days_old=3, address="Calle Mayor 1")
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
    # The score appears once the CRM's events went through Kafka and ai-fraud's worker. The policy
    # and the claim travel on different topics: a claim scored before its policy reached ai-fraud
    # is rescored when the policy arrives, so the stored score comes to know the policy's signals.
    policy_signals = {"early_claim", "amount_near_limit"}

    def knows_the_policy() -> Any:
        resp = gw.get(f"/api/fraud/score/{claim['id']}", headers=supervisor, params={"language": "en"})
        assert resp.status_code in (200, 404), resp.text
        ok = resp.status_code == 200 and policy_signals <= {p["code"] for p in resp.json()["parts"]}
        return resp if ok else None

    scored = _ok(_until("the score that knows the claim's policy", knows_the_policy))
    codes = {p["code"] for p in scored["parts"]}
    assert {"early_claim", "amount_near_limit", "night_without_evidence"} <= codes
    assert scored["band"] in ("review", "high") and scored["summary"].startswith("Score ")

    for who in (agent, customer_login):
        refused = gw.get(f"/api/fraud/score/{claim['id']}", headers=who)
        assert refused.status_code == 403 and refused.headers["content-type"] == "application/problem+json"
    # POST /analyze, a hot route (its body validated from the raw bytes), through the gateway: the
    # saved claim rescored with the same parts; a malformed body, a wrong type and a caller without
    # fraud:review answered with the same problem documents as FastAPI's own way.
    analyze = "/api/fraud/analyze"
    rescored = _ok(gw.post(analyze, headers=supervisor, json={"claim_id": claim["id"], "language": "en"}))
    assert rescored["claim_id"] == claim["id"] and rescored["stored"] is True
    assert {p["code"] for p in rescored["parts"]} == codes and rescored["score"] == scored["score"]
    malformed = gw.post(
        analyze, headers={**supervisor, "Content-Type": "application/json"}, content=b'{"claim_id": '
    )
    assert malformed.status_code == 400 and malformed.json()["type"].endswith("/malformed-json")
    wrong = gw.post(analyze, headers=supervisor, json={"claim_id": 5})
    assert wrong.status_code == 422 and [e["field"] for e in wrong.json()["errors"]] == ["claim_id"]
    assert gw.post(analyze, headers=agent, json={"claim_id": claim["id"]}).status_code == 403
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


def _photo_jpeg(seed: int, size: tuple[int, int], quality: int) -> bytes:
    """A photo-like JPEG (smooth shapes: perceptual hashes need structure, not noise)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:480, 0:640]
    canvas = np.zeros((480, 640, 3))
    for _ in range(12):
        cx, cy, r = rng.uniform(0, 640), rng.uniform(0, 480), rng.uniform(30, 200)
        canvas += np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * r * r))[..., None] * rng.uniform(0, 255, 3)
    image = Image.fromarray(np.clip(canvas, 0, 255).astype("uint8")).resize(size)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality)
    return out.getvalue()


def _customer_policy_claim(gw: httpx.Client, agent: dict[str, str], *, night: bool) -> dict[str, Any]:
    customer = _ok(
        gw.post(
            "/api/crm/customers",
            headers=agent,
            json={
                "first_name": "Nerea",
                "last_name": "Etxeberria",
                "email": f"d-{uuid.uuid4().hex[:8]}@example.com",
                "postal_code": "48001",
            },
        ),
        201,
    )
    policy = _home_policy(gw, agent, customer["id"], carrier="Mapfre", days_old=5, address="Gran Vía 3")
    hour = 1 if night else 12
    incident = (datetime.now(UTC) - timedelta(days=1)).replace(hour=hour, minute=0, second=0, microsecond=0)
    return dict(
        _ok(
            gw.post(
                "/api/crm/claims",
                headers=agent,
                json={
                    "policy_id": policy["id"],
                    "claim_type": "water_damage",
                    "description": "Daños por agua en la cocina",
                    "incident_date": incident.isoformat(),
                    "claimed_amount": "9000.00" if night else "400.00",
                    "metadata": {"police_report": not night, "witnesses": 0 if night else 2},
                },
            ),
            201,
        )
    )


def _until(what: str, probe: Callable[[], Any], within: float = 90) -> Any:
    """Poll ``probe`` until it returns something truthy (the events cross Kafka and two workers)."""
    deadline = time.monotonic() + within
    while True:
        found = probe()
        if found:
            return found
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.5)


def test_a_reused_photo_uploaded_to_the_crm_flags_the_claim_tasks_and_notifies_a_supervisor(
    gw: httpx.Client,
) -> None:
    """CRM upload -> claim.document_added -> ai-fraud reads the object store and finds the photo of
    another customer's claim -> fraud.scored/fraud.alert -> the CRM's flag and investigation task,
    and omnichannel's fraud_alert notification — all seen through the gateway."""
    agent = _token(gw, "agent1@aintech.com")
    supervisors = [_token(gw, "supervisor1@aintech.com"), _token(gw, "supervisor2@aintech.com")]
    seed = uuid.uuid4().int % 10_000
    original = _customer_policy_claim(gw, agent, night=False)
    suspect = _customer_policy_claim(gw, agent, night=True)

    first = _ok(
        gw.post(
            f"/api/crm/claims/{original['id']}/documents",
            headers=agent,
            files={"file": ("salon.jpg", _photo_jpeg(seed, (640, 480), 92), "image/jpeg")},
            data={"document_type": "photo"},
        ),
        201,
    )
    # ai-fraud has the first photo before the second one arrives (else there is nothing to match).
    _until(
        "the first photo checked",
        lambda: _ok(gw.get(f"/api/fraud/claims/{original['id']}/photos", headers=supervisors[0])),
    )
    reused = _photo_jpeg(seed, (512, 384), 60)
    second = _ok(
        gw.post(
            f"/api/crm/claims/{suspect['id']}/documents",
            headers=agent,
            files={"file": ("cocina.jpg", reused, "image/jpeg")},
        ),
        201,
    )
    assert second["sha256"] == hashlib.sha256(reused).hexdigest() and first["sha256"] != second["sha256"]

    # The download goes through the gateway with its byte range.
    part = gw.get(
        f"/api/crm/claims/{suspect['id']}/documents/{second['id']}/content",
        headers={**agent, "Range": "bytes=0-99"},
    )
    assert part.status_code == 206 and part.content == reused[:100]

    flag = _until(
        "the CRM shows the high band",
        lambda: (
            r.json()
            if (r := gw.get(f"/api/crm/claims/{suspect['id']}/fraud", headers=supervisors[0])).status_code
            == 200
            and r.json()["band"] == "high"
            else None
        ),
    )
    assert flag["score"] >= 70 and flag["alerted_at"] is not None
    explained = _ok(gw.get(f"/api/fraud/score/{suspect['id']}", headers=supervisors[0]))
    assert "photo_duplicate" in {p["code"] for p in explained["parts"]}
    refused = gw.get(f"/api/crm/claims/{suspect['id']}/fraud", headers=agent)
    assert refused.status_code == 403 and refused.headers["content-type"] == "application/problem+json"

    tasks = _until(
        "an investigation task",
        lambda: [
            t
            for t in _ok(
                gw.get(
                    "/api/crm/tasks", headers=supervisors[0], params={"customer_id": suspect["customer_id"]}
                )
            )["items"]
            if t["task_type"] == "fraud_investigation"
        ],
    )
    assert len(tasks) == 1 and suspect["claim_number"] in tasks[0]["title"]
    assert tasks[0]["claim_id"] == suspect["id"] and tasks[0]["assigned_to"] is not None

    def alerts_of(supervisor: dict[str, str]) -> list[dict[str, Any]]:
        items = _ok(gw.get("/api/omnichannel/notifications", headers=supervisor))["items"]
        return [n for n in items if n["kind"] == "fraud_alert" and n["data"].get("claim_id") == suspect["id"]]

    for supervisor in supervisors:
        notes = _until("a fraud_alert notification", lambda s=supervisor: alerts_of(s))  # type: ignore[misc]
        assert len(notes) == 1 and suspect["claim_number"] in notes[0]["title"]
