"""The registry: training jobs, versions, promote and roll back, and the active model of this process.

The active version is a row (`status = 'active'`, at most one); every score reads which version
is active and swaps the process's loaded model when it changed, so a promote or roll back takes
effect on the next score of every replica without a restart. Promoting loads the artifact first:
a digest mismatch (a tampered or corrupted artifact) refuses the promote and keeps the previous
model; at score time such an artifact is skipped and the process keeps what it had loaded.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import numpy as np
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from ai_fraud.core.base import utcnow
from ai_fraud.core.features import MODEL_FEATURES
from ai_fraud.core.runtime import Runtime
from ai_fraud.models_registry import repository, synthetic, training
from ai_fraud.models_registry.models import ModelVersion, TrainingJob
from ai_fraud.models_registry.schemas import TrainRequest
from aintech_shared.db import Database
from aintech_shared.errors import Conflict, NotFound, UnprocessableEntity

log = structlog.get_logger("fraud.models")


async def request_training(
    session: AsyncSession, *, body: TrainRequest, actor: uuid.UUID | None
) -> TrainingJob:
    """Queue a training job (the worker runs it; progress is on the job)."""
    job = TrainingJob(params=body.model_dump(), requested_by=actor, stage="queued", progress=0)
    session.add(job)
    await session.flush()
    return job


async def get_job(session: AsyncSession, *, job_id: uuid.UUID) -> TrainingJob:
    job = await repository.job(session, job_id)
    if job is None:
        raise NotFound(f"Training job {job_id} does not exist.")
    return job


async def list_versions(session: AsyncSession) -> Sequence[ModelVersion]:
    return await repository.list_versions(session)


async def get_version(session: AsyncSession, *, version: int) -> ModelVersion:
    row = await repository.get(session, version)
    if row is None:
        raise NotFound(f"Model version {version} does not exist.")
    return row


LabelSource = Callable[[AsyncSession], Awaitable[tuple[np.ndarray, np.ndarray]]]


async def run_next_job(db: Database, rt: Runtime, *, labelled: LabelSource) -> TrainingJob | None:
    """Run the oldest queued training job, recording progress as it goes (None: nothing queued).

    ``labelled`` loads the investigators' labelled claims (for ``source = cases``)."""
    async with db.transaction() as session:
        job = await repository.next_queued_job(session)
        if job is None:
            return None
        job.status, job.started_at, job.stage, job.progress = "running", utcnow(), "loading data", 5
        job_id, params = job.id, TrainRequest.model_validate(job.params)
        if params.source == "cases":
            x, y = await labelled(session)
        else:
            x, y = synthetic.generate(params.rows, seed=params.seed)
    loop = asyncio.get_running_loop()
    updates: asyncio.Queue[tuple[int, str]] = asyncio.Queue()

    def on_progress(percent: int, stage: str) -> None:  # called in the training thread
        loop.call_soon_threadsafe(updates.put_nowait, (percent, stage))

    async def record(percent: int, stage: str) -> None:
        async with db.transaction() as session:
            row = await repository.job(session, job_id)
            if row is not None:
                row.progress, row.stage = percent, stage[:200]

    if params.source == "synthetic":
        on_progress(8, f"generated {len(y)} SYNTHETIC claims (seed {params.seed})")
    work = asyncio.ensure_future(
        asyncio.to_thread(training.train, x, y, seed=params.seed, progress=on_progress)
    )
    while True:  # progress is written in order, one transaction at a time, until training ends
        getter = asyncio.ensure_future(updates.get())
        done, _ = await asyncio.wait({work, getter}, return_when=asyncio.FIRST_COMPLETED)
        if getter in done:
            await record(*getter.result())
            continue
        getter.cancel()
        while not updates.empty():
            await record(*updates.get_nowait())
        break
    try:
        trained = work.result()
    except ValueError as exc:
        async with db.transaction() as session:
            row = await repository.job(session, job_id)
            assert row is not None
            row.status, row.error, row.finished_at, row.stage = "failed", str(exc), utcnow(), "failed"
            return row
    async with db.transaction() as session:
        version = await repository.next_version(session)
        session.add(
            ModelVersion(
                version=version,
                status="candidate",
                algorithm=training.ALGORITHM,
                source=params.source,
                rows=trained.rows,
                data_digest=trained.data_digest,
                feature_digest=trained.feature_digest,
                features=list(MODEL_FEATURES),
                artifact=trained.artifact,
                artifact_digest=trained.artifact_digest,
                metrics=trained.metrics,
                threshold=trained.threshold,
            )
        )
        row = await repository.job(session, job_id)
        assert row is not None
        row.status, row.progress, row.stage = "succeeded", 100, "done"
        row.model_version, row.report, row.finished_at = version, trained.metrics, utcnow()
        log.info(
            "model_trained", version=version, **{k: v for k, v in trained.metrics.items() if k != "baseline"}
        )
        return row


async def promote(
    session: AsyncSession, *, rt: Runtime, version: int, actor: uuid.UUID | None
) -> ModelVersion:
    """Make ``version`` the active model (its artifact must load: digest and types checked)."""
    row = await repository.get(session, version, lock=True)
    if row is None:
        raise NotFound(f"Model version {version} does not exist.")
    if row.status == "active":
        return row
    predictor = _load(row)
    previous = await repository.active_version(session)
    await repository.retire_active(session)
    await session.flush()
    row.status, row.promoted_at, row.promoted_by, row.previous_active = "active", utcnow(), actor, previous
    await session.flush()
    rt.model.version, rt.model.predictor = row.version, predictor
    return row


async def rollback(session: AsyncSession, *, rt: Runtime, actor: uuid.UUID | None) -> ModelVersion:
    """Re-activate the version that was active before the current one."""
    current_version = await repository.active_version(session)
    if current_version is None:
        raise Conflict("No model is active: nothing to roll back.")
    current = await repository.get(session, current_version, lock=True)
    assert current is not None
    if current.previous_active is None:
        raise Conflict(f"Model {current_version} was the first one promoted: nothing to roll back to.")
    return await promote(session, rt=rt, version=current.previous_active, actor=actor)


def _load(row: ModelVersion) -> training.Predictor:
    try:
        return training.load(row.artifact, expected_digest=row.artifact_digest)
    except training.ArtifactRefused as exc:
        raise UnprocessableEntity(
            f"Model {row.version} refused: {exc}. The active model is unchanged."
        ) from exc


async def active_predictor(session: AsyncSession, *, rt: Runtime) -> tuple[int | None, Any]:
    """The active (version, predictor) for this score, reloaded when another replica promoted."""
    return await predictor_at(session, rt=rt, version=await repository.active_version(session))


async def predictor_at(session: AsyncSession, *, rt: Runtime, version: int | None) -> tuple[int | None, Any]:
    """``active_predictor`` when the caller already read the active ``version`` (scoring reads it in
    the statement that reads the claim)."""
    if version is None:
        return None, None
    if version != rt.model.version:
        row = await repository.get(session, version)
        if row is None:
            return rt.model.version, rt.model.predictor
        try:
            predictor = await asyncio.to_thread(
                training.load, row.artifact, expected_digest=row.artifact_digest
            )
        except training.ArtifactRefused as exc:
            log.error("model_refused", version=version, error=str(exc), kept=rt.model.version)
            return rt.model.version, rt.model.predictor
        rt.model.version, rt.model.predictor = version, predictor
    return rt.model.version, rt.model.predictor
