"""Claims: the enforced state machine, coverage at the incident date, amounts, assignment, access."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import FastAPI
from sqlalchemy import text

from core_crm.claims import service as claims
from core_crm.core.runtime import build_runtime

from .conftest import Api, crm_settings


async def _claim(api: Api, policy_id: str, **fields: Any) -> dict[str, Any]:
    body = {
        "policy_id": policy_id,
        "claim_type": "water_damage",
        "incident_date": "2026-03-10T10:00:00+01:00",
        "description": "Fuga de agua en el baño.",
        "claimed_amount": "1850.00",
        **fields,
    }
    headers = fields.pop("headers", None) or api.agent
    body.pop("headers", None)
    return dict((await api.call("POST", "/claims", json=body, headers=headers, expect=201)).json())


async def test_full_lifecycle_reported_investigating_approved_paid(api: Api) -> None:
    customer = await api.customer()
    policy = await api.policy(customer["id"])
    claim = await _claim(api, policy["id"])
    assert claim["status"] == "reported" and claim["claim_number"].startswith("CLM-")
    url = f"/claims/{claim['id']}"
    await api.call("POST", f"{url}/investigate", json={"note": "Perito asignado"}, expect=200)
    await api.call("POST", f"{url}/approve", json={"amount": "1700.00"}, expect=403)  # agents cannot approve
    approved = await api.call(
        "POST", f"{url}/approve", json={"amount": "1700.00"}, headers=api.supervisor, expect=200
    )
    assert approved.json()["approved_amount"] == "1700.00"
    paid = await api.call(
        "POST", f"{url}/pay", json={"payment_reference": "TRF-1"}, headers=api.supervisor, expect=200
    )
    assert paid.json()["status"] == "paid" and paid.json()["paid_amount"] == "1700.00"
    history = (await api.call("GET", f"{url}/history", expect=200)).json()
    assert [(h["from_status"], h["to_status"]) for h in history if h["action"] != "assigned"] == [
        (None, "reported"),
        ("reported", "investigating"),
        ("investigating", "approved"),
        ("approved", "paid"),
    ]
    for event_type in ("claim.created", "claim.updated", "claim.approved", "claim.paid"):
        assert await api.events(event_type, key=claim["id"]), event_type
    [approved_event] = await api.events("claim.approved", key=claim["id"])
    assert approved_event["data"]["approved_amount"] == "1700.00"


async def test_illegal_transitions_are_409_problems(api: Api) -> None:
    customer = await api.customer()
    policy = await api.policy(customer["id"])
    claim = await _claim(api, policy["id"])
    url = f"/claims/{claim['id']}"
    skipped = await api.call(
        "POST", f"{url}/approve", json={"amount": "10"}, headers=api.supervisor, expect=409
    )
    assert skipped.headers["content-type"] == "application/problem+json"
    assert skipped.json()["current_status"] == "reported"
    await api.call("POST", f"{url}/pay", headers=api.supervisor, expect=409)
    await api.call("POST", f"{url}/investigate", expect=200)
    await api.call("POST", f"{url}/investigate", expect=409)
    await api.call("POST", f"{url}/deny", json={"reason": "Excluido"}, headers=api.supervisor, expect=200)
    await api.call("POST", f"{url}/approve", json={"amount": "10"}, headers=api.supervisor, expect=409)
    await api.call("POST", f"{url}/pay", headers=api.supervisor, expect=409)
    [denied] = await api.events("claim.denied", key=claim["id"])
    assert denied["data"]["reason"] == "Excluido"


async def test_amounts_are_capped_by_coverage_and_claim(api: Api) -> None:
    customer = await api.customer()
    policy = await api.policy(customer["id"], coverage_amount="1000.00")
    claim = await _claim(api, policy["id"], claimed_amount="900.00")
    url = f"/claims/{claim['id']}"
    await api.call("POST", f"{url}/investigate", expect=200)
    await api.call("POST", f"{url}/approve", json={"amount": "1000.01"}, headers=api.supervisor, expect=422)
    await api.call("POST", f"{url}/approve", json={"amount": "950.00"}, headers=api.supervisor, expect=422)
    await api.call("POST", f"{url}/approve", json={"amount": "900.00"}, headers=api.supervisor, expect=200)
    await api.call("POST", f"{url}/pay", json={"amount": "900.01"}, headers=api.supervisor, expect=422)


async def test_claim_needs_an_active_policy_covering_the_incident(api: Api) -> None:
    customer = await api.customer()
    policy = await api.policy(
        customer["id"], coverage_start_date="2026-01-01", coverage_end_date="2027-01-01"
    )
    before = {
        "policy_id": policy["id"],
        "claim_type": "theft",
        "incident_date": "2025-12-31T22:30:00+00:00",
        "description": "Robo",
    }
    response = await api.call("POST", "/claims", json=before, expect=422)
    assert "incident_date" in response.text
    # 23:30 UTC on 31 Dec is 00:30 on 1 Jan in Madrid: covered.
    await api.call(
        "POST", "/claims", json={**before, "incident_date": "2025-12-31T23:30:00+00:00"}, expect=201
    )
    other = await api.customer()
    await api.call(
        "POST",
        "/claims",
        json={**before, "incident_date": "2026-02-01T10:00:00Z", "customer_id": other["id"]},
        expect=422,
    )
    await api.call("POST", f"/policies/{policy['id']}/cancel", json={"reason": "Baja"}, expect=200)
    await api.call("POST", "/claims", json={**before, "incident_date": "2026-02-01T10:00:00Z"}, expect=422)
    await api.call("POST", "/claims", json={**before, "incident_date": "2999-01-01T10:00:00Z"}, expect=422)
    await api.call("POST", "/claims", json={**before, "incident_date": "2026-02-01T10:00:00"}, expect=422)


async def test_edits_need_etag_and_stop_once_decided(api: Api) -> None:
    customer = await api.customer()
    policy = await api.policy(customer["id"])
    claim = await _claim(api, policy["id"])
    url = f"/claims/{claim['id']}"
    etag = (await api.call("GET", url, expect=200)).headers["etag"]
    await api.call("PATCH", url, json={"claimed_amount": "2000"}, expect=428)
    fresh = await api.call(
        "PATCH", url, json={"claimed_amount": "2000"}, headers={**api.agent, "If-Match": etag}, expect=200
    )
    await api.call(
        "PATCH", url, json={"location": "Madrid"}, headers={**api.agent, "If-Match": etag}, expect=412
    )
    await api.call("POST", f"{url}/investigate", expect=200)
    await api.call("POST", f"{url}/deny", json={"reason": "No"}, headers=api.supervisor, expect=200)
    current = (await api.call("GET", url, expect=200)).headers["etag"]
    assert current != fresh.headers["etag"]
    await api.call(
        "PATCH", url, json={"location": "Madrid"}, headers={**api.agent, "If-Match": current}, expect=409
    )


async def test_customer_reports_and_follows_only_their_own_claims(api: Api) -> None:
    mine = await api.customer()
    other = await api.customer()
    my_policy = await api.policy(mine["id"])
    other_policy = await api.policy(other["id"])
    me = await api.customer_login(mine["id"])
    claim = await _claim(api, my_policy["id"], headers=me)
    other_claim = await _claim(api, other_policy["id"])
    await api.call(
        "POST",
        "/claims",
        json={
            "policy_id": other_policy["id"],
            "claim_type": "x",
            "description": "x",
            "incident_date": "2026-03-10T10:00:00Z",
        },
        headers=me,
        expect=404,
    )
    await api.call("GET", f"/claims/{other_claim['id']}", headers=me, expect=404)
    for sub in ("history", "notes", "documents"):
        await api.call("GET", f"/claims/{other_claim['id']}/{sub}", headers=me, expect=404)
    await api.call(
        "POST", f"/claims/{other_claim['id']}/notes", json={"body": "hola"}, headers=me, expect=404
    )
    listed = (await api.call("GET", "/claims", headers=me, expect=200)).json()
    assert [c["id"] for c in listed["items"]] == [claim["id"]]
    await api.call("POST", f"/claims/{claim['id']}/investigate", headers=me, expect=403)
    await api.call(
        "POST", f"/claims/{claim['id']}/notes", json={"body": "Interno", "internal": True}, expect=201
    )
    await api.call(
        "POST",
        f"/claims/{claim['id']}/notes",
        json={"body": "Para el cliente", "internal": False},
        expect=201,
    )
    await api.call(
        "POST",
        f"/claims/{claim['id']}/notes",
        json={"body": "Adjunto fotos", "internal": True},
        headers=me,
        expect=201,
    )
    seen = [
        n["body"]
        for n in (await api.call("GET", f"/claims/{claim['id']}/notes", headers=me, expect=200)).json()
    ]
    assert seen == ["Para el cliente", "Adjunto fotos"]
    photo = b"\xff\xd8\xff\xe0" + b"jpeg bytes" * 10
    doc = {"file": ("foto.jpg", photo, "image/jpeg")}
    await api.call("POST", f"/claims/{claim['id']}/documents", files=doc, headers=me, expect=201)
    docs = (await api.call("GET", f"/claims/{claim['id']}/documents", expect=200)).json()
    assert [d["name"] for d in docs] == ["foto.jpg"]
    await api.call(
        "POST",
        f"/claims/{claim['id']}/documents",
        files={"file": ("foto.jpg", b"<script>alert(1)</script>", "image/jpeg")},
        expect=422,
    )


async def test_auto_assignment_picks_the_adjuster_with_fewest_open_claims(api: Api, app: FastAPI) -> None:
    busy, free = uuid.UUID(int=1), uuid.UUID(int=2)
    await api.conn.execute(
        text("UPDATE crm.accounts SET active = false WHERE role IN ('agent', 'supervisor')")
    )
    for user_id in (busy, free):
        await api.conn.execute(
            text("INSERT INTO crm.accounts (user_id, email, role) VALUES (:u, :e, 'agent')"),
            {"u": user_id, "e": f"{user_id.hex[:8]}@aintech.test"},
        )
    customer = await api.customer()
    policy = await api.policy(customer["id"])
    first = await _claim(api, policy["id"])
    await api.call("POST", f"/claims/{first['id']}/assign", json={"adjuster_id": str(busy)}, expect=200)
    second = await _claim(api, policy["id"])
    rt = build_runtime(crm_settings())
    async with app.state.db.transaction() as session:
        assigned = await claims.auto_assign_adjuster(session, rt=rt, claim_id=uuid.UUID(second["id"]))
    assert assigned is not None and assigned.adjuster_id == free
    async with app.state.db.transaction() as session:
        assert await claims.auto_assign_adjuster(session, rt=rt, claim_id=uuid.UUID(second["id"])) is None
    third = await _claim(api, policy["id"])
    async with app.state.db.transaction() as session:
        tie = await claims.auto_assign_adjuster(session, rt=rt, claim_id=uuid.UUID(third["id"]))
    assert tie is not None and tie.adjuster_id == busy, "1 open claim each: the lowest id wins the tie"
    history = (await api.call("GET", f"/claims/{second['id']}/history", expect=200)).json()
    assert history[-1]["action"] == "assigned" and history[-1]["details"]["automatic"] is True


async def test_a_burst_of_claims_spreads_across_adjusters(committed: Api, app: FastAPI) -> None:
    import asyncio
    from collections import Counter

    api = committed
    adjusters = [str(uuid.uuid4()), str(uuid.uuid4())]
    rt = build_runtime(crm_settings(adjuster_ids=adjusters))
    customer = await api.customer()
    policy = await api.policy(customer["id"])
    claim_ids = [(await _claim(api, policy["id"]))["id"] for _ in range(4)]

    async def assign(claim_id: str) -> None:
        async with app.state.db.transaction() as session:  # its own connection, a real commit
            await claims.auto_assign_adjuster(session, rt=rt, claim_id=uuid.UUID(claim_id))

    await asyncio.gather(*(assign(c) for c in claim_ids))
    rows = await api.conn.execute(
        text("SELECT adjuster_id FROM crm.claims WHERE id = ANY(CAST(:ids AS uuid[]))"), {"ids": claim_ids}
    )
    assert Counter(str(r[0]) for r in rows) == {adjusters[0]: 2, adjusters[1]: 2}
