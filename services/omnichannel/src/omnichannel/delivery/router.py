"""What the delivery side shows operations: customer events parked until their customer is known."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from aintech_shared.db import DbSession
from aintech_shared.errors import responses
from aintech_shared.pagination import Cursor, CursorPage, Limit, decode_cursor
from omnichannel.core.deps import Supervisor
from omnichannel.delivery import parking
from omnichannel.delivery.schemas import ParkedDeliveryOut

router = APIRouter(tags=["delivery"])


@router.get(
    "/deliveries/parked",
    response_model=CursorPage[ParkedDeliveryOut],
    summary="Customer events that waited for their customer (parked, released, failed, expired)",
    description="A quote, policy or claim event about a customer omnichannel does not know yet (their "
    "`customer.created` comes on another topic) is parked and handled when the customer arrives. One "
    "still waiting after `OMNICHANNEL_PARKED_DELIVERY_MAX_WAIT_SECONDS` is `expired`: nothing was sent. "
    "Supervisors and administrators.",
    responses=responses((403, "Supervisors only"), (422, "Invalid filter or cursor")),
)
async def list_parked_deliveries(
    principal: Supervisor,
    db: DbSession,
    status_: Annotated[
        Literal["parked", "released", "failed", "expired"] | None, Query(alias="status")
    ] = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> CursorPage[ParkedDeliveryOut]:
    after = decode_cursor(cursor, kinds=("datetime", "str"))
    rows, next_key = await parking.listing(db, status=status_, after=after, limit=limit)
    return CursorPage.build(rows, next_key, item=ParkedDeliveryOut.model_validate)
