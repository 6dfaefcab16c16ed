"""The ``message_sentiment`` row of an inbound message that carries a sentiment score."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def sentiment_row(data: Mapping[str, Any], message: Mapping[str, Any]) -> dict[str, Any]:
    """One row per scored inbound message; ``agent_id`` is empty when nobody had the conversation."""
    score = max(-1.0, min(1.0, float(data["sentiment_score"])))
    return {
        "message_id": message["message_id"],
        "channel": message["channel"],
        "agent_id": str(data.get("agent_id") or ""),
        "customer_id": message["customer_id"],
        "score": score,
        "label": str(data.get("sentiment_label") or ""),
        "at": message["at"],
        "version": message["version"],
    }
