"""The review queue: open, assign, note, investigate, confirm; illegal moves refused; outcomes
become training labels."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from ai_fraud.cases import service as cases
from aintech_contracts.rbac import Role

from .conftest import Api


async def test_a_case_goes_through_the_queue_and_its_outcome_is_a_label(api: Api) -> None:
    customer = await api.customer()
    claim = await api.claim(
        customer,
        await api.policy(customer, start=date(2026, 1, 1)),
        incident=datetime(2026, 1, 2, 12, tzinfo=UTC),
    )
    await api.score(claim)
    case = (await api.call("POST", "/cases", json={"claim_id": str(claim)}, expect=201)).json()
    again = (await api.call("POST", "/cases", json={"claim_id": str(claim)}, expect=201)).json()
    assert again["id"] == case["id"], "one case per claim"
    investigator = str(uuid.uuid4())
    await api.call(
        "PATCH",
        f"/cases/{case['id']}",
        json={"status": "investigating", "assigned_to": investigator},
        expect=200,
    )
    await api.call(
        "POST", f"/cases/{case['id']}/notes", json={"body": "IBAN compartido con otro siniestro"}, expect=201
    )
    refused = await api.call("PATCH", f"/cases/{case['id']}", json={"status": "bogus"}, expect=422)
    assert refused.headers["content-type"] == "application/problem+json"
    done = (
        await api.call(
            "PATCH",
            f"/cases/{case['id']}",
            json={"status": "confirmed", "outcome_reason": "Fraude"},
            expect=200,
        )
    ).json()
    assert done["status"] == "confirmed" and done["closed_at"] is not None
    await api.call("PATCH", f"/cases/{case['id']}", json={"status": "open"}, expect=409)
    queue = (await api.call("GET", f"/cases?status=confirmed&assigned_to={investigator}", expect=200)).json()
    assert [c["id"] for c in queue["items"]] == [case["id"]]
    notes = (await api.call("GET", f"/cases/{case['id']}/notes", expect=200)).json()
    assert notes[0]["body"].startswith("IBAN")
    async with api.app.state.db.transaction() as session:
        x, y = await cases.labelled_examples(session)
    assert y.tolist().count(1) >= 1 and x.shape[0] == y.shape[0]
    await api.call("GET", "/cases", headers=api.auth(Role.customer), expect=403)
