"""OptiMax endpoints: portfolio advice and one customer's recommendations."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends

from aintech_contracts.rbac import Permission
from aintech_shared.auth import Principal, require_permissions
from aintech_shared.db import ReadSession
from aintech_shared.errors import responses
from quote_engine.optimax import service
from quote_engine.optimax.schemas import CustomerAdvice, PortfolioOut, PortfolioRequest

router = APIRouter(prefix="/optimize", tags=["optimax"])

Quoter = Annotated[Principal, Depends(require_permissions(Permission.quotes_create))]
GUARDED = ((401, "Missing or invalid access token"), (403, "Missing permission"))


@router.post(
    "/portfolio",
    response_model=PortfolioOut,
    summary="OptiMax advice for several customers' portfolios",
    description="Needs `quotes:create`. Per customer: bundle opportunities, coverage gaps and cheaper "
    "equivalent cover at renewal, each with the saving and the reason; totals across them. Built from "
    "the CRM's policy events and the customers' comparisons.",
    responses=responses(*GUARDED),
)
async def optimize_portfolio(body: PortfolioRequest, who: Quoter, db: ReadSession) -> PortfolioOut:
    return await service.portfolio(db, customer_ids=body.customer_ids)


@router.get(
    "/recommendations/{customer_id}",
    response_model=CustomerAdvice,
    summary="OptiMax recommendations for one customer",
    description="Needs `quotes:create`. A customer the engine knows no policy of gets an empty list.",
    responses=responses(*GUARDED),
)
async def recommendations(customer_id: uuid.UUID, who: Quoter, db: ReadSession) -> CustomerAdvice:
    return await service.advise(db, customer_id=customer_id)
