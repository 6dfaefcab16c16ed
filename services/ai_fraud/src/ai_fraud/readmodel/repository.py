"""Every query on the read model and the identifier index."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Text, and_, bindparam, cast, delete, func, literal, select, text, tuple_
from sqlalchemy.dialects.postgresql import ARRAY, UUID, insert
from sqlalchemy.ext.asyncio import AsyncSession

from ai_fraud.readmodel.models import FraudClaim, FraudCustomer, FraudPolicy, Identifier
from aintech_contracts.statuses import FINAL_CLAIM_STATUSES


async def upsert(session: AsyncSession, model: type[Any], values: dict[str, Any]) -> None:
    statement = insert(model).values(**values)
    updates = {k: statement.excluded[k] for k in values if k != "id"}
    await session.execute(statement.on_conflict_do_update(index_elements=["id"], set_=updates))


async def customer(session: AsyncSession, customer_id: uuid.UUID) -> FraudCustomer | None:
    return await session.get(FraudCustomer, customer_id)


async def policy(session: AsyncSession, policy_id: uuid.UUID) -> FraudPolicy | None:
    return await session.get(FraudPolicy, policy_id)


async def claim(session: AsyncSession, claim_id: uuid.UUID) -> FraudClaim | None:
    return await session.get(FraudClaim, claim_id)


def _policy_lock(policy_id: Any) -> Any:
    """The transaction-scoped advisory lock of a policy id (a SQL uuid expression or value)."""
    key = func.hashtextextended(literal("fraud.policy:") + cast(policy_id, Text), 0)
    return func.pg_advisory_xact_lock(key)


async def lock_policy(session: AsyncSession, policy_id: uuid.UUID) -> None:
    """Serialise, per policy, the policy's arrival with the scoring of its claims (transaction-scoped):
    whichever commits second sees the other's rows, so no claim is left scored without its policy."""
    await session.execute(select(_policy_lock(literal(policy_id, type_=UUID(as_uuid=True)))))


async def lock_policy_of_claim(session: AsyncSession, claim_id: uuid.UUID) -> None:
    """The same lock, on the policy of a saved claim (one round trip)."""
    await session.execute(select(_policy_lock(FraudClaim.policy_id)).where(FraudClaim.id == claim_id))


async def claim_with_policy_and_customer(session: AsyncSession, claim_id: uuid.UUID) -> FraudClaim | None:
    """The claim, and its policy and customer loaded into the session with it (one round trip)."""
    query = (
        select(FraudClaim, FraudPolicy, FraudCustomer)
        .outerjoin(FraudPolicy, FraudPolicy.id == FraudClaim.policy_id)
        .outerjoin(FraudCustomer, FraudCustomer.id == FraudClaim.customer_id)
        .where(FraudClaim.id == claim_id)
    )
    row = (await session.execute(query)).first()
    return None if row is None else row[0]


async def open_claims_of_policy(session: AsyncSession, policy_id: uuid.UUID) -> list[uuid.UUID]:
    """The policy's claims not yet closed (denied or paid), oldest first."""
    query = (
        select(FraudClaim.id)
        .where(FraudClaim.policy_id == policy_id, FraudClaim.status.not_in(sorted(FINAL_CLAIM_STATUSES)))
        .order_by(FraudClaim.reported_at, FraudClaim.id)
    )
    return list((await session.scalars(query)).all())


async def claims_between(
    session: AsyncSession,
    *,
    customer_id: uuid.UUID,
    start: datetime,
    end: datetime,
    exclude: uuid.UUID | None,
) -> int:
    query = select(func.count()).where(
        FraudClaim.customer_id == customer_id,
        FraudClaim.incident_date >= start,
        FraudClaim.incident_date <= end,
    )
    if exclude is not None:
        query = query.where(FraudClaim.id != exclude)
    return int(await session.scalar(query) or 0)


async def replace_identifiers(
    session: AsyncSession,
    *,
    owner_kind: str,
    owner_id: uuid.UUID,
    customer_id: uuid.UUID,
    identifiers: Iterable[tuple[str, str]],
) -> None:
    await session.execute(delete(Identifier).where(Identifier.owner_id == owner_id))
    rows = [
        {
            "owner_kind": owner_kind,
            "owner_id": owner_id,
            "customer_id": customer_id,
            "kind": k,
            "value": v[:400],
        }
        for k, v in sorted(set(identifiers))
    ]
    if rows:
        await session.execute(insert(Identifier).values(rows).on_conflict_do_nothing())


async def identifier_hints(
    session: AsyncSession, customer_ids: Sequence[uuid.UUID]
) -> dict[tuple[str, str], str]:
    """``(kind, digest) -> last characters`` of the customers' DNI and IBAN digests."""
    query = select(
        FraudCustomer.dni_digest, FraudCustomer.dni_last3, FraudCustomer.iban_digest, FraudCustomer.iban_last4
    ).where(FraudCustomer.id.in_(customer_ids))
    hints: dict[tuple[str, str], str] = {}
    for dni, dni_last, iban, iban_last in (await session.execute(query)).all():
        if dni and dni_last:
            hints[("dni", dni)] = dni_last
        if iban and iban_last:
            hints[("iban", iban)] = iban_last
    return hints


async def identifiers_of_customers(session: AsyncSession, customer_ids: Sequence[uuid.UUID]) -> Sequence[Any]:
    query = select(
        Identifier.customer_id, Identifier.owner_kind, Identifier.owner_id, Identifier.kind, Identifier.value
    )
    return (await session.execute(query.where(Identifier.customer_id.in_(customer_ids)))).all()


async def sharing(
    session: AsyncSession, values: Sequence[tuple[str, str]], *, max_share: int
) -> tuple[Sequence[Any], dict[tuple[str, str], int]]:
    """Rows holding any of ``values``, and how many customers share each value. Values held by
    more than ``max_share`` customers come back counted but without their rows."""
    if not values:
        return [], {}
    pairs = tuple_(Identifier.kind, Identifier.value).in_(list(values))
    counts_query = (
        select(
            Identifier.kind,
            Identifier.value,
            func.count(func.distinct(Identifier.customer_id)).label("holders"),
        )
        .where(pairs)
        .group_by(Identifier.kind, Identifier.value)
        .cte("holders")
    )
    # One round trip: each value's holder count, and the rows of the values not too common.
    query = (
        select(
            counts_query.c.kind,
            counts_query.c.value,
            counts_query.c.holders,
            Identifier.customer_id,
            Identifier.owner_kind,
            Identifier.owner_id,
        )
        .select_from(counts_query)
        .outerjoin(
            Identifier,
            and_(
                Identifier.kind == counts_query.c.kind,
                Identifier.value == counts_query.c.value,
                counts_query.c.holders <= max_share,
            ),
        )
    )
    counts: dict[tuple[str, str], int] = {}
    rows = []
    for kind, value, holders, customer_id, owner_kind, owner_id in (await session.execute(query)).all():
        counts[(kind, value)] = int(holders)
        if customer_id is not None:
            rows.append((customer_id, owner_kind, owner_id, kind, value))
    return rows, counts


# A ring search's next hop in one round trip: the frontier customers' identifier rows, and for
# those of their values not seen yet (``fresh``), how many customers hold each and — for values
# held by at most ``max_share`` — the rows holding them (what ``identifiers_of_customers`` then
# ``sharing`` return, in two statements).
_IDENTIFIERS = Identifier.__table__.fullname  # type: ignore[attr-defined]  # a Table
_NEXT_HOP = text(
    f"""
WITH own AS (
    SELECT customer_id, owner_kind, owner_id, kind, value FROM {_IDENTIFIERS}
    WHERE customer_id = ANY(:customers)
), seen AS (
    SELECT * FROM unnest(CAST(:seen_kinds AS text[]), CAST(:seen_values AS text[])) AS s (kind, value)
), fresh AS (
    SELECT DISTINCT o.kind, o.value FROM own o
    WHERE NOT EXISTS (SELECT 1 FROM seen s WHERE s.kind = o.kind AND s.value = o.value)
), holders AS (
    SELECT i.kind, i.value, count(DISTINCT i.customer_id) AS holders
    FROM fresh f JOIN {_IDENTIFIERS} i ON i.kind = f.kind AND i.value = f.value
    GROUP BY i.kind, i.value
)
SELECT false AS shared, customer_id, owner_kind, owner_id, kind, value, NULL::bigint AS holders FROM own
UNION ALL
SELECT true, i.customer_id, i.owner_kind, i.owner_id, h.kind, h.value, h.holders
FROM holders h LEFT JOIN {_IDENTIFIERS} i
    ON i.kind = h.kind AND i.value = h.value AND h.holders <= :max_share
"""  # noqa: S608 - built from the table's name only, never input
).bindparams(
    bindparam("customers", type_=ARRAY(UUID(as_uuid=True))),
    bindparam("seen_kinds", type_=ARRAY(Text)),
    bindparam("seen_values", type_=ARRAY(Text)),
)


async def next_hop(
    session: AsyncSession,
    customer_ids: Sequence[uuid.UUID],
    seen: Iterable[tuple[str, str]],
    *,
    max_share: int,
) -> tuple[Sequence[Any], Sequence[Any], dict[tuple[str, str], int]]:
    """``identifiers_of_customers(customer_ids)`` and ``sharing`` of their values not in ``seen``,
    in one statement: (the customers' rows, the sharing rows, each fresh value's holder count)."""
    seen = list(seen)
    result = await session.execute(
        _NEXT_HOP,
        {
            "customers": list(customer_ids),
            "seen_kinds": [kind for kind, _ in seen],
            "seen_values": [value for _, value in seen],
            "max_share": max_share,
        },
    )
    own, shared = [], []
    counts: dict[tuple[str, str], int] = {}
    for is_shared, customer_id, owner_kind, owner_id, kind, value, holders in result.all():
        if not is_shared:
            own.append((customer_id, owner_kind, owner_id, kind, value))
            continue
        counts[(kind, value)] = int(holders)
        if customer_id is not None:
            shared.append((customer_id, owner_kind, owner_id, kind, value))
    return own, shared, counts


async def claims_of_customers(
    session: AsyncSession, customer_ids: Sequence[uuid.UUID]
) -> Sequence[FraudClaim]:
    return (await session.scalars(select(FraudClaim).where(FraudClaim.customer_id.in_(customer_ids)))).all()
