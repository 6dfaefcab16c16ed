"""Queries on customers and their audit trail."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    String,
    TextClause,
    bindparam,
    func,
    literal_column,
    or_,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from aintech_shared.db import LeanSelect
from core_crm.core.base import utcnow
from core_crm.customers.models import CLOSED_STATUSES, LIVE_WHERE, ContactChange, Customer, CustomerAudit

SORTS: dict[str, tuple[Any, bool]] = {
    "-created_at": (Customer.created_at, True),
    "created_at": (Customer.created_at, False),
    "last_name": (Customer.last_name, False),
    "-last_name": (Customer.last_name, True),
}


_TABLE = Customer.__table__
# What a customer view shows (every column but the search text and the bookkeeping of who changed
# the record and when it was deleted or erased), under the names of the response fields.
VIEW_COLUMNS = tuple(
    _TABLE.c[name]
    for name in (
        "id", "customer_type", "first_name", "last_name", "email", "phone", "mobile", "dni", "birth_date",
        "address_line1", "address_line2", "city", "province", "postal_code", "country", "company_name",
        "tax_id", "iban", "status", "segment", "lead_source", "preferred_channel", "preferred_language",
        "owner_id", "user_id", "tags", "notes", "metadata", "customer_since", "merged_into", "version",
        "created_at", "updated_at",
    )
)  # fmt: skip
# Compiled once: the hot read by id only binds its parameter.
_VIEW_BY_ID = LeanSelect(select(*VIEW_COLUMNS).where(_TABLE.c.id == bindparam("customer_id")))


def escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def get(
    session: AsyncSession, customer_id: uuid.UUID, *, for_update: bool = False, nowait: bool = False
) -> Customer | None:
    """The customer; ``for_update`` locks the row (``nowait``: fail at once if another holds it)."""
    query = select(Customer).where(Customer.id == customer_id)
    if for_update:
        query = query.with_for_update(nowait=nowait)
    return (await session.scalars(query)).first()


async def view(conn: AsyncConnection | Any, customer_id: uuid.UUID) -> Any:
    """One customer's view columns by id (an asyncpg record, or None): one query on the read path."""
    return await _VIEW_BY_ID.fetchrow(conn, customer_id=customer_id)


async def lock_many(session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Customer]:
    """Lock several customers in id order (a fixed order, so two merges cannot deadlock)."""
    rows = await session.scalars(
        select(Customer).where(Customer.id.in_(ids)).order_by(Customer.id).with_for_update()
    )
    return {row.id: row for row in rows}


_BY_USER = LeanSelect(select(_TABLE.c.id).where(_TABLE.c.user_id == bindparam("user_id"), text(LIVE_WHERE)))


async def by_user(session: AsyncSession | AsyncConnection | Any, user_id: uuid.UUID) -> uuid.UUID | None:
    """The live customer linked to an account (on a session, a connection or a ``ReadDriver``)."""
    if isinstance(session, AsyncSession | AsyncConnection):
        return await session.scalar(
            select(Customer.id).where(Customer.user_id == user_id, Customer.status.not_in(CLOSED_STATUSES))
        )
    found: uuid.UUID | None = await _BY_USER.fetchval(session, user_id=user_id)
    return found


async def live_by_email(session: AsyncSession, email: str) -> Customer | None:
    return (
        await session.scalars(
            select(Customer).where(
                func.lower(Customer.email) == email.lower(), Customer.status.not_in(CLOSED_STATUSES)
            )
        )
    ).first()


async def live_by_phone(session: AsyncSession, phone: str) -> Customer | None:
    """The one live customer with this phone or mobile; None when nobody or several have it (a number
    several customers share identifies none of them: the contact waits for an agent to choose)."""
    found = (
        await session.scalars(
            select(Customer)
            .where(
                or_(Customer.mobile == phone, Customer.phone == phone),
                Customer.status.not_in(CLOSED_STATUSES),
            )
            .limit(2)
        )
    ).all()
    return found[0] if len(found) == 1 else None


async def live_by_dni(session: AsyncSession, dni: str) -> Customer | None:
    return (
        await session.scalars(
            select(Customer).where(Customer.dni == dni, Customer.status.not_in(CLOSED_STATUSES))
        )
    ).first()


async def add(session: AsyncSession, customer: Customer) -> None:
    session.add(customer)
    await session.flush()


async def flush(session: AsyncSession) -> None:
    await session.flush()


# A name search of several words (``maria lopez``) matches the folded phrase as a substring. The
# trigram index asked for the whole phrase reads the posting lists of the trigrams at the words'
# edges (``ez ``, `` lo``...), among the commonest in Spanish names: most of the query's cost. So
# the index is asked for the phrase's longest words (each must appear wherever the phrase does, so
# no match is lost), and the phrase itself is checked on the candidates as an expression the index
# cannot serve (``search_text || ''``): the same rows in the same order, fewer index pages
# (decision 0092). Words under three letters give the index no trigram and are left to the phrase.
PHRASE_WORDS = 3


def phrase_words(name: str) -> list[str]:
    """The words of a folded multi-word name the index is asked for: the longest three of three
    letters or more, distinct; none for a single word (its own pattern is the index's)."""
    words = name.split(" ")
    if len(words) < 2:
        return []
    distinct = sorted({word for word in words if len(word) >= 3}, key=lambda word: (-len(word), word))
    return distinct[:PHRASE_WORDS]


def _search_params(
    *,
    name: str | None,
    email: str | None,
    phone: str | None,
    tax_id: str | None,
    statuses: Sequence[str] | None,
    segment: str | None,
    province: str | None,
    tag: str | None,
    owner_id: uuid.UUID | None,
    only_id: uuid.UUID | None,
    after: list[Any] | None,
    limit: int,
) -> dict[str, Any]:
    """The bound values of a search, by parameter name; which names are present is its shape."""
    params: dict[str, Any] = {}
    if name:
        params["name_pattern"] = f"%{escape_like(name)}%"
        for index, word in enumerate(phrase_words(name)):
            params[f"name_word_{index}"] = f"%{escape_like(word)}%"
    if email:
        params["email_prefix"] = f"{escape_like(email.lower())}%"
    if phone:
        params["phone"] = phone
    if tax_id:
        params["tax_id"] = tax_id
    if statuses:
        params["statuses"] = list(statuses)
    if segment:
        params["segment"] = segment
    if province:
        params["province"] = province
    if tag:
        params["tag"] = [tag]
    if owner_id:
        params["owner_id"] = owner_id
    if only_id is not None:
        params["only_id"] = only_id
    if after is not None:
        params["after_value"], params["after_id"] = after
    params["row_limit"] = limit + 1  # one more than a page: tells whether a next page exists
    return params


def _search_select(sort: str, params: dict[str, Any]) -> Select[Any]:
    """The search SELECT for these parameters (placeholders carry the values, for EXPLAIN)."""
    column, descending = SORTS[sort]
    c = _TABLE.c

    def bound(name: str, type_: Any = None) -> Any:
        return bindparam(name, params[name], type_=type_)

    conditions: list[ColumnElement[bool] | TextClause] = []
    if "name_word_0" in params:  # a phrase: its words find the candidates, the phrase decides
        for index in range(PHRASE_WORDS):
            if f"name_word_{index}" in params:
                conditions.append(c.search_text.like(bound(f"name_word_{index}"), escape="\\"))
        unindexed = c.search_text.concat(literal_column("''"))
        conditions.append(unindexed.like(bound("name_pattern"), escape="\\"))
    elif "name_pattern" in params:
        conditions.append(c.search_text.like(bound("name_pattern"), escape="\\"))
    if "email_prefix" in params:
        conditions.append(func.lower(c.email).like(bound("email_prefix"), escape="\\"))
    if "phone" in params:
        phone = bound("phone", c.phone.type)
        conditions.append(or_(c.phone == phone, c.mobile == phone))
    if "tax_id" in params:
        tax_id = bound("tax_id", c.dni.type)
        conditions.append(or_(c.dni == tax_id, c.tax_id == tax_id))
    if "statuses" in params:
        conditions.append(c.status == func.any(bound("statuses", ARRAY(String))))
    else:
        conditions.append(text(LIVE_WHERE))
    if "segment" in params:
        conditions.append(c.segment == bound("segment"))
    if "province" in params:
        conditions.append(c.province == bound("province"))
    if "tag" in params:
        conditions.append(c.tags.contains(bound("tag", c.tags.type)))
    if "owner_id" in params:
        conditions.append(c.owner_id == bound("owner_id"))
    if "only_id" in params:
        conditions.append(c.id == bound("only_id"))
    if "after_value" in params:
        key = tuple_(column, c.id)
        last = tuple_(bound("after_value", column.type), bound("after_id", c.id.type))
        conditions.append(key < last if descending else key > last)
    order = (column.desc(), c.id.desc()) if descending else (column.asc(), c.id.asc())
    return (
        select(*VIEW_COLUMNS)
        .where(*conditions)
        .order_by(*order)
        .limit(bindparam("row_limit", params["row_limit"], type_=Integer))
    )


def search_statement(*, sort: str, **criteria: Any) -> Select[Any]:
    """The search query with its values bound (the benchmark compiles it for EXPLAIN ANALYZE)."""
    return _search_select(sort, _search_params(**criteria))


# Compiled searches, one per shape (sort and which criteria are given): a few dozen at most.
_SEARCHES: dict[tuple[str, tuple[str, ...]], LeanSelect] = {}


async def search(
    conn: AsyncConnection | Any, *, sort: str, limit: int, **criteria: Any
) -> tuple[Sequence[Any], list[Any] | None]:
    """One page of customer views (asyncpg records) and the keyset of the next page (None on the last).

    One query, compiled once per shape: ``limit + 1`` rows tell whether a next page exists;
    nothing counts the matches.
    """
    params = _search_params(limit=limit, **criteria)
    shape = (sort, tuple(params))
    lean = _SEARCHES.get(shape)
    if lean is None:
        lean = _SEARCHES[shape] = LeanSelect(_search_select(sort, params))
    rows = await lean.fetch(conn, **params)
    next_key = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        value = last[SORTS[sort][0].key]
        next_key = [value.isoformat() if isinstance(value, (datetime, date)) else value, str(last["id"])]
    return rows, next_key


async def audit(
    session: AsyncSession,
    *,
    customer_id: uuid.UUID,
    action: str,
    actor_id: uuid.UUID | None,
    details: dict[str, Any],
) -> None:
    session.add(CustomerAudit(customer_id=customer_id, action=action, actor_id=actor_id, details=details))
    await session.flush()


async def audit_trail(session: AsyncSession, customer_id: uuid.UUID) -> Sequence[CustomerAudit]:
    rows = await session.scalars(
        select(CustomerAudit)
        .where(CustomerAudit.customer_id == customer_id)
        .order_by(CustomerAudit.occurred_at)
    )
    return rows.all()


async def link_account(session: AsyncSession, *, email: str, user_id: uuid.UUID) -> Customer | None:
    """Link the live, unlinked customer with this e-mail to the account; returns it when linked."""
    row = (
        await session.scalars(
            select(Customer)
            .where(
                func.lower(Customer.email) == email.lower(),
                Customer.status.not_in(CLOSED_STATUSES),
                Customer.user_id.is_(None),
            )
            .with_for_update()
        )
    ).first()
    if row is None:
        return None
    if await session.scalar(select(Customer.id).where(Customer.user_id == user_id)) is not None:
        return None
    row.user_id = user_id
    row.version += 1
    row.updated_at = utcnow()
    await session.flush()
    return row


async def all_live_ids(session: AsyncSession, *, after: uuid.UUID | None, limit: int) -> Sequence[uuid.UUID]:
    query = (
        select(Customer.id).where(Customer.status.not_in(CLOSED_STATUSES)).order_by(Customer.id).limit(limit)
    )
    if after is not None:
        query = query.where(Customer.id > after)
    return (await session.scalars(query)).all()


async def set_segment(session: AsyncSession, *, customer_id: uuid.UUID, segment: str) -> None:
    await session.execute(
        update(Customer)
        .where(Customer.id == customer_id)
        .values(segment=segment, version=Customer.version + 1, updated_at=func.now())
    )


async def count_created_by(session: AsyncSession, actor_id: uuid.UUID) -> int:
    return int(await session.scalar(select(func.count()).where(Customer.created_by == actor_id)) or 0)


async def add_contact_change(session: AsyncSession, change: ContactChange) -> None:
    session.add(change)
    await session.flush()


async def contact_changes_since(session: AsyncSession, customer_id: uuid.UUID, *, since: datetime) -> int:
    return int(
        await session.scalar(
            select(func.count())
            .select_from(ContactChange)
            .where(ContactChange.customer_id == customer_id, ContactChange.requested_at >= since)
        )
        or 0
    )


async def contact_change_for_update(session: AsyncSession, change_id: uuid.UUID) -> ContactChange | None:
    return (
        await session.scalars(select(ContactChange).where(ContactChange.id == change_id).with_for_update())
    ).first()


async def lock_account_link(session: AsyncSession, email: str) -> None:
    """Serialise, until commit, linking an account by this e-mail: a customer created while the
    account's verification is being recorded is still linked by one side or the other."""
    digest = hashlib.blake2b(f"crm.account-link:{email.strip().lower()}".encode(), digest_size=8).digest()
    await session.execute(
        text("SELECT pg_advisory_xact_lock(:k)"), {"k": int.from_bytes(digest, "big", signed=True)}
    )
