"""Scheduled jobs: run queued training jobs (one run at a time across replicas: the scheduler
locks the job's row for the run)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from ai_fraud.cases import service as cases
from ai_fraud.core.runtime import Runtime
from ai_fraud.models_registry import service as registry
from aintech_shared.db import Database
from aintech_shared.scheduler import ScheduledJob


def jobs(rt: Runtime) -> list[ScheduledJob]:
    pool: dict[str, Database] = {}  # progress is written in transactions of its own, on a small pool

    async def train(session: AsyncSession) -> None:
        db = pool.get("db")
        if db is None:
            settings = rt.settings
            db = pool["db"] = Database(settings.service_database_url, schema=settings.db_schema, pool_size=2)
        while await registry.run_next_job(db, rt, labelled=cases.labelled_examples) is not None:
            pass

    return [ScheduledJob("fraud.models.train", timedelta(seconds=10), train)]
