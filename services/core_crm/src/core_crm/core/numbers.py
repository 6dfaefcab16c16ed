"""Human-facing record numbers (POL-2026-0001042) drawn from Postgres sequences."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from core_crm.core.base import SCHEMA, utcnow

SEQUENCES = {"POL": "policy_number_seq", "CLM": "claim_number_seq", "QUO": "quote_number_seq"}


async def next_number(session: AsyncSession, prefix: str) -> str:
    """The next number of a kind, e.g. ``POL-2026-0001042`` (unique; gaps are possible)."""
    value = await session.scalar(text(f"SELECT nextval('{SCHEMA}.{SEQUENCES[prefix]}')"))
    return f"{prefix}-{utcnow().year}-{int(value or 0):07d}"
