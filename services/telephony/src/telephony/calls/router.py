"""Calls API: place, accept, end, transfer, hold, mute, record, list and read calls."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query, status

from aintech_shared.db import DbSession
from aintech_shared.errors import UnprocessableEntity, responses
from aintech_shared.instants import Instant
from aintech_shared.pagination import Cursor, Limit, decode_cursor
from telephony.agents import service as agents
from telephony.agents.schemas import AgentStats
from telephony.calls import service
from telephony.calls.repository import CallFilters
from telephony.calls.schemas import CallOut, CallPage, InitiateCall, RecordingAction, Toggle, TransferCall
from telephony.core.deps import Agent, ensure_self_or_supervisor
from telephony.core.runtime import RuntimeDep

router = APIRouter(prefix="/calls", tags=["calls"])
stats_router = APIRouter(tags=["agents"])

CALL_ERRORS = (
    (403, "Not this agent's call"),
    (404, "No such call"),
    (409, "Illegal transition for the call's state", "Cannot hold a call that is ringing."),
    (502, "Twilio refused or could not be reached"),
)


@router.post(
    "/initiate",
    status_code=status.HTTP_201_CREATED,
    response_model=CallOut,
    summary="Call a customer",
    description="The calling agent must be available; they become busy. The number must be valid, "
    "in an allowed country and not premium-rate or shared-cost (toll fraud); each agent may place a "
    "limited number of calls per window (429 beyond it). Publishes `call.initiated`; the agent's "
    "softphone then joins the call (TwiML App, `callId`).",
    responses=responses(
        (409, "The agent is not available"),
        (422, "Invalid, refused or premium-rate number", "Refused: premium-rate numbers cannot be called."),
        (429, "Too many outbound calls"),
        (502, "Twilio refused or could not be reached"),
    ),
)
async def initiate(body: InitiateCall, db: DbSession, rt: RuntimeDep, principal: Agent) -> CallOut:
    return CallOut.of(await service.initiate(db, rt=rt, principal=principal, to=body.to))


@router.post(
    "/{call_id}/accept",
    response_model=CallOut,
    summary="Accept a call assigned to me (or take over a warm transfer)",
    description="Marks the call answered and publishes `call.answered`; for the target of a warm "
    "transfer, the call moves to them and `call.transferred` is published.",
    responses=responses(*CALL_ERRORS),
)
async def accept(call_id: uuid.UUID, db: DbSession, rt: RuntimeDep, principal: Agent) -> CallOut:
    return CallOut.of(await service.accept(db, rt=rt, principal=principal, call_id=call_id))


@router.post(
    "/{call_id}/end",
    response_model=CallOut,
    summary="Hang up",
    description="Ends the call at Twilio, stores Twilio's duration, frees the agent and publishes "
    "`call.ended` and `interaction.logged`.",
    responses=responses(*CALL_ERRORS),
)
async def end(call_id: uuid.UUID, db: DbSession, rt: RuntimeDep, principal: Agent) -> CallOut:
    return CallOut.of(await service.end(db, rt=rt, principal=principal, call_id=call_id))


@router.post(
    "/{call_id}/transfer",
    response_model=CallOut,
    summary="Transfer to another agent (warm or cold) or to an outside number (cold)",
    description="Cold: the call moves at once (`call.transferred`). Warm: the target agent is "
    "reserved and joins; the call moves when they accept it.",
    responses=responses(*CALL_ERRORS, (422, "Invalid target")),
)
async def transfer(
    call_id: uuid.UUID, body: TransferCall, db: DbSession, rt: RuntimeDep, principal: Agent
) -> CallOut:
    call = await service.transfer(
        db,
        rt=rt,
        principal=principal,
        call_id=call_id,
        kind=body.kind,
        to_agent_id=body.to_agent_id,
        to_number=body.to_number,
    )
    return CallOut.of(call)


@router.post(
    "/{call_id}/transfer/cancel",
    response_model=CallOut,
    summary="Withdraw a pending warm transfer",
    description="The target agent becomes available again; the call stays with its agent.",
    responses=responses(*CALL_ERRORS),
)
async def cancel_transfer(call_id: uuid.UUID, db: DbSession, rt: RuntimeDep, principal: Agent) -> CallOut:
    return CallOut.of(await service.cancel_transfer(db, rt=rt, principal=principal, call_id=call_id))


@router.post(
    "/{call_id}/hold",
    response_model=CallOut,
    summary="Put the customer on hold with music (`on: false` resumes)",
    responses=responses(*CALL_ERRORS),
)
async def hold(call_id: uuid.UUID, body: Toggle, db: DbSession, rt: RuntimeDep, principal: Agent) -> CallOut:
    return CallOut.of(await service.hold(db, rt=rt, principal=principal, call_id=call_id, on=body.on))


@router.post(
    "/{call_id}/mute",
    response_model=CallOut,
    summary="Mute the agent's side of the call (`on: false` unmutes)",
    responses=responses(*CALL_ERRORS),
)
async def mute(call_id: uuid.UUID, body: Toggle, db: DbSession, rt: RuntimeDep, principal: Agent) -> CallOut:
    return CallOut.of(await service.mute(db, rt=rt, principal=principal, call_id=call_id, on=body.on))


@router.post(
    "/{call_id}/record",
    response_model=CallOut,
    summary="Start, pause or resume the recording",
    description="When Twilio reports the recording completed, its URL is stored and "
    "`call.recording_available` is published.",
    responses=responses(*CALL_ERRORS),
)
async def record(
    call_id: uuid.UUID, body: RecordingAction, db: DbSession, rt: RuntimeDep, principal: Agent
) -> CallOut:
    return CallOut.of(
        await service.record(db, rt=rt, principal=principal, call_id=call_id, action=body.action)
    )


@router.get(
    "/{call_id}",
    response_model=CallOut,
    summary="One call",
    description="Agents see the calls they handled; supervisors every call.",
    responses=responses((404, "No such call")),
)
async def get_call(call_id: uuid.UUID, db: DbSession, principal: Agent) -> CallOut:
    return CallOut.of(await service.get_visible(db, principal=principal, call_id=call_id))


@router.get(
    "",
    response_model=CallPage,
    summary="List calls, newest first",
    description="Filters combine; cursor pagination. Agents only see their own calls; supervisors "
    "may filter by agent.",
    responses=responses((403, "An agent asked for another agent's calls"), (422, "Invalid filter or cursor")),
)
async def list_calls(
    db: DbSession,
    principal: Agent,
    agent_id: uuid.UUID | None = None,
    customer_id: uuid.UUID | None = None,
    call_status: Annotated[
        Literal[
            "queued",
            "initiated",
            "ringing",
            "in-progress",
            "completed",
            "busy",
            "no-answer",
            "canceled",
            "failed",
        ]
        | None,
        Query(alias="status"),
    ] = None,
    direction: Literal["inbound", "outbound"] | None = None,
    since: Instant | None = None,
    until: Instant | None = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> CallPage:
    filters = CallFilters(
        agent_id=agent_id,
        customer_id=customer_id,
        status=call_status,
        direction=direction,
        since=since,
        until=until,
    )
    items, next_key = await service.list_visible(
        db,
        principal=principal,
        filters=filters,
        after=decode_cursor(cursor, kinds=("datetime", "uuid")),
        limit=limit,
    )
    return CallPage.build(items, next_key, item=CallOut.of)


@stats_router.get(
    "/agents/{agent_id}/stats",
    response_model=AgentStats,
    summary="An agent's calls, average duration and availability over a window",
    description="Default window: the last 24 hours. Computed from the calls and status history rows.",
    responses=responses((403, "Another agent's statistics"), (422, "Invalid window")),
)
async def stats(
    agent_id: uuid.UUID,
    db: DbSession,
    principal: Agent,
    since: Instant | None = None,
    until: Instant | None = None,
) -> AgentStats:
    ensure_self_or_supervisor(principal, agent_id)
    if since and until and since >= until:
        raise UnprocessableEntity("`since` must be before `until`.")
    window = await agents.availability(db, agent_id=agent_id, since=since, until=until)
    figures = await service.agent_stats(db, agent_id=agent_id, since=window.since, until=window.until)
    return AgentStats(
        agent_id=agent_id,
        since=window.since,
        until=window.until,
        calls=figures.calls,
        answered=figures.answered,
        average_duration_seconds=figures.average_seconds,
        talk_seconds=figures.total_seconds,
        seconds_by_status={k: round(v, 1) for k, v in window.seconds.items()},
        availability_percent=window.percent,
    )
