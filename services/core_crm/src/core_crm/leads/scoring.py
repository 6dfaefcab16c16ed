"""The lead score: 0–100 with its reasons, from the source, how complete the record is, and how the
person engages (replies, quotes requested, calls). A pure function of the facts, so it is the same
whenever it is recomputed (each relevant event recomputes it)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Points for where the lead came from (other sources: DEFAULT_SOURCE_POINTS).
SOURCE_POINTS = {"referral": 25, "web": 15, "zapier": 10, "campaign": 10}
DEFAULT_SOURCE_POINTS = 5
# Completeness: points per contact or identity detail present.
DETAIL_POINTS = {"email": 5, "phone": 5, "mobile": 5, "dni": 10, "postal_code": 5}
COMPLETENESS_CAP = 25
# Engagement: per fact, up to a cap.
REPLY_POINTS, REPLY_CAP = 10, 20
QUOTE_POINTS, QUOTE_CAP = 15, 30
CALL_POINTS, CALL_CAP = 5, 15


@dataclass(frozen=True)
class Facts:
    source: str | None
    details: dict[str, bool]
    replies: int
    quotes: int
    calls: int


def score(facts: Facts) -> tuple[int, list[dict[str, Any]]]:
    """The score (0–100) and why: each factor with its points and what it counted."""
    reasons: list[dict[str, Any]] = []
    if facts.source:
        points = SOURCE_POINTS.get(facts.source, DEFAULT_SOURCE_POINTS)
        reasons.append({"factor": "source", "points": points, "detail": facts.source})
    present = sorted(name for name, has in facts.details.items() if has)
    completeness = min(COMPLETENESS_CAP, sum(DETAIL_POINTS.get(n, 0) for n in present))
    if completeness:
        reasons.append({"factor": "completeness", "points": completeness, "detail": ", ".join(present)})
    for factor, count, each, cap in (
        ("replies", facts.replies, REPLY_POINTS, REPLY_CAP),
        ("quotes_requested", facts.quotes, QUOTE_POINTS, QUOTE_CAP),
        ("calls", facts.calls, CALL_POINTS, CALL_CAP),
    ):
        if count:
            reasons.append({"factor": factor, "points": min(cap, count * each), "detail": str(count)})
    total = max(0, min(100, sum(r["points"] for r in reasons)))
    return total, reasons
