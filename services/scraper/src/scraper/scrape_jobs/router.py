"""Jobs over HTTP: parse, authorise, call the service, answer (no rules, no SQL here)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Query, Response, status

from aintech_shared.db import DbSession, ReadSession
from aintech_shared.errors import responses
from aintech_shared.pagination import Cursor, CursorPage, Limit, decode_cursor
from scraper.carriers.registry import adapters
from scraper.core.access import Admin, Operator, actor_id
from scraper.core.runtime import RuntimeDep
from scraper.core.text import CarrierPath
from scraper.scrape_jobs import service
from scraper.scrape_jobs.schemas import (
    ArtifactOut,
    CarrierLimitsIn,
    CarrierOut,
    JobDetail,
    JobIn,
    JobKind,
    JobOut,
    JobStatus,
)

router = APIRouter(tags=["jobs"])

GUARDED = (401, "Missing or invalid access token")
FORBIDDEN = (403, "Needs the scraper:run permission")


@router.post(
    "/jobs",
    status_code=status.HTTP_201_CREATED,
    response_model=JobOut,
    summary="Queue a job",
    description="Queues a job for a worker: fetch a carrier's prices for a risk, download and parse a "
    "policy document, or sync the portfolio. Follow it with `GET /jobs/{id}`.",
    responses=responses(
        GUARDED, FORBIDDEN, (422, "Unknown carrier or kind, or params that do not fit the kind")
    ),
)
async def create_job(body: JobIn, who: Operator, db: DbSession, rt: RuntimeDep) -> JobOut:
    job = await service.create_job(
        db,
        settings=rt.settings,
        kind=body.kind,
        carrier=body.carrier,
        params=body.params,
        requested_by=actor_id(who),
        max_attempts=body.max_attempts,
        priority=body.priority,
    )
    return JobOut.model_validate(job)


@router.get(
    "/jobs",
    response_model=CursorPage[JobOut],
    summary="Jobs, newest first",
    description="Cursor pagination: pass `next_cursor` back as `cursor` until it is null.",
    responses=responses(GUARDED, FORBIDDEN, (422, "Invalid filter or cursor")),
)
async def list_jobs(
    _: Operator,
    db: ReadSession,
    status: JobStatus | None = None,
    carrier: str | None = Query(default=None, max_length=40, pattern=r"^[a-z][a-z0-9_]*$"),
    kind: JobKind | None = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> CursorPage[JobOut]:
    after = decode_cursor(cursor, kinds=("datetime", "uuid"))
    rows, next_key = await service.list_jobs(
        db, status=status, carrier=carrier, kind=kind, after=after, limit=limit
    )
    return CursorPage.build(rows, next_key, item=JobOut.model_validate)


@router.get(
    "/jobs/{job_id}",
    response_model=JobDetail,
    summary="One job: status, progress, attempts, error class and failure artifacts",
    responses=responses(GUARDED, FORBIDDEN, (404, "Unknown job")),
)
async def get_job(job_id: uuid.UUID, _: Operator, db: ReadSession) -> JobDetail:
    job = await service.get_job(db, job_id=job_id)
    files = await service.artifacts(db, job_id=job_id)
    return JobDetail.model_validate(job).model_copy(
        update={"artifacts": [ArtifactOut.model_validate(a) for a in files]}
    )


@router.get(
    "/jobs/{job_id}/artifacts/{artifact_id}",
    summary="A failure's screenshot (PNG) or HTML, while its retention period lasts",
    response_class=Response,
    responses={
        200: {"content": {"image/png": {}, "text/plain": {}}, "description": "The file"},
        **responses(GUARDED, FORBIDDEN, (404, "Unknown job or artifact")),
    },
)
async def get_artifact(
    job_id: uuid.UUID, artifact_id: uuid.UUID, _: Operator, db: ReadSession, rt: RuntimeDep
) -> Response:
    found = await service.artifact(db, job_id=job_id, artifact_id=artifact_id)
    content = b"".join([chunk async for chunk in rt.objects.read(found.object_key)])
    # A portal's HTML is served as text, never rendered in the reader's browser.
    media = "image/png" if found.kind == "screenshot" else "text/plain; charset=utf-8"
    return Response(
        content=content,
        media_type=media,
        headers={
            "Content-Disposition": f'attachment; filename="{found.kind}-{found.attempt}"',
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.post(
    "/jobs/{job_id}/cancel",
    response_model=JobOut,
    summary="Cancel a queued or running job",
    description="A running job stops at its worker's next progress report.",
    responses=responses(GUARDED, FORBIDDEN, (404, "Unknown job"), (409, "The job already finished")),
)
async def cancel_job(job_id: uuid.UUID, _: Operator, db: DbSession) -> JobOut:
    return JobOut.model_validate(await service.cancel_job(db, job_id=job_id))


@router.post(
    "/jobs/{job_id}/retry",
    response_model=JobOut,
    summary="Queue a failed or cancelled job again (attempts start over)",
    responses=responses(
        GUARDED, FORBIDDEN, (404, "Unknown job"), (409, "The job is not failed or cancelled")
    ),
)
async def retry_job(job_id: uuid.UUID, _: Operator, db: DbSession) -> JobOut:
    return JobOut.model_validate(await service.retry_job(db, job_id=job_id))


@router.get(
    "/carriers",
    response_model=list[CarrierOut],
    summary="The carriers with an adapter: version, engine, job kinds, hosts and limits",
    responses=responses(GUARDED, FORBIDDEN),
)
async def list_carriers(_: Operator, db: ReadSession, rt: RuntimeDep) -> list[CarrierOut]:
    limits = await service.carrier_limits(db)
    out = []
    for slug, spec in sorted(adapters().items()):
        row = limits.get(slug)
        out.append(
            CarrierOut(
                carrier=slug,
                name=spec.name,
                adapter_version=spec.version,
                engine=spec.engine,
                kinds=spec.kinds,
                hosts=list(spec.hosts),
                max_concurrent=row.max_concurrent if row else rt.settings.carrier_max_concurrent,
                min_interval_ms=row.min_interval_ms if row else rt.settings.carrier_min_interval_ms,
            )
        )
    return out


@router.put(
    "/carriers/{carrier}/limits",
    response_model=CarrierLimitsIn,
    summary="Set a carrier's concurrency and start interval (admin; every worker honours them)",
    responses=responses(GUARDED, (403, "Administrators only"), (404, "Unknown carrier")),
)
async def set_limits(
    carrier: CarrierPath, body: CarrierLimitsIn, _: Admin, db: DbSession, rt: RuntimeDep
) -> CarrierLimitsIn:
    row = await service.set_limits(
        db,
        settings=rt.settings,
        carrier=carrier,
        max_concurrent=body.max_concurrent,
        min_interval_ms=body.min_interval_ms,
    )
    return CarrierLimitsIn(max_concurrent=row.max_concurrent, min_interval_ms=row.min_interval_ms)
