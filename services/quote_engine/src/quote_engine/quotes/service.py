"""Pricing use cases: calculate one offer, compare every eligible offer, read, re-price, dry run."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar

import orjson
from pydantic import TypeAdapter, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from aintech_contracts.events.crm import QuotePricingRequested
from aintech_shared.errors import AppError, Conflict, NotFound
from quote_engine.core.base import today, utcnow
from quote_engine.core.runtime import Runtime
from quote_engine.observed import service as observed
from quote_engine.quotes import events, repository
from quote_engine.quotes.models import Calculation
from quote_engine.quotes.schemas import (
    SUMMARY_EXCLUDE,
    CalculateRequest,
    CalculationOut,
    CompareRequest,
    ComparisonOut,
    CoverOut,
    DryRunOut,
    LineOut,
    OfferOut,
    Pin,
    RankedOffer,
    Recommendation,
    RepricedOut,
    TaxOut,
)
from quote_engine.rating.engine import Ineligible, Line, Priced, RatingError, Risk, rate, rate_covers
from quote_engine.rating.tariff import CoverLevel, ReceiptTax, TariffDefinition
from quote_engine.tariffs import service as tariffs
from quote_engine.tariffs.models import CarrierProduct, TariffVersion
from quote_engine.tariffs.service import field_error

# How the recommendation weighs cover against price (documented in docs/quote-engine.md).
DEDUCTIBLE_WEIGHT = Decimal("0.20")  # the share of the deductible a customer can expect to pay in a year
GUARANTEE_VALUE = Decimal("15")  # euros of value per guarantee beyond the narrowest offer compared

# A stored comparison's result, and the rest of its answer, in ComparisonOut's field order.
_RESULT_FIELDS = ("offers", "ineligible", "cover_matrix", "recommendation")
_HEAD_FIELDS = {"id", "kind", "priced_on", "created_at", "observed"}
# A comparison stored as its pins and totals (re-rated on read), not as its full answer.
PINNED = "pinned-v1"


@dataclass(frozen=True)
class ComparisonAnswer:
    """A stored comparison's answer: ComparisonSummaryOut's (ComparisonOut's when explained) JSON,
    written once from the rating's own figures (the router sends it as it is)."""

    id: uuid.UUID
    body: bytes
    recommended: bool  # whether any offer was eligible


_M = TypeVar("_M", LineOut, TaxOut, OfferOut, RankedOffer)
_set = object.__setattr__


def _built(model: type[_M], values: dict[str, Any]) -> _M:
    """``model.model_construct(**values)`` for a dataclass row carrying exactly the model's fields
    (Line -> LineOut, TaxLine -> TaxOut): the same instance, without model_construct's per-field
    walk, which is most of an explained offer's cost (13 lines and 4 taxes each, 80 offers); also
    for an offer given every one of its fields."""
    out = model.__new__(model)
    _set(out, "__dict__", dict(values))
    _set(out, "__pydantic_fields_set__", set(values))
    _set(out, "__pydantic_extra__", None)
    _set(out, "__pydantic_private__", None)
    return out


# An offer's product, cover and pin: the same for every rating of a version's cover level (a version
# never changes: migration 0006), so built once per process and shared (never mutated), with their
# JSON form (the offer's first six members, without the braces) for the answers written directly.
_HEADS: dict[tuple[uuid.UUID, str, str, str], tuple[dict[str, Any], bytes]] = {}
_HEADS_LIMIT = 4096


def _head_and_json(
    version: TariffVersion, product: CarrierProduct, definition: TariffDefinition, cover: CoverLevel
) -> tuple[dict[str, Any], bytes]:
    key = (version.id, version.digest, product.code, cover.code)
    found = _HEADS.get(key)
    if found is None:
        # The parts are ours and already typed (the tariff was validated at import): the models are
        # built without validating them again.
        cover_out = CoverOut.model_construct(
            code=cover.code,
            name=cover.name,
            rank=cover.rank,
            covers=list(cover.covers),
            limits=dict(cover.limits),
            deductible=cover.deductible,
        )
        pin = Pin.model_construct(
            tariff_version_id=version.id,
            product_code=product.code,
            carrier=product.carrier,
            version=version.version,
            digest=version.digest,
        )
        head = {
            "product_code": product.code,
            "carrier": product.carrier,
            "product_name": definition.product_name,
            "line": definition.line,
            "cover": cover_out,
            "tariff": pin,
        }
        as_json = {**head, "cover": cover_out.model_dump(mode="json"), "tariff": pin.model_dump(mode="json")}
        found = (head, orjson.dumps(as_json)[1:-1])
        if len(_HEADS) >= _HEADS_LIMIT:
            _HEADS.clear()
        _HEADS[key] = found
    return found


# Every cover level's head of a product's version, by cover code: one lookup per product of a
# comparison (a version's and a product's attributes are read once, not once per cover level).
_PRODUCT_HEADS: dict[tuple[uuid.UUID, str, str], dict[str, tuple[dict[str, Any], bytes]]] = {}


def _heads_of(
    version: TariffVersion, product: CarrierProduct, definition: TariffDefinition
) -> dict[str, tuple[dict[str, Any], bytes]]:
    key = (version.id, version.digest, product.code)
    found = _PRODUCT_HEADS.get(key)
    if found is None:
        found = {c.code: _head_and_json(version, product, definition, c) for c in definition.cover_levels}
        if len(_PRODUCT_HEADS) >= _HEADS_LIMIT:
            _PRODUCT_HEADS.clear()
        _PRODUCT_HEADS[key] = found
    return found


def _head(
    version: TariffVersion, product: CarrierProduct, definition: TariffDefinition, cover: CoverLevel
) -> dict[str, Any]:
    return _head_and_json(version, product, definition, cover)[0]


def _offer(
    version: TariffVersion,
    product: CarrierProduct,
    definition: TariffDefinition,
    cover_code: str,
    risk: Risk,
    taxes: Sequence[ReceiptTax],
    on: date,
    rated: Priced | Ineligible | None = None,
) -> OfferOut:
    """One offer; ``rated`` is the rating when the caller already has it (a comparison rates every
    cover level of a product at once)."""
    cover = definition.cover(cover_code)
    if cover is None:
        raise field_error(
            "cover_level",
            f"product {product.code!r} has no cover level {cover_code!r} "
            f"(it has {', '.join(c.code for c in definition.cover_levels)})",
        )
    if rated is not None:
        result = rated
    else:
        try:
            result = rate(definition, cover_code, risk, taxes=taxes, on=on)
        except RatingError as exc:
            raise field_error(exc.field, exc.message) from None
    head = _head(version, product, definition, cover)
    # Every field is given: model_construct would look each default factory's signature up again.
    # In OfferOut's field order: the serialiser writes an unvalidated instance's fields in that order.
    if isinstance(result, Ineligible):
        return _built(
            OfferOut,
            {
                **head,
                **_ineligible_fields(result),
                "lines": [],
                "source": "rated",
            },
        )
    return _built(
        OfferOut,
        {
            **head,
            "eligible": True,
            "reasons": [],
            "zone": result.zone,
            "net_premium": result.net_premium,
            "compulsory_rc_premium": result.compulsory_rc_premium,
            "taxes": [_built(TaxOut, t.__dict__) for t in result.taxes],
            "total": result.total,
            "lines": [_built(LineOut, line.__dict__) for line in result.lines],
            "source": "rated",
        },
    )


async def calculate(
    session: AsyncSession, *, rt: Runtime, data: CalculateRequest, actor: uuid.UUID | None
) -> CalculationOut:
    """One product, one cover level, one risk -> the explained premium (or why it is refused)."""
    on = data.effective_date or today()
    found, taxes = await tariffs.in_force_and_taxes(session, on=on, product_code=data.product_code)
    if not found:
        if await tariffs.product_exists(session, data.product_code):
            raise field_error(
                "effective_date", f"no tariff of {data.product_code!r} is in force on {on.isoformat()}"
            )
        raise field_error("product_code", f"no product {data.product_code!r}")
    version, product, definition = found[0]
    if data.risk.line != product.line:
        raise field_error(
            "risk.line", f"product {product.code!r} insures {product.line}, not {data.risk.line}"
        )
    offer = _offer(
        version,
        product,
        definition,
        data.cover_level,
        data.risk.fields(),
        taxes,
        on,
    )
    row = Calculation(
        kind="calculation",
        line=product.line,
        product_code=product.code,
        tariff_version_id=version.id,
        priced_on=on,
        request=data.model_dump(mode="json"),
        result=offer.model_dump(mode="json"),
        total=offer.total,
        customer_id=data.customer_id,
        created_by=actor,
    )
    await repository.add(session, row)
    await rt.outbox.publish(session, events.calculated(row, [offer]), key=str(row.id))
    return CalculationOut(
        id=row.id, priced_on=on, created_at=row.created_at, request=row.request, offer=offer
    )


def _standing(
    offers: Sequence[Any],
) -> tuple[list[tuple[Decimal, Any]], list[str], dict[str, dict[str, bool]], Recommendation | None]:
    """The eligible offers in ranking order with their value scores, every guarantee compared, the
    cover matrix and the recommendation. Reads an offer's ``eligible``, ``total``, ``product_code``,
    ``carrier`` and ``cover`` only: an :class:`OfferOut` or a comparison's :class:`_Rated` alike."""
    eligible = [o for o in offers if o.eligible and o.total is not None]
    every_cover = sorted({c for o in eligible for c in o.cover.covers})
    narrowest = min((len(o.cover.covers) for o in eligible), default=0)
    scored = []
    for offer in eligible:
        extra = len(offer.cover.covers) - narrowest
        score = offer.total + DEDUCTIBLE_WEIGHT * offer.cover.deductible - GUARANTEE_VALUE * extra
        scored.append(
            (score.quantize(Decimal("0.01")), offer.total, offer.product_code, offer.cover.code, offer)
        )
    scored.sort(key=lambda s: (s[0], s[1], s[2], s[3]))
    order = [(score, offer) for score, _, _, _, offer in scored]
    columns = [(f"{o.product_code}/{o.cover.code}", frozenset(o.cover.covers)) for o in eligible]
    matrix = {c: {column: c in covered for column, covered in columns} for c in every_cover}
    if not order:
        return order, every_cover, matrix, None
    best_score, best = order[0]
    cheapest = order[min(range(len(order)), key=lambda i: (order[i][1].total, i))][1]
    why = (
        f"{best.carrier} {best.cover.name}: {best.total} € a year for {len(best.cover.covers)} guarantees "
        f"with a {best.cover.deductible} € deductible — the best value score ({best_score}: the total, "
        f"plus {DEDUCTIBLE_WEIGHT * 100:.0f} % of the deductible, minus {GUARANTEE_VALUE} € per guarantee "
        f"beyond the narrowest offer)."
    )
    if cheapest.product_code != best.product_code or cheapest.cover.code != best.cover.code:
        lacking = [c for c in best.cover.covers if c not in cheapest.cover.covers]
        why += (
            f" The cheapest, {cheapest.carrier} {cheapest.cover.name} at {cheapest.total} €, costs "
            f"{best.total - cheapest.total} € less"
            + (f" but lacks {', '.join(lacking)}" if lacking else "")
            + (
                f" and has a {cheapest.cover.deductible} € deductible"
                if cheapest.cover.deductible > best.cover.deductible
                else ""
            )
            + "."
        )
    else:
        why += " It is also the cheapest."
    recommendation = Recommendation.model_construct(
        product_code=best.product_code,
        carrier=best.carrier,
        cover_level=best.cover.code,
        total=best.total,
        why=why,
    )
    return order, every_cover, matrix, recommendation


def _rank(
    offers: list[OfferOut],
) -> tuple[list[RankedOffer], Recommendation | None, dict[str, dict[str, bool]]]:
    order, every_cover, matrix, recommendation = _standing(offers)
    ranked = [
        _built(
            RankedOffer,
            {
                **offer.__dict__,
                "rank": i,
                "score": score,
                "missing_covers": [c for c in every_cover if c not in offer.cover.covers],
            },
        )
        for i, (score, offer) in enumerate(order, start=1)
    ]
    return ranked, recommendation, matrix


def _dump(fields: dict[str, Any], include: set[str], *, explain: bool = True) -> dict[str, Any]:
    """These fields of a ComparisonOut in their JSON form (pydantic's serialisation, unvalidated);
    without ``explain`` the offers are summarised (ComparisonSummaryOut: no lines, tax amounts)."""
    every = {"kind": "comparison", "observed": [], **fields}  # no default factory to look up
    return ComparisonOut.model_construct(**every).model_dump(
        mode="json", include=include, exclude=None if explain else SUMMARY_EXCLUDE
    )


class _Rated:
    """One rated offer of a comparison as plain data: what its JSON answer, its stored pin, the
    ranking and the ``quote.calculated`` event read (no pydantic model per offer)."""

    __slots__ = (
        "carrier",
        "cover",
        "eligible",
        "head_json",
        "net_premium",
        "product_code",
        "rank",
        "result",
        "tariff",
        "total",
    )  # fmt: skip

    def __init__(self, head: dict[str, Any], head_json: bytes, result: Priced | Ineligible) -> None:
        self.product_code: str = head["product_code"]
        self.carrier: str = head["carrier"]
        self.cover: CoverOut = head["cover"]
        self.tariff: Pin = head["tariff"]
        self.head_json = head_json
        self.result = result
        self.total: Decimal | None
        self.net_premium: Decimal | None
        if isinstance(result, Priced):
            self.eligible, self.total, self.net_premium = True, result.total, result.net_premium
        else:
            self.eligible, self.total, self.net_premium = False, None, None
        self.rank: int | None = None


def _line_json(line: Line) -> dict[str, Any]:
    """LineOut's JSON form of an explanation line."""
    return {
        "step": line.step,
        "kind": line.kind,
        "table": line.table,
        "row": line.row,
        "input": line.input,
        "factor": None if line.factor is None else str(line.factor),
        "amount": str(line.amount),
        "running_total": str(line.running_total),
        "note": line.note,
    }


def _ineligible_fields(result: Ineligible) -> dict[str, Any]:
    """An ineligible offer's figures, in the offer models' field order: the reasons, no price."""
    return {
        "eligible": False,
        "reasons": list(result.reasons),
        "zone": None,
        "net_premium": None,
        "compulsory_rc_premium": None,
        "taxes": [],
        "total": None,
    }


def _offer_json(
    offer: _Rated, *, explain: bool, ranked: tuple[int, Decimal, list[str]] | None = None
) -> orjson.Fragment:
    """The offer's JSON as ``OfferOut``/``RankedOffer`` (``explain``) or ``OfferSummaryOut``/
    ``RankedOfferSummaryOut`` serialise it — the same members in the same order, money as its
    decimal string — written from the rating's own figures."""
    result = offer.result
    tail: dict[str, Any]
    if isinstance(result, Ineligible):
        tail = _ineligible_fields(result)
        if explain:
            tail["lines"] = []
    else:
        tail = {
            "eligible": True,
            "reasons": [],
            "zone": result.zone,
            "net_premium": str(result.net_premium),
            "compulsory_rc_premium": str(result.compulsory_rc_premium),
            "taxes": [
                {
                    "code": t.code,
                    "name": t.name,
                    "base": str(t.base),
                    "amount": str(t.amount),
                    "legal_reference": t.legal_reference,
                }
                for t in result.taxes
            ]
            if explain
            else [{"code": t.code, "base": str(t.base), "amount": str(t.amount)} for t in result.taxes],
            "total": str(result.total),
        }
        if explain:
            tail["lines"] = [_line_json(line) for line in result.lines]
    tail["source"] = "rated"
    if ranked is not None:
        rank, score, missing = ranked
        tail["rank"] = rank
        tail["score"] = str(score)
        tail["missing_covers"] = missing
    return orjson.Fragment(b"{" + offer.head_json + b"," + orjson.dumps(tail)[1:])


_DATETIME = TypeAdapter(datetime)


async def compare(
    session: AsyncSession,
    *,
    rt: Runtime,
    data: CompareRequest,
    actor: uuid.UUID | None,
    crm_request_id: uuid.UUID | None = None,
    explain: bool = False,
) -> ComparisonAnswer:
    """Every product of the risk's line in force, at each cover level asked for: ranked, with the
    figures of each offer and, when ``explain``, each offer's explanation lines. Stored as the pins
    and totals (:func:`_pinned`), from which a read rates the explanation again.

    The answer is written as ``ComparisonSummaryOut`` (``ComparisonOut`` when ``explain``)
    serialises, straight from the rating's figures (``test_comparison_bytes`` holds it to the
    goldens); the stored row, its event (its JSON written from the same figures) and the read of
    the observed prices are one statement — served over HTTP, two round trips in all (the tariffs'
    generation, then that statement, each its own transaction: ``statement_driver``)."""
    on = data.effective_date or today()
    products, taxes = await tariffs.in_force_and_taxes(session, on=on, line=data.risk.line)
    if data.carriers:
        wanted = {c.lower() for c in data.carriers}
        products = [p for p in products if p[1].carrier.lower() in wanted]
        if not products:
            raise field_error(
                "carriers", f"no {data.risk.line} product of these carriers is in force on {on}"
            )
    if not products:
        raise field_error("effective_date", f"no {data.risk.line} tariff is in force on {on.isoformat()}")
    if data.cover_levels:
        known = {c.code for _, _, d in products for c in d.cover_levels}
        unknown = [c for c in data.cover_levels if c not in known]
        if unknown:
            raise field_error(
                "cover_levels", f"no product offers {', '.join(unknown)} (known: {', '.join(sorted(known))})"
            )
    risk = data.risk.fields()
    offers: list[_Rated] = []
    for version, product, definition in products:
        covers = [c for c in definition.cover_levels if not data.cover_levels or c.code in data.cover_levels]
        try:  # the risk is matched against the product's tables once for all its cover levels
            results = rate_covers(
                definition, [c.code for c in covers], risk, taxes=taxes, on=on, explain=explain
            )
        except RatingError as exc:
            raise field_error(exc.field, exc.message) from None
        heads = _heads_of(version, product, definition)
        for cover, rated in zip(covers, results, strict=True):
            offers.append(_Rated(*heads[cover.code], rated))
    order, every_cover, matrix, recommendation = _standing(offers)
    ranked: list[_Rated] = []
    answered: list[orjson.Fragment] = []
    for rank, (score, offer) in enumerate(order, start=1):
        offer.rank = rank
        ranked.append(offer)
        missing = [c for c in every_cover if c not in offer.cover.covers]
        answered.append(_offer_json(offer, explain=explain, ranked=(rank, score, missing)))
    ineligible = [o for o in offers if not o.eligible]
    recommended = (
        None
        if recommendation is None
        else {
            "product_code": recommendation.product_code,
            "carrier": recommendation.carrier,
            "cover_level": recommendation.cover_level,
            "total": str(recommendation.total),
            "why": recommendation.why,
        }
    )
    request = data.model_dump(mode="json")
    row = Calculation(
        id=uuid.uuid4(),
        kind="comparison",
        line=data.risk.line,
        priced_on=on,
        request=request,
        result=_pinned(ranked, ineligible, recommended),
        total=recommendation.total if recommendation else None,
        customer_id=data.customer_id,
        crm_request_id=crm_request_id,
        created_at=utcnow(),
        created_by=actor,
    )
    event = events.calculated_json(
        row,
        [*ranked, *ineligible],
        (recommendation.product_code, recommendation.cover_level) if recommendation else None,
    )
    now = utcnow()
    rows = await repository.store_comparison(
        session, rt.outbox, row, event, observed_since=observed.since(now)
    )
    found = observed.placed(
        rows,
        comparison_id=row.id,
        risk=request.get("risk") or {},
        offers=[{"eligible": True, "carrier": o.carrier, "total": o.total} for o in ranked],
        now=now,
    )
    body = orjson.dumps(
        {
            "id": str(row.id),
            "kind": "comparison",
            "priced_on": on.isoformat(),
            "created_at": _DATETIME.dump_python(row.created_at, mode="json"),
            "request": request,
            "offers": answered,
            "ineligible": [_offer_json(o, explain=explain) for o in ineligible],
            "cover_matrix": matrix,
            "recommendation": recommended,
            "observed": [o.model_dump(mode="json") for o in found],
        }
    )
    return ComparisonAnswer(id=row.id, body=body, recommended=recommended is not None)


def _pin(offer: OfferOut | _Rated) -> dict[str, Any]:
    pin: dict[str, Any] = {
        "product_code": offer.product_code,
        "cover_level": offer.cover.code,
        "tariff_version_id": str(offer.tariff.tariff_version_id),
        "digest": offer.tariff.digest,
    }
    if offer.eligible:
        pin["total"] = str(offer.total)
    return pin


def _pinned(
    ranked: Sequence[OfferOut | _Rated],
    ineligible: Sequence[OfferOut | _Rated],
    recommendation: dict[str, Any] | None,
) -> dict[str, Any]:
    """A comparison as stored: each offer's pinned tariff version and total, in ranking order, and
    the recommendation — the explanation is re-rated from these on read (:func:`_rebuilt`)."""
    return {
        "format": PINNED,
        "offers": [_pin(o) for o in ranked],
        "ineligible": [_pin(o) for o in ineligible],
        "recommendation": recommendation,
    }


class StoredQuoteMismatch(AppError):
    """A stored comparison no longer re-rates to the figures it answered: never shown altered."""

    status, slug, title = 500, "stored-quote-mismatch", "Stored quote does not re-rate to its figures"


async def _rebuilt(session: AsyncSession, row: Calculation, *, explain: bool = True) -> ComparisonOut:
    """A stored comparison as it was answered: a compactly stored one is rated again under the
    tariff versions it pinned, the receipt taxes of its date and its risk (the engine is pure and a
    stored version never changes), and must give the stored ranking and totals to the cent."""
    stored = row.result
    if stored.get("format") != PINNED:  # stored in full before comparisons were stored compactly
        out = ComparisonOut(
            id=row.id, priced_on=row.priced_on, created_at=row.created_at, request=row.request, **stored
        )
        if not explain:
            for offer in [*out.offers, *out.ineligible]:
                offer.lines = []
        return out
    pins = [*stored["offers"], *stored["ineligible"]]
    versions = await tariffs.versions_by_id(session, {uuid.UUID(p["tariff_version_id"]) for p in pins})
    request = CompareRequest.model_validate(row.request)
    risk = request.risk.fields()
    taxes = await tariffs.receipt_taxes(session)
    wanted: dict[uuid.UUID, set[str]] = {}
    for pin in pins:
        version_id = uuid.UUID(pin["tariff_version_id"])
        found = versions.get(version_id)
        if found is None or found[0].digest != pin["digest"]:
            raise StoredQuoteMismatch(
                f"Comparison {row.id}: tariff version {version_id} of {pin['product_code']!r} is "
                "missing or no longer the document it was priced with."
            )
        wanted.setdefault(version_id, set()).add(pin["cover_level"])
    offers: list[OfferOut] = []
    # The order the comparison rated them in: products by code, each one's cover levels in order.
    for version_id in sorted(wanted, key=lambda v: versions[v][1].code):
        version, product = versions[version_id]
        definition = tariffs.definition_of(version)
        codes = [c.code for c in definition.cover_levels if c.code in wanted[version_id]]
        try:
            results = rate_covers(definition, codes, risk, taxes=taxes, on=row.priced_on, explain=explain)
        except RatingError as exc:
            raise StoredQuoteMismatch(f"Comparison {row.id} no longer rates: {exc}.") from None
        for code, rated in zip(codes, results, strict=True):
            offers.append(_offer(version, product, definition, code, risk, taxes, row.priced_on, rated))
    ranked, recommendation, matrix = _rank(offers)
    ineligible = [o for o in offers if not o.eligible]
    again = _pinned(
        ranked, ineligible, _dump({"recommendation": recommendation}, {"recommendation"})["recommendation"]
    )
    if again != stored:
        raise StoredQuoteMismatch(
            f"Comparison {row.id} re-rated under its pinned tariff versions on {row.priced_on} does not "
            "give its stored ranking and totals; it is not shown altered."
        )
    return ComparisonOut.model_construct(
        id=row.id,
        kind="comparison",
        priced_on=row.priced_on,
        created_at=row.created_at,
        request=row.request,
        offers=ranked,
        ineligible=ineligible,
        cover_matrix=matrix,
        recommendation=recommendation,
        observed=[],
    )


async def _stored(session: AsyncSession, calculation_id: uuid.UUID) -> Calculation:
    row = await repository.get(session, calculation_id)
    if row is None:
        raise NotFound("No such quote calculation.")
    return row


def _calculation_out(row: Calculation) -> CalculationOut:
    return CalculationOut(
        id=row.id,
        priced_on=row.priced_on,
        created_at=row.created_at,
        request=row.request,
        offer=OfferOut.model_validate(row.result),
    )


async def stored_out(
    session: AsyncSession, row: Calculation, *, explain: bool = True
) -> CalculationOut | ComparisonOut:
    if row.kind == "calculation":
        return _calculation_out(row)
    return await _rebuilt(session, row, explain=explain)


async def get(
    session: AsyncSession, *, calculation_id: uuid.UUID, explain: bool = True
) -> CalculationOut | ComparisonOut:
    """A stored calculation or comparison, as it was priced (with its explanation unless not
    ``explain``); a comparison with the carriers' observed prices (as of now) beside it."""
    row = await _stored(session, calculation_id)
    out = await stored_out(session, row, explain=explain)
    if isinstance(out, ComparisonOut):
        out.observed = await observed.beside(
            session,
            comparison_id=row.id,
            request=row.request,
            offers=[{"eligible": o.eligible, "carrier": o.carrier, "total": o.total} for o in out.offers],
        )
    return out


async def offer(session: AsyncSession, *, calculation_id: uuid.UUID, n: int) -> OfferOut:
    """One offer of a stored quote with its explanation: the calculation's only offer (``n`` = 1),
    or a comparison's offer ranked ``n``."""
    row = await _stored(session, calculation_id)
    if row.kind == "calculation":
        offers: Sequence[OfferOut] = [_calculation_out(row).offer]
    else:
        offers = (await _rebuilt(session, row)).offers
    if not 1 <= n <= len(offers):
        raise NotFound(f"This quote has {len(offers)} ranked offer(s); there is no offer {n}.")
    return offers[n - 1]


async def reprice(session: AsyncSession, *, calculation_id: uuid.UUID) -> RepricedOut:
    """Price a stored calculation again under its pinned tariff version and the taxes of its date."""
    row = await _stored(session, calculation_id)
    if row.kind != "calculation" or row.tariff_version_id is None:
        raise Conflict("Only a calculation can be re-priced; re-run the comparison instead.")
    version, product = await tariffs.get_version(session, row.tariff_version_id)
    request = CalculateRequest.model_validate(row.request)
    offer = _offer(
        version,
        product,
        tariffs.definition_of(version),
        request.cover_level,
        request.risk.fields(),
        await tariffs.receipt_taxes(session),
        row.priced_on,
    )
    return RepricedOut(
        calculation_id=row.id,
        priced_on=row.priced_on,
        original_total=row.total,
        repriced_total=offer.total,
        unchanged=offer.total == row.total,
        offer=offer,
    )


async def dry_run(session: AsyncSession, *, version_id: uuid.UUID, sample: int) -> DryRunOut:
    """Re-price the product's most recent calculations under a candidate version; report the changes."""
    version, product = await tariffs.get_version(session, version_id)
    definition = tariffs.definition_of(version)
    taxes = await tariffs.receipt_taxes(session)
    changes: list[Decimal] = []
    examples: list[dict[str, Any]] = []
    sampled = newly_ineligible = 0
    for row in await repository.recent_for_product(session, product.code, limit=sample):
        request = CalculateRequest.model_validate(row.request)
        if row.total is None or definition.cover(request.cover_level) is None:
            continue
        on = max(row.priced_on, version.effective_from)
        try:
            result = rate(definition, request.cover_level, request.risk.fields(), taxes=taxes, on=on)
        except RatingError:
            continue
        sampled += 1
        if isinstance(result, Ineligible):
            newly_ineligible += 1
            continue
        delta = result.total - row.total
        changes.append(delta)
        if delta and len(examples) < 10:
            examples.append(
                {"calculation_id": str(row.id), "old_total": str(row.total), "new_total": str(result.total)}
            )
    moved = [d for d in changes if d]
    return DryRunOut(
        tariff_version_id=version.id,
        product_code=product.code,
        sampled=sampled,
        changed=len(moved) + newly_ineligible,
        increased=sum(1 for d in moved if d > 0),
        decreased=sum(1 for d in moved if d < 0),
        newly_ineligible=newly_ineligible,
        mean_change=(sum(changes, Decimal(0)) / len(changes)).quantize(Decimal("0.01"))
        if changes
        else Decimal("0.00"),
        max_increase=max((d for d in moved if d > 0), default=Decimal("0.00")),
        max_decrease=min((d for d in moved if d < 0), default=Decimal("0.00")),
        examples=examples,
    )


async def price_crm_request(session: AsyncSession, *, rt: Runtime, data: QuotePricingRequested) -> None:
    """Answer the CRM's pricing request: a comparison (``quote.calculated``) or why not
    (``quote.pricing_failed``). A request answered before (same request id) is not priced again."""
    if await repository.by_crm_request(session, data.request_id) is not None:
        return
    try:
        request = CompareRequest.model_validate(
            {
                "risk": {**data.risk, "line": data.quote_type},
                "cover_levels": data.cover_levels,
                "carriers": data.carriers,
                "effective_date": data.effective_date,
                "customer_id": data.customer_id,
            }
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        await _refuse(session, rt, data, f"{where}: {first.get('msg', 'invalid value')}")
        return
    try:
        async with session.begin_nested():
            result = await compare(
                session, rt=rt, data=request, actor=data.requested_by, crm_request_id=data.request_id
            )
    except AppError as exc:
        await _refuse(session, rt, data, exc.detail)
        return
    if not result.recommended:
        await _refuse(session, rt, data, "no product is eligible for this risk")


async def _refuse(session: AsyncSession, rt: Runtime, data: QuotePricingRequested, reason: str) -> None:
    await rt.outbox.publish(session, events.pricing_failed(data, reason), key=str(data.request_id))


async def latest_comparison(
    session: AsyncSession, *, customer_id: uuid.UUID, line: str
) -> ComparisonOut | None:
    """The customer's most recent comparison of ``line``, as priced (None when there is none)."""
    row = await repository.latest_comparison(session, customer_id, line)
    out = await stored_out(session, row, explain=False) if row is not None else None
    return out if isinstance(out, ComparisonOut) else None
