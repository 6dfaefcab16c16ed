"""The KPI aggregates, kept by the writer: per day and dimension (carrier, line, province), summed.

``policy_daily``, ``claim_daily`` and ``quote_daily`` (SummingMergeTree) hold *changes* per day, so
the KPIs of any period read a few hundred thousand small rows instead of every fact:

* a policy term adds its premium per day (``rate``) and one ``active`` term on its start day and
  takes them away on its effective end (the cancellation date when it was cancelled inside the
  term), so earned premium, exposure and policies in force of a period are sums over the days up
  to its end (``analytics.kpis.repository``); written premium and ``started`` on its start day;
  ``up`` for renewal (not cancelled) and ``renewed`` (the policy has a later term) on its end day;
  ``cancelled`` on the cancellation day when it falls inside the term.
* a claim adds one claim, its incurred amount and its paid amount on the day it was reported.
* a quote adds one issued quote, and one bound when converted, on the day it was issued.

The agents dashboard's ``call_daily``, ``message_daily`` and ``response_daily`` are kept the same
way: a call counts for its agent on the day it ended (answered, and its duration when answered); a
conversation's messages count per day and channel, and its first-response time (whole seconds) on
the day of its first inbound message.

**How a batch changes them.** Each aggregate is a pure function of one entity's fact rows (a
policy's terms and cancellation, a claim's events, a quote and its conversion, a call, a
conversation's messages). For every entity the batch touches, the writer takes the batch's rows
from memory and reads the entity's rows other events stored, and computes the function twice:
over the rows of *committed* events (their raw row is stored) and over those plus the batch's new
events; the difference is the batch's change. Rows left by a batch that died before
its raw rows were stored belong to neither (their events are not committed, and come again).

**Exactly once.** The changes ride on the batch's raw rows (``raw_events.*_deltas``) and
materialized views copy them into the aggregates: they are stored exactly when the raw rows are,
which happens once per event id (the writer skips known ids). The facts keep the dimension they
were stored with: a term, a quote and a claim carry the customer's province (and a claim its
policy's carrier and line) as known when their event was stored.
"""

# The statements are built from this module's constants only, never from input.
# ruff: noqa: S608

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import ROUND_DOWN, Decimal
from typing import Any

from analytics.store.port import Row, Store, array_param

RATE_PLACES = Decimal("0.000000000001")
Dims = tuple[Any, ...]  # carrier, line, province (agent; channel; channel, seconds)
Key = tuple[Any, ...]  # day, then the dimensions
Sums = dict[Key, list[Any]]

POLICY_MEASURES = ("written", "rate", "active", "started", "up", "renewed", "cancelled")
CLAIM_MEASURES = ("claims", "incurred", "paid")
QUOTE_MEASURES = ("issued", "bound")


def _day(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _add(sums: Sums, day: date, dims: Dims, index: int, value: Any, size: int, sign: int) -> None:
    key = (day.isoformat(), *dims)
    if key not in sums:
        sums[key] = [0] * size
    sums[key][index] += sign * value


def _latest(rows: Iterable[Row], key: str) -> dict[Any, Row]:
    """The latest version of each ``key`` among ``rows``."""
    out: dict[Any, Row] = {}
    for row in rows:
        seen = out.get(row[key])
        if seen is None or row["version"] > seen["version"]:
            out[row[key]] = row
    return out


def _latest_by(rows: Iterable[Row], keys: tuple[str, ...]) -> dict[Any, Row]:
    """The latest version of each combination of ``keys`` among ``rows``."""
    out: dict[Any, Row] = {}
    for row in rows:
        k = tuple(str(row[c]) for c in keys)
        seen = out.get(k)
        if seen is None or row["version"] > seen["version"]:
            out[k] = row
    return out


# --- the functions of one entity's rows --------------------------------------------------------------


def policy_sums(terms: Sequence[Row], cancellations: Sequence[Row], sums: Sums, sign: int) -> None:
    """Add (``sign`` 1) or take away (-1) one policy's changes."""
    latest = _latest(terms, "term_start")
    if not latest:
        return
    cancel = _latest(cancellations, "policy_id")
    cancelled_on = _day(next(iter(cancel.values()))["cancelled_at"]) if cancel else None
    last_start = max(_day(t["term_start"]) for t in latest.values())
    n = len(POLICY_MEASURES)
    for term in latest.values():
        start, end = _day(term["term_start"]), _day(term["term_end"])
        dims = (str(term["carrier"]), str(term["line"]), str(term["province"]))
        premium = Decimal(str(term["premium"]))
        rate = (premium / max((end - start).days, 1)).quantize(RATE_PLACES, ROUND_DOWN)
        eff_end = max(cancelled_on, start) if cancelled_on is not None and cancelled_on < end else end
        _add(sums, start, dims, 0, premium, n, sign)
        _add(sums, start, dims, 1, rate, n, sign)
        _add(sums, start, dims, 2, 1, n, sign)
        _add(sums, start, dims, 3, 1, n, sign)
        _add(sums, eff_end, dims, 1, -rate, n, sign)
        _add(sums, eff_end, dims, 2, -1, n, sign)
        if eff_end == end:
            _add(sums, end, dims, 4, 1, n, sign)
            if start < last_start:
                _add(sums, end, dims, 5, 1, n, sign)
        if cancelled_on is not None and start <= cancelled_on < end:
            _add(sums, cancelled_on, dims, 6, 1, n, sign)


def claim_sums(events: Sequence[Row], terms: Sequence[Row], sums: Sums, sign: int) -> None:
    """One claim: counted on the day it was reported, with what it has incurred and paid so far, by
    its policy's carrier, line and province (its first term's; empty while the policy is unknown)."""
    if not events:
        return
    rows = sorted({r["event_id"]: r for r in events}.values(), key=lambda r: (r["time"], r["event_id"]))

    def last(column: str) -> Any:
        values = [r[column] for r in rows if r[column] is not None]
        return values[-1] if values else None

    status = rows[-1]["status"]
    claimed, approved, paid = last("claimed"), last("approved"), last("paid")
    if paid is not None:
        incurred = Decimal(str(paid))
    elif status == "denied":
        incurred = Decimal(0)
    elif approved is not None:
        incurred = Decimal(str(approved))
    else:
        incurred = Decimal(str(claimed or 0))
    first = min(terms, key=lambda t: (_day(t["term_start"]), t["version"]), default=None)
    dims = (
        ("", "", "") if first is None else (str(first["carrier"]), str(first["line"]), str(first["province"]))
    )
    day = _day(rows[0]["time"])
    n = len(CLAIM_MEASURES)
    _add(sums, day, dims, 0, 1, n, sign)
    _add(sums, day, dims, 1, incurred, n, sign)
    _add(sums, day, dims, 2, Decimal(str(paid or 0)), n, sign)


def quote_sums(quotes: Sequence[Row], conversions: Sequence[Row], sums: Sums, sign: int) -> None:
    """One quote: issued on its day, by its line, the carrier it was bound with (else its best offer)."""
    quote = _latest(quotes, "quote_id")
    if not quote:
        return
    q = next(iter(quote.values()))
    converted = _latest(conversions, "quote_id")
    carrier = str(next(iter(converted.values()))["carrier"]) if converted else str(q["best_carrier"])
    dims = (carrier, str(q["line"]), str(q["province"]))
    day = _day(q["created_at"])
    _add(sums, day, dims, 0, 1, len(QUOTE_MEASURES), sign)
    _add(sums, day, dims, 1, 1 if converted else 0, len(QUOTE_MEASURES), sign)


def call_sums(rows: Sequence[Row], sums: Sums, sign: int) -> None:
    """One call (its latest version): counted for its agent on the day it ended, answered or not,
    with its duration when answered (a call without an agent counts for nobody)."""
    call = _latest(rows, "call_id")
    if not call:
        return
    c = next(iter(call.values()))
    if not c["agent_id"]:
        return
    answered = int(c["answered"]) == 1
    day, agent = _day(c["ended_at"]), (str(c["agent_id"]),)
    _add(sums, day, agent, 0, 1, 3, sign)
    _add(sums, day, agent, 1, 1 if answered else 0, 3, sign)
    _add(sums, day, agent, 2, int(c["duration_seconds"]) if answered else 0, 3, sign)


def _second(at: str) -> datetime:
    return datetime.fromisoformat(str(at)[:19])


def conversation_sums(rows: Sequence[Row], volumes: Sums, responses: Sums, sign: int) -> None:
    """One conversation's messages (each at its latest version): every message counted on its day
    and channel, inbound or outbound; and, when it has an inbound message and a reply at or after
    the first one, its first-response time in whole seconds (``dateDiff('second')``), counted on
    the day of that first inbound message under the conversation's channel (its earliest
    message's)."""
    messages = list(_latest(rows, "message_id").values())
    if not messages:
        return
    for m in messages:
        _add(
            volumes, _day(m["at"]), (str(m["channel"]),), 0 if m["direction"] == "inbound" else 1, 1, 2, sign
        )
    inbound = [str(m["at"]) for m in messages if m["direction"] == "inbound"]
    if not inbound:
        return
    first_in = min(inbound)
    replies = [str(m["at"]) for m in messages if m["direction"] == "outbound" and str(m["at"]) >= first_in]
    if not replies:
        return
    channel = str(min(messages, key=lambda m: (str(m["at"]), str(m["message_id"])))["channel"])
    seconds = int((_second(min(replies)) - _second(first_in)).total_seconds())
    _add(responses, _day(first_in), (channel, seconds), 0, 1, 1, sign)


def _ended(call: Row) -> tuple[str, str]:
    return str(call["ended_at"]), str(call["call_id"])


def conversion_sums(terms: Sequence[Row], calls: Sequence[Row], sums: Sums, sign: int) -> None:
    """One customer's last-touch conversions: each new policy term (its latest version) counts for
    the agent of the customer's last answered call that ended at or before the sale, when that
    call ended at most 30 calendar days before the sale's day (``dateDiff('day')``); counted on the
    term's start day. Equal end instants are broken by call id (the raw join's ``ASOF`` leaves that
    tie open)."""
    sales = [t for t in _latest_by(terms, ("policy_id", "term_start")).values() if t["kind"] == "new"]
    if not sales:
        return
    touches = sorted(
        (
            c
            for c in _latest(calls, "call_id").values()
            if c["agent_id"] and c["customer_id"] and int(c["answered"]) == 1
        ),
        key=_ended,
    )
    if not touches:
        return
    for sale in sales:
        sold = str(sale["sold_at"])
        last = None
        for call in touches:  # a customer has few calls
            if str(call["ended_at"]) > sold:
                break
            last = call
        if last is not None and (_day(sold) - _day(last["ended_at"])).days <= 30:
            _add(sums, _day(sale["term_start"]), (str(last["agent_id"]),), 0, 1, 1, sign)


# --- what the writer calls -----------------------------------------------------------------------------


async def resolve_dimensions(store: Store, tables: Mapping[str, list[dict[str, Any]]]) -> None:
    """Fill the province of new terms and quotes (their customer's), from the batch itself, else
    from the store."""
    provinces: dict[str, str] = {
        c["customer_id"]: c["province"]
        for c in sorted(tables.get("customers", []), key=lambda c: c["version"])
    }
    wanted = {
        r["customer_id"] for t in ("policy_terms", "quotes") for r in tables.get(t, []) if r["customer_id"]
    } - set(provinces)
    if wanted:
        rows = await store.query(
            "SELECT customer_id, argMax(province, version) AS province FROM $db.customers "
            "WHERE customer_id IN {ids:Array(String)} GROUP BY customer_id",
            {"ids": array_param(sorted(wanted))},
        )
        provinces.update({str(r["customer_id"]): str(r["province"]) for r in rows})
    for table in ("policy_terms", "quotes"):
        for row in tables.get(table, []):
            row["province"] = provinces.get(row["customer_id"], "")


_TERM_COLUMNS = (
    "term_start", "term_end", "premium", "carrier", "line", "province", "version", "customer_id", "kind",
    "sold_at",
)  # fmt: skip
_CANCEL_COLUMNS = ("cancelled_at", "version")
_CLAIM_COLUMNS = ("policy_id", "time", "status", "claimed", "approved", "paid")
_QUOTE_COLUMNS = ("line", "best_carrier", "province", "created_at", "version")
_CONVERSION_COLUMNS = ("carrier", "version")
_CALL_COLUMNS = ("agent_id", "ended_at", "answered", "duration_seconds", "version", "customer_id")
_MESSAGE_COLUMNS = ("message_id", "channel", "direction", "at", "version")


async def _stored(
    store: Store,
    table: str,
    key: str,
    ids: set[str],
    columns: Sequence[str],
    new_ids: set[str],
    customers: set[str] | None = None,
) -> tuple[dict[str, list[Row]], dict[str, list[Row]]]:
    """The stored rows of ``ids`` (by ``key``) that other events wrote (not the batch's own), and
    in the same read those of ``customers`` (by ``customer_id``), each grouped by its key."""
    out: dict[str, list[Row]] = defaultdict(list)
    by_customer: dict[str, list[Row]] = defaultdict(list)
    if ids or customers:
        where = f"{key} IN {{ids:Array(String)}}"
        params = {"ids": array_param(sorted(ids))}
        if customers:
            where += " OR customer_id IN {customers:Array(String)}"
            params["customers"] = array_param(sorted(customers))
        for row in await store.query(
            f"SELECT {key}, event_id, {', '.join(columns)} FROM $db.{table} WHERE {where}", params
        ):
            if str(row["event_id"]) in new_ids:
                continue
            if str(row[key]) in ids:
                out[str(row[key])].append(row)
            if customers and str(row["customer_id"]) in customers:
                by_customer[str(row["customer_id"])].append(row)
    return out, by_customer


def _rows_out(sums: Sums) -> list[list[Any]]:
    """The non-zero changes as tuples for the raw row's delta column."""
    return [[*key, *values] for key, values in sums.items() if any(values)]


def _by(rows: Iterable[Mapping[str, Any]], key: str) -> dict[str, list[Row]]:
    out: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        out[str(row[key])].append(row)  # type: ignore[arg-type]
    return out


async def batch_deltas(
    store: Store,
    tables: Mapping[str, list[dict[str, Any]]],
    new_ids: set[str],
    committed: Any,
) -> dict[str, list[list[Any]]]:
    """The changes the batch's new events (``new_ids``, their rows in ``tables``) make to the three
    aggregates. ``committed(ids)`` answers which of ``ids`` have their raw row stored.

    The batch's own rows are taken from ``tables`` (in memory); only the entities' rows written by
    other events are read from the store, whether the batch's facts are inserted yet or not (a
    stored row carrying one of ``new_ids`` is the batch's own, left by a run that died)."""
    batch_terms = _by(tables.get("policy_terms", []), "policy_id")
    batch_cancels = _by(tables.get("policy_cancellations", []), "policy_id")
    batch_claims = _by(tables.get("claim_events", []), "claim_id")
    batch_quotes = _by(tables.get("quotes", []), "quote_id")
    batch_conversions = _by(tables.get("quote_conversions", []), "quote_id")
    policy_ids = set(batch_terms) | set(batch_cancels)
    quote_ids = set(batch_quotes) | set(batch_conversions)
    # a claim's stored events, and the claims of the batch's new terms (a policy's first term gives
    # its claims their carrier, line and province), in one read
    claims: dict[str, list[Row]] = defaultdict(list)
    if batch_claims or batch_terms:
        for row in await store.query(
            f"SELECT claim_id, event_id, {', '.join(_CLAIM_COLUMNS)} FROM $db.claim_events "
            "WHERE claim_id IN {ids:Array(String)} OR policy_id IN {terms:Array(String)}",
            {"ids": array_param(sorted(batch_claims)), "terms": array_param(sorted(batch_terms))},
        ):
            if str(row["event_id"]) not in new_ids:
                claims[str(row["claim_id"])].append(row)
    claim_ids = set(batch_claims) | set(claims)
    for cid, rows in batch_claims.items():
        claims[cid].extend(rows)
    claim_policies = {str(r["policy_id"]) for rs in claims.values() for r in rs}
    batch_calls = _by(tables.get("calls", []), "call_id")
    batch_messages = _by(tables.get("messages", []), "conversation_id")
    # last-touch conversions: a customer's new terms and calls (any later call or sale of the
    # customer can change whom a sale counts for)
    customers = {
        str(r["customer_id"])
        for t in ("policy_terms", "calls")
        for r in tables.get(t, [])
        if r["customer_id"]
    }
    terms, customer_terms = await _stored(
        store, "policy_terms", "policy_id", policy_ids | claim_policies, _TERM_COLUMNS, new_ids, customers
    )
    for pid, rows in batch_terms.items():
        terms[pid].extend(rows)
    cancels, _ = await _stored(
        store, "policy_cancellations", "policy_id", policy_ids, _CANCEL_COLUMNS, new_ids
    )
    quotes, _ = await _stored(store, "quotes", "quote_id", quote_ids, _QUOTE_COLUMNS, new_ids)
    conversions, _ = await _stored(
        store, "quote_conversions", "quote_id", quote_ids, _CONVERSION_COLUMNS, new_ids
    )
    calls, customer_calls = await _stored(
        store, "calls", "call_id", set(batch_calls), _CALL_COLUMNS, new_ids, customers
    )
    messages, _ = await _stored(
        store, "messages", "conversation_id", set(batch_messages), _MESSAGE_COLUMNS, new_ids
    )
    stored = (terms, cancels, claims, quotes, conversions, calls, messages, customer_terms, customer_calls)
    older = {str(r["event_id"]) for rows in stored for rs in rows.values() for r in rs} - new_ids
    done = await committed(sorted(older)) if older else set()
    for table, grouped in (("policy_terms", customer_terms), ("calls", customer_calls)):
        for row in tables.get(table, []):
            if row["customer_id"]:
                grouped[str(row["customer_id"])].append(row)
    for pid, rows in batch_cancels.items():
        cancels[pid].extend(rows)
    for qid, rows in batch_quotes.items():
        quotes[qid].extend(rows)
    for qid, rows in batch_conversions.items():
        conversions[qid].extend(rows)
    for cid, rows in batch_calls.items():
        calls[cid].extend(rows)
    for vid, rows in batch_messages.items():
        messages[vid].extend(rows)

    def split(rows: list[Row]) -> tuple[list[Row], list[Row]]:
        before = [r for r in rows if str(r["event_id"]) in done]
        after = [r for r in rows if str(r["event_id"]) in done or str(r["event_id"]) in new_ids]
        return before, after

    policy: Sums = {}
    for pid in policy_ids:
        (tb, ta), (cb, ca) = split(terms.get(pid, [])), split(cancels.get(pid, []))
        policy_sums(tb, cb, policy, -1)
        policy_sums(ta, ca, policy, 1)
    claim: Sums = {}
    for cid in claim_ids:
        before, after = split(claims.get(cid, []))
        pid = str(after[0]["policy_id"]) if after else ""
        (tb, ta) = split(terms.get(pid, []))
        claim_sums(before, tb, claim, -1)
        claim_sums(after, ta, claim, 1)
    quote: Sums = {}
    for qid in quote_ids:
        (qb, qa), (vb, va) = split(quotes.get(qid, [])), split(conversions.get(qid, []))
        quote_sums(qb, vb, quote, -1)
        quote_sums(qa, va, quote, 1)
    call: Sums = {}
    for cid in batch_calls:
        before, after = split(calls[cid])
        call_sums(before, call, -1)
        call_sums(after, call, 1)
    volume: Sums = {}
    response: Sums = {}
    for vid in batch_messages:
        before, after = split(messages[vid])
        conversation_sums(before, volume, response, -1)
        conversation_sums(after, volume, response, 1)
    won: Sums = {}
    for customer in customers:
        (tb, ta), (cb, ca) = split(customer_terms[customer]), split(customer_calls[customer])
        conversion_sums(tb, cb, won, -1)
        conversion_sums(ta, ca, won, 1)
    return {
        "policy_deltas": _rows_out(policy),
        "claim_deltas": _rows_out(claim),
        "quote_deltas": _rows_out(quote),
        "call_deltas": _rows_out(call),
        "message_deltas": _rows_out(volume),
        "response_deltas": _rows_out(response),
        "conversion_deltas": _rows_out(won),
    }


# --- a rebuild from the facts (a store from before the aggregates, or facts loaded in bulk) ---------

_M = "toDecimal128({}, 2)"
_R = "toDecimal128({}, 12)"
_I = "toInt64({})"


def _tuple(day: str, *values: str) -> str:
    return f"tuple(toDate({day}), {', '.join(values)})"


_POLICY_CHANGES = ", ".join(
    [
        _tuple("a", _M.format("p"), _R.format("day_rate"), _I.format(1), _I.format(1), *[_I.format(0)] * 3),
        _tuple("eff_end", _M.format(0), _R.format("-day_rate"), _I.format(-1), *[_I.format(0)] * 4),
        _tuple(
            "b",
            _M.format(0),
            _R.format(0),
            _I.format(0),
            _I.format(0),
            _I.format("eff_end = b"),
            _I.format("eff_end = b AND has_later"),
            _I.format(0),
        ),
        _tuple(
            "ifNull(c, a)",
            _M.format(0),
            _R.format(0),
            *[_I.format(0)] * 4,
            _I.format("c IS NOT NULL AND c >= a AND c < b"),
        ),
    ]
)

REBUILD: dict[str, str] = {
    "policy_daily": f"""
    INSERT INTO $db.policy_daily
    WITH terms AS (
        SELECT t.term_start AS a, t.term_end AS b, t.premium AS p, t.carrier AS t_carrier,
               t.line AS t_line, t.province AS t_province, x.cancelled_on AS c,
               if(c IS NOT NULL AND c < b, greatest(c, a), b) AS eff_end,
               a < max(a) OVER (PARTITION BY t.policy_id) AS has_later,
               toDecimal128(p, 12) / greatest(dateDiff('day', a, b), 1) AS day_rate
        FROM $db.policy_terms AS t FINAL
        LEFT JOIN (SELECT policy_id, toDate(argMax(cancelled_at, version)) AS cancelled_on
                   FROM $db.policy_cancellations GROUP BY policy_id) AS x ON x.policy_id = t.policy_id
    )
    SELECT tupleElement(d, 1) AS day, t_carrier AS carrier, t_line AS line, t_province AS province,
           tupleElement(d, 2) AS written,
           tupleElement(d, 3) AS rate, tupleElement(d, 4) AS active, tupleElement(d, 5) AS started,
           tupleElement(d, 6) AS up, tupleElement(d, 7) AS renewed, tupleElement(d, 8) AS cancelled
    FROM terms ARRAY JOIN [{_POLICY_CHANGES}] AS d
    SETTINGS join_use_nulls = 1""",
    "claim_daily": """
    INSERT INTO $db.claim_daily
    SELECT toDate(reported_at) AS day, ifNull(k_carrier, '') AS carrier, ifNull(k_line, '') AS line,
           ifNull(k_province, '') AS province, toInt64(1) AS claims,
           toDecimal128(multiIf(k_paid IS NOT NULL, k_paid, k_status = 'denied', toDecimal64(0, 2),
                                k_approved IS NOT NULL, k_approved, ifNull(k_claimed, toDecimal64(0, 2))), 2)
               AS incurred,
           toDecimal128(ifNull(k_paid, toDecimal64(0, 2)), 2) AS paid
    FROM (
        SELECT claim_id, min(time) AS reported_at, argMax(status, (time, event_id)) AS k_status,
               argMaxIf(claimed, time, claimed IS NOT NULL) AS k_claimed,
               argMaxIf(approved, time, approved IS NOT NULL) AS k_approved,
               argMaxIf(paid, time, paid IS NOT NULL) AS k_paid,
               any(policy_id) AS k_policy
        FROM $db.claim_events FINAL GROUP BY claim_id
    ) AS cl
    LEFT JOIN (
        SELECT policy_id, argMin((carrier, line, province), (term_start, version)) AS dims,
               tupleElement(dims, 1) AS k_carrier, tupleElement(dims, 2) AS k_line,
               tupleElement(dims, 3) AS k_province
        FROM $db.policy_terms GROUP BY policy_id
    ) AS p ON p.policy_id = cl.k_policy
    SETTINGS join_use_nulls = 1""",
    "quote_daily": """
    INSERT INTO $db.quote_daily
    SELECT toDate(q.created_at) AS day, ifNull(v.carrier, q.best_carrier) AS carrier, q.line AS line,
           q.province AS province, toInt64(1) AS issued, toInt64(v.quote_id IS NOT NULL) AS bound
    FROM $db.quotes AS q FINAL
    LEFT JOIN (SELECT quote_id, argMax(carrier, version) AS carrier FROM $db.quote_conversions
               GROUP BY quote_id) AS v ON v.quote_id = q.quote_id
    SETTINGS join_use_nulls = 1""",
    "call_daily": """
    INSERT INTO $db.call_daily
    SELECT toDate(ended_at) AS day, agent_id, toInt64(1) AS calls, toInt64(answered = 1) AS answered,
           toInt64(if(answered = 1, duration_seconds, 0)) AS answered_seconds
    FROM $db.calls FINAL WHERE agent_id != ''""",
    "message_daily": """
    INSERT INTO $db.message_daily
    SELECT toDate(at) AS day, channel, toInt64(direction = 'inbound') AS inbound,
           toInt64(direction = 'outbound') AS outbound
    FROM $db.messages FINAL""",
    "response_daily": """
    INSERT INTO $db.response_daily
    WITH m AS (SELECT conversation_id, message_id, channel, direction, at FROM $db.messages FINAL),
    conv AS (
        SELECT conversation_id, argMin(channel, (at, message_id)) AS conv_channel,
               minIf(at, direction = 'inbound') AS first_in
        FROM m GROUP BY conversation_id HAVING countIf(direction = 'inbound') > 0
    )
    SELECT toDate(c.first_in) AS day, c.conv_channel AS channel,
           toInt64(dateDiff('second', c.first_in,
                            minIf(m.at, m.direction = 'outbound' AND m.at >= c.first_in))) AS seconds,
           toInt64(1) AS conversations
    FROM conv AS c INNER JOIN m ON m.conversation_id = c.conversation_id
    GROUP BY c.conversation_id, c.conv_channel, c.first_in
    HAVING countIf(m.direction = 'outbound' AND m.at >= c.first_in) > 0""",
    "conversion_daily": """
    INSERT INTO $db.conversion_daily
    WITH sales AS (
        SELECT customer_id, term_start, sold_at FROM $db.policy_terms FINAL WHERE kind = 'new'
    ),
    touches AS (
        SELECT customer_id, agent_id, ended_at FROM $db.calls FINAL
        WHERE agent_id != '' AND customer_id != '' AND answered = 1
    )
    SELECT s.term_start AS day, t.agent_id AS agent_id, toInt64(1) AS conversions
    FROM sales AS s ASOF INNER JOIN touches AS t ON s.customer_id = t.customer_id AND s.sold_at >= t.ended_at
    WHERE dateDiff('day', t.ended_at, s.sold_at) <= 30""",
}


async def rebuild(store: Store) -> None:
    """Recompute the aggregates from the fact tables (the same functions in SQL): for a store
    filled before the aggregates existed, or facts loaded in bulk. Run it while nothing ingests."""
    for table, sql in REBUILD.items():
        await store.command(f"TRUNCATE TABLE $db.{table}")
        await store.command(sql)
