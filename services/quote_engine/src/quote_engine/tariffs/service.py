"""Tariff rules: import (validated, sex refused), versions, activation, retirement, roll back."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Collection
from datetime import date
from typing import Any

import orjson
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from aintech_shared.errors import Conflict, NotFound, UnprocessableEntity
from quote_engine.core.base import utcnow
from quote_engine.core.runtime import Runtime
from quote_engine.rating.tariff import (
    TEST_ACHATS_REASON,
    BandError,
    ReceiptTax,
    SexFactorRefused,
    TariffDefinition,
    audit,
)
from quote_engine.tariffs import events, repository
from quote_engine.tariffs.models import CarrierProduct, TariffStatus, TariffVersion

_DEFINITIONS: dict[tuple[uuid.UUID, str], TariffDefinition] = {}
_CACHE_LIMIT = 1024


def field_error(field: str, message: str, *, detail: str | None = None) -> UnprocessableEntity:
    return UnprocessableEntity(
        detail or f"{field}: {message}",
        errors=[{"location": "body", "field": field, "message": message, "type": "value_error"}],
    )


def check_rules(definition: TariffDefinition, *, where: str = "body") -> None:
    """Refuse a tariff reading the insured's sex (Test-Achats) or with a gap or overlap in a band."""
    try:
        audit(definition)
    except SexFactorRefused as exc:
        raise UnprocessableEntity(
            f"Tariff refused: {exc}.",
            errors=[
                {"location": where, "field": exc.where, "message": TEST_ACHATS_REASON, "type": "sex_factor"}
            ],
        ) from None
    except BandError as exc:
        index = next(i for i, f in enumerate(definition.factors) if f.name == exc.table)
        raise UnprocessableEntity(
            f"Tariff refused: {exc}.",
            errors=[
                {
                    "location": where,
                    "field": f"factors.{index}.bands.{row - 1}",
                    "message": str(exc),
                    "type": "band_gap_or_overlap",
                }
                for row in sorted(set(exc.rows))
            ],
        ) from None


def parse_definition(data: Any, *, where: str = "body") -> TariffDefinition:
    """Validate a tariff document; every problem names its field (the Test-Achats refusal says why)."""
    try:
        definition = TariffDefinition.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        fields = [
            {
                "location": where,
                "field": ".".join(str(p) for p in e.get("loc", ())),
                "message": e.get("msg", "invalid value"),
                "type": e.get("type", "value_error"),
            }
            for e in errors
        ]
        first = fields[0]
        raise UnprocessableEntity(
            f"Tariff refused: {first['field'] or 'document'}: {first['message']}", errors=fields
        ) from None
    check_rules(definition, where=where)
    return definition


def digest_of(definition: TariffDefinition) -> str:
    body = orjson.dumps(definition.model_dump(mode="json", by_alias=True), option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(body).hexdigest()


def definition_of(version: TariffVersion) -> TariffDefinition:
    """The version's tariff document, parsed once per process (versions are immutable)."""
    key = (version.id, version.digest)
    cached = _DEFINITIONS.get(key)
    if cached is None:
        cached = TariffDefinition.model_validate(version.definition)
        if len(_DEFINITIONS) >= _CACHE_LIMIT:
            _DEFINITIONS.clear()
        _DEFINITIONS[key] = cached
    return cached


async def import_tariff(
    session: AsyncSession, *, definition: TariffDefinition, source: str, actor: uuid.UUID | None
) -> tuple[TariffVersion, CarrierProduct]:
    """Store a validated tariff as the product's next draft version (creating the product)."""
    check_rules(definition)
    product = await repository.product_by_code(session, definition.product_code)
    if product is None:
        product = CarrierProduct(
            code=definition.product_code,
            carrier=definition.carrier,
            line=definition.line,
            name=definition.product_name,
        )
        await repository.add(session, product)
    elif product.line != definition.line or product.carrier.lower() != definition.carrier.lower():
        raise field_error(
            "product_code",
            f"product {product.code!r} is {product.carrier}'s {product.line} product; "
            f"this tariff says {definition.carrier}'s {definition.line}",
        )
    version = TariffVersion(
        product_id=product.id,
        version=await repository.next_version(session, product.id),
        status=TariffStatus.draft.value,
        effective_from=definition.effective_from,
        effective_to=definition.effective_to,
        definition=definition.model_dump(mode="json", by_alias=True),
        digest=digest_of(definition),
        source=source,
        created_by=actor,
    )
    await repository.add(session, version)
    return version, product


async def get_version(
    session: AsyncSession, version_id: uuid.UUID, *, for_update: bool = False
) -> tuple[TariffVersion, CarrierProduct]:
    """One tariff version with its product (404 otherwise)."""
    found = await repository.version(session, version_id, for_update=for_update)
    if found is None:
        raise NotFound("No such tariff version.")
    return found


async def versions_by_id(
    session: AsyncSession, version_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, tuple[TariffVersion, CarrierProduct]]:
    """These tariff versions with their products, by id (an unknown id is absent)."""
    return {v.id: (v, p) for v, p in await repository.versions(session, version_ids)}


async def activate(
    session: AsyncSession, *, rt: Runtime, version_id: uuid.UUID
) -> tuple[TariffVersion, CarrierProduct]:
    """draft -> active: quotes dated inside its validity are priced with it (highest version wins)."""
    version, product = await get_version(session, version_id, for_update=True)
    if version.status != TariffStatus.draft.value:
        raise Conflict(f"Only a draft can be activated; this version is {version.status}.")
    version.status = TariffStatus.active.value
    version.activated_at = utcnow()
    await repository.flush(session)
    await rt.outbox.publish(session, events.activated(version, product), key=str(product.id))
    return version, product


async def retire(
    session: AsyncSession, *, rt: Runtime, version_id: uuid.UUID
) -> tuple[TariffVersion, CarrierProduct]:
    """active -> retired: no new quote uses it; stored quotes keep their pinned version."""
    version, product = await get_version(session, version_id, for_update=True)
    if version.status != TariffStatus.active.value:
        raise Conflict(f"Only an active version can be retired; this version is {version.status}.")
    version.status = TariffStatus.retired.value
    version.retired_at = utcnow()
    await repository.flush(session)
    await rt.outbox.publish(session, events.retired(version, product), key=str(product.id))
    return version, product


async def roll_back(
    session: AsyncSession, *, rt: Runtime, version_id: uuid.UUID
) -> tuple[TariffVersion, CarrierProduct, list[int]]:
    """Make this version the product's newest active one again: later active versions are retired."""
    version, product = await get_version(session, version_id)
    if version.status == TariffStatus.draft.value:
        raise Conflict("A draft was never active: activate it instead.")
    retired: list[TariffVersion] = []
    now = utcnow()
    for other in await repository.versions_of(session, product.id, for_update=True):
        if other.version > version.version and other.status == TariffStatus.active.value:
            other.status = TariffStatus.retired.value
            other.retired_at = now
            retired.append(other)
    reactivated = version.status != TariffStatus.active.value
    if reactivated:
        version.status = TariffStatus.active.value
        version.activated_at = now
        version.retired_at = None
    await repository.flush(session)
    for other in retired:
        await rt.outbox.publish(session, events.retired(other, product), key=str(product.id))
    if reactivated:
        await rt.outbox.publish(session, events.activated(version, product), key=str(product.id))
    return version, product, [other.version for other in retired]


async def products(
    session: AsyncSession, *, line: str | None
) -> list[tuple[CarrierProduct, list[TariffVersion]]]:
    """Every product with its versions."""
    out = []
    for product in await repository.products(session, line=line):
        out.append((product, list(await repository.versions_of(session, product.id))))
    return out


InForce = list[tuple[TariffVersion, CarrierProduct, TariffDefinition]]

# The tariffs in force and the receipt taxes, kept per process under the generation they were read
# at (``quotes.tariff_generation``, moved by a trigger on every change to products, versions and
# taxes, from a sequence: never reused, even after a rollback). Only one generation is kept.
_CURRENT: dict[str, Any] = {"generation": None, "in_force": {}, "taxes": None}
_IN_FORCE_LIMIT = 4096


def _detached(version: TariffVersion, product: CarrierProduct) -> tuple[TariffVersion, CarrierProduct]:
    """Copies belonging to no session, safe to share between requests (a version's rating content
    never changes: the immutability trigger of migration 0006)."""
    return (
        TariffVersion(
            id=version.id,
            product_id=version.product_id,
            version=version.version,
            status=version.status,
            effective_from=version.effective_from,
            effective_to=version.effective_to,
            definition=version.definition,
            digest=version.digest,
        ),
        CarrierProduct(
            id=product.id, code=product.code, carrier=product.carrier, line=product.line, name=product.name
        ),
    )


async def in_force_and_taxes(
    session: AsyncSession, *, on: date, line: str | None = None, product_code: str | None = None
) -> tuple[InForce, list[ReceiptTax]]:
    """:func:`in_force` and :func:`receipt_taxes` at the cost of one small read while no tariff,
    product or tax has changed since this process last read them."""
    generation = await repository.generation(session)
    if generation is None:  # the counter row is gone (a table emptied): read everything
        return await in_force(session, on=on, line=line, product_code=product_code), await receipt_taxes(
            session
        )
    if _CURRENT["generation"] != generation:
        _CURRENT.update(generation=generation, in_force={}, taxes=None)
    key = (on, line, product_code)
    found: InForce | None = _CURRENT["in_force"].get(key)
    if found is None:
        found = [
            (*_detached(v, p), d)
            for v, p, d in await in_force(session, on=on, line=line, product_code=product_code)
        ]
        if len(_CURRENT["in_force"]) >= _IN_FORCE_LIMIT:
            _CURRENT["in_force"].clear()
        _CURRENT["in_force"][key] = found
    taxes: list[ReceiptTax] | None = _CURRENT["taxes"]
    if taxes is None:
        taxes = _CURRENT["taxes"] = await receipt_taxes(session)
    return list(found), taxes


async def in_force(
    session: AsyncSession, *, on: date, line: str | None = None, product_code: str | None = None
) -> InForce:
    """The tariff of each product in force on ``on`` (highest active version valid that day)."""
    rows = await repository.in_force(session, on=on, line=line, product_code=product_code)
    return [(v, p, definition_of(v)) for v, p in rows]


async def receipt_taxes(session: AsyncSession) -> list[ReceiptTax]:
    """Every receipt tax row (each applies only on the dates and lines it names)."""
    return [
        ReceiptTax(
            code=row.code,
            name=row.name,
            kind=row.kind,
            rate=row.rate,
            amounts=row.amounts,
            capital_field=row.capital_field,
            lines=tuple(row.lines),
            exempt_lines=tuple(row.exempt_lines),
            valid_from=row.valid_from,
            valid_to=row.valid_to,
            legal_reference=row.legal_reference,
        )
        for row in await repository.taxes(session)
    ]


async def product_exists(session: AsyncSession, code: str) -> bool:
    return await repository.product_by_code(session, code) is not None
