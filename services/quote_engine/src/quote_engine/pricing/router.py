"""Dynamic pricing endpoint."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from aintech_contracts.rbac import Permission
from aintech_shared.auth import Principal, require_permissions
from aintech_shared.db import ReadSession
from aintech_shared.errors import responses
from quote_engine.pricing import service
from quote_engine.pricing.schemas import DynamicPricingOut, DynamicPricingRequest

router = APIRouter(prefix="/pricing", tags=["pricing"])

Quoter = Annotated[Principal, Depends(require_permissions(Permission.quotes_create))]


@router.post(
    "/dynamic",
    response_model=DynamicPricingOut,
    summary="The broker's recommended discount per offer, inside each carrier's commission band",
    description="Needs `quotes:create`. For a stored calculation or comparison: per eligible offer, "
    "the discount (given up from commission) from the customer's churn risk (the request's, else "
    "analytics' latest score for the quote's customer, else neutral: no discount) and value, and "
    "the total after it, re-rated under the "
    "offer's pinned tariff so the taxes follow. Nothing is stored.",
    responses=responses(
        (401, "Missing or invalid access token"),
        (403, "Missing permission"),
        (404, "No such quote calculation"),
    ),
)
async def dynamic(body: DynamicPricingRequest, who: Quoter, db: ReadSession) -> DynamicPricingOut:
    return await service.recommend(db, data=body)
