"""Hostile and malformed input: never a 500, always problem+json, other agents' calls stay hidden."""

from __future__ import annotations

import uuid

from aintech_contracts.rbac import Role

from .conftest import Api, inbound_params, new_call_sid


async def test_other_agents_calls_are_invisible_and_lists_are_scoped(api: Api) -> None:
    owner = await api.available_agent()
    call = (await api.client.post("/calls/initiate", json={"to": "+34612345678"}, headers=owner.auth)).json()
    other = api.person()
    hidden = await api.client.get(f"/calls/{call['id']}", headers=other.auth)
    assert hidden.status_code == 404 and hidden.headers["content-type"] == "application/problem+json"
    assert (await api.client.get("/calls", headers=other.auth)).json()["items"] == []
    snooping = await api.client.get("/calls", params={"agent_id": str(owner.user_id)}, headers=other.auth)
    assert snooping.status_code == 403
    mine = (await api.client.get("/calls", params={"status": "queued"}, headers=owner.auth)).json()
    assert [c["id"] for c in mine["items"]] == [call["id"]]
    supervisor = api.person(Role.supervisor)
    assert (await api.client.get(f"/calls/{call['id']}", headers=supervisor.auth)).status_code == 200
    customer = api.person(Role.customer)
    assert (await api.client.get("/calls", headers=customer.auth)).status_code == 403


async def test_malformed_requests_are_problems_not_crashes(api: Api) -> None:
    agent = await api.available_agent()
    cases = [
        ("GET", "/calls/not-a-uuid", None, 404),  # a call id is a UUID: no route takes other text
        ("GET", f"/calls/{uuid.uuid4()}", None, 404),
        ("POST", f"/calls/{uuid.uuid4()}/end", None, 404),
        ("POST", "/calls/initiate", {"to": "+34612345678", "extra": 1}, 422),
        ("POST", "/calls/initiate", {}, 422),
        ("GET", "/calls?since=yesterday", None, 422),
        ("GET", "/calls?limit=100000", None, 422),
        ("GET", "/calls?since=2026-01-01T00:00:00", None, 422),
        ("POST", f"/calls/{uuid.uuid4()}/record", {"action": "delete"}, 422),
        ("POST", f"/calls/{uuid.uuid4()}/transfer", {}, 422),
    ]
    for method, path, body, status in cases:
        response = await api.client.request(method, path, json=body, headers=agent.auth)
        assert response.status_code == status, (path, response.text)
        assert response.headers["content-type"] == "application/problem+json"
    broken = await api.client.post(
        "/calls/initiate", content=b"{", headers={**agent.auth, "content-type": "application/json"}
    )
    assert broken.status_code == 400


async def test_hostile_webhooks_are_refused_or_ignored_without_errors(api: Api) -> None:
    huge = {"CallSid": new_call_sid(), "Junk": "x" * 70_000}
    assert (await api.webhook("incoming", huge)).status_code == 413
    bad_id = await api.webhook("ivr", {"CallSid": new_call_sid(), "Digits": "1"}, query={"call_id": "nope"})
    assert bad_id.status_code == 422
    unknown = await api.webhook(
        "ivr", {"CallSid": new_call_sid(), "Digits": "1"}, query={"call_id": str(uuid.uuid4())}
    )
    assert unknown.status_code == 200 and "<Hangup" in unknown.text
    weird = inbound_params(new_call_sid(), "+34612\x00345678")
    weird["CallStatus"] = "teleported"
    answered = await api.webhook("incoming", weird)
    assert answered.status_code == 200 and "<Gather" in answered.text
    no_sid = await api.webhook("incoming", {"From": "+34600000000"})
    assert no_sid.status_code == 200 and "<Hangup" in no_sid.text
    odd_status = await api.webhook("status", {"CallSid": new_call_sid(), "CallStatus": "exploded"})
    assert odd_status.status_code == 204
    long_sid = await api.webhook("status", {"CallSid": "CA" + "1" * 500, "CallStatus": "completed"})
    assert long_sid.status_code == 204
    anonymous = await api.webhook("incoming", inbound_params(new_call_sid(), "anonymous"))
    assert anonymous.status_code == 200
