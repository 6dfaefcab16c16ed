"""Every KPI query. User input is only ever a ``{name:Type}`` parameter; the grouping column is
picked from a fixed table (:data:`DIMENSIONS`), never taken from the request."""

from __future__ import annotations

from datetime import date
from typing import Any

from analytics.store.port import Row, Store

# The SQL expression each breakdown groups by (keys are the API's `by` values).
DIMENSIONS: dict[str | None, str] = {None: "''", "carrier": "carrier", "line": "line", "province": "province"}


def _params(start: date, end: date, filters: dict[str, str]) -> dict[str, Any]:
    return {
        "start": start.isoformat(),
        "end": end.isoformat(),
        "carrier": filters.get("carrier", ""),
        "line": filters.get("line", ""),
        "province": filters.get("province", ""),
        "agent": filters.get("agent", ""),
    }


FILTER = (
    "({carrier:String} = '' OR carrier = {carrier:String}) AND ({line:String} = '' OR line = {line:String})"
    " AND ({province:String} = '' OR province = {province:String})"
)


# Policy terms with their province, effective end (cancellation) and whether renewed.
TERMS = """
    WITH terms AS (
        SELECT t.policy_id AS policy_id, t.term_start AS term_start, t.term_end AS term_end,
               t.premium AS premium, t.carrier AS carrier, t.line AS line,
               ifNull(c.province, '') AS province, x.cancelled_on AS cancelled_on,
               if(x.cancelled_on IS NOT NULL AND x.cancelled_on < t.term_end,
                  greatest(x.cancelled_on, t.term_start), t.term_end) AS eff_end,
               t.term_start < max(t.term_start) OVER (PARTITION BY t.policy_id) AS renewed,
               dateDiff('day', t.term_start, t.term_end) AS term_days
        FROM $db.policy_terms AS t FINAL
        LEFT JOIN (SELECT customer_id, province FROM $db.customers FINAL) AS c
            ON c.customer_id = t.customer_id
        LEFT JOIN (SELECT policy_id, toDate(cancelled_at) AS cancelled_on
                   FROM $db.policy_cancellations FINAL) AS x ON x.policy_id = t.policy_id
    )"""


def _sql(template: str, by: str | None = None) -> str:
    """A query from fixed fragments only: the terms CTE, the filter clause, the grouping column."""
    return template.replace("$terms", TERMS).replace("$filter", FILTER).replace("$dim", DIMENSIONS[by])


async def policy_figures(
    store: Store, *, start: date, end: date, filters: dict[str, str], by: str | None
) -> list[Row]:
    """Per group: written and earned premium, exposure, policies in force, renewals, losses."""
    sql = """$terms
    SELECT $dim AS grp,
        sumIf(premium, term_start BETWEEN toDate({start:String}) AND toDate({end:String})) AS written,
        sum(toDecimal128(premium, 10) * greatest(0, dateDiff('day',
                greatest(term_start, toDate({start:String})),
                least(eff_end, toDate({end:String}) + 1))) / greatest(term_days, 1)) AS earned_raw,
        sum(greatest(0, dateDiff('day', greatest(term_start, toDate({start:String})),
                least(eff_end, toDate({end:String}) + 1)))) AS exposure_days,
        uniqExactIf(policy_id, term_start <= toDate({end:String})
                    AND eff_end > toDate({end:String})) AS in_force,
        uniqExactIf(policy_id, term_start < toDate({start:String})
                    AND eff_end >= toDate({start:String})) AS in_force_at_start,
        countIf(term_end BETWEEN toDate({start:String}) AND toDate({end:String})
                AND eff_end = term_end) AS up_for_renewal,
        countIf(term_end BETWEEN toDate({start:String}) AND toDate({end:String})
                AND eff_end = term_end AND renewed) AS renewed_terms,
        countIf(cancelled_on BETWEEN toDate({start:String}) AND toDate({end:String})
                AND cancelled_on >= term_start AND cancelled_on < term_end) AS cancelled_terms
    FROM terms
    WHERE $filter
    GROUP BY grp ORDER BY grp"""
    return await store.query(_sql(sql, by), _params(start, end, filters))


async def claim_figures(
    store: Store, *, start: date, end: date, filters: dict[str, str], by: str | None
) -> list[Row]:
    """Per group: claims reported in the period and what they have incurred so far."""
    sql = """
    WITH claims AS (
        SELECT claim_id, any(policy_id) AS policy_id, min(time) AS reported_at,
               argMax(status, time) AS status,
               argMaxIf(claimed, time, claimed IS NOT NULL) AS claimed,
               argMaxIf(approved, time, approved IS NOT NULL) AS approved,
               argMaxIf(paid, time, paid IS NOT NULL) AS paid
        FROM $db.claim_events FINAL GROUP BY claim_id
    ),
    policies AS (
        SELECT policy_id, any(carrier) AS carrier, any(line) AS line, any(customer_id) AS customer_id
        FROM $db.policy_terms FINAL GROUP BY policy_id
    ),
    rows AS (
        SELECT cl.claim_id AS claim_id, cl.reported_at AS reported_at,
               multiIf(cl.paid IS NOT NULL, cl.paid, cl.status = 'denied', toDecimal64(0, 2),
                       cl.approved IS NOT NULL, cl.approved,
                       ifNull(cl.claimed, toDecimal64(0, 2))) AS incurred,
               ifNull(cl.paid, toDecimal64(0, 2)) AS paid,
               ifNull(p.carrier, '') AS carrier, ifNull(p.line, '') AS line,
               ifNull(c.province, '') AS province
        FROM claims AS cl
        LEFT JOIN policies AS p ON p.policy_id = cl.policy_id
        LEFT JOIN (SELECT customer_id, province FROM $db.customers FINAL) AS c
            ON c.customer_id = p.customer_id
    )
    SELECT $dim AS grp, count() AS claim_count, sum(incurred) AS incurred_total, sum(paid) AS paid_total
    FROM rows
    WHERE toDate(reported_at) BETWEEN toDate({start:String}) AND toDate({end:String}) AND $filter
    GROUP BY grp ORDER BY grp"""
    return await store.query(_sql(sql, by), _params(start, end, filters))


async def quote_figures(
    store: Store, *, start: date, end: date, filters: dict[str, str], by: str | None
) -> list[Row]:
    """Per group: quotes issued in the period and how many were bound (converted)."""
    sql = """
    WITH rows AS (
        SELECT q.quote_id AS quote_id, q.created_at AS created_at, q.line AS line,
               ifNull(v.carrier, q.best_carrier) AS carrier, ifNull(c.province, '') AS province,
               v.quote_id IS NOT NULL AS bound
        FROM $db.quotes AS q FINAL
        LEFT JOIN (SELECT quote_id, carrier FROM $db.quote_conversions FINAL) AS v
            ON v.quote_id = q.quote_id
        LEFT JOIN (SELECT customer_id, province FROM $db.customers FINAL) AS c
            ON c.customer_id = q.customer_id
    )
    SELECT $dim AS grp, count() AS quote_count, countIf(bound) AS bound_count
    FROM rows
    WHERE toDate(created_at) BETWEEN toDate({start:String}) AND toDate({end:String}) AND $filter
    GROUP BY grp ORDER BY grp"""
    return await store.query(_sql(sql, by), _params(start, end, filters))


async def agent_figures(store: Store, *, start: date, end: date, filters: dict[str, str]) -> list[Row]:
    """Per agent: calls ended in the period, answered ones, average handle time (answered calls)."""
    sql = """
    SELECT agent_id, count() AS calls, countIf(answered = 1) AS answered_calls,
           avgIf(duration_seconds, answered = 1) AS avg_handle_seconds
    FROM $db.calls FINAL
    WHERE toDate(ended_at) BETWEEN toDate({start:String}) AND toDate({end:String})
      AND agent_id != '' AND ({agent:String} = '' OR agent_id = {agent:String})
    GROUP BY agent_id ORDER BY agent_id"""
    return await store.query(_sql(sql), _params(start, end, filters))


async def agent_conversions(store: Store, *, start: date, end: date, filters: dict[str, str]) -> list[Row]:
    """Per agent: new policies sold in the period to a customer whose last call before the sale
    (within 30 days) was with that agent (last-touch attribution)."""
    sql = """
    WITH sales AS (
        SELECT customer_id, policy_id, sold_at FROM $db.policy_terms FINAL
        WHERE kind = 'new' AND term_start BETWEEN toDate({start:String}) AND toDate({end:String})
    ),
    touches AS (
        SELECT customer_id, agent_id, ended_at FROM $db.calls FINAL
        WHERE agent_id != '' AND customer_id != '' AND answered = 1
    )
    SELECT agent_id, count() AS conversion_count FROM (
        SELECT s.policy_id AS policy_id, t.agent_id AS agent_id, t.ended_at AS ended_at, s.sold_at AS sold_at
        FROM sales AS s ASOF INNER JOIN touches AS t
            ON s.customer_id = t.customer_id AND s.sold_at >= t.ended_at
    )
    WHERE dateDiff('day', ended_at, sold_at) <= 30
      AND ({agent:String} = '' OR agent_id = {agent:String})
    GROUP BY agent_id"""
    return await store.query(_sql(sql), _params(start, end, filters))


async def message_figures(store: Store, *, start: date, end: date) -> list[Row]:
    """Per channel: messages in and out in the period, and the median first-response time of the
    conversations whose first inbound message fell in the period."""
    sql = """
    WITH m AS (SELECT * FROM $db.messages FINAL),
    conv AS (
        SELECT conversation_id, any(channel) AS channel,
               minIf(at, direction = 'inbound') AS first_in
        FROM m GROUP BY conversation_id HAVING countIf(direction = 'inbound') > 0
    ),
    answered AS (
        SELECT c.conversation_id AS conversation_id, c.channel AS channel, c.first_in AS first_in,
               minIf(m.at, m.direction = 'outbound' AND m.at >= c.first_in) AS first_out,
               countIf(m.direction = 'outbound' AND m.at >= c.first_in) AS replies
        FROM conv AS c INNER JOIN m ON m.conversation_id = c.conversation_id
        GROUP BY conversation_id, channel, first_in
    ),
    volumes AS (
        SELECT channel, countIf(direction = 'inbound') AS inbound, countIf(direction = 'outbound') AS outbound
        FROM m WHERE toDate(at) BETWEEN toDate({start:String}) AND toDate({end:String})
        GROUP BY channel
    ),
    response AS (
        SELECT channel,
               quantileExactInclusive(0.5)(dateDiff('second', first_in, first_out))
                   AS median_first_response_seconds
        FROM answered
        WHERE replies > 0 AND toDate(first_in) BETWEEN toDate({start:String}) AND toDate({end:String})
        GROUP BY channel
    )
    SELECT v.channel AS channel, v.inbound AS inbound, v.outbound AS outbound,
           r.median_first_response_seconds AS median_first_response_seconds
    FROM volumes AS v LEFT JOIN response AS r ON r.channel = v.channel
    ORDER BY channel"""
    return await store.query(_sql(sql), _params(start, end, {}))


async def monthly_written(store: Store, *, start: date, end: date, filters: dict[str, str]) -> list[Row]:
    """Written premium and new/renewed terms per month of the period (the premium chart)."""
    sql = """$terms
    SELECT toString(toStartOfMonth(term_start)) AS month, sum(premium) AS written, count() AS terms
    FROM terms
    WHERE term_start BETWEEN toDate({start:String}) AND toDate({end:String}) AND $filter
    GROUP BY month ORDER BY month"""
    return await store.query(_sql(sql), _params(start, end, filters))


async def known_values(store: Store, *, dimension: str) -> set[str]:
    """The values a filter may take (what the store has seen)."""
    queries = {
        "carrier": "SELECT DISTINCT carrier AS v FROM $db.policy_terms UNION DISTINCT "
        "SELECT DISTINCT best_carrier AS v FROM $db.quotes",
        "line": "SELECT DISTINCT line AS v FROM $db.policy_terms UNION DISTINCT "
        "SELECT DISTINCT line AS v FROM $db.quotes",
        "province": "SELECT DISTINCT province AS v FROM $db.customers",
        "agent": "SELECT DISTINCT agent_id AS v FROM $db.calls",
    }
    return {str(r["v"]) for r in await store.query(queries[dimension]) if r["v"]}
