"""The call state machine: outbound calls, accept, end, transfers, hold, mute and recording.

A call's status is Twilio's and only moves forward (queued < initiated < ringing < in-progress <
terminal); ``answered_at`` marks the moment a customer and an agent were connected. Every
operation locks the call's row, checks the transition, asks Twilio, then writes and publishes in
the same transaction, so a refusal from Twilio leaves nothing behind.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from aintech_contracts.statuses import AgentState, CallOutcome, CallStatus
from aintech_shared.auth import Principal
from aintech_shared.errors import Conflict, Forbidden, NotFound, TooManyRequests, UnprocessableEntity
from aintech_shared.phones import to_e164
from telephony.agents import service as agents
from telephony.calls import events, repository
from telephony.calls.models import STATUS_RANK, TERMINAL, Call
from telephony.calls.repository import CallFilters
from telephony.core import live
from telephony.core.base import utcnow
from telephony.core.deps import is_supervisor, user_uuid
from telephony.core.phones import outbound_refusal
from telephony.core.runtime import Runtime
from telephony.customers import repository as customers
from telephony.providers import twiml
from telephony.providers.port import ProviderError

log = structlog.get_logger("telephony.calls")


def _refuse_number(rt: Runtime, raw: str, *, field: str) -> str:
    number = to_e164(raw)
    if number is None:
        raise UnprocessableEntity(
            "Not a valid phone number.",
            errors=[
                {
                    "location": "body",
                    "field": field,
                    "message": "not a valid phone number",
                    "type": "value_error",
                }
            ],
        )
    refusal = outbound_refusal(number, allowed_regions=rt.settings.allowed_countries)
    if refusal:
        raise UnprocessableEntity(
            f"Refused: {refusal}.",
            errors=[{"location": "body", "field": field, "message": refusal, "type": "toll_fraud"}],
        )
    return number


def customer_leg_twiml(
    rt: Runtime, call: Call, *, announcement: str | None = None, ask_consent: bool = False
) -> str:
    """The customer's side of a call: they wait in the call's conference until an agent joins.
    ``ask_consent``: a customer we dial hears the recording notice first and may refuse (8)."""
    return twiml.join_conference(
        call.id,
        conference_callback=rt.webhook_url("conference", call_id=call.id),
        wait_url=rt.webhook_url("wait", call_id=call.id),
        action=rt.webhook_url("dial-action", call_id=call.id),
        customer=True,
        announcement=announcement,
        consent_action=rt.webhook_url("consent", call_id=call.id) if ask_consent else None,
        consent_timeout=rt.settings.ivr_timeout_seconds,
        language=str(call.metadata_.get("language") or "es"),
    )


def _language(preferred: str | None) -> str:
    return "en" if (preferred or "").lower().startswith("en") else "es"


async def _load(session: AsyncSession, call_id: uuid.UUID) -> Call:
    call = await repository.get(session, call_id, lock=True)
    if call is None:
        raise NotFound("No such call.")
    return call


def _ensure_party(principal: Principal, call: Call) -> uuid.UUID:
    """The caller's id, once they are shown to be this call's agent (or a supervisor)."""
    me = user_uuid(principal)
    if is_supervisor(principal) or me in {call.agent_id, call.transfer_to_agent_id}:
        return me
    raise Forbidden("This call belongs to another agent.")


def _ensure_connected(call: Call, action: str) -> None:
    if call.status != CallStatus.in_progress or call.answered_at is None:
        raise Conflict(
            f"Cannot {action} a call that is {call.status} and not connected to an agent.",
            call_status=call.status,
        )


async def initiate(session: AsyncSession, *, rt: Runtime, principal: Principal, to: str) -> Call:
    """Dial a customer for the calling agent (available, within rate limits, allowed number)."""
    agent_id = user_uuid(principal)
    number = _refuse_number(rt, to, field="to")
    agent = await agents.lock_for_call(session, agent_id=agent_id)
    if agent.status != AgentState.available:
        raise Conflict(
            f"Only an available agent can place a call (you are {agent.status}).", agent_status=agent.status
        )
    window = timedelta(seconds=rt.settings.outbound_window_seconds)
    placed = await repository.outbound_count_since(session, agent_id=agent_id, since=utcnow() - window)
    if placed >= rt.settings.outbound_calls_per_window:
        raise TooManyRequests(
            f"At most {rt.settings.outbound_calls_per_window} outbound calls per "
            f"{rt.settings.outbound_window_seconds} s.",
            headers={"Retry-After": str(rt.settings.outbound_window_seconds)},
        )
    caller = await customers.by_phone(session, number)
    call = await repository.add(
        session,
        Call(
            direction="outbound",
            customer_id=caller.customer_id if caller else None,
            customer_phone=number,
            our_number=rt.settings.twilio_phone_number,
            agent_id=agent_id,
            status=CallStatus.queued,
            created_at=utcnow(),
            metadata_={"language": _language(caller.preferred_language if caller else None)},
        ),
    )
    await repository.wait_for_creator(session, call.id)  # callbacks wait for this transaction
    await agents.mark_busy(session, rt=rt, row=agent, call_id=call.id, reason="outbound call")
    placed_call = await rt.twilio.create_call(
        to=number,
        from_=rt.settings.twilio_phone_number,
        twiml=customer_leg_twiml(rt, call, ask_consent=True),
        status_callback=rt.webhook_url("status", call_id=call.id),
    )
    call.call_sid = placed_call.sid
    if placed_call.status in STATUS_RANK and STATUS_RANK[placed_call.status] > call.rank:
        call.status = placed_call.status
    await session.flush()
    await rt.outbox.publish(session, events.initiated(call), key=str(call.id))
    return call


async def accept(session: AsyncSession, *, rt: Runtime, principal: Principal, call_id: uuid.UUID) -> Call:
    """The assigned agent picks up (or the target of a warm transfer takes over)."""
    me = user_uuid(principal)
    call = await _load(session, call_id)
    if call.status in TERMINAL:
        raise Conflict(f"The call has already ended ({call.status}).", call_status=call.status)
    if call.transfer_to_agent_id == me:
        return await _complete_warm_transfer(session, rt=rt, call=call)
    if call.agent_id != me:
        raise Forbidden("This call is not assigned to you.")
    if call.direction == "outbound":
        raise Conflict("Outbound calls are answered by the customer, not accepted.")
    if call.answered_at is not None:
        raise Conflict("The call is already answered.", call_status=call.status)
    return await connect(session, rt=rt, call=call)


async def connect(session: AsyncSession, *, rt: Runtime, call: Call) -> Call:
    """The customer and their agent are talking (the locked call is not answered yet)."""
    call.answered_at = utcnow()
    if call.rank < STATUS_RANK[CallStatus.in_progress]:
        call.status = CallStatus.in_progress
    entry = await repository.queue_entry(session, call.id, lock=True)
    if entry is not None and entry.state in {"waiting", "assigned"}:
        entry.state = "connected"
    await session.flush()
    await rt.outbox.publish(session, events.answered(call), key=str(call.id))
    return call


async def _complete_warm_transfer(session: AsyncSession, *, rt: Runtime, call: Call) -> Call:
    _ensure_connected(call, "take over")
    previous, target, now = call.agent_id, call.transfer_to_agent_id, utcnow()
    call.agent_id, call.transfer_to_agent_id = target, None
    # The target's softphone leg (when it joined) is the call's agent leg from now on.
    call.agent_call_sid, call.transfer_call_sid = call.transfer_call_sid, None
    call.muted = False
    await session.flush()
    if previous is not None:
        await agents.release(session, rt=rt, agent_id=previous, call_id=call.id, reason="transferred")
    await rt.outbox.publish(
        session,
        events.transferred(call, kind="warm", from_agent=previous, to_agent=target, to_number=None, at=now),
        key=str(call.id),
    )
    return call


def _outcome(call: Call) -> CallOutcome:
    if call.voicemail:
        return CallOutcome.voicemail
    if call.answered_at is not None:
        return CallOutcome.answered
    if call.status == CallStatus.failed:
        return CallOutcome.failed
    if call.direction == "outbound":
        return CallOutcome.missed
    return CallOutcome.abandoned


async def finish(
    session: AsyncSession, *, rt: Runtime, call: Call, status: str, duration: int | None
) -> Call:
    """Move a live call to its final status (once): free its agents, leave the queue, publish."""
    now = utcnow()
    call.status = status
    call.ended_at = now
    if duration is None and call.answered_at is not None:
        duration = max(0, int((now - call.answered_at).total_seconds()))
    call.duration = duration
    call.on_hold = call.muted = False
    entry = await repository.queue_entry(session, call.id, lock=True)
    call.outcome = _outcome(call)
    if entry is not None and entry.state in {"waiting", "assigned"}:
        entry.state, entry.abandoned_at = "abandoned", now
        await rt.outbox.publish(session, events.queue_abandoned(entry, now=now), key=str(call.id))
    await session.flush()
    for agent_id in {call.agent_id, call.transfer_to_agent_id} - {None}:
        assert agent_id is not None
        await agents.release(session, rt=rt, agent_id=agent_id, call_id=call.id, reason="call ended")
    call.transfer_to_agent_id, call.transfer_call_sid = None, None
    await rt.outbox.publish(session, events.ended(call), key=str(call.id))
    await rt.outbox.publish(session, events.interaction(call), key=events.interaction_key(call))
    await live.notify(session, live.call_ended(call.id))  # its signalling room closes on commit
    return call


async def end(session: AsyncSession, *, rt: Runtime, principal: Principal, call_id: uuid.UUID) -> Call:
    """Hang up a live call; the duration is Twilio's, the agents go back to available."""
    call = await _load(session, call_id)
    _ensure_party(principal, call)
    if call.status in TERMINAL:
        raise Conflict(f"The call has already ended ({call.status}).", call_status=call.status)
    final, duration = _final_status(call), None
    if call.call_sid:
        result = await rt.twilio.update_call(call.call_sid, status=final)
        duration = result.duration
        if duration is None and final == CallStatus.completed:
            duration = (await rt.twilio.fetch_call(call.call_sid)).duration
    return await finish(session, rt=rt, call=call, status=final, duration=duration)


def _final_status(call: Call) -> str:
    """How Twilio ends the customer's leg now: "completed" once live, "canceled" while it rings.

    An inbound call is live for Twilio from the moment our TwiML runs; an outbound one once the
    customer picks up.
    """
    if call.status == CallStatus.in_progress or call.direction == "inbound":
        return CallStatus.completed
    return CallStatus.canceled


async def agent_left(session: AsyncSession, *, rt: Runtime, call: Call, leg: str) -> bool:
    """An agent's softphone leg left the call (hung up in the browser); True when it changed something.

    The call's agent hanging up ends the call: the customer's leg is hung up at Twilio, the agent
    is free again, and ``call.ended`` and ``interaction.logged`` are published, as ``end`` does.
    While a warm transfer is pending and its target has joined, the agent hanging up hands the
    call over instead; the target hanging up first withdraws the transfer.
    """
    if call.status in TERMINAL or not leg:
        return False
    if leg == call.agent_call_sid:
        if call.transfer_to_agent_id is not None and call.transfer_call_sid is not None:
            await _complete_warm_transfer(session, rt=rt, call=call)
            return True
        final, duration = _final_status(call), None
        if call.call_sid:
            try:
                duration = (await rt.twilio.update_call(call.call_sid, status=final)).duration
            except ProviderError as exc:  # the customer's own final status callback still follows
                log.warning("customer_hangup_failed", call_id=str(call.id), error=exc.detail)
        await finish(session, rt=rt, call=call, status=final, duration=duration)
        return True
    if leg == call.transfer_call_sid and call.transfer_to_agent_id is not None:
        target, call.transfer_to_agent_id, call.transfer_call_sid = call.transfer_to_agent_id, None, None
        await session.flush()
        await agents.release(session, rt=rt, agent_id=target, call_id=call.id, reason="transfer declined")
        return True
    return False


async def transfer(
    session: AsyncSession,
    *,
    rt: Runtime,
    principal: Principal,
    call_id: uuid.UUID,
    kind: str,
    to_agent_id: uuid.UUID | None,
    to_number: str | None,
) -> Call:
    """Hand a connected call to another agent (warm or cold) or to an outside number (cold)."""
    call = await _load(session, call_id)
    _ensure_party(principal, call)
    _ensure_connected(call, "transfer")
    if call.transfer_to_agent_id is not None:
        raise Conflict("A warm transfer of this call is already waiting for its target.")
    now, previous = utcnow(), call.agent_id
    if to_number is not None:
        if kind != "cold":
            raise UnprocessableEntity("Transfers to outside numbers are cold transfers.")
        number = _refuse_number(rt, to_number, field="to_number")
        assert call.call_sid is not None
        await rt.twilio.update_call(
            call.call_sid,
            twiml=twiml.dial_number(
                number,
                caller_id=call.our_number if call.direction == "inbound" else rt.settings.twilio_phone_number,
                action=rt.webhook_url("dial-action", call_id=call.id),
                announcement="Le transferimos su llamada. Un momento, por favor.",
            ),
        )
        call.metadata_ = {**call.metadata_, "transferred_to_number": number}
        # The customer leaves the conference for the number, which ends it: the agent's leg leaving
        # then is no hang-up of the call.
        call.agent_call_sid = None
        await session.flush()
        if previous is not None:
            await agents.release(session, rt=rt, agent_id=previous, call_id=call.id, reason="transferred")
        await rt.outbox.publish(
            session,
            events.transferred(
                call, kind="cold", from_agent=previous, to_agent=None, to_number=number, at=now
            ),
            key=str(call.id),
        )
        return call
    assert to_agent_id is not None
    if to_agent_id == previous:
        raise Conflict("The call is already with this agent.")
    target = await agents.lock_for_call(session, agent_id=to_agent_id)
    if target.status != AgentState.available:
        raise Conflict(f"The target agent is {target.status}.", agent_status=target.status)
    await agents.mark_busy(session, rt=rt, row=target, call_id=call.id, reason=f"{kind} transfer")
    if kind == "warm":
        call.transfer_to_agent_id = to_agent_id
        await session.flush()
        return call
    if call.agent_call_sid:
        await rt.twilio.update_call(call.agent_call_sid, status=CallStatus.completed)
    call.agent_id, call.agent_call_sid = to_agent_id, None
    await session.flush()
    if previous is not None:
        await agents.release(session, rt=rt, agent_id=previous, call_id=call.id, reason="transferred")
    await rt.outbox.publish(
        session,
        events.transferred(
            call, kind="cold", from_agent=previous, to_agent=to_agent_id, to_number=None, at=now
        ),
        key=str(call.id),
    )
    return call


async def cancel_transfer(
    session: AsyncSession, *, rt: Runtime, principal: Principal, call_id: uuid.UUID
) -> Call:
    """Withdraw a pending warm transfer: the target agent is free again, the call stays."""
    call = await _load(session, call_id)
    me = _ensure_party(principal, call)
    if call.transfer_to_agent_id is None:
        raise Conflict("No warm transfer of this call is pending.")
    if me == call.transfer_to_agent_id and not is_supervisor(principal):
        raise Forbidden("The target of a transfer accepts it; the call's agent withdraws it.")
    if call.transfer_call_sid:  # the target had joined the conversation: their leg leaves it
        await rt.twilio.update_call(call.transfer_call_sid, status=CallStatus.completed)
    target, call.transfer_to_agent_id, call.transfer_call_sid = call.transfer_to_agent_id, None, None
    await session.flush()
    await agents.release(session, rt=rt, agent_id=target, call_id=call.id, reason="transfer withdrawn")
    return call


async def hold(
    session: AsyncSession, *, rt: Runtime, principal: Principal, call_id: uuid.UUID, on: bool
) -> Call:
    """Put the customer on hold with music, or take them off hold."""
    call = await _load(session, call_id)
    _ensure_party(principal, call)
    _ensure_connected(call, "hold" if on else "resume")
    if call.on_hold == on:
        raise Conflict("The call is already on hold." if on else "The call is not on hold.")
    if not call.conference_sid or not call.call_sid:
        raise Conflict("The customer has not joined the call's conference yet.")
    await rt.twilio.update_participant(
        call.conference_sid, call.call_sid, hold=on, hold_url=rt.settings.hold_music_url if on else None
    )
    call.on_hold = on
    await session.flush()
    return call


async def mute(
    session: AsyncSession, *, rt: Runtime, principal: Principal, call_id: uuid.UUID, on: bool
) -> Call:
    """Mute or unmute the agent's side of the call."""
    call = await _load(session, call_id)
    _ensure_party(principal, call)
    _ensure_connected(call, "mute" if on else "unmute")
    if call.muted == on:
        raise Conflict("The agent is already muted." if on else "The agent is not muted.")
    if not call.conference_sid or not call.agent_call_sid:
        raise Conflict("The agent has not joined the call's conference yet.")
    await rt.twilio.update_participant(call.conference_sid, call.agent_call_sid, muted=on)
    call.muted = on
    await session.flush()
    return call


RECORDING_TRANSITIONS = {
    "start": (None, "in-progress"),
    "pause": ("in-progress", "paused"),
    "resume": ("paused", "in-progress"),
}


async def record(
    session: AsyncSession, *, rt: Runtime, principal: Principal, call_id: uuid.UUID, action: str
) -> Call:
    """Start, pause or resume the call's recording."""
    call = await _load(session, call_id)
    _ensure_party(principal, call)
    _ensure_connected(call, f"{action} recording")
    assert call.call_sid is not None
    required, target = RECORDING_TRANSITIONS[action]
    current = call.recording_status if call.recording_status in {"in-progress", "paused"} else None
    if current != required:
        raise Conflict(
            f"Cannot {action} the recording while it is {current or 'not running'}.",
            recording_status=call.recording_status,
        )
    if action == "start" and call.recording_consent == "refused":
        raise Conflict(
            "The customer refused to be recorded (they pressed 8 after the recording notice): "
            "this call is never recorded.",
            recording_consent=call.recording_consent,
        )
    if action == "start" and call.direction == "outbound" and call.recording_consent is None:
        raise Conflict(
            "The customer has not yet heard the recording notice (or is still choosing): "
            "a call we placed is recorded only once they heard it without refusing.",
            recording_consent=None,
        )
    if action == "start":
        started = await rt.twilio.start_recording(
            call.call_sid, callback=rt.webhook_url("recording", call_id=call.id)
        )
        call.recording_sid, call.recording_url, call.recording_duration = started.sid, None, None
        if rt.settings.transcribe_recorded_calls and call.transcription_sid is None:
            # The worker asks Twilio to transcribe the live call (once; see recordings.service).
            call.transcription_status = "pending"
            await repository.wake_transcriber(session)
    else:
        assert call.recording_sid is not None
        await rt.twilio.set_recording(call.call_sid, call.recording_sid, status=target)
        if action == "pause" and call.transcription_status in {"pending", "requested"}:
            # Paused for something not to be kept (card details): the live transcription stops too.
            if call.transcription_status == "requested" and call.transcription_sid is not None:
                await rt.twilio.stop_transcription(call.call_sid, call.transcription_sid)
            call.transcription_status = "paused"
        elif action == "resume" and call.transcription_status == "paused":
            call.transcription_status = "pending"  # the worker asks for a new one (recordings.service)
            await repository.wake_transcriber(session)
    call.recording_status = target
    await session.flush()
    return call


async def get_visible(session: AsyncSession, *, principal: Principal, call_id: uuid.UUID) -> Call:
    """One call: an agent sees the calls they handled, a supervisor every call."""
    call = await repository.get(session, call_id)
    if call is None:
        raise NotFound("No such call.")
    if not is_supervisor(principal) and user_uuid(principal) not in {
        call.agent_id,
        call.transfer_to_agent_id,
    }:
        raise NotFound("No such call.")
    return call


async def list_visible(
    session: AsyncSession, *, principal: Principal, filters: CallFilters, after: list[Any] | None, limit: int
) -> tuple[list[Call], list[Any] | None]:
    """Calls, newest first; agents are limited to their own."""
    if not is_supervisor(principal):
        me = user_uuid(principal)
        if filters.agent_id not in (None, me):
            raise Forbidden("Agents can only list their own calls.")
        filters = CallFilters(**{**filters.__dict__, "agent_id": me})
    return await repository.page(session, filters=filters, after=after, limit=limit)


async def purge_receipts(session: AsyncSession, *, older_than: timedelta) -> int:
    """Forget webhook receipts older than Twilio's retry horizon; returns how many went."""
    return await repository.purge_receipts(session, before=utcnow() - older_than)


async def agent_stats(
    session: AsyncSession, *, agent_id: uuid.UUID, since: datetime, until: datetime
) -> repository.AgentCallStats:
    """Calls that ended with the agent in the window: count, answered, talk time, average."""
    return await repository.agent_call_stats(session, agent_id=agent_id, since=since, until=until)


async def apply_status(
    session: AsyncSession,
    *,
    rt: Runtime,
    call: Call,
    status: str,
    duration: int | None,
    at: datetime | None = None,
) -> Call:
    """A status Twilio reported for the customer's leg; never moves the call backwards."""
    if status not in STATUS_RANK:
        return call
    if STATUS_RANK[status] <= call.rank:
        if status in TERMINAL and call.status in TERMINAL and duration is not None:
            call.duration = duration  # Twilio's own figure replaces our estimate
        return call
    if status in TERMINAL:
        return await finish(session, rt=rt, call=call, status=status, duration=duration)
    call.status = status
    if status == CallStatus.in_progress and call.direction == "outbound" and call.answered_at is None:
        call.answered_at = at or utcnow()
        await session.flush()
        await rt.outbox.publish(session, events.answered(call), key=str(call.id))
    await session.flush()
    return call
