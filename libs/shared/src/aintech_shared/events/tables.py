"""The messaging tables every service keeps in its own schema: outbox, processed events, jobs."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Identity,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID


@dataclass(frozen=True)
class MessagingTables:
    schema: str
    outbox: Table
    processed_events: Table
    scheduled_jobs: Table


def messaging_tables(metadata: MetaData) -> MessagingTables:
    """Declare the outbox, processed-event and scheduled-job tables in ``metadata``'s schema."""
    schema = metadata.schema
    if not schema:
        raise ValueError("messaging tables need a MetaData bound to a schema")
    outbox = Table(
        "outbox",
        metadata,
        Column("seq", BigInteger, Identity(always=True), primary_key=True),
        Column("event_id", UUID(as_uuid=False), nullable=False, unique=True),
        Column("topic", Text, nullable=False),
        Column("key", Text, nullable=True),
        Column("event_type", Text, nullable=False),
        Column("payload", JSONB, nullable=False),
        Column("headers", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("sent_at", DateTime(timezone=True), nullable=True),
        Index("ix_outbox_unsent", "seq", postgresql_where=text("sent_at IS NULL")),
    )
    processed = Table(
        "processed_events",
        metadata,
        Column("consumer", Text, nullable=False),
        Column("event_id", Text, nullable=False),
        Column("event_type", Text, nullable=False),
        Column("processed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        PrimaryKeyConstraint("consumer", "event_id"),
    )
    jobs = Table(
        "scheduled_jobs",
        metadata,
        Column("name", Text, primary_key=True),
        Column("next_run_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("last_started_at", DateTime(timezone=True), nullable=True),
        Column("last_finished_at", DateTime(timezone=True), nullable=True),
        Column("last_error", Text, nullable=True),
        Column("runs", Integer, nullable=False, server_default=text("0")),
    )
    return MessagingTables(schema=schema, outbox=outbox, processed_events=processed, scheduled_jobs=jobs)
