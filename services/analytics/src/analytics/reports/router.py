"""Reports: `POST /reports/generate`, `GET /reports/{id}`, report schedules (at `/api/analytics/...`).

`GET /reports/{id}` answers the report's status as JSON; the PDF itself with `?format=pdf`, or
with `Accept: application/pdf` (and no `format`). Asking for the PDF of a report not yet done is
a 409 naming its status.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Header, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from aintech_shared.db import DbSession
from aintech_shared.errors import Conflict, responses
from aintech_shared.objectstore import ObjectNotFound, range_response
from analytics.core.access import Reader
from analytics.reports import service
from analytics.reports.runner import ReportRunner

router = APIRouter(tags=["reports"])
ReportType = Literal["weekly_executive", "monthly_carrier"]


class GenerateRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"example": {"type": "weekly_executive", "period": "2026-W03"}}
    )
    type: ReportType = Field(description="weekly_executive (an ISO week) or monthly_carrier (a month).")
    period: str = Field(
        min_length=7, max_length=8, description="`2026-W03` for a weekly report, `2026-01` for a monthly one."
    )


class ReportStatus(BaseModel):
    id: uuid.UUID
    type: str
    period: str
    period_start: date
    period_end: date
    status: Literal["queued", "running", "done", "failed"]
    progress: int = Field(description="0..100")
    step: str | None = Field(description="What the job is doing now.")
    empty: bool | None = Field(description="True when the period had no data (the PDF says so).")
    size_bytes: int | None
    error: str | None
    created_at: datetime
    finished_at: datetime | None
    pdf_url: str = Field(description="Where the PDF is served once `status` is done.")


class ScheduleRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "example": {
                "type": "weekly_executive",
                "cron": "0 7 * * 1",
                "recipients": ["direccion@aintech.es"],
            }
        },
    )
    type: ReportType
    cron: str = Field(
        max_length=120,
        description="Five-field cron, UTC, at most hourly; it reports the last complete period.",
    )
    recipients: list[str] = Field(description="Staff e-mail addresses (1..50).")


class Schedule(BaseModel):
    id: uuid.UUID
    type: str
    cron: str
    recipients: list[str]
    active: bool
    next_run_at: datetime
    last_run_at: datetime | None


def _status(request: Request, report: object) -> ReportStatus:
    data = service.as_dict(report)  # type: ignore[arg-type]
    return ReportStatus(**data, pdf_url=f"/api/analytics/reports/{data['id']}?format=pdf")


def _schedule(s: object) -> Schedule:
    return Schedule(
        id=s.id,  # type: ignore[attr-defined]
        type=s.kind,  # type: ignore[attr-defined]
        cron=s.cron,  # type: ignore[attr-defined]
        recipients=s.recipients,  # type: ignore[attr-defined]
        active=s.active,  # type: ignore[attr-defined]
        next_run_at=s.next_run_at,  # type: ignore[attr-defined]
        last_run_at=s.last_run_at,  # type: ignore[attr-defined]
    )


def _user(principal: object) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(principal.user_id))  # type: ignore[attr-defined]
    except ValueError:
        return None


@router.post(
    "/reports/generate",
    status_code=202,
    summary="Queue a PDF report; the job generates it (poll `GET /reports/{id}`)",
    response_model=ReportStatus,
    responses=responses((403, "Not allowed to read analytics"), (422, "Unknown type or malformed period")),
)
async def generate(
    request: Request, response: Response, body: GenerateRequest, session: DbSession, principal: Reader
) -> ReportStatus:
    report = await service.request(session, kind=body.type, period=body.period, requested_by=_user(principal))
    await session.commit()
    runner: ReportRunner = request.app.state.reports
    runner.submit(report.id)
    response.headers["Location"] = f"/api/analytics/reports/{report.id}"
    return _status(request, report)


@router.get(
    "/reports/schedules",
    summary="The report schedules",
    response_model=list[Schedule],
    responses=responses((403, "Not allowed to read analytics")),
)
async def list_schedules(session: DbSession, _: Reader) -> list[Schedule]:
    return [_schedule(s) for s in await service.list_schedules(session)]


@router.post(
    "/reports/schedules",
    status_code=201,
    summary="E-mail a report to staff on a cron schedule",
    response_model=Schedule,
    responses=responses(
        (403, "Not allowed to read analytics"),
        (422, "Unknown type, an invalid or too frequent cron, or a bad recipient"),
    ),
)
async def create_schedule(body: ScheduleRequest, session: DbSession, principal: Reader) -> Schedule:
    schedule = await service.create_schedule(
        session, kind=body.type, cron=body.cron, recipients=body.recipients, created_by=_user(principal)
    )
    return _schedule(schedule)


@router.delete(
    "/reports/schedules/{schedule_id}",
    status_code=204,
    summary="Stop a report schedule",
    responses=responses((403, "Not allowed to read analytics"), (404, "No such schedule")),
)
async def delete_schedule(schedule_id: uuid.UUID, session: DbSession, _: Reader) -> Response:
    await service.delete_schedule(session, schedule_id)
    return Response(status_code=204)


@router.get(
    "/reports/{report_id}",
    summary="A report's status (JSON), or its PDF with `?format=pdf` or `Accept: application/pdf`",
    response_model=ReportStatus,
    responses={
        200: {"content": {"application/pdf": {}}, "description": "The status, or the PDF once done"},
        **responses(
            (403, "Not allowed to read analytics"),
            (404, "No such report"),
            (409, "The PDF was asked for before the report is done"),
        ),
    },
)
async def get_report(
    request: Request,
    session: DbSession,
    _: Reader,
    report_id: Annotated[uuid.UUID, Path(description="The report's id.")],
    format: Annotated[Literal["json", "pdf"] | None, Query(description="json (the status) or pdf.")] = None,
    accept: Annotated[str | None, Header()] = None,
) -> Response | ReportStatus:
    report = await service.get(session, report_id)
    wants_pdf = format == "pdf" or (format is None and "application/pdf" in (accept or ""))
    if not wants_pdf:
        return _status(request, report)
    if report.status != "done" or report.object_key is None:
        detail = f"The report is {report.status} ({report.progress} %): its PDF is not ready."
        if report.status == "failed":
            detail = f"The report failed: {report.error}"
        raise Conflict(detail)
    runner: ReportRunner = request.app.state.reports
    stored = await runner.objects.stat(report.object_key)
    if stored is None:
        raise ObjectNotFound(f"The PDF of report {report_id} is missing from the object store.")
    filename = f"aintech-{report.kind.replace('_', '-')}-{report.period}.pdf"
    return range_response(runner.objects, stored, request.headers.get("range"), filename=filename)
