"""Human-facing record numbers (POL-2026-0001042) drawn from Postgres sequences."""

from __future__ import annotations

import re

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from core_crm.core.base import SCHEMA, utcnow

SEQUENCES = {"POL": "policy_number_seq", "CLM": "claim_number_seq", "QUO": "quote_number_seq"}


async def next_number(session: AsyncSession, prefix: str) -> str:
    """The next number of a kind, e.g. ``POL-2026-0001042`` (unique; gaps are possible)."""
    value = await session.scalar(text(f"SELECT nextval('{SCHEMA}.{SEQUENCES[prefix]}')"))
    return f"{prefix}-{utcnow().year}-{int(value or 0):07d}"


_SPOKEN = re.compile(r"^(POL|CLM|QUO)-?(\d{4})-?(\d{1,9})$")


def canonical(prefix: str, text_: str) -> str | None:
    """A record number as an agent may read or type it (any case, spaces or dots for the dashes,
    leading zeros left out: ``quo 2026 1042``) in its stored form ``QUO-2026-0001042``; None when
    it cannot be one of ``prefix``'s numbers."""
    compact = re.sub(r"[\s._/]+", "-", text_.strip().upper())
    match = _SPOKEN.match(compact)
    if match is None or match.group(1) != prefix:
        return None
    return f"{prefix}-{match.group(2)}-{int(match.group(3)):07d}"
