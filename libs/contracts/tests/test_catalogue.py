"""The event catalogue is code; docs/events.md must match it."""

import re
from pathlib import Path

import pytest

from aintech_contracts.events import CATALOGUE, TOPICS, EventData, all_topics
from aintech_devtools.eventdocs import render

ROOT = Path(__file__).resolve().parents[3]


def test_events_doc_is_generated_from_the_catalogue() -> None:
    doc = (ROOT / "docs" / "events.md").read_text()
    assert doc.strip() == render().strip(), "docs/events.md is stale: run `make docs`"


def test_every_event_type_is_named_entity_dot_action_on_a_declared_topic() -> None:
    for event_type, model in CATALOGUE.items():
        assert re.fullmatch(r"[a-z]+(_[a-z]+)*\.[a-z]+(_[a-z]+)*", event_type), event_type
        assert model.topic in TOPICS
    assert all(f"{t}.dlq" in all_topics() for t in TOPICS)


def test_duplicate_event_types_are_refused() -> None:
    with pytest.raises(ValueError, match="declared twice"):

        class Again(EventData):
            event_type = "user.registered"
            topic = "auth.user"
