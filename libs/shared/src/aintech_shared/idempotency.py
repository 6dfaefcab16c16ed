"""Idempotent state-changing requests: an ``Idempotency-Key`` answers a repeat with the first result.

A transition (renew, cancel, convert, approve, pay, merge, assign) is safe to retry and to race
when the client names it: with ``If-Match`` (the version it read: one of several racing requests
wins, the others get 412) or with an ``Idempotency-Key`` (the same request sent again, also while
the first is still running, answers with the first request's result instead of applying twice).

Each service keeps its keys in its own schema (``idempotency_keys``, declared by
:func:`idempotency_table`). The row is claimed with ``INSERT ... ON CONFLICT DO NOTHING`` in the
request's own transaction, and the answer is written into it in that same transaction, so:

* the effect and the remembered answer commit together, or neither does (a failed request is
  not remembered: retrying it runs it again);
* a concurrent repeat blocks on the claimed key until the first transaction ends, then reads
  the committed answer (or, if the first rolled back, claims the key itself).

A key belongs to one caller and one operation (method and path); reusing it for a different body
is a 422. Keys are kept for :data:`RETENTION` (see :meth:`IdempotencyStore.purge`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import Header, Request
from fastapi.responses import Response
from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    delete,
    func,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from aintech_shared.errors import AppError, UnprocessableEntity

RETENTION = timedelta(hours=24)
KEY_PATTERN = r"^[\x21-\x7e]{8,200}$"
# Response headers replayed with a remembered answer.
REPLAYED_HEADERS = ("etag", "location")

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=8,
        max_length=200,
        pattern=KEY_PATTERN,
        description="A unique key per intended operation (e.g. a UUID), 8-200 visible ASCII "
        "characters. Sending the same request again with the same key answers with the first "
        "result (header `Idempotent-Replayed: true`) instead of applying it twice; the same key "
        "with a different body is 422. Kept 24 hours.",
    ),
]


class PreconditionRequired(AppError):
    status, slug, title = 428, "precondition-required", "Precondition required"


def idempotency_table(metadata: MetaData) -> Table:
    """Declare ``idempotency_keys`` in ``metadata``'s schema."""
    return Table(
        "idempotency_keys",
        metadata,
        Column("scope", String(300), nullable=False),
        Column("key", String(200), nullable=False),
        Column("fingerprint", String(64), nullable=False),
        Column("status_code", Integer, nullable=True),
        Column("body", LargeBinary, nullable=True),
        Column("headers", JSONB, nullable=True),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        PrimaryKeyConstraint("scope", "key"),
    )


@dataclass(frozen=True)
class Claim:
    """A claimed key: answer the request, then :meth:`IdempotencyStore.remember` the answer."""

    scope: str
    key: str


class IdempotencyStore:
    """Claims keys and remembers answers in one service's ``idempotency_keys`` table."""

    def __init__(self, table: Table) -> None:
        self.table = table

    async def claim(
        self, session: AsyncSession, *, request: Request, key: str, principal: str
    ) -> Claim | Response:
        """Claim ``key`` for this request, or the remembered answer of the request that did."""
        scope = f"{principal} {request.method} {request.url.path}"[:300]
        fingerprint = hashlib.sha256(await request.body()).hexdigest()
        t = self.table
        claimed = await session.scalar(
            pg_insert(t)
            .values(scope=scope, key=key, fingerprint=fingerprint)
            .on_conflict_do_nothing(index_elements=[t.c.scope, t.c.key])
            .returning(t.c.key)
        )
        if claimed is not None:
            return Claim(scope, key)
        row = (
            await session.execute(
                select(t.c.fingerprint, t.c.status_code, t.c.body, t.c.headers)
                .where(t.c.scope == scope, t.c.key == key)
                .with_for_update()
            )
        ).one()
        if row.fingerprint != fingerprint:
            raise UnprocessableEntity(
                "This Idempotency-Key was already used for a different request; "
                "use a new key for a new operation.",
                errors=[
                    {
                        "location": "header",
                        "field": "Idempotency-Key",
                        "message": "already used with a different body",
                        "type": "idempotency_key_reused",
                    }
                ],
            )
        if row.status_code is None:  # claimed by a request whose refusal was kept: run again
            return Claim(scope, key)
        headers = {**(row.headers or {}), "Idempotent-Replayed": "true"}
        return Response(row.body, status_code=row.status_code, headers=headers, media_type="application/json")

    async def remember(self, session: AsyncSession, claim: Claim, response: Response) -> Response:
        """Store the answer to a claimed key (same transaction as the effect) and return it."""
        headers = {k: v for k, v in response.headers.items() if k.lower() in REPLAYED_HEADERS}
        await session.execute(
            update(self.table)
            .where(self.table.c.scope == claim.scope, self.table.c.key == claim.key)
            .values(status_code=response.status_code, body=bytes(response.body), headers=headers)
        )
        return response

    async def purge(self, session: AsyncSession, *, now: datetime | None = None) -> int:
        """Forget keys older than :data:`RETENTION`."""
        cutoff = (now or datetime.now(UTC)) - RETENTION
        result: Any = await session.execute(delete(self.table).where(self.table.c.created_at < cutoff))
        return int(result.rowcount or 0)


def require_precondition(*, if_match: str | None, idempotency_key: str | None) -> None:
    """428 unless the request names its precondition: ``If-Match`` or ``Idempotency-Key``."""
    if (if_match is None or not if_match.strip()) and idempotency_key is None:
        raise PreconditionRequired(
            "This change is not safe to repeat: send If-Match with the ETag you read, or an "
            "Idempotency-Key that stays the same when you retry.",
        )
