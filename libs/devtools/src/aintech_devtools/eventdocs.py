"""Render the event catalogue as Markdown: ``python -m aintech_devtools.eventdocs > docs/events.md``."""

from __future__ import annotations

import json
from typing import Any

from aintech_contracts.events import CATALOGUE, DEAD_LETTER_PARTITIONS, TOPICS, EventData


def _field_rows(model: type[EventData]) -> list[str]:
    schema = model.model_json_schema()
    required = set(schema.get("required", []))
    rows = []
    for name, prop in schema.get("properties", {}).items():
        kind = prop.get("format") or prop.get("type")
        if kind is None and "anyOf" in prop:
            kind = " or ".join(str(p.get("format") or p.get("type")) for p in prop["anyOf"])
        rows.append(f"| `{name}` | {kind} | {'yes' if name in required else 'no'} |")
    return rows


def _example(model: type[EventData]) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": "4f9a0d6e-6a39-4c0f-9a57-0b7f7f3f1c11",
        "source": model.topic.split(".")[0],
        "type": model.event_type,
        "time": "2026-11-23T10:15:00Z",
        "subject": "<aggregate id>",
        "datacontenttype": "application/json",
        "correlationid": "9d1c5e7f0b2a4c3d8e6f1a2b3c4d5e6f",
        "data": {name: f"<{name}>" for name in model.model_fields},
    }


def render() -> str:
    """The whole events.md document."""
    lines = [
        "# Event catalogue",
        "",
        "Generated from `aintech_contracts.events` by `make docs`; do not edit by hand.",
        "",
        "Every event travels as a CloudEvents 1.0 JSON envelope (structured mode) with the",
        "`correlationid` extension. The Kafka key is the aggregate id, so events of one entity keep",
        "their order. Producers write events to their outbox in the business transaction; a relay",
        "sends them with an idempotent producer (acks=all). Consumers de-duplicate on",
        "(consumer, event id) in their own transaction; a message that keeps failing goes to",
        "`<topic>.dlq` with headers `dlq_error`, `dlq_consumer`, `dlq_original_topic`,",
        "`dlq_original_partition`, `dlq_original_offset` and `dlq_attempts`.",
        "",
        "## Topics",
        "",
        "| topic | partitions | dead-letter topic |",
        "|---|---|---|",
    ]
    for topic, partitions in sorted(TOPICS.items()):
        lines.append(f"| `{topic}` | {partitions} | `{topic}.dlq` ({DEAD_LETTER_PARTITIONS}) |")
    lines += ["", "## Event types", ""]
    for event_type, model in sorted(CATALOGUE.items()):
        doc = (model.__doc__ or "").strip()
        lines += [
            f"### `{event_type}`",
            "",
            doc,
            "",
            f"Topic `{model.topic}` · model `{model.__module__}.{model.__name__}`",
            "",
            "| field | type | required |",
            "|---|---|---|",
            *_field_rows(model),
            "",
            "```json",
            json.dumps(_example(model), indent=2),
            "```",
            "",
        ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(render())
