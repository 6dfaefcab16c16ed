"""Every query on schedules."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from aintech_shared.db import RepositoryBase
from aintech_shared.pagination import newest_first
from scraper.schedules.models import Schedule


class ScheduleRepository(RepositoryBase[Schedule]):
    model = Schedule

    async def page(self, *, after: list[Any] | None, limit: int) -> tuple[list[Schedule], list[Any] | None]:
        return await newest_first(
            self.session,
            Schedule,
            at=Schedule.created_at,
            id_=Schedule.id,
            conditions=[],
            after=after,
            limit=limit,
        )

    async def lock_due(self, *, now: datetime, limit: int = 50) -> list[Schedule]:
        """Enabled schedules that are due, locked (another worker skips them)."""
        query = (
            select(Schedule)
            .where(Schedule.enabled, Schedule.next_run_at <= now)
            .order_by(Schedule.next_run_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return await self.all(query)
