"""Interaction endpoints and the customer timeline."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from aintech_contracts.rbac import Permission
from aintech_shared.db import DbSession, ReadSession
from aintech_shared.errors import responses
from aintech_shared.pagination import Cursor, CursorPage, Limit, decode_cursor, encode_cursor
from core_crm.core.runtime import RuntimeDep
from core_crm.core.types import Instant
from core_crm.customers.access import Viewer, read_viewer, staff
from core_crm.interactions import service
from core_crm.interactions.models import InteractionType
from core_crm.interactions.schemas import InteractionCreate, InteractionOut

router = APIRouter(tags=["interactions"])

Reader = Annotated[Viewer, Depends(read_viewer(Permission.customers_read))]
Writer = Annotated[Viewer, Depends(staff(Permission.customers_write))]
GUARDED = ((401, "Missing or invalid access token"), (403, "Missing permission"))


def _page(rows: object, next_key: list[object] | None) -> CursorPage[InteractionOut]:
    return CursorPage(
        items=[InteractionOut.model_validate(r) for r in rows],  # type: ignore[attr-defined]
        next_cursor=encode_cursor(next_key) if next_key else None,
    )


@router.get(
    "/interactions",
    response_model=CursorPage[InteractionOut],
    summary="Search interactions",
    description="Filters combine; newest first (by when it happened); cursor pagination. "
    "`since` is inclusive, `until` exclusive (ISO 8601 with time zone).",
    responses=responses(*GUARDED, (422, "Invalid filter or cursor")),
)
async def search_interactions(
    who: Reader,
    db: ReadSession,
    customer_id: uuid.UUID | None = None,
    type_: Annotated[list[InteractionType] | None, Query(alias="type")] = None,
    agent_id: uuid.UUID | None = None,
    since: Instant | None = None,
    until: Instant | None = None,
    q: Annotated[
        str | None,
        Query(
            min_length=2,
            max_length=100,
            pattern=r"^[^\x00]*$",
            description="Words in the subject, the description or a recorded call's transcript.",
            examples=["perito"],
        ),
    ] = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> CursorPage[InteractionOut]:
    rows, next_key = await service.search_interactions(
        db,
        viewer=who,
        customer_id=customer_id,
        types=[t.value for t in type_] if type_ else None,
        agent_id=agent_id,
        since=since,
        until=until,
        after=decode_cursor(cursor, kinds=("datetime", "uuid")),
        limit=limit,
        text_query=q,
    )
    return _page(rows, next_key)


@router.post(
    "/interactions",
    status_code=status.HTTP_201_CREATED,
    response_model=InteractionOut,
    summary="Log an interaction",
    description="Needs `customers:write`. Calls, e-mails, SMS, WhatsApp, meetings and chats; referenced "
    "policies, claims and quotes must belong to the same customer. Telephony and omnichannel log "
    "theirs through the `interaction.logged` event instead. Publishes `interaction.created`.",
    responses=responses(*GUARDED, (422, "Invalid field or reference")),
)
async def log_interaction(
    body: InteractionCreate, who: Writer, db: DbSession, rt: RuntimeDep
) -> InteractionOut:
    return InteractionOut.model_validate(await service.log_interaction(db, rt=rt, viewer=who, data=body))


@router.get(
    "/interactions/{interaction_id}",
    response_model=InteractionOut,
    summary="Get an interaction",
    responses=responses(*GUARDED, (404, "No such interaction")),
)
async def get_interaction(interaction_id: uuid.UUID, who: Reader, db: ReadSession) -> InteractionOut:
    return InteractionOut.model_validate(
        await service.get_interaction(db, viewer=who, interaction_id=interaction_id)
    )


@router.get(
    "/customers/{customer_id}/timeline",
    response_model=CursorPage[InteractionOut],
    summary="A customer's timeline",
    description="Every contact with the customer on every channel (agents' notes, calls from "
    "telephony, messages from omnichannel), newest first; cursor pagination.",
    responses=responses(*GUARDED, (404, "No such customer"), (422, "Invalid cursor")),
    tags=["customers"],
)
async def timeline(
    customer_id: uuid.UUID,
    who: Reader,
    db: ReadSession,
    type_: Annotated[list[InteractionType] | None, Query(alias="type")] = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> CursorPage[InteractionOut]:
    rows, next_key = await service.timeline(
        db,
        viewer=who,
        customer_id=customer_id,
        types=[t.value for t in type_] if type_ else None,
        after=decode_cursor(cursor, kinds=("datetime", "uuid")),
        limit=limit,
    )
    return _page(rows, next_key)
