"""Recordings kept by us (GDPR/LOPDGDD): a finished recording is copied from the provider into the
platform's object store, its SHA-256 checked against what was downloaded, then deleted at the
provider when configured; played back only by the call's agent and supervisors; purged after the
retention period by a job that logs each removal."""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime, timedelta

import structlog
from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncSession

from aintech_shared.auth import Principal
from aintech_shared.errors import Forbidden, NotFound
from aintech_shared.objectstore import ObjectStore, StoredObject
from telephony.calls.models import Call
from telephony.core.base import utcnow
from telephony.core.deps import is_supervisor
from telephony.core.runtime import Runtime
from telephony.providers.port import ProviderError, TwilioPort
from telephony.recordings import repository
from telephony.settings import Settings

log = structlog.get_logger("telephony.recordings")

ARCHIVED = Counter(
    "telephony_recordings_archived_total", "Recordings copied into the object store", ["outcome"]
)
TRANSCRIPTIONS = Counter(
    "telephony_transcriptions_requested_total", "Live-call transcriptions asked of the provider", ["outcome"]
)
PURGED = Counter("telephony_recordings_purged_total", "Recordings removed after the retention period")
BATCH = 10


def key_for(call: Call) -> str:
    """Where a call's recording lives in the object store."""
    started = call.created_at or utcnow()
    return f"recordings/{started:%Y/%m/%d}/{call.id}.wav"


class DigestMismatch(Exception):
    """What the store kept is not what the provider sent."""


async def archive_one(
    session: AsyncSession, *, call: Call, twilio: TwilioPort, store: ObjectStore, settings: Settings
) -> StoredObject:
    """Copy one recording: download, put, compare digests (of the download, of ``put``, of ``stat``),
    record it on the call, then delete it at the provider when configured."""
    assert call.recording_sid is not None
    media, content_type = await twilio.download_recording(call.recording_sid)
    digest = hashlib.sha256(media).hexdigest()
    key = key_for(call)
    stored = await store.put(
        key, media, content_type=content_type if content_type.startswith("audio/") else "audio/wav"
    )
    kept = await store.stat(key)
    if stored.sha256 != digest or kept is None or kept.sha256 != digest or kept.size != len(media):
        await store.delete(key)
        raise DigestMismatch(f"recording {call.recording_sid}: stored digest differs from the download")
    call.recording_key = key
    call.recording_sha256 = digest
    call.recording_size = len(media)
    call.recording_archived_at = utcnow()
    await session.flush()
    if settings.delete_recordings_at_provider:
        await twilio.delete_recording(call.recording_sid)
        call.recording_url = None  # the provider's copy is gone: playback is ours only
        await session.flush()
    log.info("recording_archived", call_id=str(call.id), key=key, size=len(media), sha256=digest)
    return stored


async def archive_pending(
    session: AsyncSession, *, twilio: TwilioPort, store: ObjectStore, settings: Settings
) -> int:
    """Copy the finished recordings not yet kept (a failure is logged and retried on the next run)."""
    done = 0
    for call in await repository.to_archive(session, limit=BATCH):
        try:
            async with session.begin_nested():
                await archive_one(session, call=call, twilio=twilio, store=store, settings=settings)
        except (ProviderError, DigestMismatch, OSError) as exc:
            ARCHIVED.labels("failed").inc()
            log.error(
                "recording_archive_failed",
                call_id=str(call.id),
                recording_sid=call.recording_sid,
                error=str(exc),
            )
            continue
        ARCHIVED.labels("archived").inc()
        done += 1
    return done


LANGUAGE_CODES = {"es": "es-ES", "en": "en-GB"}


async def transcribe_pending(session: AsyncSession, *, rt: Runtime, twilio: TwilioPort) -> int:
    """Ask Twilio to transcribe the recorded live calls marked "pending" (when their recording
    started), each once: the request and the SID it returns are committed together, and a call no
    longer pending is never asked again, whichever worker or restart runs the job. Never for a call
    whose caller refused recording; a call that ended before its turn is marked "missed" (a live
    transcription needs the call). Returns how many were requested."""
    done = 0
    for call in await repository.to_transcribe(session, limit=BATCH):
        if call.recording_consent == "refused" or call.recording_sid is None:
            call.transcription_status = None
            continue
        if not call.is_live or call.call_sid is None:
            call.transcription_status = "missed"
            log.info("transcription_missed", call_id=str(call.id), recording_sid=call.recording_sid)
            continue
        language = LANGUAGE_CODES.get(str(call.metadata_.get("language") or "es"), "es-ES")
        # A resumed recording gets a new transcription (the paused one was stopped): part 2, 3...
        part = int(call.metadata_.get("transcript_part", 0)) + 1
        try:
            async with session.begin_nested():
                sid = await twilio.start_transcription(
                    call.call_sid,
                    name=call.recording_sid if part == 1 else f"{call.recording_sid}-{part}",
                    callback=rt.webhook_url("transcription", call_id=call.id),
                    language=language,
                )
                call.transcription_sid, call.transcription_status = sid, "requested"
                call.metadata_ = {**call.metadata_, "transcript_part": part}
                await session.flush()
        except ProviderError as exc:
            TRANSCRIPTIONS.labels("failed").inc()
            log.error("transcription_request_failed", call_id=str(call.id), error=str(exc))
            continue  # still pending: the next run tries again
        TRANSCRIPTIONS.labels("requested").inc()
        log.info("transcription_requested", call_id=str(call.id), transcription_sid=sid)
        done += 1
    await session.flush()
    return done


async def purge_expired(
    session: AsyncSession, *, store: ObjectStore, settings: Settings, now: datetime | None = None
) -> list[str]:
    """Remove kept recordings older than ``recording_retention_days``; logs each; returns their keys."""
    now = now or utcnow()
    removed: list[str] = []
    cutoff = now - timedelta(days=settings.recording_retention_days)
    for call in await repository.expired(session, archived_before=cutoff, limit=500):
        key = call.recording_key
        assert key is not None
        await store.delete(key)
        log.info(
            "recording_purged",
            call_id=str(call.id),
            key=key,
            archived_at=call.recording_archived_at.isoformat() if call.recording_archived_at else None,
            retention_days=settings.recording_retention_days,
        )
        call.recording_key = None
        call.recording_sha256 = None
        call.recording_size = None
        call.recording_status = "purged"
        removed.append(key)
        PURGED.inc()
    await session.flush()
    if removed:
        log.info("recordings_purge_done", removed=len(removed), keys=removed)
    return removed


async def playable(
    session: AsyncSession, *, principal: Principal, call_id: uuid.UUID, store: ObjectStore
) -> StoredObject:
    """A kept recording the caller may hear: the call's agent or a supervisor (404 otherwise: the
    recording's existence is not disclosed to others)."""
    call = await repository.get(session, call_id)
    if call is None:
        raise NotFound("No such call.")
    if not is_supervisor(principal) and str(call.agent_id) != principal.user_id:
        raise Forbidden("Only the call's agent and supervisors may play its recording.")
    if call.recording_key is None:
        raise NotFound("This call has no recording kept by the platform.")
    found = await store.stat(call.recording_key)
    if found is None:
        raise NotFound("The recording is no longer kept.")
    return found
