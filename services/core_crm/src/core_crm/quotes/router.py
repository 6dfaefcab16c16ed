"""Quote endpoints: price, read, search, edit, send, accept, reject, convert to a policy."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response, status

from aintech_contracts.rbac import Permission
from aintech_shared.db import DbSession, ReadSession
from aintech_shared.errors import responses
from aintech_shared.pagination import Cursor, CursorPage, Limit, decode_cursor, encode_cursor
from core_crm.core.preconditions import IfMatch, expected_version, set_etag
from core_crm.core.runtime import RuntimeDep
from core_crm.core.transitions import RETRY_SAFE, Guarded
from core_crm.customers.access import Viewer, read_viewer, staff, viewer
from core_crm.policies.models import PolicyType
from core_crm.quotes import pricing, service
from core_crm.quotes.models import Quote, QuoteStatus
from core_crm.quotes.schemas import (
    ConversionOut,
    ConvertRequest,
    PricingRequest,
    PricingRequestOut,
    QuoteCreate,
    QuoteOut,
    QuoteUpdate,
)

router = APIRouter(prefix="/quotes", tags=["quotes"])

Reader = Annotated[Viewer, Depends(read_viewer(Permission.quotes_create))]
Writer = Annotated[Viewer, Depends(staff(Permission.quotes_create))]
Decider = Annotated[Viewer, Depends(viewer(Permission.quotes_create))]
Converter = Annotated[Viewer, Depends(staff(Permission.quotes_create, Permission.policies_write))]

GUARDED = ((401, "Missing or invalid access token"), (403, "Missing permission"))
NOT_FOUND = (404, "No such quote", "No such quote.")


def _out(response: Response, quote: Quote) -> QuoteOut:
    set_etag(response, quote.version)
    return QuoteOut.model_validate(quote)


@router.get(
    "",
    response_model=CursorPage[QuoteOut],
    summary="Search and list quotes",
    description="Newest first; cursor pagination. A customer gets only their own quotes.",
    responses=responses(*GUARDED, (422, "Invalid filter or cursor")),
)
async def search_quotes(
    who: Reader,
    db: ReadSession,
    customer_id: uuid.UUID | None = None,
    status_: Annotated[list[QuoteStatus] | None, Query(alias="status")] = None,
    quote_type: Annotated[PolicyType | None, Query(alias="type")] = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> CursorPage[QuoteOut]:
    rows, next_key = await service.search_quotes(
        db,
        viewer=who,
        customer_id=customer_id,
        statuses=[s.value for s in status_] if status_ else None,
        quote_type=quote_type.value if quote_type else None,
        after=decode_cursor(cursor, kinds=("datetime", "uuid")),
        limit=limit,
    )
    return CursorPage(
        items=[QuoteOut.model_validate(r) for r in rows],
        next_cursor=encode_cursor(next_key) if next_key else None,
    )


@router.get(
    "/by-number/{quote_number}",
    response_model=QuoteOut,
    summary="Find a quote by its number",
    description="As agents read numbers over the phone: any case, spaces or dots instead of the "
    "dashes, leading zeros left out (`quo 2026 1042` finds `QUO-2026-0001042`). A customer finds "
    "only their own quotes (another's number is 404).",
    responses=responses(*GUARDED, NOT_FOUND),
)
async def by_number(
    quote_number: Annotated[
        str,
        Path(
            max_length=100,
            pattern=r"^[A-Za-z0-9 ._-]+$",
            openapi_examples={"stored": {"value": "QUO-2026-0001042"}, "spoken": {"value": "quo 2026 1042"}},
        ),
    ],
    who: Reader,
    db: ReadSession,
    response: Response,
) -> QuoteOut:
    return _out(response, await service.get_by_number(db, viewer=who, number=quote_number))


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=QuoteOut,
    summary="Prepare a quote",
    description="Needs `quotes:create`. Total = base − discounts + surcharges (percentages of the base), "
    "to the cent. `carrier_quotes` is the carrier comparison. Valid 30 days unless `valid_until` is "
    "given; the worker expires it afterwards. Publishes `quote.created` (which e-mails the quote to "
    "the customer).",
    responses=responses(*GUARDED, (422, "Invalid field or unknown customer")),
)
async def create_quote(
    body: QuoteCreate, who: Writer, db: DbSession, rt: RuntimeDep, response: Response
) -> QuoteOut:
    quote = await service.create_quote(db, rt=rt, viewer=who, data=body)
    response.headers["Location"] = f"/quotes/{quote.id}"
    return _out(response, quote)


@router.post(
    "/pricing-requests",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=PricingRequestOut,
    summary="Have the quote engine price a risk across carriers; the quote follows",
    description="Needs `quotes:create`. The request is queued as `quote.pricing_requested` in this "
    "transaction (kept while the engine is down); the engine compares every eligible product and the "
    "quote appears as a draft with the engine's offers (each with its pinned tariff version), the "
    "recommended one selected, and `metadata.pricing.request_id` = `request_id`. Publishes "
    "`quote.created` then (which e-mails the comparison). If the engine cannot price the risk, the "
    "requesting agent gets a task with the reason.",
    responses=responses(*GUARDED, (422, "Invalid field or unknown customer")),
)
async def request_pricing(
    body: PricingRequest, who: Writer, db: DbSession, rt: RuntimeDep
) -> PricingRequestOut:
    request = await pricing.request_pricing(db, rt=rt, viewer=who, data=body)
    return PricingRequestOut(request_id=request.request_id, customer_id=request.customer_id, status="pricing")


@router.get(
    "/{quote_id}", response_model=QuoteOut, summary="Get a quote", responses=responses(*GUARDED, NOT_FOUND)
)
async def get_quote(quote_id: uuid.UUID, who: Reader, db: ReadSession, response: Response) -> QuoteOut:
    return _out(response, await service.get_quote(db, viewer=who, quote_id=quote_id))


@router.patch(
    "/{quote_id}",
    response_model=QuoteOut,
    summary="Edit a quote",
    description="Needs `quotes:create`. Draft or sent quotes only; the total is recomputed. "
    "`If-Match` is honoured when sent (stale: 412).",
    responses=responses(*GUARDED, NOT_FOUND, (409, "The quote is decided"), (412, "Stale If-Match")),
)
async def update_quote(
    quote_id: uuid.UUID,
    body: QuoteUpdate,
    who: Writer,
    db: DbSession,
    response: Response,
    if_match: IfMatch = None,
) -> QuoteOut:
    quote = await service.update_quote(
        db,
        viewer=who,
        quote_id=quote_id,
        expected_version=expected_version(if_match, required=False),
        changes=body.changes(),
    )
    return _out(response, quote)


@router.post(
    "/{quote_id}/send",
    response_model=QuoteOut,
    summary="Mark as sent (draft -> sent)",
    responses=responses(*GUARDED, NOT_FOUND, (409, "Illegal transition or expired")),
)
async def send_quote(quote_id: uuid.UUID, who: Writer, db: DbSession, response: Response) -> QuoteOut:
    return _out(
        response, await service.change_status(db, viewer=who, quote_id=quote_id, target=QuoteStatus.sent)
    )


@router.post(
    "/{quote_id}/accept",
    response_model=QuoteOut,
    summary="Accept (sent -> accepted)",
    description="Staff, or the customer on their own quote. Only a sent quote can be accepted: "
    "a draft answers 409.",
    responses=responses(*GUARDED, NOT_FOUND, (409, "Illegal transition or expired")),
)
async def accept_quote(quote_id: uuid.UUID, who: Decider, db: DbSession, response: Response) -> QuoteOut:
    return _out(
        response, await service.change_status(db, viewer=who, quote_id=quote_id, target=QuoteStatus.accepted)
    )


@router.post(
    "/{quote_id}/reject",
    response_model=QuoteOut,
    summary="Reject (sent -> rejected; staff may also withdraw a draft)",
    description="Staff, or the customer on their own quote once it has been sent (a customer "
    "rejecting a draft gets 409).",
    responses=responses(*GUARDED, NOT_FOUND, (409, "Illegal transition or expired")),
)
async def reject_quote(quote_id: uuid.UUID, who: Decider, db: DbSession, response: Response) -> QuoteOut:
    return _out(
        response, await service.change_status(db, viewer=who, quote_id=quote_id, target=QuoteStatus.rejected)
    )


@router.post(
    "/{quote_id}/expire",
    response_model=QuoteOut,
    summary="Withdraw a quote now (-> expired)",
    description="Needs `quotes:create`. Open quotes only; the worker also expires quotes past `valid_until`.",
    responses=responses(*GUARDED, NOT_FOUND, (409, "Already decided")),
)
async def expire_quote(quote_id: uuid.UUID, who: Writer, db: DbSession, response: Response) -> QuoteOut:
    return _out(response, await service.expire_quote(db, viewer=who, quote_id=quote_id))


@router.post(
    "/{quote_id}/convert",
    response_model=ConversionOut,
    summary="Convert a quote into a policy",
    description="Needs `quotes:create` and `policies:write`. One transaction: the policy is sold "
    "(premium = the quote's total at the chosen frequency, carrier = the requested, selected or "
    "cheapest offer; details default to the quote's coverage details), and the quote is marked "
    "converted. A quote converts once: a second attempt — also a concurrent one — is 409, unless it "
    "repeats the first one's `Idempotency-Key` (then it answers with the first result). The cover "
    "start follows the policies' backdating rule. Publishes `policy.created` and `quote.converted`. "
    + RETRY_SAFE,
    responses=responses(
        *GUARDED,
        NOT_FOUND,
        (409, "Already converted, expired or rejected", "This quote was already converted."),
        (412, "The quote changed since you read it"),
        (422, "Invalid policy data, or the Idempotency-Key was used for a different request"),
        (428, "Neither If-Match nor Idempotency-Key was sent"),
    ),
)
async def convert_quote(
    quote_id: uuid.UUID,
    who: Converter,
    db: DbSession,
    rt: RuntimeDep,
    once: Guarded,
    body: ConvertRequest | None = None,
) -> Response:
    if (replayed := await once.replay(str(who.principal.user_id))) is not None:
        return replayed
    quote, policy = await service.convert_quote(
        db,
        rt=rt,
        viewer=who,
        quote_id=quote_id,
        data=body or ConvertRequest(),
        expected_version=once.expected_version,
    )
    out = ConversionOut(
        quote=QuoteOut.model_validate(quote), policy_id=policy.id, policy_number=policy.policy_number
    )
    return await once.answer(out, headers={"Location": f"/policies/{policy.id}"})
