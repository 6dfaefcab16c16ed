"""Agents API: softphone token, status, who is available, and statistics."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from aintech_shared.db import DbSession
from aintech_shared.errors import NotFound, responses
from telephony.agents import service, tokens
from telephony.agents.schemas import AgentOut, SkillsIn, SkillsOut, StatusChange, VoiceToken
from telephony.core.deps import Agent, Supervisor, ensure_self_or_supervisor, user_uuid
from telephony.core.runtime import RuntimeDep

router = APIRouter(prefix="/agents", tags=["agents"])


@router.post(
    "/token",
    response_model=VoiceToken,
    summary="A Twilio Access Token for my browser softphone",
    description="Voice grant (outgoing through the TwiML App, incoming allowed), identity = my user id, "
    "short TTL (`TELEPHONY_ACCESS_TOKEN_TTL_SECONDS`).",
)
async def token(rt: RuntimeDep, principal: Agent) -> VoiceToken:
    return tokens.voice_token(rt.settings, identity=str(user_uuid(principal)))


@router.post(
    "/status",
    response_model=AgentOut,
    summary="Change my status (available, away, offline)",
    description="Publishes `agent.status_changed`. 409 while on a call: `busy` ends with the call.",
    responses=responses((403, "Another agent's status"), (409, "The agent is on a call")),
)
async def set_status(body: StatusChange, db: DbSession, rt: RuntimeDep, principal: Agent) -> AgentOut:
    agent_id = body.agent_id or user_uuid(principal)
    ensure_self_or_supervisor(principal, agent_id)
    row = await service.set_status(db, rt=rt, agent_id=agent_id, status=body.status, reason=body.reason)
    return AgentOut.of(row)


@router.get("/me", response_model=AgentOut, summary="My status")
async def me(db: DbSession, principal: Agent) -> AgentOut:
    row = await service.get(db, agent_id=user_uuid(principal))
    if row is None:
        raise NotFound("You have not signed in to the phone yet; set your status first.")
    return AgentOut.of(row)


@router.get(
    "/available",
    response_model=list[AgentOut],
    summary="Available agents, the longest idle first",
)
async def available(db: DbSession, principal: Agent) -> list[AgentOut]:
    return [AgentOut.of(r) for r in await service.available(db)]


@router.get("", response_model=list[AgentOut], summary="Every agent's status (supervisors)")
async def everyone(db: DbSession, principal: Supervisor) -> list[AgentOut]:
    return [AgentOut.of(r) for r in await service.everyone(db)]


@router.put(
    "/{agent_id}/skills",
    response_model=SkillsOut,
    summary="Set an agent's skills (supervisors)",
    description="Departments (`claims`, `sales`, `renewals`) and languages (`es`, `en`), each with a level "
    "1-5; the whole set replaces the previous one. A caller's IVR choice and language are the skills "
    "their call requires. Publishes `agent.skills_changed` (omnichannel routes conversations by it).",
    responses=responses(
        (403, "Supervisors only"),
        (422, "A skill that does not exist or a level outside 1-5"),
    ),
)
async def set_skills(
    agent_id: uuid.UUID, body: SkillsIn, db: DbSession, rt: RuntimeDep, principal: Supervisor
) -> SkillsOut:
    row = await service.set_skills(
        db,
        rt=rt,
        agent_id=agent_id,
        skills={str(k): v for k, v in body.skills.items()},
        by=user_uuid(principal),
    )
    return SkillsOut(agent_id=row.agent_id, skills=row.skills)


@router.get(
    "/{agent_id}/skills",
    response_model=SkillsOut,
    summary="An agent's skills (the agent themselves or supervisors)",
    responses=responses((403, "Another agent's skills"), (404, "The agent was never seen")),
)
async def get_skills(agent_id: uuid.UUID, db: DbSession, principal: Agent) -> SkillsOut:
    ensure_self_or_supervisor(principal, agent_id)
    row = await service.get(db, agent_id=agent_id)
    if row is None:
        raise NotFound("No such agent (never signed in to the phone, no skills set).")
    return SkillsOut(agent_id=row.agent_id, skills=row.skills or {})
