"""The monthly series the forecasts read from the store (complete months before ``until``)."""

from __future__ import annotations

from datetime import date

from analytics.store.port import Row, Store

SERIES_SQL: dict[str, str] = {
    # written premium per month (new business and renewals)
    "sales": """
        SELECT toString(toStartOfMonth(term_start)) AS month, toFloat64(sum(premium)) AS value
        FROM $db.policy_terms FINAL
        WHERE term_start >= toDate({since:String}) AND term_start < toDate({until:String})
        GROUP BY month ORDER BY month""",
    # claims reported (first event) per month
    "claims": """
        SELECT toString(toStartOfMonth(reported)) AS month, toFloat64(count()) AS value
        FROM (SELECT claim_id, min(time) AS reported FROM $db.claim_events FINAL GROUP BY claim_id)
        WHERE toDate(reported) >= toDate({since:String}) AND toDate(reported) < toDate({until:String})
        GROUP BY month ORDER BY month""",
    # terms starting minus terms effectively ending per month (cumulated into policies in force)
    "growth": """
        WITH terms AS (
            SELECT t.term_start AS term_start,
                   if(x.cancelled_on IS NOT NULL AND x.cancelled_on < t.term_end,
                      greatest(x.cancelled_on, t.term_start), t.term_end) AS eff_end
            FROM $db.policy_terms AS t FINAL
            LEFT JOIN (SELECT policy_id, toDate(cancelled_at) AS cancelled_on
                       FROM $db.policy_cancellations FINAL) AS x ON x.policy_id = t.policy_id
        )
        SELECT month, toFloat64(sum(delta)) AS value FROM (
            SELECT toString(toStartOfMonth(term_start)) AS month, 1 AS delta FROM terms
            WHERE term_start < toDate({until:String})
            UNION ALL
            SELECT toString(toStartOfMonth(eff_end)) AS month, -1 AS delta FROM terms
            WHERE eff_end < toDate({until:String})
        ) GROUP BY month ORDER BY month""",
}


async def monthly(store: Store, *, kind: str, since: date, until: date) -> list[Row]:
    """``(month, value)`` rows of the series ``kind`` (months with no activity are absent)."""
    return await store.query(SERIES_SQL[kind], {"since": since.isoformat(), "until": until.isoformat()})
