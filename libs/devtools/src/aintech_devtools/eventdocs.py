"""Render the event catalogue as Markdown: ``python -m aintech_devtools.eventdocs > docs/events.md``."""

from __future__ import annotations

import inspect
import json
from typing import Any

from aintech_contracts.envelope import CONTENT_TYPE_HEADER, STRUCTURED_CONTENT_TYPE, STRUCTURED_MEDIA_TYPE
from aintech_contracts.events import CATALOGUE, DEAD_LETTER_PARTITIONS, TOPICS, EventData
from aintech_contracts.statuses import VOCABULARIES


def _kind(prop: dict[str, Any], defs: dict[str, Any]) -> str:
    """A property's type; a status vocabulary (an enum of the contracts) by its name."""
    if "$ref" in prop:
        name = prop["$ref"].rsplit("/", 1)[-1]
        target = defs.get(name, {})
        return f"`{name}`" if "enum" in target else str(target.get("type", name))
    if "anyOf" in prop:
        return " or ".join(_kind(p, defs) for p in prop["anyOf"])
    return str(prop.get("format") or prop.get("type"))


def _field_rows(model: type[EventData]) -> list[str]:
    schema = model.model_json_schema()
    defs = schema.get("$defs", {})
    required = set(schema.get("required", []))
    rows = []
    for name, prop in schema.get("properties", {}).items():
        rows.append(f"| `{name}` | {_kind(prop, defs)} | {'yes' if name in required else 'no'} |")
    return rows


def _vocabularies() -> list[str]:
    lines = [
        "## Status vocabularies",
        "",
        "Statuses, segments and priorities in payloads take the values of the enums in",
        "`aintech_contracts.statuses` (a payload with any other value is refused). Producers build",
        "their CHECK constraints and state machines from them; consumers compare with their members.",
        "Each value has a Spanish and an English text in omnichannel's templates",
        "(`templating/templates/<lang>/statuses.txt`).",
        "",
        "| enum | values |",
        "|---|---|",
    ]
    for enum in VOCABULARIES.values():
        lines.append(f"| `{enum.__name__}` | {', '.join(f'`{v.value}`' for v in enum)} |")
    return [*lines, ""]


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
        "partitionkey": "<aggregate id>",
        "data": {name: f"<{name}>" for name in model.model_fields},
    }


def render() -> str:
    """The whole events.md document."""
    lines = [
        "# Event catalogue",
        "",
        "Generated from `aintech_contracts.events` by `make docs`; do not edit by hand.",
        "",
        "Every event is a CloudEvents 1.0 JSON envelope with two extension attributes:",
        "`correlationid` (the work it belongs to, carried across services and logs) and",
        "`partitionkey` (the aggregate id). When tracing is on (docs/operations.md) it also carries",
        "`traceparent` (W3C Trace Context of the span that published it, the CloudEvents",
        "distributed-tracing extension), from which the consumer continues the trace.",
        "",
        "## Kafka binding",
        "",
        "Events follow the CloudEvents Kafka protocol binding in **structured content mode**:",
        "",
        "| part of the Kafka message | content |",
        "|---|---|",
        f"| header `{CONTENT_TYPE_HEADER}` | `{STRUCTURED_CONTENT_TYPE}` (the only header; no `ce_*`"
        " headers, which belong to binary mode) |",
        "| value | the whole event as JSON (UTF-8) |",
        "| key | the `partitionkey` attribute: the aggregate id, so events of one entity keep their order |",
        "",
        "A consumer dead-letters, as malformed, a message whose `content-type` is not",
        f"`{STRUCTURED_MEDIA_TYPE}` or whose value is not a valid envelope.",
        "",
        "## Delivery",
        "",
        "- Producers write events to their outbox in the business transaction. Per aggregate, the",
        "  order on Kafka is the commit order: publishing takes a transaction-scoped lock on",
        "  (topic, key), so a second writer of the same aggregate waits for the first to commit.",
        "- A relay sends them with an idempotent producer (acks=all); a crash can resend a batch.",
        "- Consumers de-duplicate on (consumer, event id) in their own transaction and commit",
        "  offsets after it. While the database or Kafka is unreachable they wait and retry;",
        "  nothing is dead-lettered for an outage.",
        "- A message its handler refuses (`PermanentError`, invalid payload, or an error that keeps",
        "  happening while the database answers) goes to `<topic>.dlq` with the original key, value",
        "  and headers plus `dlq_error`, `dlq_consumer`, `dlq_original_topic`,",
        "  `dlq_original_partition`, `dlq_original_offset` and `dlq_attempts`.",
        '- `make dlq ARGS="list"` lists dead letters; `replay` sends one (or all not yet replayed)',
        "  back to the original topic with the same key and headers plus `dlq_replayed_from`;",
        "  a marker with header `dlq_replay_of` on the DLQ records each replay.",
        "",
        "## Personal identifiers",
        "",
        "No event carries a customer's DNI/NIE/CIF or IBAN in clear (a reader of a topic, or of a",
        "consumer's store, would collect every customer's). Customer events carry `dni_digest` and",
        "`iban_digest`: HMAC-SHA256 of the value's compact form (upper case, letters and digits",
        "only) under `AINTECH_IDENTIFIER_DIGEST_KEY`, which only the CRM holds",
        "(`aintech_contracts.identifiers`). Equal values give equal digests, which is all a",
        "consumer compares; `dni_last3` and `iban_last4` tell a person which one it is. A consumer",
        "that needs the value asks the CRM's API, where staff permissions apply. Changing the key",
        "changes every digest (docs/decisions/0096-identifiers-as-keyed-digests-in-events.md).",
        "",
        "## Topics",
        "",
        "| topic | partitions | dead-letter topic |",
        "|---|---|---|",
    ]
    for topic, partitions in sorted(TOPICS.items()):
        lines.append(f"| `{topic}` | {partitions} | `{topic}.dlq` ({DEAD_LETTER_PARTITIONS}) |")
    lines += ["", *_vocabularies(), "## Event types", ""]
    for event_type, model in sorted(CATALOGUE.items()):
        doc = inspect.cleandoc(model.__doc__ or "")
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
