"""Every query on results."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, select

from aintech_shared.db import RepositoryBase
from aintech_shared.pagination import keyset_page
from scraper.results.models import Result


class ResultRepository(RepositoryBase[Result]):
    model = Result

    async def page(
        self,
        *,
        carrier: str | None,
        kind: str | None,
        job_id: uuid.UUID | None,
        since: datetime | None,
        after: list[Any] | None,
        limit: int,
    ) -> tuple[list[Result], list[Any] | None]:
        """Results newest observation first, filtered."""
        conditions: list[ColumnElement[bool]] = []
        if carrier is not None:
            conditions.append(Result.carrier == carrier)
        if kind is not None:
            conditions.append(Result.kind == kind)
        if job_id is not None:
            conditions.append(Result.job_id == job_id)
        if since is not None:
            conditions.append(Result.observed_at >= since)
        return await keyset_page(
            self.session,
            select(Result).where(*conditions),
            keys=(Result.observed_at, Result.id),
            after=after,
            limit=limit,
        )
