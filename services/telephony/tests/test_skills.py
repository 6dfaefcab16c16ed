"""Skills-based routing: supervisors set agents' skills; the IVR choice and language are the call's
required skills; the longest-idle agent holding them gets the caller, any agent after the widening
wait (in the call's history); queue figures per skill in the API and on /metrics."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import text

from aintech_contracts.rbac import Role
from telephony.calls.repository import WaitingHead
from telephony.core.base import utcnow
from telephony.core.runtime import Runtime
from telephony.queue import service as queue

from .conftest import Api, twiml
from .test_inbound import choose, ring


async def skilled_agent(api: Api, skills: dict[str, int]) -> uuid.UUID:
    """An available agent whose supervisor gave them ``skills``."""
    agent = await api.available_agent()
    supervisor = api.person(Role.supervisor)
    answer = await api.client.put(
        f"/agents/{agent.user_id}/skills", json={"skills": skills}, headers=supervisor.auth
    )
    assert answer.status_code == 200, answer.text
    return agent.user_id


async def test_supervisors_set_skills_and_a_skill_that_does_not_exist_is_a_422(api: Api) -> None:
    agent = await api.available_agent()
    supervisor = api.person(Role.supervisor)
    path = f"/agents/{agent.user_id}/skills"
    answer = await api.client.put(
        path, json={"skills": {"claims": 4, "es": 5, "en": 2}}, headers=supervisor.auth
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["skills"] == {"claims": 4, "en": 2, "es": 5}
    [changed] = await api.events("agent.skills_changed", key=str(agent.user_id))
    assert changed["data"]["skills"] == {"claims": 4, "en": 2, "es": 5}
    assert changed["data"]["changed_by"] == str(supervisor.user_id)

    assert (await api.client.put(path, json={"skills": {"sales": 5}}, headers=agent.auth)).status_code == 403
    bad: object
    for bad in ({"fraud": 3}, {"claims": 0}, {"claims": 6}, {"claims": "expert"}, []):
        refused = await api.client.put(path, json={"skills": bad}, headers=supervisor.auth)
        assert refused.status_code == 422, (bad, refused.text)
        assert refused.headers["content-type"].startswith("application/problem+json")
    mine = await api.client.get(path, headers=agent.auth)
    assert mine.json()["skills"] == {"claims": 4, "en": 2, "es": 5}, "a refused change changed nothing"
    other = api.person(Role.agent)
    assert (await api.client.get(path, headers=other.auth)).status_code == 403
    assert len(await api.events("agent.skills_changed", key=str(agent.user_id))) == 1


async def test_a_claims_caller_reaches_the_claims_agent_while_a_sales_agent_idles_then_widens_after_the_wait(
    api: Api,
) -> None:
    rt: Runtime = api.app.state.runtime
    sales = await skilled_agent(api, {"sales": 5, "es": 5})  # idle the longest
    claims = await skilled_agent(api, {"claims": 3, "es": 4})

    first, sid1 = await ring(api, "+34699100001")
    await choose(api, first, sid1, "1")
    entry = await api.row(
        "SELECT state, assigned_to, required_skills FROM telephony.call_queue WHERE call_id = :c", c=first
    )
    assert entry == {"state": "assigned", "assigned_to": claims, "required_skills": ["claims", "es"]}

    second, sid2 = await ring(api, "+34699100002")
    await choose(api, second, sid2, "1")
    waiting = await api.row(
        "SELECT state, enqueued_at FROM telephony.call_queue WHERE call_id = :c", c=second
    )
    assert waiting is not None and waiting["state"] == "waiting", "the idle sales agent is not a claims agent"

    widen = timedelta(seconds=rt.settings.queue_widen_after_seconds)
    async with await api.session() as session, session.begin():
        before = await queue.assign_waiting(
            session, rt=rt, now=waiting["enqueued_at"] + widen - timedelta(seconds=1)
        )
    assert before == 0, "before the widening wait only a claims agent may take the caller"
    async with await api.session() as session, session.begin():
        after = await queue.assign_waiting(session, rt=rt, now=waiting["enqueued_at"] + widen)
    assert after == 1
    entry = await api.row(
        "SELECT state, assigned_to, widened_at FROM telephony.call_queue WHERE call_id = :c", c=second
    )
    assert entry is not None and entry["assigned_to"] == sales and entry["widened_at"] is not None
    call = await api.row("SELECT metadata FROM telephony.calls WHERE id = :c", c=second)
    assert call is not None
    assert [step["event"] for step in call["metadata"]["routing"]] == ["widened", "assigned"]
    assert call["metadata"]["routing"][0]["required_skills"] == ["claims", "es"]
    assert call["metadata"]["routing"][1]["skills_matched"] is False
    supervisor = api.person(Role.supervisor)
    shown = (await api.client.get(f"/calls/{second}", headers=supervisor.auth)).json()
    assert [step["event"] for step in shown["routing"]] == ["widened", "assigned"], "in the call's history"
    [assigned] = await api.events("queue.call_assigned", key=second)
    assert assigned["data"]["widened"] is True and assigned["data"]["agent_id"] == str(sales)
    [matched] = await api.events("queue.call_assigned", key=first)
    assert matched["data"]["widened"] is False and matched["data"]["required_skills"] == ["claims", "es"]


async def test_the_english_menu_makes_english_a_required_skill(api: Api) -> None:
    spanish_only = await skilled_agent(api, {"sales": 5, "es": 5})
    call_id, sid = await ring(api, "+34699100003")
    menu = twiml(await choose(api, call_id, sid, "9"))
    spoken = " ".join(s.text or "" for s in menu.iter("Say"))
    assert "For claims, press 1" in spoken
    await choose(api, call_id, sid, "2")
    entry = await api.row(
        "SELECT state, required_skills FROM telephony.call_queue WHERE call_id = :c", c=call_id
    )
    assert entry == {"state": "waiting", "required_skills": ["sales", "en"]}, (
        "a Spanish-only agent is no match"
    )
    bilingual = await skilled_agent(api, {"sales": 2, "es": 3, "en": 4})
    rt: Runtime = api.app.state.runtime
    async with await api.session() as session, session.begin():
        assert await queue.assign_waiting(session, rt=rt) == 1
    entry = await api.row("SELECT assigned_to FROM telephony.call_queue WHERE call_id = :c", c=call_id)
    assert entry == {"assigned_to": bilingual} and bilingual != spanish_only


async def test_queue_metrics_per_skill_in_the_api_and_on_metrics(api: Api) -> None:
    claims = await skilled_agent(api, {"claims": 3, "es": 4})
    answered, sid1 = await ring(api, "+34699100004")
    await choose(api, answered, sid1, "1")
    accepted = await api.client.post(f"/calls/{answered}/accept", headers=api.person(Role.agent, claims).auth)
    assert accepted.status_code == 200, accepted.text
    waiting, sid2 = await ring(api, "+34699100005")
    await choose(api, waiting, sid2, "1")
    await api.conn.execute(
        text(
            "UPDATE telephony.call_queue SET enqueued_at = now() - interval '90 seconds' WHERE call_id = :c"
        ),
        {"c": waiting},
    )
    supervisor = api.person(Role.supervisor)
    figures = await api.client.get("/queue/metrics", headers=supervisor.auth)
    assert figures.status_code == 200, figures.text
    by_skill = {s["skill"]: s for s in figures.json()["skills"]}
    assert by_skill["claims"]["waiting"] == 1 and by_skill["claims"]["longest_wait_seconds"] >= 90
    # answered in time: the first caller; known and missed: the second, waiting past 20 s
    assert (by_skill["claims"]["offered"], by_skill["claims"]["answered_within_threshold"]) == (2, 1)
    assert by_skill["claims"]["service_level"] == 0.5
    assert by_skill["sales"] == {
        "skill": "sales",
        "waiting": 0,
        "longest_wait_seconds": 0.0,
        "offered": 0,
        "answered_within_threshold": 0,
        "service_level": None,
    }
    agent = api.person(Role.agent)
    assert (await api.client.get("/queue/metrics", headers=agent.auth)).status_code == 403
    exposed = (await api.client.get("/metrics")).text
    assert 'telephony_queue_waiting{skill="claims"} 1.0' in exposed
    assert 'telephony_queue_service_level{skill="claims"} 0.5' in exposed


def test_pick_prefers_the_last_agent_when_skilled_and_otherwise_the_longest_idle_skilled_one() -> None:
    now = utcnow()
    a, b, c = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    free = [(a, {"sales": 5, "es": 5}), (b, {"claims": 1, "es": 1}), (c, {"claims": 5, "es": 5})]
    head = WaitingHead(uuid.uuid4(), ("claims", "es"), now, preferred_agent_id=c)
    match = queue.pick([head], free, now=now, widen_after=timedelta(seconds=60))
    assert match is not None and (match.agent_id, match.preferred, match.widened) == (c, True, False)
    head = WaitingHead(uuid.uuid4(), ("claims", "es"), now, preferred_agent_id=a)
    match = queue.pick([head], free, now=now, widen_after=timedelta(seconds=60))
    assert match is not None and (match.agent_id, match.preferred) == (b, False), "a lacks claims"
    blocked = WaitingHead(uuid.uuid4(), ("renewals", "es"), now, None)
    served = WaitingHead(uuid.uuid4(), ("sales", "es"), now, None)
    match = queue.pick([blocked, served], free, now=now, widen_after=timedelta(seconds=60))
    assert match is not None and match.entry_id == served.id, "a caller nobody can take does not block others"
    generalist: list[tuple[uuid.UUID, dict[str, int]]] = [(a, {})]
    match = queue.pick([blocked], generalist, now=now, widen_after=timedelta(seconds=60))
    assert match is not None and not match.widened, "an agent with no skills set takes any call"
