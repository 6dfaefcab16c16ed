"""The sentiment queries (parameters only; the grouping column is one of two fixed queries)."""

from __future__ import annotations

from typing import Any, Literal

from analytics.kpis.service import Period
from analytics.store.port import Store

_QUERY = """
    SELECT {key} AS key, count() AS messages, round(avg(score), 4) AS average,
           countIf(label = 'positive') AS positive, countIf(label = 'neutral') AS neutral,
           countIf(label = 'negative') AS negative, countIf(score <= -0.6) AS very_negative
    FROM $db.message_sentiment FINAL
    WHERE toDate(at) BETWEEN {{start:Date}} AND {{end:Date}}
    GROUP BY key ORDER BY average ASC, key ASC
"""
QUERIES = {"agent": _QUERY.format(key="agent_id"), "channel": _QUERY.format(key="channel")}


async def averages(store: Store, *, period: Period, by: Literal["agent", "channel"]) -> list[dict[str, Any]]:
    """Per agent (or channel): scored messages, average score, and counts per label in the period."""
    return await store.query(QUERIES[by], {"start": period.start.isoformat(), "end": period.end.isoformat()})
