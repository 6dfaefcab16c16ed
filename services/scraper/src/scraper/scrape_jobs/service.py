"""The rules of jobs: create, read, cancel, retry; claim with a lease, report progress, finish or
fail an attempt (retried with backoff up to ``max_attempts``), expire lost leases. Never commits."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from aintech_shared.errors import Conflict, NotFound, UnprocessableEntity
from aintech_shared.objectstore import ObjectStore, StoredObject
from scraper.carriers.registry import adapter, adapters
from scraper.carriers.spec import AdapterSpec
from scraper.core.base import utcnow
from scraper.core.errors import ErrorClass, ScrapeError
from scraper.scrape_jobs.backoff import retry_delay
from scraper.scrape_jobs.models import Artifact, CarrierLimit, Job
from scraper.scrape_jobs.repository import ArtifactRepository, JobRepository
from scraper.scrape_jobs.schemas import checked_params
from scraper.settings import Settings

TERMINAL = ("succeeded", "failed", "cancelled")


def _unknown(field: str, message: str) -> UnprocessableEntity:
    return UnprocessableEntity(
        message, errors=[{"location": "body", "field": field, "message": message, "type": "value_error"}]
    )


def check_target(*, carrier: str, kind: str) -> AdapterSpec:
    """The carrier's adapter, when it has one that runs ``kind`` jobs (422 naming the field otherwise)."""
    spec = adapter(carrier)
    if spec is None:
        raise _unknown("carrier", f"Unknown carrier {carrier!r}; known: {', '.join(sorted(adapters()))}.")
    if kind not in spec.kinds:
        raise _unknown(
            "kind", f"The {spec.name} adapter does not support {kind!r} jobs ({', '.join(spec.kinds)})."
        )
    return spec


async def create_job(
    session: AsyncSession,
    *,
    settings: Settings,
    kind: str,
    carrier: str,
    params: dict[str, Any],
    requested_by: uuid.UUID | None,
    max_attempts: int | None = None,
    priority: int = 0,
    schedule_id: uuid.UUID | None = None,
) -> Job:
    """Queue a job for a carrier that has an adapter for its kind (422 otherwise)."""
    spec = check_target(carrier=carrier, kind=kind)
    try:
        params = checked_params(kind, params)
    except ValueError as exc:
        raise _unknown("params", str(exc)) from None
    jobs = JobRepository(session)
    await jobs.ensure_carrier(
        carrier=carrier,
        max_concurrent=settings.carrier_max_concurrent,
        min_interval_ms=settings.carrier_min_interval_ms,
    )
    job = jobs.add(
        Job(
            kind=kind,
            carrier=carrier,
            params=params,
            status="queued",
            priority=priority,
            attempts=0,
            max_attempts=max_attempts or settings.default_max_attempts,
            next_attempt_at=utcnow(),
            progress=0,
            schedule_id=schedule_id,
            requested_by=requested_by,
            adapter_version=spec.version,
        )
    )
    await jobs.flush()
    return job


async def get_job(session: AsyncSession, *, job_id: uuid.UUID) -> Job:
    """One job; 404 when unknown."""
    job = await JobRepository(session).get(job_id)
    if job is None:
        raise NotFound(f"Job {job_id} does not exist.")
    return job


async def artifacts(
    session: AsyncSession, *, job_id: uuid.UUID, now: datetime | None = None
) -> list[Artifact]:
    """The job's stored failure artifacts still within their retention period."""
    return await ArtifactRepository(session).of_job(job_id=job_id, now=now or utcnow())


async def artifact(session: AsyncSession, *, job_id: uuid.UUID, artifact_id: uuid.UUID) -> Artifact:
    """One stored artifact of a job; 404 when unknown, not stored (yet) or past its retention."""
    found = await ArtifactRepository(session).one(job_id=job_id, artifact_id=artifact_id, now=utcnow())
    if found is None:
        raise NotFound(f"Job {job_id} has no artifact {artifact_id} (or it passed its retention period).")
    return found


async def list_jobs(
    session: AsyncSession,
    *,
    status: str | None,
    carrier: str | None,
    kind: str | None,
    after: list[Any] | None,
    limit: int,
) -> tuple[list[Job], list[Any] | None]:
    """Jobs newest first, filtered."""
    return await JobRepository(session).page(
        status=status, carrier=carrier, kind=kind, after=after, limit=limit
    )


async def cancel_job(session: AsyncSession, *, job_id: uuid.UUID) -> Job:
    """Cancel a queued or running job (a running one stops at its next progress report); 409 when finished."""
    job = await JobRepository(session).get(job_id, for_update=True)
    if job is None:
        raise NotFound(f"Job {job_id} does not exist.")
    if job.status in TERMINAL:
        raise Conflict(f"Job {job_id} is already {job.status}.")
    job.status = "cancelled"
    job.lease_owner = None
    job.lease_expires_at = None
    job.finished_at = utcnow()
    return job


async def retry_job(session: AsyncSession, *, job_id: uuid.UUID) -> Job:
    """Queue a failed or cancelled job again with a fresh set of attempts; 409 otherwise."""
    job = await JobRepository(session).get(job_id, for_update=True)
    if job is None:
        raise NotFound(f"Job {job_id} does not exist.")
    if job.status not in ("failed", "cancelled"):
        raise Conflict(f"Job {job_id} is {job.status}; only failed or cancelled jobs are retried.")
    spec = adapter(job.carrier)
    job.status = "queued"
    job.attempts = 0
    job.next_attempt_at = utcnow()
    job.error_class = job.error_detail = None
    job.progress, job.progress_note = 0, None
    job.finished_at = None
    job.adapter_version = spec.version if spec else job.adapter_version
    return job


async def set_limits(
    session: AsyncSession, *, settings: Settings, carrier: str, max_concurrent: int, min_interval_ms: int
) -> CarrierLimit:
    """Change a carrier's limits (every worker honours them from its next claim)."""
    if adapter(carrier) is None:
        raise NotFound(f"Unknown carrier {carrier!r}.")
    jobs = JobRepository(session)
    await jobs.ensure_carrier(carrier=carrier, max_concurrent=max_concurrent, min_interval_ms=min_interval_ms)
    row = await jobs.carrier_limit(carrier, for_update=True)
    assert row is not None
    row.max_concurrent, row.min_interval_ms = max_concurrent, min_interval_ms
    return row


async def carrier_limits(session: AsyncSession) -> dict[str, CarrierLimit]:
    return {row.carrier: row for row in await JobRepository(session).carrier_limits()}


# --- the worker's side: claim, progress, finish, fail, expire ---------------------------------


@dataclass(frozen=True)
class Claimed:
    """A claimed job as the worker runs it (a snapshot: the row stays the source of truth)."""

    id: uuid.UUID
    kind: str
    carrier: str
    params: dict[str, Any]
    attempt: int
    max_attempts: int
    lease_expires_at: datetime


async def claim_next(
    session: AsyncSession, *, worker: str, lease_seconds: float, now: datetime | None = None
) -> Claimed | None:
    """Take the next due job for ``worker`` under a lease, honouring each carrier's concurrency and
    start interval across every worker; None when nothing may start now."""
    now = now or utcnow()
    await expire_leases(session, now=now)
    jobs = JobRepository(session)
    full: list[str] = []
    for _ in range(8):  # a carrier whose slots are all taken is skipped; look at a few others
        limits = await jobs.lock_claimable_carrier(now=now, exclude=full)
        if limits is None:
            return None
        if await jobs.running_on(carrier=limits.carrier, now=now) >= limits.max_concurrent:
            full.append(limits.carrier)
            continue
        job = await jobs.lock_next_due(carrier=limits.carrier, now=now)
        if job is None:
            continue
        job.status = "running"
        job.attempts += 1
        job.lease_owner = worker
        job.lease_expires_at = now + timedelta(seconds=lease_seconds)
        job.started_at = job.started_at or now
        job.progress, job.progress_note = 0, "started"
        limits.last_started_at = now
        await jobs.flush()
        return Claimed(
            id=job.id,
            kind=job.kind,
            carrier=job.carrier,
            params=dict(job.params),
            attempt=job.attempts,
            max_attempts=job.max_attempts,
            lease_expires_at=job.lease_expires_at,
        )
    return None


async def report_progress(
    session: AsyncSession,
    *,
    job_id: uuid.UUID,
    worker: str,
    progress: int,
    note: str,
    lease_seconds: float,
    now: datetime | None = None,
) -> bool:
    """Record progress and extend the lease; False when the job is no longer this worker's
    (cancelled, or its lease expired and another worker took it): the worker stops."""
    now = now or utcnow()
    job = await JobRepository(session).lock_owned(job_id=job_id, worker=worker)
    if job is None:
        return False
    job.progress = max(0, min(100, progress))
    job.progress_note = note[:200]
    job.lease_expires_at = now + timedelta(seconds=lease_seconds)
    return True


async def finish(session: AsyncSession, *, job_id: uuid.UUID, worker: str, note: str = "done") -> Job | None:
    """Mark the attempt succeeded; None (nothing changed) when the lease was lost."""
    job = await JobRepository(session).lock_owned(job_id=job_id, worker=worker)
    if job is None:
        return None
    job.status = "succeeded"
    job.progress, job.progress_note = 100, note[:200]
    job.lease_owner = job.lease_expires_at = None
    job.error_class = job.error_detail = None
    job.finished_at = utcnow()
    return job


@dataclass(frozen=True)
class Capture:
    """What the page looked like when the attempt failed."""

    url: str | None = None
    html: bytes | None = None
    screenshot: bytes | None = None


async def fail_attempt(
    session: AsyncSession,
    *,
    settings: Settings,
    job_id: uuid.UUID,
    worker: str,
    error: ScrapeError,
    capture: Capture | None = None,
    now: datetime | None = None,
) -> Job | None:
    """Record a failed attempt: queued again after a backoff with jitter when the error is worth
    retrying and attempts remain, failed otherwise; the page's HTML and screenshot are kept until
    the retention period ends. None when the lease was lost (another worker owns the job)."""
    now = now or utcnow()
    job = await JobRepository(session).lock_owned(job_id=job_id, worker=worker)
    if job is None:
        return None
    job.error_class, job.error_detail = error.error_class.value, error.detail
    job.lease_owner = job.lease_expires_at = None
    if error.retryable and job.attempts < job.max_attempts:
        delay = retry_delay(
            job.attempts,
            initial=settings.backoff_initial_seconds,
            maximum=settings.backoff_max_seconds,
            jitter=settings.backoff_jitter_seconds,
            at_least=error.retry_after,
        )
        job.status = "queued"
        job.next_attempt_at = now + timedelta(seconds=delay)
        job.progress_note = f"retrying in {delay:.0f}s"
    else:
        job.status = "failed"
        job.finished_at = now
    if capture is not None:
        _keep(session, settings, job, capture, now)
    return job


def _keep(session: AsyncSession, settings: Settings, job: Job, capture: Capture, now: datetime) -> None:
    """The artifact rows, written before their objects (see :func:`store_artifacts`)."""
    expires = now + timedelta(days=settings.artifact_retention_days)
    cap = settings.artifact_max_bytes
    files: Sequence[tuple[str, str, bytes | None]] = (
        ("html", "text/html; charset=utf-8", capture.html),
        ("screenshot", "image/png", capture.screenshot),
    )
    for kind, content_type, content in files:
        if not content:
            continue
        artifact_id = uuid.uuid4()
        session.add(
            Artifact(
                id=artifact_id,
                job_id=job.id,
                attempt=job.attempts,
                kind=kind,
                content_type=content_type,
                url=(capture.url or "")[:2000] or None,
                object_key=artifact_key(job.id, artifact_id, kind),
                size=min(len(content), cap),
                expires_at=expires,
            )
        )


def artifact_key(job_id: uuid.UUID, artifact_id: uuid.UUID, kind: str) -> str:
    return f"scraper/artifacts/{job_id}/{artifact_id}.{'png' if kind == 'screenshot' else 'html'}"


async def unstored_artifacts(session: AsyncSession, *, job_id: uuid.UUID, attempt: int) -> list[Artifact]:
    """An attempt's artifact rows whose object is not written yet."""
    return await ArtifactRepository(session).unstored(job_id=job_id, attempt=attempt)


async def mark_stored(session: AsyncSession, *, artifact_id: uuid.UUID, stored: StoredObject) -> bool:
    """The artifact's object is whole in the store: record its SHA-256 and size, show it."""
    found = await ArtifactRepository(session).get(artifact_id, for_update=True)
    if found is None:
        return False
    found.sha256, found.size, found.stored_at = stored.sha256, stored.size, utcnow()
    return True


async def expire_leases(session: AsyncSession, *, now: datetime | None = None) -> int:
    """Return jobs whose worker died (lease expired) to the queue, or fail them when their
    attempts are spent; the count of jobs changed."""
    now = now or utcnow()
    expired = await JobRepository(session).lock_expired(now=now)
    for job in expired:
        job.lease_owner = job.lease_expires_at = None
        if job.attempts >= job.max_attempts:
            job.status = "failed"
            job.error_class = ErrorClass.worker_lost.value
            job.error_detail = f"the worker running attempt {job.attempts} stopped answering (lease expired)"
            job.finished_at = now
        else:
            job.status = "queued"
            job.next_attempt_at = now
            job.progress_note = "lease expired: back in the queue"
    await session.flush()
    return len(expired)


UNSTORED_GRACE = timedelta(hours=1)


async def purge_artifacts(
    session: AsyncSession, *, objects: ObjectStore, now: datetime | None = None, batch: int = 500
) -> int:
    """Delete screenshots and HTML past their retention period — each object first, then its row
    (a crash in between leaves an expired row, never served, whose purge is simply done again:
    deleting a missing object is not an error) — and rows whose object was never confirmed stored
    an hour after they were written (their worker died between the row and the object)."""
    now = now or utcnow()
    repo = ArtifactRepository(session)
    rows = await repo.lock_purgeable(now=now, unstored_before=now - UNSTORED_GRACE, limit=batch)
    for row in rows:
        await objects.delete(row.object_key)
    return await repo.delete_rows([row.id for row in rows]) if rows else 0
