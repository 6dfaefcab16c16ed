"""Pricing endpoints: calculate, compare, stored quotes, re-price, and a tariff's dry run."""

from __future__ import annotations

import uuid
from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, Path, Query, Response, status

from aintech_contracts.rbac import Permission
from aintech_shared.auth import Principal, require_permissions
from aintech_shared.db import DbSession, ReadSession
from aintech_shared.errors import responses
from aintech_shared.hot import hot_post
from quote_engine.core.runtime import RuntimeDep
from quote_engine.quotes import service
from quote_engine.quotes.schemas import (
    SUMMARY_EXCLUDE,
    CalculateRequest,
    CalculationOut,
    CompareRequest,
    ComparisonOut,
    ComparisonSummaryOut,
    DryRunOut,
    OfferOut,
    RankedOffer,
    RepricedOut,
)

router = APIRouter(tags=["quotes"])

Quoter = Annotated[Principal, Depends(require_permissions(Permission.quotes_create))]
Manager = Annotated[Principal, Depends(require_permissions(Permission.rates_manage))]

GUARDED = ((401, "Missing or invalid access token"), (403, "Missing permission"))
INVALID = (
    422,
    "Invalid risk, unknown product or cover level, or no tariff in force on the date",
    "risk.driver_age: Input should be greater than or equal to 16",
)


def _actor(who: Principal) -> uuid.UUID | None:
    try:
        return uuid.UUID(who.user_id)
    except ValueError:
        return None


@router.post(
    "/calculate",
    status_code=status.HTTP_201_CREATED,
    response_model=CalculationOut,
    summary="Price one product at one cover level for one risk, explained",
    description="Needs `quotes:create`. Uses the product's tariff version in force on `effective_date` "
    "(default today) and the receipt taxes valid that day. The answer lists every step — the base "
    "rate of the zone, each factor table's matched row (table, row, input, factor), each discount and "
    "surcharge, the minimum or cap, each tax — with its amount and the running total; the amounts sum "
    "to the total exactly. An ineligible risk is answered with `eligible: false` and the reasons. "
    "The calculation is stored with its pinned tariff version (`GET /{id}`).",
    responses=responses(*GUARDED, INVALID),
)
async def calculate(body: CalculateRequest, who: Quoter, db: DbSession, rt: RuntimeDep) -> CalculationOut:
    return await service.calculate(db, rt=rt, data=body, actor=_actor(who))


@hot_post(
    router,
    "/compare",
    status_code=status.HTTP_201_CREATED,
    response_model=ComparisonSummaryOut | ComparisonOut,
    summary="Compare every eligible product across carriers for one risk",
    description="Needs `quotes:create`. Every product of the risk's line in force on the date, at each "
    "cover level asked for (default: all), priced, ranked by value (price against cover and "
    "deductible), with the cover differences side by side and a recommendation that says why. "
    "Ineligible offers are listed apart with their reasons. Each offer carries its net premium, "
    "taxes and surcharges (code, base, amount), total, cover level with limits and deductible, "
    "and the tariff version it pinned — **without its explanation lines** (ComparisonSummaryOut: "
    "no `lines`; the taxes' names and legal references are at `GET /tariffs/taxes`): read one offer's "
    "explanation at `GET /{id}/offers/{rank}`, or ask `?explain=true` for every offer's lines "
    "inline. Stored (`GET /{id}` answers it explained).",
    responses=responses(*GUARDED, INVALID),
)
async def compare(
    body: CompareRequest,
    who: Quoter,
    db: DbSession,
    rt: RuntimeDep,
    explain: Annotated[
        bool, Query(description="Also every offer's explanation lines (a larger answer).")
    ] = False,
) -> Response:
    # Already ComparisonSummaryOut's (or with ?explain=true ComparisonOut's) JSON, written from the
    # rating's own figures: sent as it is, byte for byte what validating and serialising the model
    # would write (test_comparison_bytes).
    answer = await service.compare(db, rt=rt, data=body, actor=_actor(who), explain=explain)
    return Response(answer.body, status_code=status.HTTP_201_CREATED, media_type="application/json")


@router.post(
    "/tariffs/versions/{version_id}/dry-run",
    response_model=DryRunOut,
    tags=["tariffs"],
    summary="Dry run: re-price recent quotes of the product under this version",
    description="Needs `rates:manage`. Nothing is stored: how many of the product's most recent "
    "calculations would change, up or down, by how much, and which would become ineligible.",
    responses=responses(*GUARDED, (404, "No such tariff version")),
)
async def dry_run(
    version_id: uuid.UUID,
    who: Manager,
    db: ReadSession,
    rt: RuntimeDep,
    sample: Annotated[int | None, Query(ge=1, le=5000)] = None,
) -> DryRunOut:
    return await service.dry_run(db, version_id=version_id, sample=sample or rt.settings.dry_run_sample)


@router.get(
    "/{calculation_id}",
    response_model=CalculationOut | ComparisonOut | ComparisonSummaryOut,
    summary="A stored calculation or comparison, as priced",
    description="Needs `quotes:create`. With its explanation and the tariff versions it pinned. A "
    "comparison is stored as its pinned tariff versions and totals: its explanation is rated again "
    "under those versions, the receipt taxes of its date and its risk, and must give the stored "
    "ranking and totals to the cent (otherwise a 500 `stored-quote-mismatch`, never an altered "
    "answer). `?explain=false` answers a comparison's summary, as `POST /compare` does.",
    responses=responses(*GUARDED, (404, "No such quote calculation")),
)
async def get_calculation(
    calculation_id: uuid.UUID,
    who: Quoter,
    db: ReadSession,
    explain: Annotated[bool, Query(description="With each offer's explanation lines.")] = True,
) -> Response:
    out = await service.get(db, calculation_id=calculation_id, explain=explain)
    exclude = None if explain or isinstance(out, CalculationOut) else SUMMARY_EXCLUDE
    return Response(orjson.dumps(out.model_dump(mode="json", exclude=exclude)), media_type="application/json")


@router.get(
    "/{calculation_id}/offers/{rank}",
    response_model=RankedOffer | OfferOut,
    summary="One offer of a stored quote, explained",
    description="Needs `quotes:create`. A comparison's offer ranked `rank` (1 = recommended) with "
    "its explanation lines — every table row matched, each discount, surcharge and tax with its "
    "amount and the running total — rated again under its pinned tariff version and checked "
    "against the stored totals; for a calculation, `rank` 1 is its offer.",
    responses=responses(*GUARDED, (404, "No such quote calculation, or no offer of that rank")),
)
async def get_offer(
    calculation_id: uuid.UUID, rank: Annotated[int, Path(ge=1, le=10000)], who: Quoter, db: ReadSession
) -> OfferOut:
    return await service.offer(db, calculation_id=calculation_id, n=rank)


@router.post(
    "/{calculation_id}/reprice",
    response_model=RepricedOut,
    summary="Re-price a stored calculation under the rules in force on its date",
    description="Needs `quotes:create`. Uses the calculation's pinned tariff version and the taxes of "
    "its date, so a newer tariff never changes an old quote. Nothing is stored.",
    responses=responses(*GUARDED, (404, "No such quote calculation"), (409, "A comparison")),
)
async def reprice(calculation_id: uuid.UUID, who: Quoter, db: ReadSession) -> RepricedOut:
    return await service.reprice(db, calculation_id=calculation_id)
