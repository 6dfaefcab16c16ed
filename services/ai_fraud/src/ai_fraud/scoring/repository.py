# ruff: noqa: S608 - the statements are built from this module's constants (schema, columns), never input
"""The score path's statements, written once and run with asyncpg inside the caller's transaction.

A saved claim's score is four round trips whatever it holds (plus the ring's own reads when there
is a ring, and the alert's when it is high): the policy lock, one statement that reads everything
the score needs, and one that stores the score with its ``fraud.scored`` event. No SQLAlchemy
statement is built, compiled or cache-keyed per score, and rows come back as asyncpg records.
"""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
from sqlalchemy.ext.asyncio import AsyncSession

from ai_fraud.core.base import SCHEMA
from aintech_shared.db import json_dumps, transaction_driver
from aintech_shared.events.outbox import Outbox

# The policy's transaction-scoped advisory lock (``readmodel.repository._policy_lock``, the same
# key): taken alone, before the read, so that read's snapshot comes after the lock is held.
LOCK_POLICY_OF_CLAIM = (
    f"SELECT pg_advisory_xact_lock(hashtextextended('fraud.policy:' || policy_id::text, 0)) "
    f"FROM {SCHEMA}.claims WHERE id = $1"
)

# Everything a score reads, in one statement: the claim, its policy and customer, the customer's
# other claims in the 12 months before the incident, the claim's stored band (the event's
# previous_band), the active model version, the rules' generation, the findings of the claim's
# photos, and the first hop of the ring search (the customer's identifiers, and who else holds
# each value — the rows only for values held by at most $2 customers).
READ_FOR_SCORE = f"""
WITH claim AS (SELECT * FROM {SCHEMA}.claims WHERE id = $1),
own AS (
    SELECT i.customer_id, i.owner_kind, i.owner_id, i.kind, i.value
    FROM {SCHEMA}.identifiers i JOIN claim ON i.customer_id = claim.customer_id
),
holders AS (
    SELECT i.kind, i.value, count(DISTINCT i.customer_id) AS holders
    FROM {SCHEMA}.identifiers i
    WHERE (i.kind, i.value) IN (SELECT kind, value FROM own)
    GROUP BY i.kind, i.value
),
shared AS (
    SELECT h.kind, h.value, h.holders, i.customer_id, i.owner_kind, i.owner_id
    FROM holders h
    LEFT JOIN {SCHEMA}.identifiers i ON i.kind = h.kind AND i.value = h.value AND h.holders <= $2
)
SELECT
    c.claim_number, c.customer_id, c.policy_id, c.claim_type, c.incident_date, c.reported_at,
    c.claimed_amount, c.attributes,
    p.id IS NOT NULL AS has_policy, p.policy_type, p.coverage_start_date, p.coverage_end_date,
    p.coverage_amount,
    cu.id IS NOT NULL AS has_customer, cu.iban_changed_at, cu.address_changed_at, cu.preferred_language,
    (SELECT count(*) FROM {SCHEMA}.claims o
        WHERE o.customer_id = c.customer_id AND o.id <> c.id
          AND o.incident_date >= c.incident_date - interval '8760 hours'
          AND o.incident_date <= c.incident_date) AS prior_claims,
    s.band AS previous_band,
    (SELECT version FROM {SCHEMA}.model_versions WHERE status = 'active') AS model_version,
    (SELECT generation FROM {SCHEMA}.rules_generation WHERE name = 'rules') AS rules_generation,
    (SELECT coalesce(jsonb_agg(ph.findings ORDER BY ph.seq), '[]'::jsonb)
        FROM {SCHEMA}.photos ph WHERE ph.claim_id = c.id) AS photo_findings,
    (SELECT coalesce(jsonb_agg(jsonb_build_array(customer_id, owner_kind, owner_id, kind, value)),
        '[]'::jsonb) FROM own) AS own_identifiers,
    (SELECT coalesce(jsonb_agg(jsonb_build_array(kind, value, holders, customer_id, owner_kind, owner_id)),
        '[]'::jsonb) FROM shared) AS shared_identifiers
FROM claim c
LEFT JOIN {SCHEMA}.policies p ON p.id = c.policy_id
LEFT JOIN {SCHEMA}.customers cu ON cu.id = c.customer_id
LEFT JOIN {SCHEMA}.scores s ON s.claim_id = c.id
"""

_SCORE_COLUMNS = (
    "claim_id",
    "customer_id",
    "score",
    "band",
    "parts",
    "features",
    "model_version",
    "ring_id",
    "trigger",
    "scored_at",
)
_CASTS = {"parts": "::jsonb", "features": "::jsonb"}


def _store_sql(outbox: Outbox) -> str:
    values = ", ".join(f"${n}{_CASTS.get(c, '')}" for n, c in enumerate(_SCORE_COLUMNS, start=1))
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in _SCORE_COLUMNS[1:])
    return (
        f"WITH stored AS (INSERT INTO {SCHEMA}.scores ({', '.join(_SCORE_COLUMNS)}) VALUES ({values}) "
        f"ON CONFLICT (claim_id) DO UPDATE SET {updates} RETURNING claim_id), "
        + outbox.inline_sql(first=len(_SCORE_COLUMNS) + 1, after="stored")
        + " SELECT seq FROM outbox_row"
    )


_STORE: dict[str, str] = {}  # by the outbox table's name (it is in the statement)


async def driver(session: AsyncSession) -> asyncpg.Connection:
    return await transaction_driver(session)


async def lock_policy_of_claim(conn: asyncpg.Connection, claim_id: uuid.UUID) -> None:
    await conn.execute(LOCK_POLICY_OF_CLAIM, claim_id)


async def read_for_score(conn: asyncpg.Connection, claim_id: uuid.UUID, *, max_share: int) -> Any:
    return await conn.fetchrow(READ_FOR_SCORE, claim_id, max_share)


async def store_score(
    conn: asyncpg.Connection, outbox: Outbox, *, values: tuple[Any, ...], event_args: list[Any]
) -> None:
    """Upsert the claim's score (``values`` in ``_SCORE_COLUMNS`` order) and stage its event in the
    same statement: the row first, then the event's key lock and outbox row."""
    table = outbox.tables.outbox.fullname
    sql = _STORE.get(table)
    if sql is None:
        sql = _STORE[table] = _store_sql(outbox)
    args = [json_dumps(v) if c in _CASTS else v for c, v in zip(_SCORE_COLUMNS, values, strict=True)]
    await conn.fetchval(sql, *args, *event_args)
