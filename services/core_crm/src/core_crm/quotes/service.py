"""Quote rules: pricing (discounts, surcharges), the status machine, expiry, conversion once."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from aintech_shared.errors import Conflict, NotFound, UnprocessableEntity
from core_crm.core.base import today, utcnow
from core_crm.core.numbers import canonical, next_number
from core_crm.core.preconditions import check_version
from core_crm.core.runtime import Runtime
from core_crm.customers import service as customers
from core_crm.customers.access import Viewer
from core_crm.policies import service as policies
from core_crm.policies.models import PAYMENTS_PER_YEAR, Policy
from core_crm.policies.schemas import PolicyCreate
from core_crm.quotes import events, pricing, repository
from core_crm.quotes.models import OPEN_QUOTE_STATUSES, QUOTE_TRANSITIONS, Quote, QuoteStatus
from core_crm.quotes.schemas import ConvertRequest, QuoteCreate

CENT = Decimal("0.01")
EDITABLE = (QuoteStatus.draft, QuoteStatus.sent)


def _field_error(field: str, message: str) -> UnprocessableEntity:
    return UnprocessableEntity(
        f"{field}: {message}",
        errors=[{"location": "body", "field": field, "message": message, "type": "value_error"}],
    )


def _adjustment(base: Decimal, item: dict[str, Any]) -> Decimal:
    if item.get("amount") is not None:
        return Decimal(str(item["amount"]))
    return (base * Decimal(str(item["percent"])) / 100).quantize(CENT, ROUND_HALF_UP)


def price(base: Decimal, discounts: list[dict[str, Any]], surcharges: list[dict[str, Any]]) -> Decimal:
    """Base minus discounts plus surcharges (percentages apply to the base), to the cent."""
    total = base - sum((_adjustment(base, d) for d in discounts), Decimal(0))
    total += sum((_adjustment(base, s) for s in surcharges), Decimal(0))
    return total.quantize(CENT, ROUND_HALF_UP)


MAX_TOTAL = Decimal("99999999.99")  # Numeric(10, 2)


def _check_total(total: Decimal) -> None:
    if total < 0:
        raise _field_error("discounts", "bring the total below zero")
    if total > MAX_TOTAL:
        raise _field_error("surcharges", f"bring the total above {MAX_TOTAL}")


def _check_selection(carrier_quotes: list[dict[str, Any]], selected: str | None) -> None:
    names = [c["carrier"].lower() for c in carrier_quotes]
    if len(set(names)) != len(names):
        raise _field_error("carrier_quotes", "each carrier may appear once")
    if selected and carrier_quotes and selected.lower() not in names:
        raise _field_error("selected_carrier", "must be one of the compared carriers")


async def create_quote(session: AsyncSession, *, rt: Runtime, viewer: Viewer, data: QuoteCreate) -> Quote:
    """Price a quote for a live customer. Publishes `quote.created`."""
    await customers.referenced_customer(session, viewer=viewer, customer_id=data.customer_id)
    payload = data.model_dump(mode="json")
    total = price(data.base_premium, payload["discounts"], payload["surcharges"])
    _check_total(total)
    _check_selection(payload["carrier_quotes"], data.selected_carrier)
    valid_until = data.valid_until or utcnow() + timedelta(days=rt.settings.quote_validity_days)
    if valid_until <= utcnow():
        raise _field_error("valid_until", "must be in the future")
    quote = Quote(
        customer_id=data.customer_id,
        quote_number=await next_number(session, "QUO"),
        quote_type=data.quote_type.value,
        coverage_details=data.coverage_details,
        base_premium=data.base_premium,
        discounts=payload["discounts"],
        surcharges=payload["surcharges"],
        total_premium=total,
        carrier_quotes=payload["carrier_quotes"],
        selected_carrier=data.selected_carrier,
        status=QuoteStatus.draft.value,
        valid_until=valid_until,
        notes=data.notes,
        attributes=data.metadata,
        created_by=viewer.actor_id,
    )
    await repository.add(session, quote)
    await rt.outbox.publish(session, events.created(quote), key=str(quote.id))
    return quote


def ensure_visible(viewer: Viewer, quote: Quote | None) -> Quote:
    if quote is None or not viewer.may_see(quote.customer_id):
        raise NotFound("No such quote.")
    return quote


async def get_quote(session: AsyncSession, *, viewer: Viewer, quote_id: uuid.UUID) -> Quote:
    """One quote the viewer may see."""
    return ensure_visible(viewer, await repository.get(session, quote_id))


async def get_by_number(session: AsyncSession, *, viewer: Viewer, number: str) -> Quote:
    """A quote by its number as an agent reads it over the phone (``quo 2026 1042`` finds
    ``QUO-2026-0001042``); 404 when there is none the viewer may see."""
    stored = canonical("QUO", number)
    found = await repository.by_number(session, stored or number.strip())
    return ensure_visible(viewer, found)


async def _lock(
    session: AsyncSession, viewer: Viewer, quote_id: uuid.UUID, expected_version: int | None
) -> Quote:
    quote = ensure_visible(viewer, await repository.get(session, quote_id, for_update=True))
    check_version(quote.version, expected_version)
    return quote


def _move(quote: Quote, target: QuoteStatus) -> None:
    current = QuoteStatus(quote.status)
    if target not in QUOTE_TRANSITIONS[current]:
        raise Conflict(
            f"A quote that is {current.value} cannot become {target.value}.", current_status=current.value
        )
    if target != QuoteStatus.expired and quote.valid_until is not None and quote.valid_until <= utcnow():
        raise Conflict("This quote has expired.", current_status=current.value)
    quote.status = target.value
    quote.version += 1
    quote.updated_at = utcnow()


async def update_quote(
    session: AsyncSession,
    *,
    viewer: Viewer,
    quote_id: uuid.UUID,
    expected_version: int | None,
    changes: dict[str, Any],
) -> Quote:
    """Edit a draft or sent quote; the total is recomputed."""
    quote = await _lock(session, viewer, quote_id, expected_version)
    if quote.status not in EDITABLE:
        raise Conflict(f"A quote that is {quote.status} can no longer be edited.")
    for field in (
        "coverage_details",
        "base_premium",
        "discounts",
        "surcharges",
        "carrier_quotes",
        "metadata",
    ):
        if field in changes and changes[field] is None:
            raise _field_error(field, "cannot be null")
    if changes.get("valid_until") is not None:
        changes["valid_until"] = datetime.fromisoformat(changes["valid_until"])
        if changes["valid_until"] <= utcnow():
            raise _field_error("valid_until", "must be in the future")
    for key, value in changes.items():
        if key == "base_premium":
            value = Decimal(value)
        setattr(quote, "attributes" if key == "metadata" else key, value)
    quote.total_premium = price(quote.base_premium, quote.discounts, quote.surcharges)
    _check_total(quote.total_premium)
    _check_selection(quote.carrier_quotes, quote.selected_carrier)
    quote.version += 1
    quote.updated_at = utcnow()
    await repository.flush(session)
    return quote


async def change_status(
    session: AsyncSession, *, viewer: Viewer, quote_id: uuid.UUID, target: QuoteStatus
) -> Quote:
    """draft -> sent -> accepted | rejected (409 otherwise; 409 once expired).

    A customer decides only a quote that was sent to them: a draft is still being prepared.
    """
    quote = await _lock(session, viewer, quote_id, None)
    deciding = target in (QuoteStatus.accepted, QuoteStatus.rejected)
    if (
        quote.status == QuoteStatus.draft
        and deciding
        and (target == QuoteStatus.accepted or not viewer.is_staff)
    ):
        raise Conflict(
            f"This quote is still a draft: it can be {target.value} once it has been sent.",
            current_status=quote.status,
        )
    _move(quote, target)
    await repository.flush(session)
    return quote


def _carrier_for(quote: Quote, requested: str | None) -> str:
    offers = {c["carrier"].lower(): c["carrier"] for c in quote.carrier_quotes}
    if requested:
        if offers and requested.lower() not in offers:
            raise _field_error("carrier", "was not part of this quote's comparison")
        return offers.get(requested.lower(), requested)
    if quote.selected_carrier:
        return quote.selected_carrier
    if quote.carrier_quotes:
        return str(min(quote.carrier_quotes, key=lambda c: Decimal(str(c["premium"])))["carrier"])
    raise _field_error("carrier", "this quote compares no carriers: name the carrier")


async def convert_quote(
    session: AsyncSession,
    *,
    rt: Runtime,
    viewer: Viewer,
    quote_id: uuid.UUID,
    data: ConvertRequest,
    expected_version: int | None = None,
) -> tuple[Quote, Policy]:
    """Turn a quote into a policy in one transaction; a quote converts once (409 afterwards)."""
    quote = await _lock(session, viewer, quote_id, expected_version)
    if quote.converted:
        raise Conflict("This quote was already converted.", policy_id=str(quote.policy_id))
    if quote.status not in OPEN_QUOTE_STATUSES:
        raise Conflict(f"A quote that is {quote.status} cannot be converted.", current_status=quote.status)
    if quote.valid_until is not None and quote.valid_until <= utcnow():
        raise Conflict("This quote has expired.", current_status=quote.status)
    carrier = _carrier_for(quote, data.carrier)
    start = data.coverage_start_date or today()
    end = data.coverage_end_date or _one_year_after(start)
    frequency = data.premium_frequency.value
    offer = next((c for c in quote.carrier_quotes if c["carrier"].lower() == carrier.lower()), None)
    pinned = pricing.pinned_tariff(offer)
    annual = (
        Decimal(str(offer["premium"])) if pinned and offer else quote.total_premium
    )  # engine: that offer's
    premium = (annual / PAYMENTS_PER_YEAR[frequency]).quantize(CENT, ROUND_HALF_UP)
    try:
        policy_data = PolicyCreate(
            customer_id=quote.customer_id,
            policy_type=quote.quote_type,
            carrier=carrier,
            policy_number=data.policy_number,
            coverage_start_date=start,
            coverage_end_date=end,
            premium_amount=premium,
            premium_frequency=frequency,
            coverage_amount=Decimal(str(offer["coverage_amount"]))
            if offer and offer.get("coverage_amount")
            else None,
            deductible=Decimal(str(offer["deductible"])) if offer and offer.get("deductible") else None,
            details=data.details if data.details is not None else quote.coverage_details,
            metadata=pinned,
            backdating_reason=data.backdating_reason,
        )
    except ValueError as exc:
        raise _field_error(
            "details", str(exc).splitlines()[-1] if str(exc) else "invalid policy data"
        ) from exc
    policy = await policies.create_policy(session, rt=rt, viewer=viewer, data=policy_data, quote_id=quote.id)
    quote.status = QuoteStatus.converted.value
    quote.converted = True
    quote.policy_id = policy.id
    quote.converted_at = utcnow()
    quote.selected_carrier = carrier
    quote.version += 1
    quote.updated_at = utcnow()
    await repository.flush(session)
    await rt.outbox.publish(session, events.converted(quote, policy), key=str(quote.id))
    return quote, policy


def _one_year_after(day: date) -> date:
    try:
        return day.replace(year=day.year + 1)
    except ValueError:
        return day.replace(year=day.year + 1, day=28)


async def search_quotes(
    session: AsyncSession,
    *,
    viewer: Viewer,
    customer_id: uuid.UUID | None,
    statuses: Sequence[str] | None,
    quote_type: str | None,
    after: list[Any] | None,
    limit: int,
) -> tuple[Sequence[Quote], list[Any] | None]:
    """One page of quotes, newest first; a customer only gets their own."""
    if not viewer.is_staff:
        if viewer.customer_id is None or (customer_id is not None and customer_id != viewer.customer_id):
            return [], None
        customer_id = viewer.customer_id
    return await repository.search(
        session, customer_id=customer_id, statuses=statuses, quote_type=quote_type, after=after, limit=limit
    )


async def expire_quote(session: AsyncSession, *, viewer: Viewer, quote_id: uuid.UUID) -> Quote:
    """Withdraw an open quote now (draft, sent or accepted -> expired)."""
    quote = await _lock(session, viewer, quote_id, None)
    _move(quote, QuoteStatus.expired)
    await repository.flush(session)
    return quote


async def expire_overdue(session: AsyncSession) -> int:
    """Expire open quotes past their validity (the worker runs this every hour)."""
    return await repository.expire_overdue(session)


async def quotes_of(session: AsyncSession, *, customer_id: uuid.UUID) -> Sequence[Quote]:
    """Every quote of a customer (for 360 views and exports)."""
    return await repository.for_customer(session, customer_id)


async def owner_of(session: AsyncSession, *, quote_id: uuid.UUID) -> uuid.UUID | None:
    """The customer a quote belongs to (None when there is no such quote)."""
    row = await repository.get(session, quote_id)
    return row.customer_id if row is not None else None
