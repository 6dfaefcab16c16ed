"""The analytics tables, qualified with the store's database (``$db``, see ``store.port.qualify``).

Every fact table is a ``ReplacingMergeTree`` keyed by its natural key and versioned by the event
time, so an event ingested twice leaves one row (queries read with ``FINAL``); the ingester also
skips events whose id is already in ``raw_events``, so aggregates fed by materialized views never
count a replayed event twice.
"""

from __future__ import annotations

from analytics.store.port import Store

TS = "DateTime64(3, 'UTC')"
MONEY = "Decimal(18, 2)"

TABLES: dict[str, str] = {
    "raw_events": f"""
        event_id String, type LowCardinality(String), source LowCardinality(String),
        topic LowCardinality(String), subject String, time {TS}, data String,
        ingested_at {TS} DEFAULT now64(3)
    ) ENGINE = ReplacingMergeTree ORDER BY event_id""",
    "customers": f"""
        customer_id String, province LowCardinality(String), segment LowCardinality(String),
        status LowCardinality(String), created_at {TS}, deleted UInt8, version {TS}
    ) ENGINE = ReplacingMergeTree(version) ORDER BY customer_id""",
    "policy_terms": f"""
        policy_id String, term_start Date, term_end Date, term_number UInt32, policy_number String,
        line LowCardinality(String), carrier LowCardinality(String), customer_id String,
        premium {MONEY}, previous_premium Nullable({MONEY}), premium_frequency LowCardinality(String),
        kind LowCardinality(String), quote_id String, sold_at {TS}, version {TS}
    ) ENGINE = ReplacingMergeTree(version) ORDER BY (policy_id, term_start)""",
    "policy_cancellations": f"""
        policy_id String, customer_id String, reason String, cancelled_at {TS}, version {TS}
    ) ENGINE = ReplacingMergeTree(version) ORDER BY policy_id""",
    "claim_events": f"""
        claim_id String, event_id String, type LowCardinality(String), time {TS},
        policy_id String, customer_id String, claim_type LowCardinality(String),
        status LowCardinality(String), claimed Nullable({MONEY}), approved Nullable({MONEY}),
        paid Nullable({MONEY})
    ) ENGINE = ReplacingMergeTree ORDER BY (claim_id, event_id)""",
    "quotes": f"""
        quote_id String, customer_id String, line LowCardinality(String),
        best_carrier LowCardinality(String), total_premium {MONEY}, created_at {TS}, version {TS}
    ) ENGINE = ReplacingMergeTree(version) ORDER BY quote_id""",
    "quote_conversions": f"""
        quote_id String, policy_id String, customer_id String, carrier LowCardinality(String),
        total_premium {MONEY}, converted_at {TS}, version {TS}
    ) ENGINE = ReplacingMergeTree(version) ORDER BY quote_id""",
    "calls": f"""
        call_id String, agent_id String, customer_id String, direction LowCardinality(String),
        status LowCardinality(String), outcome LowCardinality(String), duration_seconds UInt32,
        answered UInt8, ended_at {TS}, version {TS}
    ) ENGINE = ReplacingMergeTree(version) ORDER BY call_id""",
    "messages": f"""
        message_id String, conversation_id String, channel LowCardinality(String),
        direction LowCardinality(String), customer_id String, status LowCardinality(String),
        at {TS}, version {TS}
    ) ENGINE = ReplacingMergeTree(version) ORDER BY message_id""",
    "message_sentiment": f"""
        message_id String, channel LowCardinality(String), agent_id String, customer_id String,
        score Float32, label LowCardinality(String), at {TS}, version {TS}
    ) ENGINE = ReplacingMergeTree(version) ORDER BY message_id""",
    "events_daily": """
        day Date, type LowCardinality(String), events UInt64
    ) ENGINE = SummingMergeTree ORDER BY (day, type)""",
}

VIEWS: dict[str, str] = {
    "events_daily_mv": "TO $db.events_daily AS "
    "SELECT toDate(time) AS day, type, count() AS events FROM $db.raw_events GROUP BY day, type",
}


async def create_schema(store: Store) -> None:
    """Create the database, its tables and views (idempotent)."""
    await store.command("CREATE DATABASE IF NOT EXISTS $db")
    for name, body in TABLES.items():
        await store.command(f"CREATE TABLE IF NOT EXISTS $db.{name} ({body}")
    for name, body in VIEWS.items():
        await store.command(f"CREATE MATERIALIZED VIEW IF NOT EXISTS $db.{name} {body}")


async def drop_schema(store: Store) -> None:
    """Drop the database (tests, and a rebuild by backfill)."""
    await store.command("DROP DATABASE IF EXISTS $db")
