"""Scheduled jobs: run queued training jobs (one at a time across replicas)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from ai_fraud.cases import service as cases
from ai_fraud.core.runtime import Runtime
from ai_fraud.models_registry import service as registry
from aintech_shared.db import Database
from aintech_shared.scheduler import ScheduledJob


def jobs(rt: Runtime, db_factory: Database | None = None) -> list[ScheduledJob]:
    async def train(session: AsyncSession) -> None:
        db = db_factory or Database(
            rt.settings.service_database_url, schema=rt.settings.db_schema, pool_size=2
        )
        try:
            while await registry.run_next_job(db, rt, labelled=cases.labelled_examples) is not None:
                pass
        finally:
            if db_factory is None:
                await db.dispose()

    return [ScheduledJob("fraud.models.train", timedelta(seconds=10), train)]
