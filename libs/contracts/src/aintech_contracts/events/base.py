"""The machinery of the event catalogue: the payload base class, the registry and the topics.

Each bounded context declares its topics and event models in its own module
(``aintech_contracts.events.auth``, ``.crm``, ...); importing ``aintech_contracts.events`` loads
them all, so ``CATALOGUE`` and ``TOPICS`` are complete. docs/events.md is generated from them
(``make docs``).
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

# Topic per producing context, partitions explicit. Keys are aggregate ids (order per entity).
TOPICS: dict[str, int] = {}
DEAD_LETTER_PARTITIONS = 1
CATALOGUE: dict[str, type[EventData]] = {}


def declare_topic(name: str, partitions: int) -> str:
    """Register a topic of the producing context (``<context>.<entity>``); returns its name."""
    if TOPICS.get(name, partitions) != partitions:
        raise ValueError(f"topic {name!r} declared twice with different partition counts")
    TOPICS[name] = partitions
    return name


def dead_letter_topic(topic: str) -> str:
    """Where messages that keep failing on ``topic`` are parked with their error."""
    return f"{topic}.dlq"


def all_topics() -> dict[str, int]:
    """Every topic the fleet uses, dead-letter topics included, with its partition count."""
    out = dict(TOPICS)
    out.update({dead_letter_topic(t): DEAD_LETTER_PARTITIONS for t in TOPICS})
    return out


class EventData(BaseModel):
    """Base of every event payload; subclasses declare ``event_type`` and ``topic``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    event_type: ClassVar[str]
    topic: ClassVar[str]

    def __init_subclass__(cls, catalogued: bool = True, **kwargs: Any) -> None:
        """Register the subclass; ``catalogued=False`` keeps a private (e.g. test) event out."""
        super().__init_subclass__(**kwargs)
        event_type = cls.__dict__.get("event_type")
        if event_type is None or not catalogued:
            return
        if cls.topic not in TOPICS:
            raise ValueError(f"{cls.__name__}: unknown topic {cls.topic!r}")
        if event_type in CATALOGUE:
            raise ValueError(f"event type {event_type!r} declared twice")
        CATALOGUE[event_type] = cls
