"""Results over HTTP."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Query

from aintech_shared.db import ReadSession
from aintech_shared.errors import responses
from aintech_shared.instants import Instant
from aintech_shared.pagination import Cursor, CursorPage, Limit, decode_cursor
from scraper.core.access import Operator
from scraper.results import service
from scraper.results.schemas import ResultKind, ResultOut

router = APIRouter(tags=["results"])


@router.get(
    "/results",
    response_model=CursorPage[ResultOut],
    summary="What jobs found, newest first",
    description="Filter by carrier, kind (price, policy_document, portfolio_policy), job and "
    "observation time. Cursor pagination: pass `next_cursor` back as `cursor` until it is null.",
    responses=responses(
        (401, "Missing or invalid access token"),
        (403, "Needs the scraper:run permission"),
        (422, "Invalid filter or cursor"),
    ),
)
async def list_results(
    _: Operator,
    db: ReadSession,
    carrier: str | None = Query(default=None, max_length=40, pattern=r"^[a-z][a-z0-9_]*$"),
    kind: ResultKind | None = None,
    job_id: uuid.UUID | None = None,
    since: Instant | None = Query(
        default=None, description="Observed at or after this instant (with a zone)."
    ),
    cursor: Cursor = None,
    limit: Limit = 50,
) -> CursorPage[ResultOut]:
    after = decode_cursor(cursor, kinds=("datetime", "uuid"))
    rows, next_key = await service.list_results(
        db, carrier=carrier, kind=kind, job_id=job_id, since=since, after=after, limit=limit
    )
    return CursorPage.build(rows, next_key, item=ResultOut.model_validate)
