"""Pure mapping of one CloudEvent to the rows it adds: the raw row and its fact rows.

The raw row keeps the payload without its personal fields (``ingest.privacy``); no fact needs one.

Amounts stay decimal strings (exact); instants are written as ``YYYY-MM-DD hh:mm:ss.fff`` UTC.
An event of an unknown type still lands in ``raw_events``; a field missing from a known type
falls back to an empty value rather than failing the whole batch (the raw row keeps the payload).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from typing import Any

from aintech_contracts.envelope import CloudEvent
from aintech_contracts.events import TOPICS
from analytics.ingest.privacy import scrub
from analytics.sentiment.facts import sentiment_row

Rows = dict[str, list[dict[str, Any]]]

# auth.* carries one-time links and codes, crm.notification codes too: not business facts.
EXCLUDED_PREFIXES = ("auth.", "analytics.")
EXCLUDED_TOPICS = frozenset({"crm.notification"})


def ingested_topics() -> list[str]:
    """Every domain topic analytics reads (all declared topics but the excluded ones)."""
    return sorted(t for t in TOPICS if not t.startswith(EXCLUDED_PREFIXES) and t not in EXCLUDED_TOPICS)


def ts(value: Any) -> str:
    """An instant (datetime or ISO text) as ClickHouse DateTime64(3) text in UTC."""
    if value is None or value == "":
        return "1970-01-01 00:00:00.000"
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if isinstance(value, datetime):
        if value.tzinfo is UTC:
            return value.isoformat(" ", "milliseconds")[:23]
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        elif value.utcoffset():
            value = value.astimezone(UTC)
        return value.isoformat(" ", "milliseconds")[:23]
    if isinstance(value, date):
        return f"{value.isoformat()} 00:00:00.000"
    raise ValueError(f"not an instant: {value!r}")


def _s(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    return "" if value is None else str(value)


def _m(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    return None if value is None else str(value)


def _policy(event: CloudEvent, at: str) -> Rows:
    d = event.data
    renewal = event.type == "policy.renewed"
    row = {
        "policy_id": _s(d, "policy_id"),
        "term_start": _s(d, "coverage_start_date"),
        "term_end": _s(d, "coverage_end_date"),
        "term_number": int(d.get("term_number") or 1),
        "policy_number": _s(d, "policy_number"),
        "line": _s(d, "policy_type"),
        "carrier": _s(d, "carrier"),
        "customer_id": _s(d, "customer_id"),
        "premium": _s(d, "premium_amount") or "0",
        "previous_premium": _m(d, "previous_premium_amount") if renewal else None,
        "premium_frequency": _s(d, "premium_frequency"),
        "kind": "renewal" if renewal else "new",
        "quote_id": _s(d, "quote_id"),
        "sold_at": at,
        "version": at,
        "event_id": event.id,
    }
    return {"policy_terms": [row]}


def _cancelled(event: CloudEvent, at: str) -> Rows:
    d = event.data
    when = ts(d.get("cancelled_at") or event.time)
    row = {
        "policy_id": _s(d, "policy_id"),
        "customer_id": _s(d, "customer_id"),
        "reason": _s(d, "reason"),
        "cancelled_at": when,
        "version": at,
        "event_id": event.id,
    }
    return {"policy_cancellations": [row]}


def _customer(event: CloudEvent, at: str) -> Rows:
    d = event.data
    deleted = event.type == "customer.deleted"
    row = {
        "customer_id": _s(d, "customer_id"),
        "province": "" if deleted else _s(d, "province"),
        "segment": "" if deleted else _s(d, "segment"),
        "status": _s(d, "reason") if deleted else _s(d, "status"),
        "created_at": at,
        "deleted": 1 if deleted else 0,
        "version": at,
    }
    return {"customers": [row]}


def _claim(event: CloudEvent, at: str) -> Rows:
    d = event.data
    status = {"claim.approved": "approved", "claim.denied": "denied", "claim.paid": "paid"}.get(
        event.type, _s(d, "status")
    )
    row = {
        "claim_id": _s(d, "claim_id"),
        "event_id": event.id,
        "type": event.type,
        "time": at,
        "policy_id": _s(d, "policy_id"),
        "customer_id": _s(d, "customer_id"),
        "claim_type": _s(d, "claim_type"),
        "status": status,
        "claimed": _m(d, "claimed_amount"),
        "approved": _m(d, "approved_amount"),
        "paid": _m(d, "paid_amount"),
    }
    return {"claim_events": [row]}


def _quote(event: CloudEvent, at: str) -> Rows:
    d = event.data
    row = {
        "quote_id": _s(d, "quote_id"),
        "customer_id": _s(d, "customer_id"),
        "line": _s(d, "quote_type"),
        "best_carrier": _s(d, "best_carrier"),
        "total_premium": _s(d, "total_premium") or "0",
        "created_at": at,
        "version": at,
        "event_id": event.id,
    }
    return {"quotes": [row]}


def _converted(event: CloudEvent, at: str) -> Rows:
    d = event.data
    row = {
        "quote_id": _s(d, "quote_id"),
        "policy_id": _s(d, "policy_id"),
        "customer_id": _s(d, "customer_id"),
        "carrier": _s(d, "carrier"),
        "total_premium": _s(d, "total_premium") or "0",
        "converted_at": ts(d.get("converted_at") or event.time),
        "version": at,
        "event_id": event.id,
    }
    return {"quote_conversions": [row]}


def _call(event: CloudEvent, at: str) -> Rows:
    d = event.data
    row = {
        "call_id": _s(d, "call_id"),
        "agent_id": _s(d, "agent_id"),
        "customer_id": _s(d, "customer_id"),
        "direction": _s(d, "direction"),
        "status": _s(d, "status"),
        "outcome": _s(d, "outcome"),
        "duration_seconds": int(d.get("duration_seconds") or 0),
        "answered": 1 if d.get("answered_at") else 0,
        "ended_at": ts(d.get("ended_at") or event.time),
        "version": at,
        "event_id": event.id,
    }
    return {"calls": [row]}


def _message(event: CloudEvent, at: str) -> Rows:
    d = event.data
    inbound = event.type == "message.received"
    stamp = d.get("received_at" if inbound else "sent_at")
    row = {
        "message_id": _s(d, "message_id"),
        "conversation_id": _s(d, "conversation_id"),
        "channel": _s(d, "channel"),
        "direction": "inbound" if inbound else "outbound",
        "customer_id": _s(d, "customer_id"),
        "status": "received" if inbound else _s(d, "status"),
        "at": ts(stamp) if stamp else at,
        "version": at,
        "event_id": event.id,
    }
    if inbound and d.get("sentiment_score") is not None:
        return {"messages": [row], "message_sentiment": [sentiment_row(d, row)]}
    return {"messages": [row]}


FACTS: dict[str, Callable[[CloudEvent, str], Rows]] = {
    "customer.created": _customer,
    "customer.updated": _customer,
    "customer.deleted": _customer,
    "policy.created": _policy,
    "policy.renewed": _policy,
    "policy.cancelled": _cancelled,
    "claim.created": _claim,
    "claim.updated": _claim,
    "claim.approved": _claim,
    "claim.denied": _claim,
    "claim.paid": _claim,
    "quote.created": _quote,
    "quote.converted": _converted,
    "call.ended": _call,
    "message.received": _message,
    "message.sent": _message,
}


def rows_of(event: CloudEvent, topic: str) -> Rows:
    """The raw row and the fact rows of one event."""
    at = ts(event.time)
    out: Rows = defaultdict(list)
    out["raw_events"].append(
        {
            "event_id": event.id,
            "type": event.type,
            "source": event.source,
            "topic": topic,
            "subject": event.subject or "",
            "time": at,
            # without its personal fields (ingest.privacy); stored as the object's JSON text
            # (store.port.encode_rows). The facts below read the whole payload.
            "data": scrub(event.data),
        }
    )
    mapper = FACTS.get(event.type)
    if mapper is not None:
        for table, rows in mapper(event, at).items():
            out[table].extend(rows)
    return out
