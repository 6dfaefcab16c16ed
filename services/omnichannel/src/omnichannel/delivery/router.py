"""What the delivery side shows operations: customer events parked until their customer is known."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from aintech_shared.db import DbSession
from aintech_shared.errors import responses
from omnichannel.core.deps import Supervisor
from omnichannel.core.pagination import Page, PageNumber, PageSize
from omnichannel.delivery import parking
from omnichannel.delivery.schemas import ParkedDeliveryOut

router = APIRouter(tags=["delivery"])


@router.get(
    "/deliveries/parked",
    response_model=Page[ParkedDeliveryOut],
    summary="Customer events that waited for their customer (parked, released, failed, expired)",
    description="A quote, policy or claim event about a customer omnichannel does not know yet (their "
    "`customer.created` comes on another topic) is parked and handled when the customer arrives. One "
    "still waiting after `OMNICHANNEL_PARKED_DELIVERY_MAX_WAIT_SECONDS` is `expired`: nothing was sent. "
    "Supervisors and administrators.",
    responses=responses((403, "Supervisors only")),
)
async def list_parked_deliveries(
    principal: Supervisor,
    db: DbSession,
    status_: Annotated[
        Literal["parked", "released", "failed", "expired"] | None, Query(alias="status")
    ] = None,
    page: PageNumber = 1,
    page_size: PageSize = 50,
) -> Page[ParkedDeliveryOut]:
    rows, total = await parking.listing(db, status=status_, offset=(page - 1) * page_size, limit=page_size)
    return Page.build(
        [ParkedDeliveryOut.model_validate(r) for r in rows], total=total, page=page, page_size=page_size
    )
