"""Event payloads built from call and queue rows."""

from __future__ import annotations

import uuid
from datetime import datetime

from aintech_contracts.events.crm import InteractionLogged, InteractionTranscribed
from aintech_contracts.events.telephony import (
    CallAnswered,
    CallEnded,
    CallInitiated,
    CallRecordingAvailable,
    CallTransferred,
    QueueCallAbandoned,
    QueueCallAdded,
    QueueCallAssigned,
)
from telephony.calls.models import PRIORITIES, Call, QueueEntry
from telephony.core.base import utcnow

DEPARTMENT_LABEL = {
    "claims": "siniestros",
    "sales": "ventas",
    "renewals": "renovaciones",
    "other": "consulta",
}


def _sid(call: Call) -> str:
    return call.call_sid or f"pending-{call.id}"


def _call_fields(call: Call) -> dict[str, object]:
    return {
        "call_id": call.id,
        "call_sid": _sid(call),
        "direction": call.direction,
        "customer_id": call.customer_id,
        "customer_phone": call.customer_phone,
        "agent_id": call.agent_id,
    }


def initiated(call: Call) -> CallInitiated:
    return CallInitiated(**_call_fields(call), initiated_at=call.created_at)


def answered(call: Call) -> CallAnswered:
    assert call.answered_at is not None
    return CallAnswered(**_call_fields(call), answered_at=call.answered_at)


def ended(call: Call) -> CallEnded:
    assert call.ended_at is not None and call.outcome is not None
    return CallEnded(
        **_call_fields(call),
        status=call.status,
        outcome=call.outcome,
        duration_seconds=call.duration,
        answered_at=call.answered_at,
        ended_at=call.ended_at,
    )


def transferred(
    call: Call,
    *,
    kind: str,
    from_agent: uuid.UUID | None,
    to_agent: uuid.UUID | None,
    to_number: str | None,
    at: datetime,
) -> CallTransferred:
    return CallTransferred(
        **_call_fields(call),
        kind=kind,
        from_agent_id=from_agent,
        to_agent_id=to_agent,
        to_number=to_number,
        transferred_at=at,
    )


def recording_available(call: Call, *, transcription_requested: bool) -> CallRecordingAvailable:
    assert call.recording_sid and call.recording_url
    return CallRecordingAvailable(
        call_id=call.id,
        call_sid=_sid(call),
        recording_sid=call.recording_sid,
        recording_url=call.recording_url,
        duration_seconds=call.recording_duration,
        voicemail=call.voicemail,
        transcription_requested=transcription_requested,
        customer_id=call.customer_id,
        agent_id=call.agent_id,
    )


def interaction(call: Call) -> InteractionLogged:
    """The CRM timeline entry of an ended call."""
    assert call.ended_at is not None
    if call.voicemail:
        subject = "Mensaje de voz"
    elif call.direction == "inbound":
        subject = "Llamada entrante"
        if call.department:
            subject += f" ({DEPARTMENT_LABEL.get(call.department, call.department)})"
    else:
        subject = "Llamada saliente"
    phone = call.customer_phone if call.customer_phone.startswith("+") else None
    return InteractionLogged(
        source="telephony",
        external_id=_sid(call),
        type="call",
        direction=call.direction,
        occurred_at=call.created_at,
        customer_id=call.customer_id,
        phone=phone,
        agent_id=call.agent_id,
        subject=subject,
        summary=call.transcription[:2000] if call.transcription else None,
        outcome=call.outcome,
        duration_seconds=call.duration,
        recording_url=call.recording_url,
        recording_consent=call.recording_consent,
    )


def transcribed(call: Call) -> InteractionTranscribed:
    """A recorded call's transcript for the CRM interaction the call became."""
    return InteractionTranscribed(
        source="telephony",
        external_id=_sid(call),
        transcript=(call.transcription or "")[:20_000],
        transcribed_at=utcnow(),
    )


def interaction_key(call: Call) -> str:
    return str(call.customer_id) if call.customer_id else call.customer_phone


def _queue_fields(entry: QueueEntry) -> dict[str, object]:
    return {
        "call_id": entry.call_id,
        "call_sid": entry.call_sid,
        "customer_id": entry.customer_id,
        "customer_phone": entry.customer_phone,
        "department": entry.department,
        "priority": PRIORITIES[entry.priority],
    }


def _waited(entry: QueueEntry, now: datetime) -> int:
    return max(0, int((now - entry.enqueued_at).total_seconds()))


def queue_added(entry: QueueEntry, *, position: int) -> QueueCallAdded:
    return QueueCallAdded(**_queue_fields(entry), position=position, enqueued_at=entry.enqueued_at)


def queue_assigned(
    entry: QueueEntry, *, preferred: bool, now: datetime, widened: bool = False
) -> QueueCallAssigned:
    assert entry.assigned_to is not None
    return QueueCallAssigned(
        **_queue_fields(entry),
        agent_id=entry.assigned_to,
        waited_seconds=_waited(entry, now),
        routed_to_last_agent=preferred,
        required_skills=list(entry.required_skills or []),
        widened=widened,
        assigned_at=now,
    )


def queue_abandoned(entry: QueueEntry, *, now: datetime) -> QueueCallAbandoned:
    return QueueCallAbandoned(**_queue_fields(entry), waited_seconds=_waited(entry, now), abandoned_at=now)
