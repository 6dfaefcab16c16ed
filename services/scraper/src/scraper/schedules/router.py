"""Schedules over HTTP."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status

from aintech_shared.db import DbSession, ReadSession
from aintech_shared.errors import responses
from aintech_shared.pagination import Cursor, CursorPage, Limit, decode_cursor
from scraper.core.access import Operator, actor_id
from scraper.core.runtime import RuntimeDep
from scraper.schedules import service
from scraper.schedules.schemas import ScheduleIn, ScheduleOut

router = APIRouter(prefix="/schedules", tags=["schedules"])

GUARDED = (401, "Missing or invalid access token")
FORBIDDEN = (403, "Needs the scraper:run permission")


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ScheduleOut,
    summary="Run a job on a cron schedule",
    description="The worker queues one job each time the expression comes due (in `timezone`), "
    "skipping a run while the previous job is still queued or running.",
    responses=responses(
        GUARDED, FORBIDDEN, (422, "Not a cron expression, unknown carrier or kind, bad params")
    ),
)
async def create_schedule(body: ScheduleIn, who: Operator, db: DbSession, rt: RuntimeDep) -> ScheduleOut:
    schedule = await service.create_schedule(db, settings=rt.settings, body=body, created_by=actor_id(who))
    return ScheduleOut.model_validate(schedule)


@router.get(
    "",
    response_model=CursorPage[ScheduleOut],
    summary="Schedules, newest first",
    responses=responses(GUARDED, FORBIDDEN, (422, "Invalid cursor")),
)
async def list_schedules(
    _: Operator, db: ReadSession, cursor: Cursor = None, limit: Limit = 50
) -> CursorPage[ScheduleOut]:
    after = decode_cursor(cursor, kinds=("datetime", "uuid"))
    rows, next_key = await service.list_schedules(db, after=after, limit=limit)
    return CursorPage.build(rows, next_key, item=ScheduleOut.model_validate)


@router.get(
    "/{schedule_id}",
    response_model=ScheduleOut,
    summary="One schedule",
    responses=responses(GUARDED, FORBIDDEN, (404, "Unknown schedule")),
)
async def get_schedule(schedule_id: uuid.UUID, _: Operator, db: ReadSession) -> ScheduleOut:
    return ScheduleOut.model_validate(await service.get_schedule(db, schedule_id=schedule_id))


@router.post(
    "/{schedule_id}/enable",
    response_model=ScheduleOut,
    summary="Enable a schedule (its next run is computed from now)",
    responses=responses(GUARDED, FORBIDDEN, (404, "Unknown schedule")),
)
async def enable(schedule_id: uuid.UUID, _: Operator, db: DbSession) -> ScheduleOut:
    return ScheduleOut.model_validate(await service.set_enabled(db, schedule_id=schedule_id, enabled=True))


@router.post(
    "/{schedule_id}/disable",
    response_model=ScheduleOut,
    summary="Disable a schedule",
    responses=responses(GUARDED, FORBIDDEN, (404, "Unknown schedule")),
)
async def disable(schedule_id: uuid.UUID, _: Operator, db: DbSession) -> ScheduleOut:
    return ScheduleOut.model_validate(await service.set_enabled(db, schedule_id=schedule_id, enabled=False))


@router.delete(
    "/{schedule_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Delete a schedule (jobs it queued stay)",
    responses=responses(GUARDED, FORBIDDEN, (404, "Unknown schedule")),
)
async def delete(schedule_id: uuid.UUID, _: Operator, db: DbSession) -> Response:
    await service.delete_schedule(db, schedule_id=schedule_id)
    return Response(status_code=204)
