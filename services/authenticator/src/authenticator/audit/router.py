"""Querying the security audit log."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from aintech_contracts.rbac import Permission
from aintech_shared.db import DbSession
from aintech_shared.errors import UnprocessableEntity, responses
from authenticator.audit import service
from authenticator.audit.schemas import AuditEntryOut
from authenticator.audit.service import AuditAction
from authenticator.core.deps import Caller, authorized
from authenticator.core.pagination import Page, PageNumber, PageSize

router = APIRouter(prefix="/admin", tags=["audit"])

Auditor = Annotated[Caller, Depends(authorized(Permission.audit_read))]


@router.get(
    "/audit",
    response_model=Page[AuditEntryOut],
    summary="Search the audit log",
    description="Needs `audit:read`. Filters combine; `since` is inclusive and `until` exclusive "
    "(ISO 8601 with time zone). Newest first. Actions: "
    + ", ".join(f"`{a.value}`" for a in AuditAction)
    + ".",
    responses=responses(
        (401, "Missing or invalid access token"), (403, "Missing permission"), (422, "Invalid filter")
    ),
)
async def search_audit(
    _: Auditor,
    db: DbSession,
    user_id: uuid.UUID | None = None,
    actor_id: uuid.UUID | None = None,
    action: Annotated[list[AuditAction] | None, Query(description="Repeat to match several.")] = None,
    since: datetime | None = None,
    until: datetime | None = None,
    page: PageNumber = 1,
    page_size: PageSize = 50,
) -> Page[AuditEntryOut]:
    for name, value in (("since", since), ("until", until)):
        if value is not None and value.tzinfo is None:
            raise UnprocessableEntity(
                errors=[
                    {"location": "query", "field": name, "message": "needs a time zone", "type": "timezone"}
                ]
            )
    rows, total = await service.search(
        db,
        user_id=user_id,
        actor_id=actor_id,
        actions=[a.value for a in action or []],
        since=since,
        until=until,
        page=page,
        page_size=page_size,
    )
    return Page.build(
        [AuditEntryOut.model_validate(r) for r in rows], total=total, page=page, page_size=page_size
    )
