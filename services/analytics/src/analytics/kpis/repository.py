"""Every KPI query. User input is only ever a ``{name:Type}`` parameter; the grouping column is
picked from a fixed table (:data:`DIMENSIONS`), never taken from the request."""

# The statements are built from this module's fixed fragments only; input is only ever a parameter.
# ruff: noqa: S608

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


# What each aggregate adds to a period k (``s{k}``..``e{k}`` inclusive); ``since`` is the number of
# days from a change (or the period's start, if later) to the period's end, both included.
_SINCE = "(dateDiff('day', greatest(day, toDate({s%(k)d:String})), toDate({e%(k)d:String})) + 1)"
_IN = "day BETWEEN toDate({s%(k)d:String}) AND toDate({e%(k)d:String})"
_UPTO = "day <= toDate({e%(k)d:String})"
_BEFORE = "day < toDate({s%(k)d:String})"

# measure name -> (aggregate table, SQL of period k, decimal?)
MEASURES: dict[str, tuple[str, str, bool]] = {
    "written": ("policy_daily", f"sumIf(written, {_IN})", True),
    "earned_raw": ("policy_daily", f"sumIf(rate * {_SINCE}, {_UPTO})", True),
    "exposure_days": ("policy_daily", f"sumIf(active * {_SINCE}, {_UPTO})", False),
    "in_force": ("policy_daily", f"sumIf(active, {_UPTO})", False),
    "in_force_at_start": ("policy_daily", f"sumIf(active, {_BEFORE})", False),
    "up_for_renewal": ("policy_daily", f"sumIf(up, {_IN})", False),
    "renewed_terms": ("policy_daily", f"sumIf(renewed, {_IN})", False),
    "cancelled_terms": ("policy_daily", f"sumIf(cancelled, {_IN})", False),
    "claim_count": ("claim_daily", f"sumIf(claims, {_IN})", False),
    "incurred_total": ("claim_daily", f"sumIf(incurred, {_IN})", True),
    "paid_total": ("claim_daily", f"sumIf(paid, {_IN})", True),
    "quote_count": ("quote_daily", f"sumIf(issued, {_IN})", False),
    "bound_count": ("quote_daily", f"sumIf(bound, {_IN})", False),
}
# aggregate -> what makes a group exist (it has a term, a claim, a quote), whatever the period
AGGREGATES = {"policy_daily": "started", "claim_daily": "claims", "quote_daily": "issued"}


def _figures_sql(periods: int, by: str | None, tables: tuple[str, ...] = tuple(AGGREGATES)) -> str:
    """One statement: every measure of every period, per group, from the three aggregates (or only
    ``tables``: the others' measures are then zero)."""
    columns = [
        (f"{name}_{k}", table, sql % {"k": k}, dec)
        for k in range(periods)
        for name, (table, sql, dec) in MEASURES.items()
    ]
    parts = []
    for aggregate, count in AGGREGATES.items():
        if aggregate not in tables:
            continue
        select = [
            (f"toDecimal128({sql}, 12)" if dec else f"toInt64({sql})")
            if table == aggregate
            else ("toDecimal128(0, 12)" if dec else "toInt64(0)")
            for _, table, sql, dec in columns
        ]
        names = ", ".join(f"{expr} AS {alias}" for expr, (alias, *_rest) in zip(select, columns, strict=True))
        parts.append(
            f"SELECT $dim AS grp, {names} FROM $db.{aggregate} WHERE $filter "
            f"GROUP BY grp HAVING sum({count}) != 0"
        )
    sums = ", ".join(f"sum({alias}) AS {alias}" for alias, *_rest in columns)
    return _sql(f"SELECT grp, {sums} FROM ({' UNION ALL '.join(parts)}) GROUP BY grp ORDER BY grp", by)


def _sql(template: str, by: str | None = None) -> str:
    """A query from fixed fragments only: the filter clause and the grouping column."""
    return template.replace("$filter", FILTER).replace("$dim", DIMENSIONS[by])


async def figures(
    store: Store,
    *,
    periods: list[tuple[date, date]],
    filters: dict[str, str],
    by: str | None,
    tables: tuple[str, ...] = tuple(AGGREGATES),
) -> list[dict[str, Row]]:
    """Per period, per group: the policy, claim and quote figures the KPIs are computed from
    (written and earned premium, exposure, policies in force, renewals, losses, claims, quotes),
    for every period in one pass over the aggregates (``tables``: only these; the measures of the
    others are zero, and only their groups are listed)."""
    params = _params(periods[0][0], periods[0][1], filters)
    for k, (start, end) in enumerate(periods):
        params[f"s{k}"], params[f"e{k}"] = start.isoformat(), end.isoformat()
    rows = await store.query(_figures_sql(len(periods), by, tables), params)
    out: list[dict[str, Row]] = []
    for k in range(len(periods)):
        suffix = f"_{k}"
        out.append({str(r["grp"]): {name: r[name + suffix] for name in MEASURES} for r in rows})
    return out


async def agent_figures(store: Store, *, start: date, end: date, filters: dict[str, str]) -> list[Row]:
    """Per agent: calls ended in the period, answered ones, average handle time (answered calls),
    from ``call_daily`` (kept at ingest, ``analytics.ingest.aggregates``)."""
    sql = """
    SELECT agent_id, n_calls AS calls, n_answered AS answered_calls,
           if(n_answered = 0, NULL, n_seconds / n_answered) AS avg_handle_seconds
    FROM (
        SELECT agent_id, sum(calls) AS n_calls, sum(answered) AS n_answered,
               sum(answered_seconds) AS n_seconds
        FROM $db.call_daily
        WHERE day BETWEEN toDate({start:String}) AND toDate({end:String})
          AND ({agent:String} = '' OR agent_id = {agent:String})
        GROUP BY agent_id
    )
    WHERE n_calls != 0 ORDER BY agent_id"""
    return await store.query(_sql(sql), _params(start, end, filters))


async def agent_conversions(store: Store, *, start: date, end: date, filters: dict[str, str]) -> list[Row]:
    """Per agent: new policies sold (term start) in the period to a customer whose last answered
    call before the sale (within 30 days) was with that agent (last-touch attribution), from
    ``conversion_daily`` (kept at ingest, ``analytics.ingest.aggregates``; the same counts as
    :func:`agent_conversions_from_facts`)."""
    sql = """
    SELECT agent_id, n AS conversion_count FROM (
        SELECT agent_id, sum(conversions) AS n FROM $db.conversion_daily
        WHERE day BETWEEN toDate({start:String}) AND toDate({end:String})
          AND ({agent:String} = '' OR agent_id = {agent:String})
        GROUP BY agent_id
    ) WHERE n != 0 ORDER BY agent_id"""
    return await store.query(_sql(sql), _params(start, end, filters))


async def agent_conversions_from_facts(
    store: Store, *, start: date, end: date, filters: dict[str, str]
) -> list[Row]:
    """:func:`agent_conversions` computed from the raw facts at query time (a join of the sales
    with the calls; the aggregate's reference, and its rebuild's definition).

    Only the calls that can be a sale's last touch inside the 30 days are joined: the sales'
    customers', ended between 30 days before the first sale's day and the last sale. A sale whose
    true last touch is older has no touch in that window either, so the counts are the same as
    over every call (checked against the unrestricted join on ingested histories)."""
    sql = """
    WITH sales AS (
        SELECT customer_id, policy_id, sold_at FROM $db.policy_terms FINAL
        WHERE kind = 'new' AND term_start BETWEEN toDate({start:String}) AND toDate({end:String})
    ),
    bounds AS (SELECT toDate(min(sold_at)) - 30 AS lo, max(sold_at) AS hi FROM sales),
    touches AS (
        SELECT customer_id, agent_id, ended_at FROM $db.calls FINAL
        WHERE agent_id != '' AND customer_id != '' AND answered = 1
          AND toDate(ended_at) >= (SELECT lo FROM bounds) AND ended_at <= (SELECT hi FROM bounds)
          AND customer_id IN (SELECT customer_id FROM sales)
    )
    SELECT agent_id, count() AS conversion_count FROM (
        SELECT s.policy_id AS policy_id, t.agent_id AS agent_id, t.ended_at AS ended_at, s.sold_at AS sold_at
        FROM sales AS s ASOF INNER JOIN touches AS t
            ON s.customer_id = t.customer_id AND s.sold_at >= t.ended_at
    )
    WHERE dateDiff('day', ended_at, sold_at) <= 30
      AND ({agent:String} = '' OR agent_id = {agent:String})
    GROUP BY agent_id ORDER BY agent_id"""
    return await store.query(_sql(sql), _params(start, end, filters))


def _median(counts: list[tuple[int, int]]) -> float | None:
    """The median of values given as sorted (value, how many) pairs, as ClickHouse's
    ``quantileExactInclusive(0.5)`` computes it (linear between the two middle values)."""
    total = sum(n for _, n in counts)
    if total == 0:
        return None
    h = 0.5 * (total - 1) + 1
    k = int(h)

    def nth(i: int) -> int:  # the i-th value (0-based) of the expanded, sorted list
        seen = 0
        for value, n in counts:
            seen += n
            if i < seen:
                return value
        return counts[-1][0]

    if k >= total:
        return float(nth(total - 1))
    low, high = nth(k - 1), nth(k)
    return float(low) + (h - k) * (float(high) - float(low))


async def message_figures(store: Store, *, start: date, end: date) -> list[Row]:
    """Per channel: messages in and out in the period, and the median first-response time of the
    conversations whose first inbound message fell in the period, from ``message_daily`` and
    ``response_daily`` (kept at ingest, ``analytics.ingest.aggregates``)."""
    params = _params(start, end, {})
    volumes = await store.query(
        """
    SELECT channel, n_in AS inbound, n_out AS outbound FROM (
        SELECT channel, sum(inbound) AS n_in, sum(outbound) AS n_out FROM $db.message_daily
        WHERE day BETWEEN toDate({start:String}) AND toDate({end:String}) GROUP BY channel
    ) WHERE n_in + n_out != 0 ORDER BY channel""",
        params,
    )
    counts: dict[str, list[tuple[int, int]]] = {}
    for row in await store.query(
        """
    SELECT channel, seconds, n FROM (
        SELECT channel, seconds, sum(conversations) AS n FROM $db.response_daily
        WHERE day BETWEEN toDate({start:String}) AND toDate({end:String}) GROUP BY channel, seconds
    ) WHERE n > 0 ORDER BY channel, seconds""",
        params,
    ):
        counts.setdefault(str(row["channel"]), []).append((int(row["seconds"]), int(row["n"])))
    return [
        {
            "channel": str(v["channel"]),
            "inbound": int(v["inbound"]),
            "outbound": int(v["outbound"]),
            "median_first_response_seconds": _median(counts.get(str(v["channel"]), [])),
        }
        for v in volumes
    ]


async def monthly_written(store: Store, *, start: date, end: date, filters: dict[str, str]) -> list[Row]:
    """Written premium and new/renewed terms per month of the period (the premium chart)."""
    sql = """
    SELECT toString(toStartOfMonth(day)) AS month, sum(written) AS written, sum(started) AS terms
    FROM $db.policy_daily
    WHERE day BETWEEN toDate({start:String}) AND toDate({end:String}) AND $filter
    GROUP BY month HAVING terms > 0 ORDER BY month"""
    return await store.query(_sql(sql), _params(start, end, filters))


async def known_values(store: Store, *, dimension: str) -> set[str]:
    """The values a filter may take (what the store has seen)."""
    queries = {
        "carrier": "SELECT DISTINCT carrier AS v FROM $db.policy_daily UNION DISTINCT "
        "SELECT DISTINCT carrier AS v FROM $db.quote_daily UNION DISTINCT "
        "SELECT DISTINCT best_carrier AS v FROM $db.quotes",
        "line": "SELECT DISTINCT line AS v FROM $db.policy_daily UNION DISTINCT "
        "SELECT DISTINCT line AS v FROM $db.quote_daily",
        "province": "SELECT DISTINCT province AS v FROM $db.customers",
        "agent": "SELECT DISTINCT agent_id AS v FROM $db.call_daily",
    }
    return {str(r["v"]) for r in await store.query(queries[dimension]) if r["v"]}
