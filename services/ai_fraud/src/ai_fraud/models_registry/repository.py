"""Every query on the model registry and training jobs."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ai_fraud.models_registry.models import ModelVersion, TrainingJob


async def active_version(session: AsyncSession) -> int | None:
    return await session.scalar(select(ModelVersion.version).where(ModelVersion.status == "active"))


async def get(session: AsyncSession, version: int, *, lock: bool = False) -> ModelVersion | None:
    query = select(ModelVersion).where(ModelVersion.version == version)
    if lock:
        query = query.with_for_update()
    return (await session.scalars(query)).one_or_none()


async def list_versions(session: AsyncSession) -> Sequence[ModelVersion]:
    return (await session.scalars(select(ModelVersion).order_by(ModelVersion.version.desc()))).all()


async def next_version(session: AsyncSession) -> int:
    await session.execute(select(func.pg_advisory_xact_lock(0x46524D56)))  # one new version at a time
    return int(await session.scalar(select(func.coalesce(func.max(ModelVersion.version), 0))) or 0) + 1


async def retire_active(session: AsyncSession) -> None:
    await session.execute(
        update(ModelVersion).where(ModelVersion.status == "active").values(status="retired")
    )


async def job(session: AsyncSession, job_id: uuid.UUID, *, lock: bool = False) -> TrainingJob | None:
    query = select(TrainingJob).where(TrainingJob.id == job_id)
    if lock:
        query = query.with_for_update(skip_locked=True)
    return (await session.scalars(query)).one_or_none()


async def next_queued_job(session: AsyncSession) -> TrainingJob | None:
    query = (
        select(TrainingJob)
        .where(TrainingJob.status == "queued")
        .order_by(TrainingJob.created_at)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    return (await session.scalars(query)).one_or_none()
