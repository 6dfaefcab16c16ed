"""Report rows and schedules: request, claim, finish, fail; cron validation; the due schedules.

Everything here runs in a transaction the caller gives; the runner (``runner.py``) does the work
between a claim and a finish.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any

from croniter import croniter
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from aintech_contracts.events import crm
from aintech_shared.errors import NotFound, UnprocessableEntity
from analytics.core.runtime import Runtime
from analytics.reports.content import KINDS, TITLES, parse_period, period_of
from analytics.reports.models import Report, ReportSchedule

EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s]{2,}$")
MIN_CRON_INTERVAL_SECONDS = 3600
MAX_RECIPIENTS = 50


async def request(
    session: AsyncSession,
    *,
    kind: str,
    period: str,
    requested_by: uuid.UUID | None,
    schedule_id: uuid.UUID | None = None,
) -> Report:
    """A queued report row (the period is validated here: a malformed one is a 422)."""
    span = parse_period(kind, period)
    report = Report(
        id=uuid.uuid4(),
        kind=kind,
        period=period,
        period_start=span.start,
        period_end=span.end,
        status="queued",
        progress=0,
        step="queued",
        requested_by=requested_by,
        schedule_id=schedule_id,
    )
    session.add(report)
    await session.flush()
    return report


async def get(session: AsyncSession, report_id: uuid.UUID) -> Report:
    report = await session.get(Report, report_id)
    if report is None:
        raise NotFound(f"No report {report_id}.")
    return report


async def claim(session: AsyncSession, report_id: uuid.UUID) -> Report | None:
    """Take a queued report for generation (once, whichever replica asks first)."""
    row = (
        await session.execute(
            update(Report)
            .where(Report.id == report_id, Report.status == "queued")
            .values(status="running", progress=5, step="reading the figures", updated_at=datetime.now(UTC))
            .returning(Report)
        )
    ).scalar_one_or_none()
    return row


async def queued_ids(session: AsyncSession) -> list[uuid.UUID]:
    rows = await session.execute(
        select(Report.id).where(Report.status == "queued").order_by(Report.created_at)
    )
    return list(rows.scalars())


async def requeue_interrupted(session: AsyncSession) -> None:
    """A report left running by a stopped process is generated again."""
    await session.execute(
        update(Report).where(Report.status == "running").values(status="queued", progress=0, step="queued")
    )


async def progress(session: AsyncSession, report_id: uuid.UUID, pct: int, step: str) -> None:
    await session.execute(update(Report).where(Report.id == report_id).values(progress=pct, step=step))


async def finish(
    rt: Runtime, session: AsyncSession, report_id: uuid.UUID, *, object_key: str, size: int, empty: bool
) -> Report:
    report = await get(session, report_id)
    report.status = "done"
    report.progress = 100
    report.step = "done"
    report.object_key = object_key
    report.size_bytes = size
    report.empty = empty
    report.finished_at = datetime.now(UTC)
    if report.schedule_id is not None:
        schedule = await session.get(ReportSchedule, report.schedule_id)
        if schedule is not None:
            await email(rt, session, report, schedule.recipients)
    return report


async def fail(session: AsyncSession, report_id: uuid.UUID, error: str) -> None:
    await session.execute(
        update(Report)
        .where(Report.id == report_id)
        .values(status="failed", step="failed", error=error[:2000], finished_at=datetime.now(UTC))
    )


def link(rt: Runtime, report: Report) -> str:
    return f"{rt.settings.reports_public_url.rstrip('/')}/api/analytics/reports/{report.id}?format=pdf"


async def email(rt: Runtime, session: AsyncSession, report: Report, recipients: list[str]) -> None:
    """One e-mail per recipient through omnichannel (``crm.email_requested``, the platform's
    e-mail request). The request carries no attachment, so the e-mail links to the PDF (the
    reader signs in) and says so."""
    title = TITLES[report.kind]
    url = link(rt, report)
    note = " It has no data for this period." if report.empty else ""
    for to in recipients:
        await rt.outbox.publish(
            session,
            crm.EmailRequested(
                request_id=uuid.uuid5(report.id, to),
                to=to,
                subject=f"AINTECH {title} {report.period}",
                body_text=(
                    f"The {title.lower()} for {report.period} ({report.period_start} to {report.period_end}) "
                    f"is ready.{note} The PDF is not attached: download it, signed in, at {url}"
                ),
                template="analytics_report",
                language="es",
                variables={"report_id": str(report.id), "period": report.period, "url": url},
                related_type="analytics_report",
                related_id=report.id,
            ),
            key=str(report.id),
        )


# --- schedules ---------------------------------------------------------------------------------


def validate_schedule(kind: str, cron: str, recipients: list[str]) -> None:
    """A known report type, a five-field cron no more often than hourly, 1..50 valid addresses."""
    if kind not in KINDS:
        raise UnprocessableEntity(f"Unknown report type {kind!r}: one of {', '.join(KINDS)}.")
    if len(cron.split()) != 5 or not croniter.is_valid(cron):
        raise UnprocessableEntity(
            f"{cron!r} is not a five-field cron expression (minute hour day month weekday)."
        )
    it = croniter(cron, datetime(2026, 1, 1, tzinfo=UTC))
    first, second = it.get_next(datetime), it.get_next(datetime)
    if (second - first).total_seconds() < MIN_CRON_INTERVAL_SECONDS:
        raise UnprocessableEntity(f"{cron!r} runs more often than once an hour.")
    if not recipients or len(recipients) > MAX_RECIPIENTS:
        raise UnprocessableEntity(f"A schedule needs between 1 and {MAX_RECIPIENTS} recipients.")
    for address in recipients:
        if not EMAIL.match(address):
            raise UnprocessableEntity(f"{address!r} is not an e-mail address.")


def next_run(cron: str, after: datetime) -> datetime:
    value: datetime = croniter(cron, after).get_next(datetime)
    return value


async def create_schedule(
    session: AsyncSession, *, kind: str, cron: str, recipients: list[str], created_by: uuid.UUID | None
) -> ReportSchedule:
    validate_schedule(kind, cron, recipients)
    schedule = ReportSchedule(
        id=uuid.uuid4(),
        kind=kind,
        cron=cron,
        recipients=[r.strip().lower() for r in recipients],
        active=True,
        next_run_at=next_run(cron, datetime.now(UTC)),
        created_by=created_by,
    )
    session.add(schedule)
    await session.flush()
    return schedule


async def list_schedules(session: AsyncSession) -> list[ReportSchedule]:
    return list((await session.execute(select(ReportSchedule).order_by(ReportSchedule.created_at))).scalars())


async def delete_schedule(session: AsyncSession, schedule_id: uuid.UUID) -> None:
    schedule = await session.get(ReportSchedule, schedule_id)
    if schedule is None:
        raise NotFound(f"No report schedule {schedule_id}.")
    await session.delete(schedule)


async def run_due_schedules(session: AsyncSession, now: datetime | None = None) -> list[uuid.UUID]:
    """Queue a report for each due schedule (the last complete week or month) and move its next
    run on; rows are locked SKIP LOCKED, so two replicas never queue the same run."""
    now = now or datetime.now(UTC)
    due = (
        await session.execute(
            select(ReportSchedule)
            .where(ReportSchedule.active.is_(True), ReportSchedule.next_run_at <= now)
            .with_for_update(skip_locked=True)
        )
    ).scalars()
    queued: list[uuid.UUID] = []
    for schedule in list(due):
        report = await request(
            session,
            kind=schedule.kind,
            period=period_of(schedule.kind, now.date()),
            requested_by=schedule.created_by,
            schedule_id=schedule.id,
        )
        schedule.last_run_at = now
        schedule.next_run_at = next_run(schedule.cron, now)
        queued.append(report.id)
    return queued


def as_dict(report: Report) -> dict[str, Any]:
    return {
        "id": report.id,
        "type": report.kind,
        "period": report.period,
        "period_start": report.period_start,
        "period_end": report.period_end,
        "status": report.status,
        "progress": report.progress,
        "step": report.step,
        "empty": report.empty,
        "size_bytes": report.size_bytes,
        "error": report.error,
        "created_at": report.created_at,
        "finished_at": report.finished_at,
    }
