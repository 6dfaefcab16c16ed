"""What Twilio's voice webhooks do: the IVR, the waiting line, and the callbacks of a call.

Every answer is computed from local data only (the read model of CRM customers and telephony's
own tables): a webhook never waits on another service. Callbacks are idempotent per
CallSid/RecordingSid + status and never move a call backwards.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from aintech_shared.phones import caller_id
from aintech_shared.webhooks import FormParams
from telephony.calls import events
from telephony.calls import repository as calls_repo
from telephony.calls import service as calls
from telephony.calls.models import STATUS_RANK, TERMINAL, Call
from telephony.core.base import utcnow
from telephony.core.runtime import Runtime
from telephony.customers import repository as customers
from telephony.providers import twiml
from telephony.queue import service as queue
from telephony.settings import Settings

log = structlog.get_logger("telephony.voice")

DIGIT_DEPARTMENT = {"1": "claims", "2": "sales", "3": "renewals"}
ENGLISH_KEY = "9"  # the Spanish menu offers English: the caller's language becomes a required skill
REFUSE_RECORDING_KEY = "8"  # after the recording notice: the call is never recorded
RECORDING_RANK = {"in-progress": 0, "paused": 0, "completed": 1, "absent": 1, "failed": 1}
MAX_TRANSCRIPTION = 20_000
DIRECT_ASSIGNMENTS = 5  # at most this many assignments inside a webhook; the worker does the rest


def is_open(settings: Settings, at: datetime) -> bool:
    """Whether ``at`` falls within office hours (days and times in the office's time zone)."""
    local = at.astimezone(ZoneInfo(settings.office_timezone))
    return (
        local.weekday() in settings.office_days
        and settings.office_opens <= local.time() < settings.office_closes
    )


def _field(params: FormParams, name: str, limit: int = 64) -> str:
    return params.get(name, "").strip()[:limit]


def _int(value: str) -> int | None:
    return int(value) if value.isdigit() and len(value) < 9 else None


def _voicemail_twiml(rt: Runtime, call: Call) -> str:
    return twiml.voicemail(
        message=f"Gracias por llamar a {rt.settings.company_name}. Nuestro horario es de lunes a viernes, "
        f"de {rt.settings.office_opens:%H:%M} a {rt.settings.office_closes:%H:%M}. "
        "Deje su mensaje después de la señal y le llamaremos.",
        action=rt.webhook_url("voicemail", call_id=call.id),
        recording_callback=rt.webhook_url("recording", call_id=call.id),
        transcribe_callback=rt.webhook_url("transcription", call_id=call.id),
        max_seconds=rt.settings.voicemail_max_seconds,
    )


def _menu_twiml(rt: Runtime, call: Call, first_name: str | None) -> str:
    hello = f"Hola {first_name}. " if first_name else ""
    return twiml.ivr_menu(
        greeting=f"{hello}Bienvenido a {rt.settings.company_name}.",
        action=rt.webhook_url("ivr", call_id=call.id),
        fallback=rt.webhook_url("ivr", call_id=call.id),
        timeout=rt.settings.ivr_timeout_seconds,
    )


async def incoming(session: AsyncSession, *, rt: Runtime, params: FormParams) -> str:
    """A customer calls: identify them, then the IVR menu (or voicemail outside office hours)."""
    sid = _field(params, "CallSid")
    if not sid:
        return twiml.message_and_hangup("Lo sentimos, no podemos atender su llamada.")
    phone = caller_id(_field(params, "From", 40))
    profile = await customers.by_phone(session, phone) if phone.startswith("+") else None
    status = _field(params, "CallStatus", 20)
    now = utcnow()
    call = await calls_repo.add_if_new(
        session,
        {
            "call_sid": sid,
            "direction": "inbound",
            "customer_id": profile.customer_id if profile else None,
            "customer_phone": phone or "unknown",
            "our_number": _field(params, "To", 40),
            "status": status if status in STATUS_RANK and status not in TERMINAL else "ringing",
            "created_at": now,
            "voicemail": not is_open(rt.settings, now),
            "metadata_": {"caller_name": profile.first_name} if profile else {},
        },
    )
    if call is not None:
        await rt.outbox.publish(session, events.initiated(call), key=str(call.id))
    else:  # a replay of this webhook: answer as before, record nothing new
        call = await calls_repo.by_sid(session, sid, lock=True)
        assert call is not None
    if call.status in TERMINAL:
        return twiml.empty()
    if call.voicemail:
        return _voicemail_twiml(rt, call)
    if call.department is not None:
        return calls.customer_leg_twiml(rt, call)
    return _menu_twiml(rt, call, call.metadata_.get("caller_name"))


async def ivr(session: AsyncSession, *, rt: Runtime, call_id: uuid.UUID, digits: str) -> str:
    """The caller chose a department: queue them with their priority and connect if an agent is free."""
    call = await calls_repo.get(session, call_id, lock=True)
    if call is None or call.status in TERMINAL:
        return twiml.message_and_hangup("Lo sentimos, no podemos atender su llamada.")
    if call.department is not None:  # a replay of this request: same answer, no second entry
        return calls.customer_leg_twiml(rt, call)
    if digits[:1] == REFUSE_RECORDING_KEY and call.recording_consent is None:
        call.recording_consent = "refused"  # never recorded; the menu again, without the notice
        english = call.metadata_.get("language") == "en"
        return twiml.ivr_menu(
            greeting="This call will not be recorded." if english else "Esta llamada no se grabará.",
            action=rt.webhook_url("ivr", call_id=call.id),
            fallback=rt.webhook_url("ivr", call_id=call.id),
            timeout=rt.settings.ivr_timeout_seconds,
            language="en" if english else "es",
            recording_notice=False,
        )
    if digits[:1] == ENGLISH_KEY and "language" not in call.metadata_:  # the menu again, in English
        call.metadata_ = {**call.metadata_, "language": "en"}
        return twiml.ivr_menu(
            greeting=f"Welcome to {rt.settings.company_name}.",
            action=rt.webhook_url("ivr", call_id=call.id),
            fallback=rt.webhook_url("ivr", call_id=call.id),
            timeout=rt.settings.ivr_timeout_seconds,
            language="en",
            recording_notice=call.recording_consent is None,
        )
    if call.recording_consent is None:
        call.recording_consent = "given"  # heard the notice and chose a department without refusing
    department = DIGIT_DEPARTMENT.get(digits[:1], "other")
    call.department = department
    segment = None
    open_claims = 0
    language = call.metadata_.get("language")
    if call.customer_id is not None:
        profile = await customers.profile(session, call.customer_id)
        if profile is not None:
            segment, open_claims = profile.segment, profile.open_claims
            language = language or (profile.preferred_language or "es")[:2].lower()
    language = language if language in queue.LANGUAGES else "es"
    call.metadata_ = {**call.metadata_, "language": language}
    facts = queue.RoutingFacts(
        open_claims=open_claims,
        vip=segment is not None and segment in rt.settings.vip_segments,
        last_agent_id=await calls_repo.last_agent(
            session, customer_id=call.customer_id, phone=call.customer_phone
        ),
    )
    entry, position = await queue.enqueue(
        session, rt=rt, call=call, department=department, facts=facts, language=language
    )
    assigned = await queue.assign_waiting(session, rt=rt, limit=DIRECT_ASSIGNMENTS)  # free agents, in order
    if entry.state == "assigned":
        message = "Le pasamos con un agente. Un momento, por favor."
    else:
        if assigned:  # callers ahead of this one were served: the place moved up
            position = await queue.position(session, call_id=call.id) or position
        message = (
            "En este momento todos nuestros agentes están ocupados. "
            f"Su posición en la cola es la número {position}. Le atenderemos enseguida."
        )
    return calls.customer_leg_twiml(rt, call, announcement=message)


async def wait(session: AsyncSession, *, rt: Runtime, call_id: uuid.UUID) -> str:
    """What a waiting caller hears while no agent has joined: their position, then music."""
    entry = await calls_repo.queue_entry(session, call_id)
    message = "Un momento, por favor."
    if entry is not None and entry.state == "waiting":
        position = await calls_repo.position(session, entry)
        message = f"Su posición en la cola es la número {position}."
    elif entry is not None and entry.state == "assigned":
        message = "Le estamos pasando con un agente."
    return twiml.hold_loop(message=message, music_url=rt.settings.hold_music_url)


async def softphone(session: AsyncSession, *, rt: Runtime, params: FormParams) -> str:
    """An agent's browser softphone joins a call's conference (TwiML App voice URL)."""
    identity = _field(params, "From", 80).removeprefix("client:")
    raw_call = _field(params, "callId", 64) or _field(params, "CallId", 64)
    try:
        agent_id, call_id = uuid.UUID(identity), uuid.UUID(raw_call)
    except ValueError:
        return twiml.message_and_hangup("Llamada no válida.")
    call = await calls_repo.get(session, call_id, lock=True)
    if call is None or call.status in TERMINAL or agent_id not in {call.agent_id, call.transfer_to_agent_id}:
        log.warning("softphone_refused", agent_id=str(agent_id), call_id=str(call_id))
        return twiml.message_and_hangup("Esta llamada no está asignada a usted.")
    leg = _field(params, "CallSid")
    if agent_id == call.agent_id:
        call.agent_call_sid = leg or call.agent_call_sid
    else:  # the target of a warm transfer joins the conversation
        call.transfer_call_sid = leg or call.transfer_call_sid
    await session.flush()
    return twiml.join_conference(
        call.id,
        conference_callback=rt.webhook_url("conference", call_id=call.id),
        wait_url=None,
        customer=False,
    )


async def _call_for_callback(
    session: AsyncSession, *, call_id: uuid.UUID | None, sid: str
) -> tuple[Call | None, bool]:
    """The call a status callback is about, and whether ``sid`` is an agent's leg of it."""
    if call_id is not None:
        await calls_repo.wait_for_creator(session, call_id)
        call = await calls_repo.get(session, call_id, lock=True)
        if call is not None and call.call_sid not in (None, sid):
            if sid in (call.agent_call_sid, call.transfer_call_sid):
                return call, True
            return None, False  # another leg's callback; this call's status is its customer leg's
        return call, False
    call = await calls_repo.by_sid(session, sid, lock=True)
    if call is not None:
        return call, False
    # The TwiML App's status callback: an agent's softphone leg (hung up in the browser).
    return await calls_repo.by_agent_leg(session, sid, lock=True), True


async def status(
    session: AsyncSession, *, rt: Runtime, params: FormParams, call_id: uuid.UUID | None
) -> bool:
    """A status callback of a customer's leg, or of an agent's softphone leg; True when it changed
    something. A final status of the agent's leg means the agent hung up (see ``calls.agent_left``)."""
    sid, call_status = _field(params, "CallSid"), _field(params, "CallStatus", 20)
    if not sid or call_status not in STATUS_RANK:
        return False
    call, agent_leg = await _call_for_callback(session, call_id=call_id, sid=sid)
    if call is None:
        log.info("status_for_unknown_call", call_sid=sid, status=call_status)
        return False
    if not await calls_repo.claim_receipt(session, kind="status", sid=sid, status=call_status):
        return False
    if agent_leg:
        return call_status in TERMINAL and await calls.agent_left(session, rt=rt, call=call, leg=sid)
    before = (call.status, call.duration)
    await calls.apply_status(
        session, rt=rt, call=call, status=call_status, duration=_int(_field(params, "CallDuration", 10))
    )
    return (call.status, call.duration) != before


async def recording(session: AsyncSession, *, rt: Runtime, params: FormParams, call_id: uuid.UUID) -> bool:
    """A recording callback: store the URL when completed and publish call.recording_available."""
    recording_sid, state = _field(params, "RecordingSid"), _field(params, "RecordingStatus", 20)
    if not recording_sid or state not in RECORDING_RANK:
        return False
    call = await calls_repo.get(session, call_id, lock=True)
    if call is None:
        return False
    if not await calls_repo.claim_receipt(session, kind="recording", sid=recording_sid, status=state):
        return False
    if call.recording_sid not in (None, recording_sid) and not call.voicemail:
        return False  # an older recording of this call
    current = (
        RECORDING_RANK.get(call.recording_status or "", -1) if call.recording_sid == recording_sid else -1
    )
    if RECORDING_RANK[state] < current:
        return False  # a late "in-progress" after "completed"
    call.recording_sid = recording_sid
    call.recording_status = state
    if state == "completed":
        url = params.get("RecordingUrl", "")
        call.recording_url = url[:500] if url.startswith("https://") else None
        call.recording_duration = _int(_field(params, "RecordingDuration", 10))
        if call.voicemail:
            call.transcription_status = "requested"  # <Record transcribe> asked Twilio for it
        await session.flush()
        if call.recording_url:
            await rt.outbox.publish(
                session,
                events.recording_available(call, transcription_requested=call.voicemail),
                key=str(call.id),
            )
    await session.flush()
    return True


async def transcription(
    session: AsyncSession, *, params: FormParams, call_id: uuid.UUID, rt: Runtime | None = None
) -> bool:
    """Twilio's transcription of a voicemail or of a recorded call. A call already logged to the CRM
    gets its transcript attached there (``interaction.transcribed``); one still live carries it in
    its ``interaction.logged`` summary when it ends.

    Two shapes arrive here: a recording's transcription (``TranscriptionText``, voicemail), and the
    events of a live call's Real-Time Transcription (``TranscriptionEvent``): each final utterance
    (``transcription-content``) is kept in order, and ``transcription-stopped`` completes it."""
    call = await calls_repo.get(session, call_id, lock=True)
    if call is None:
        return False
    if call.recording_consent == "refused":
        return False  # nothing of a refused call is kept (there should be no recording to transcribe)
    if _field(params, "TranscriptionEvent", 40):
        return await _live_transcription(session, call=call, params=params, rt=rt)
    state = _field(params, "TranscriptionStatus", 20) or "completed"
    already = call.transcription_status == "completed"
    call.transcription_status = state
    if state == "completed":
        call.transcription = params.get("TranscriptionText", "").replace("\x00", "")[:MAX_TRANSCRIPTION]
    await session.flush()
    if state == "completed" and not already and call.ended_at is not None and call.transcription and rt:
        await rt.outbox.publish(session, events.transcribed(call), key=events.interaction_key(call))
    return True


SPEAKERS = {"inbound_track": "Cliente", "outbound_track": "Agente"}  # the customer's leg is transcribed
MAX_UTTERANCES = 2_000


async def _live_transcription(
    session: AsyncSession, *, call: Call, params: FormParams, rt: Runtime | None
) -> bool:
    """One event of the live call's Real-Time Transcription, accepted only for the transcription the
    platform requested and once per (transcription, event, sequence)."""
    sid, event = _field(params, "TranscriptionSid"), _field(params, "TranscriptionEvent", 40)
    if not sid or sid != call.transcription_sid:
        log.info("transcription_event_ignored", call_id=str(call.id), transcription_sid=sid)
        return False
    sequence = _field(params, "SequenceId", 12)
    if not await calls_repo.claim_receipt(session, kind="transcript", sid=sid, status=f"{event}:{sequence}"):
        return False  # a retried delivery
    if event == "transcription-content" and params.get("Final", "").lower() == "true":
        try:
            data = json.loads(params.get("TranscriptionData", "") or "{}")
        except ValueError:
            data = {}
        text = str(data.get("transcript", "") if isinstance(data, dict) else "").replace("\x00", "").strip()
        if not text:
            return False
        order = int(sequence) if sequence.isdigit() else 0
        part = int(call.metadata_.get("transcript_part", 1))  # after a pause, a new transcription
        utterance = [part, order, _field(params, "Track", 20), text]
        utterances = sorted([*call.metadata_.get("transcript", []), utterance], key=lambda u: (u[0], u[1]))
        call.metadata_ = {**call.metadata_, "transcript": utterances[-MAX_UTTERANCES:]}
        call.transcription = "\n".join(f"{SPEAKERS.get(u[2], 'Llamada')}: {u[3]}" for u in utterances)[
            :MAX_TRANSCRIPTION
        ]
        await session.flush()
        return True
    if event == "transcription-error":
        call.transcription_status = "failed"
        await session.flush()
        return True
    if event != "transcription-stopped" or call.transcription_status != "requested":
        return False  # already completed, or stopped by a pause (a new one follows the resume)
    call.transcription_status = "completed"
    await session.flush()
    if call.ended_at is not None and call.transcription and rt:
        await rt.outbox.publish(session, events.transcribed(call), key=events.interaction_key(call))
    return True


async def conference(session: AsyncSession, *, rt: Runtime, params: FormParams, call_id: uuid.UUID) -> bool:
    """Conference events: learn the conference and the agent's leg (hold and mute act on them).

    The assigned agent's softphone joining an inbound call connects it, as accepting it would; an
    agent's leg leaving it (the softphone hung up) ends the call or hands it over
    (``calls.agent_left``). The customer's leg leaving is left to its own status callback.
    """
    event = _field(params, "StatusCallbackEvent", 40)
    if event not in {"participant-join", "participant-leave"}:
        return False
    call = await calls_repo.get(session, call_id, lock=True)
    if call is None or call.status in TERMINAL:
        return False
    leg = _field(params, "CallSid")
    if event == "participant-leave":
        return await calls.agent_left(session, rt=rt, call=call, leg=leg)
    call.conference_sid = _field(params, "ConferenceSid") or call.conference_sid
    if leg and leg == call.call_sid and call.direction == "outbound" and call.recording_consent is None:
        call.recording_consent = "given"  # heard the notice to its end without pressing a key
    if leg and leg not in {call.call_sid, call.agent_call_sid, call.transfer_call_sid}:
        call.agent_call_sid = leg
        if call.direction == "inbound" and call.agent_id is not None and call.answered_at is None:
            await calls.connect(session, rt=rt, call=call)
    await session.flush()
    return True


async def consent(session: AsyncSession, *, rt: Runtime, params: FormParams, call_id: uuid.UUID) -> str:
    """The key a customer we dialled pressed during the recording notice: 8 refuses, any other
    accepts; the first choice stands (a replayed webhook changes nothing). Then the conference."""
    call = await calls_repo.get(session, call_id, lock=True)
    if call is None or call.direction != "outbound" or call.status in TERMINAL:
        return twiml.message_and_hangup("Llamada no válida.")
    if call.recording_consent is None:
        call.recording_consent = "refused" if _field(params, "Digits", 1) == "8" else "given"
        await session.flush()
        log.info("outbound_recording_consent", call_id=str(call.id), consent=call.recording_consent)
    language = "en" if call.metadata_.get("language") == "en" else "es"
    answer = twiml.CONSENT_ANSWER[(language, call.recording_consent or "given")]
    return calls.customer_leg_twiml(rt, call, announcement=answer)


async def dial_action(session: AsyncSession, *, params: FormParams, call_id: uuid.UUID) -> str:
    """The customer's Dial finished (their conference ended, or an outside number was tried)."""
    call = await calls_repo.get(session, call_id, lock=True)
    dial_status = _field(params, "DialCallStatus", 20)
    if call is not None:
        call.metadata_ = {**call.metadata_, "dial_status": dial_status}
        await session.flush()
        if call.metadata_.get("transferred_to_number") and dial_status in {"busy", "no-answer", "failed"}:
            return twiml.message_and_hangup(
                "No ha sido posible completar la transferencia. Disculpe las molestias."
            )
    return twiml.message_and_hangup("Gracias por llamar. Adiós.")


def voicemail_done() -> str:
    """After the caller left a message."""
    return twiml.message_and_hangup("Gracias. Hemos recibido su mensaje. Adiós.")
