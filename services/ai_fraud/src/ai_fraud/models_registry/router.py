"""The model registry: train (a job with progress), list, promote, roll back."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path

from ai_fraud.core.access import Manager, Reviewer, actor_id
from ai_fraud.core.runtime import RuntimeDep
from ai_fraud.models_registry import service
from ai_fraud.models_registry.schemas import JobOut, ModelOut, TrainRequest
from aintech_shared.db import DbSession, ReadSession
from aintech_shared.errors import responses

router = APIRouter(tags=["models"])
Version = Annotated[int, Path(ge=1, le=2**31 - 1, description="A model version.")]


@router.post("/models/train", status_code=202, summary="Queue a training job", response_model=JobOut)
async def train(body: TrainRequest, session: DbSession, who: Manager) -> JobOut:
    return JobOut.model_validate(await service.request_training(session, body=body, actor=actor_id(who)))


@router.get(
    "/models/jobs/{job_id}",
    summary="A training job's progress and report",
    response_model=JobOut,
    responses=responses((404, "Unknown job")),
)
async def job(job_id: uuid.UUID, session: ReadSession, _: Reviewer) -> JobOut:
    return JobOut.model_validate(await service.get_job(session, job_id=job_id))


@router.get("/models", summary="Every model version, newest first", response_model=list[ModelOut])
async def versions(session: ReadSession, _: Reviewer) -> list[ModelOut]:
    return [ModelOut.model_validate(v) for v in await service.list_versions(session)]


@router.post(
    "/models/{version}/promote",
    summary="Make a version the active model (no restart)",
    response_model=ModelOut,
    responses=responses(
        (404, "Unknown version"), (422, "Artifact refused (digest); the active model is kept")
    ),
)
async def promote(version: Version, session: DbSession, rt: RuntimeDep, who: Manager) -> ModelOut:
    return ModelOut.model_validate(
        await service.promote(session, rt=rt, version=version, actor=actor_id(who))
    )


@router.post(
    "/models/rollback",
    summary="Re-activate the previously active model",
    response_model=ModelOut,
    responses=responses((409, "Nothing to roll back to"), (422, "Artifact refused")),
)
async def rollback(session: DbSession, rt: RuntimeDep, who: Manager) -> ModelOut:
    return ModelOut.model_validate(await service.rollback(session, rt=rt, actor=actor_id(who)))
