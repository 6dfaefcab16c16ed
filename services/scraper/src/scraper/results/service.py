"""Results: stored by the worker with the job's success, listed with filters. Never commits."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from scraper.results.models import Result
from scraper.results.repository import ResultRepository


async def list_results(
    session: AsyncSession,
    *,
    carrier: str | None,
    kind: str | None,
    job_id: uuid.UUID | None,
    since: datetime | None,
    after: list[Any] | None,
    limit: int,
) -> tuple[list[Result], list[Any] | None]:
    """What jobs found, newest first."""
    return await ResultRepository(session).page(
        carrier=carrier, kind=kind, job_id=job_id, since=since, after=after, limit=limit
    )


def record(session: AsyncSession, result: Result) -> Result:
    return ResultRepository(session).add(result)
