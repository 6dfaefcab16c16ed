"""Unmatched contacts: calls and messages that matched no customer, for agents to link or dismiss."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends

from aintech_contracts.rbac import Permission
from aintech_shared.db import DbSession, ReadSession
from aintech_shared.errors import responses
from aintech_shared.pagination import Cursor, CursorPage, Limit, decode_cursor, encode_cursor
from core_crm.core.runtime import RuntimeDep
from core_crm.customers.access import Viewer, staff
from core_crm.intake import service
from core_crm.intake.models import IntakeStatus
from core_crm.intake.schemas import DismissRequest, LinkRequest, UnmatchedOut

router = APIRouter(prefix="/unmatched-interactions", tags=["interactions"])

Reader = Annotated[Viewer, Depends(staff(Permission.customers_read))]
Writer = Annotated[Viewer, Depends(staff(Permission.customers_write))]
GUARDED = ((401, "Missing or invalid access token"), (403, "Missing permission (staff only)"))
NOT_FOUND = (404, "No such unmatched interaction", "No such unmatched interaction.")
RESOLVED = (409, "Already linked or dismissed", "This contact is already linked.")


@router.get(
    "",
    response_model=CursorPage[UnmatchedOut],
    summary="List unmatched calls and messages",
    description="Needs `customers:read` (staff). Calls from telephony and messages from omnichannel "
    "that matched no customer by id, phone or e-mail, newest first; `status` `open` (default), "
    "`linked` or `dismissed`. Open ones are linked automatically as soon as a customer has their "
    "phone, mobile or e-mail.",
    responses=responses(*GUARDED, (422, "Invalid filter or cursor")),
)
async def list_unmatched(
    _: Reader,
    db: ReadSession,
    status: IntakeStatus = IntakeStatus.open,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> CursorPage[UnmatchedOut]:
    rows, next_key = await service.search(
        db, status=status.value, after=decode_cursor(cursor, kinds=("datetime", "uuid")), limit=limit
    )
    return CursorPage(
        items=[UnmatchedOut.model_validate(r) for r in rows],
        next_cursor=encode_cursor(next_key) if next_key else None,
    )


@router.get(
    "/{intake_id}",
    response_model=UnmatchedOut,
    summary="Get an unmatched call or message",
    responses=responses(*GUARDED, NOT_FOUND),
)
async def get_unmatched(intake_id: uuid.UUID, _: Reader, db: ReadSession) -> UnmatchedOut:
    return UnmatchedOut.model_validate(await service.get_intake(db, intake_id=intake_id))


@router.post(
    "/{intake_id}/link",
    response_model=UnmatchedOut,
    summary="Link an unmatched call or message to a customer",
    description="Needs `customers:write` (staff). Puts it on the customer's timeline (publishes "
    "`interaction.created`; `interaction_id` in the answer); the contact's data and content then "
    "live on the interaction only.",
    responses=responses(*GUARDED, NOT_FOUND, RESOLVED, (422, "No such customer")),
)
async def link_unmatched(
    intake_id: uuid.UUID, body: LinkRequest, who: Writer, db: DbSession, rt: RuntimeDep
) -> UnmatchedOut:
    return UnmatchedOut.model_validate(
        await service.link(db, rt=rt, viewer=who, intake_id=intake_id, customer_id=body.customer_id)
    )


@router.post(
    "/{intake_id}/dismiss",
    response_model=UnmatchedOut,
    summary="Dismiss an unmatched call or message",
    description="Needs `customers:write` (staff). For contacts that are nobody's (spam, a wrong "
    "number): the phone, e-mail and content are deleted, the reason kept.",
    responses=responses(*GUARDED, NOT_FOUND, RESOLVED),
)
async def dismiss_unmatched(
    intake_id: uuid.UUID, body: DismissRequest, who: Writer, db: DbSession
) -> UnmatchedOut:
    return UnmatchedOut.model_validate(
        await service.dismiss(db, viewer=who, intake_id=intake_id, reason=body.reason)
    )
