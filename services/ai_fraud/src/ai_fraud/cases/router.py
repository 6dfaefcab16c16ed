"""The review queue."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from ai_fraud.cases import service
from ai_fraud.cases.models import CaseStatus
from ai_fraud.core.access import Reviewer, actor_id
from aintech_shared.db import DbSession, ReadSession
from aintech_shared.errors import responses

router = APIRouter(tags=["cases"])


class CaseOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    claim_id: uuid.UUID
    status: str
    score: int | None
    band: str | None
    assigned_to: uuid.UUID | None
    outcome_reason: str | None
    opened_by: uuid.UUID | None
    version: int
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None


class CaseCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    claim_id: uuid.UUID


class CaseUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: CaseStatus | None = None
    assigned_to: uuid.UUID | None = None
    outcome_reason: str | None = Field(default=None, max_length=2000, pattern=r"^[^\x00]*$")


class NoteCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    body: str = Field(min_length=1, max_length=5000, pattern=r"^[^\x00]*$")


class NoteOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    author_id: uuid.UUID | None
    body: str
    created_at: datetime


class CasePage(BaseModel):
    items: list[CaseOut]
    next_cursor: str | None = None


@router.get("/cases", summary="The review queue, newest first", response_model=CasePage)
async def list_cases(
    session: ReadSession,
    _: Reviewer,
    status: CaseStatus | None = None,
    assigned_to: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> CasePage:
    rows = await service.list_cases(
        session, status=status.value if status else None, assigned_to=assigned_to, limit=limit
    )
    return CasePage(items=[CaseOut.model_validate(c) for c in rows])


@router.post(
    "/cases", status_code=201, summary="Open a case on a claim (or return its case)", response_model=CaseOut
)
async def open_case(body: CaseCreate, session: DbSession, who: Reviewer) -> CaseOut:
    case = await service.open_case(
        session, claim_id=body.claim_id, actor=actor_id(who), score=None, band=None
    )
    return CaseOut.model_validate(case)


@router.get(
    "/cases/{case_id}", summary="One case", response_model=CaseOut, responses=responses((404, "Unknown case"))
)
async def get_case(case_id: uuid.UUID, session: ReadSession, _: Reviewer) -> CaseOut:
    return CaseOut.model_validate(await service.get_case(session, case_id=case_id))


@router.patch(
    "/cases/{case_id}",
    summary="Move (open, investigating, confirmed, dismissed) or assign a case",
    response_model=CaseOut,
    responses=responses((404, "Unknown case"), (409, "Illegal transition")),
)
async def update_case(case_id: uuid.UUID, body: CaseUpdate, session: DbSession, _: Reviewer) -> CaseOut:
    case = await service.update_case(
        session,
        case_id=case_id,
        status=body.status,
        assigned_to=body.assigned_to,
        outcome_reason=body.outcome_reason,
    )
    return CaseOut.model_validate(case)


@router.post(
    "/cases/{case_id}/notes",
    status_code=201,
    summary="Add a note",
    response_model=NoteOut,
    responses=responses((404, "Unknown case")),
)
async def add_note(case_id: uuid.UUID, body: NoteCreate, session: DbSession, who: Reviewer) -> NoteOut:
    return NoteOut.model_validate(
        await service.add_note(session, case_id=case_id, author=actor_id(who), body=body.body)
    )


@router.get(
    "/cases/{case_id}/notes",
    summary="A case's notes",
    response_model=list[NoteOut],
    responses=responses((404, "Unknown case")),
)
async def list_notes(case_id: uuid.UUID, session: ReadSession, _: Reviewer) -> list[NoteOut]:
    return [NoteOut.model_validate(n) for n in await service.notes(session, case_id=case_id)]
