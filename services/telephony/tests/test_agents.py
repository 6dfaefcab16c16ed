"""Agent status, the available list and statistics computed from real rows."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import text

from aintech_contracts.rbac import Role

from .conftest import Api


async def test_status_changes_are_recorded_and_published(api: Api) -> None:
    agent = api.person()
    assert (await api.client.get("/agents/me", headers=agent.auth)).status_code == 404
    for status in ("available", "away", "offline", "available"):
        response = await api.client.post(
            "/agents/status", json={"status": status, "reason": "turno de tarde"}, headers=agent.auth
        )
        assert response.status_code == 200, response.text
        assert response.json()["status"] == status
    events = await api.events("agent.status_changed", key=str(agent.user_id))
    assert [(e["data"]["previous_status"], e["data"]["status"]) for e in events] == [
        ("offline", "available"),
        ("available", "away"),
        ("away", "offline"),
        ("offline", "available"),
    ]
    history = await api.conn.execute(
        text("SELECT status FROM telephony.agent_status_changes WHERE agent_id = :a ORDER BY id"),
        {"a": agent.user_id},
    )
    assert [r[0] for r in history] == ["available", "away", "offline", "available"]
    listed = (await api.client.get("/agents/available", headers=agent.auth)).json()
    assert str(agent.user_id) in [a["agent_id"] for a in listed]

    manual_busy = await api.client.post("/agents/status", json={"status": "busy"}, headers=agent.auth)
    assert manual_busy.status_code == 422, "busy belongs to calls"
    nul = await api.client.post(
        "/agents/status", json={"status": "away", "reason": "a\x00b"}, headers=agent.auth
    )
    assert nul.status_code == 422
    long = await api.client.post(
        "/agents/status", json={"status": "away", "reason": "x" * 101}, headers=agent.auth
    )
    assert long.status_code == 422


async def test_agents_change_only_their_own_status_supervisors_anyones(api: Api) -> None:
    agent, colleague = await api.available_agent(), await api.available_agent()
    forbidden = await api.client.post(
        "/agents/status", json={"status": "offline", "agent_id": str(colleague.user_id)}, headers=agent.auth
    )
    assert forbidden.status_code == 403
    supervisor = api.person(Role.supervisor)
    done = await api.client.post(
        "/agents/status",
        json={"status": "offline", "agent_id": str(colleague.user_id)},
        headers=supervisor.auth,
    )
    assert done.status_code == 200 and done.json()["status"] == "offline"
    everyone = await api.client.get("/agents", headers=supervisor.auth)
    assert {str(agent.user_id), str(colleague.user_id)} <= {a["agent_id"] for a in everyone.json()}
    assert (await api.client.get("/agents", headers=agent.auth)).status_code == 403
    customer = api.person(Role.customer)
    assert (await api.client.get("/agents/available", headers=customer.auth)).status_code == 403


async def test_an_agent_on_a_call_cannot_walk_away_from_it(api: Api) -> None:
    agent = await api.available_agent()
    call = (await api.client.post("/calls/initiate", json={"to": "+34612345678"}, headers=agent.auth)).json()
    refused = await api.client.post("/agents/status", json={"status": "offline"}, headers=agent.auth)
    assert refused.status_code == 409 and refused.json()["current_call_id"] == call["id"]
    await api.client.post(f"/calls/{call['id']}/end", headers=agent.auth)
    assert (
        await api.client.post("/agents/status", json={"status": "offline"}, headers=agent.auth)
    ).status_code == 200


async def test_stats_count_calls_average_duration_and_availability(api: Api) -> None:
    agent = api.person()
    a = agent.user_id
    # 10:00 available, 12:00 busy, 13:00 away, 14:00 offline -> window 10:00-16:00
    for status, hour in (("available", 10), ("busy", 12), ("away", 13), ("offline", 14)):
        await api.conn.execute(
            text(
                "INSERT INTO telephony.agent_status_changes (agent_id, status, changed_at)"
                " VALUES (:a, :s, :t)"
            ),
            {"a": a, "s": status, "t": datetime(2026, 3, 2, hour, tzinfo=UTC)},
        )
    for minute, duration, answered in ((5, 120, True), (20, 300, True), (40, None, False)):
        await api.conn.execute(
            text(
                "INSERT INTO telephony.calls (id, direction, customer_phone, our_number, agent_id, status,"
                " duration, created_at, answered_at, ended_at) VALUES (:id, 'inbound', '+34600000000',"
                " '+34910000000', :a, :st, :d, :t, :ans, :t)"
            ),
            {
                "id": uuid.uuid4(),
                "a": a,
                "st": "completed" if answered else "no-answer",
                "d": duration,
                "t": datetime(2026, 3, 2, 12, minute, tzinfo=UTC),
                "ans": datetime(2026, 3, 2, 12, minute, tzinfo=UTC) if answered else None,
            },
        )
    response = await api.client.get(
        f"/agents/{a}/stats",
        params={"since": "2026-03-02T10:00:00Z", "until": "2026-03-02T16:00:00Z"},
        headers=agent.auth,
    )
    assert response.status_code == 200, response.text
    stats = response.json()
    assert stats["calls"] == 3 and stats["answered"] == 2
    assert stats["average_duration_seconds"] == 210.0 and stats["talk_seconds"] == 420
    assert stats["seconds_by_status"] == {
        "available": 7200.0,
        "busy": 3600.0,
        "away": 3600.0,
        "offline": 7200.0,
    }
    assert stats["availability_percent"] == 75.0  # (2 h available + 1 h busy) of 4 h signed in

    other = api.person()
    assert (await api.client.get(f"/agents/{a}/stats", headers=other.auth)).status_code == 403
    supervisor = api.person(Role.supervisor)
    assert (await api.client.get(f"/agents/{a}/stats", headers=supervisor.auth)).status_code == 200
    naive = await api.client.get(
        f"/agents/{a}/stats", params={"since": "2026-03-02T10:00:00"}, headers=agent.auth
    )
    assert naive.status_code == 422
    backwards = await api.client.get(
        f"/agents/{a}/stats",
        params={"since": "2026-03-02T16:00:00Z", "until": "2026-03-02T10:00:00Z"},
        headers=agent.auth,
    )
    assert backwards.status_code == 422
