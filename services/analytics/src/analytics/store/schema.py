"""The analytics tables, qualified with the store's database (``$db``, see ``store.port.qualify``).

Every fact table is a ``ReplacingMergeTree`` keyed by its natural key and versioned by the event
time, so an event ingested twice leaves one row (queries read with ``FINAL``); the ingester also
skips events whose id is already in ``raw_events``, so aggregates fed by materialized views never
count a replayed event twice.
"""

# The statements are built from this module's constants only.
# ruff: noqa: S608

from __future__ import annotations

from analytics.store.port import Store

TS = "DateTime64(3, 'UTC')"
MONEY = "Decimal(18, 2)"
SUM_MONEY = "Decimal(38, 2)"
RATE = "Decimal(38, 12)"  # premium per day of a term
DIMS = "carrier LowCardinality(String), line LowCardinality(String), province LowCardinality(String)"
_DIM_TYPES = "Date, String, String, String"
POLICY_DELTA = f"Tuple({_DIM_TYPES}, {SUM_MONEY}, {RATE}, Int64, Int64, Int64, Int64, Int64)"
CLAIM_DELTA = f"Tuple({_DIM_TYPES}, Int64, {SUM_MONEY}, {SUM_MONEY})"
QUOTE_DELTA = f"Tuple({_DIM_TYPES}, Int64, Int64)"
CALL_DELTA = "Tuple(Date, String, Int64, Int64, Int64)"  # day, agent, calls, answered, answered seconds
MESSAGE_DELTA = "Tuple(Date, String, Int64, Int64)"  # day, channel, inbound, outbound
RESPONSE_DELTA = "Tuple(Date, String, Int64, Int64)"  # day, channel, first-response seconds, conversations
CONVERSION_DELTA = "Tuple(Date, String, Int64)"  # sale's day, last-touch agent, conversions

TABLES: dict[str, str] = {
    "raw_events": f"""
        event_id String, type LowCardinality(String), source LowCardinality(String),
        topic LowCardinality(String), subject String, time {TS}, data String,
        ingested_at {TS} DEFAULT now64(3),
        policy_deltas Array({POLICY_DELTA}) DEFAULT [],
        claim_deltas Array({CLAIM_DELTA}) DEFAULT [],
        quote_deltas Array({QUOTE_DELTA}) DEFAULT [],
        call_deltas Array({CALL_DELTA}) DEFAULT [],
        message_deltas Array({MESSAGE_DELTA}) DEFAULT [],
        response_deltas Array({RESPONSE_DELTA}) DEFAULT [],
        conversion_deltas Array({CONVERSION_DELTA}) DEFAULT []
    ) ENGINE = ReplacingMergeTree ORDER BY event_id""",
    "customers": f"""
        customer_id String, province LowCardinality(String), segment LowCardinality(String),
        status LowCardinality(String), created_at {TS}, deleted UInt8, version {TS}
    ) ENGINE = ReplacingMergeTree(version) ORDER BY customer_id""",
    "policy_terms": f"""
        policy_id String, term_start Date, term_end Date, term_number UInt32, policy_number String,
        line LowCardinality(String), carrier LowCardinality(String), customer_id String,
        premium {MONEY}, previous_premium Nullable({MONEY}), premium_frequency LowCardinality(String),
        kind LowCardinality(String), quote_id String, sold_at {TS}, version {TS},
        province LowCardinality(String) DEFAULT '', event_id String DEFAULT '',
        INDEX term_customer customer_id TYPE bloom_filter GRANULARITY 4
    ) ENGINE = ReplacingMergeTree(version) ORDER BY (policy_id, term_start)""",
    "policy_cancellations": f"""
        policy_id String, customer_id String, reason String, cancelled_at {TS}, version {TS},
        event_id String DEFAULT ''
    ) ENGINE = ReplacingMergeTree(version) ORDER BY policy_id""",
    "claim_events": f"""
        claim_id String, event_id String, type LowCardinality(String), time {TS},
        policy_id String, customer_id String, claim_type LowCardinality(String),
        status LowCardinality(String), claimed Nullable({MONEY}), approved Nullable({MONEY}),
        paid Nullable({MONEY}),
        INDEX claim_policy policy_id TYPE bloom_filter GRANULARITY 4
    ) ENGINE = ReplacingMergeTree ORDER BY (claim_id, event_id)""",
    "quotes": f"""
        quote_id String, customer_id String, line LowCardinality(String),
        best_carrier LowCardinality(String), total_premium {MONEY}, created_at {TS}, version {TS},
        province LowCardinality(String) DEFAULT '', event_id String DEFAULT ''
    ) ENGINE = ReplacingMergeTree(version) ORDER BY quote_id""",
    "quote_conversions": f"""
        quote_id String, policy_id String, customer_id String, carrier LowCardinality(String),
        total_premium {MONEY}, converted_at {TS}, version {TS}, event_id String DEFAULT ''
    ) ENGINE = ReplacingMergeTree(version) ORDER BY quote_id""",
    "calls": f"""
        call_id String, agent_id String, customer_id String, direction LowCardinality(String),
        status LowCardinality(String), outcome LowCardinality(String), duration_seconds UInt32,
        answered UInt8, ended_at {TS}, version {TS}, event_id String DEFAULT '',
        INDEX call_customer customer_id TYPE bloom_filter GRANULARITY 4
    ) ENGINE = ReplacingMergeTree(version) ORDER BY call_id""",
    "messages": f"""
        message_id String, conversation_id String, channel LowCardinality(String),
        direction LowCardinality(String), customer_id String, status LowCardinality(String),
        at {TS}, version {TS}, event_id String DEFAULT '',
        INDEX message_conversation conversation_id TYPE bloom_filter GRANULARITY 4
    ) ENGINE = ReplacingMergeTree(version) ORDER BY message_id""",
    "message_sentiment": f"""
        message_id String, channel LowCardinality(String), agent_id String, customer_id String,
        score Float32, label LowCardinality(String), at {TS}, version {TS}
    ) ENGINE = ReplacingMergeTree(version) ORDER BY message_id""",
    "events_daily": """
        day Date, type LowCardinality(String), events UInt64
    ) ENGINE = SummingMergeTree ORDER BY (day, type)""",
    # The KPI aggregates (analytics.ingest.aggregates): changes per day and dimension, summed.
    "policy_daily": f"""
        day Date, {DIMS}, written {SUM_MONEY}, rate {RATE}, active Int64, started Int64,
        up Int64, renewed Int64, cancelled Int64
    ) ENGINE = SummingMergeTree ORDER BY (carrier, line, province, day)""",
    "claim_daily": f"""
        day Date, {DIMS}, claims Int64, incurred {SUM_MONEY}, paid {SUM_MONEY}
    ) ENGINE = SummingMergeTree ORDER BY (carrier, line, province, day)""",
    "quote_daily": f"""
        day Date, {DIMS}, issued Int64, bound Int64
    ) ENGINE = SummingMergeTree ORDER BY (carrier, line, province, day)""",
    # the agents dashboard's aggregates: calls per agent and day (by the day the call ended);
    # messages per channel and day; conversations per channel, day of their first inbound message
    # and first-response time in whole seconds (the median is read from these counts)
    "call_daily": """
        day Date, agent_id String, calls Int64, answered Int64, answered_seconds Int64
    ) ENGINE = SummingMergeTree ORDER BY (agent_id, day)""",
    "message_daily": """
        day Date, channel LowCardinality(String), inbound Int64, outbound Int64
    ) ENGINE = SummingMergeTree ORDER BY (channel, day)""",
    "response_daily": """
        day Date, channel LowCardinality(String), seconds Int64, conversations Int64
    ) ENGINE = SummingMergeTree ORDER BY (channel, day, seconds)""",
    # last-touch conversions: new terms per start day and the agent of the customer's last answered
    # call before the sale (within 30 days)
    "conversion_daily": """
        day Date, agent_id String, conversions Int64
    ) ENGINE = SummingMergeTree ORDER BY (agent_id, day)""",
}

# Columns added after the first release (a store created before gets them on start).
ADDED_COLUMNS: dict[str, tuple[str, ...]] = {
    "raw_events": (
        f"policy_deltas Array({POLICY_DELTA}) DEFAULT []",
        f"claim_deltas Array({CLAIM_DELTA}) DEFAULT []",
        f"quote_deltas Array({QUOTE_DELTA}) DEFAULT []",
        f"call_deltas Array({CALL_DELTA}) DEFAULT []",
        f"message_deltas Array({MESSAGE_DELTA}) DEFAULT []",
        f"response_deltas Array({RESPONSE_DELTA}) DEFAULT []",
        f"conversion_deltas Array({CONVERSION_DELTA}) DEFAULT []",
    ),
    "calls": ("event_id String DEFAULT ''",),
    "messages": ("event_id String DEFAULT ''",),
    "policy_terms": ("province LowCardinality(String) DEFAULT ''", "event_id String DEFAULT ''"),
    "policy_cancellations": ("event_id String DEFAULT ''",),
    "quotes": ("province LowCardinality(String) DEFAULT ''", "event_id String DEFAULT ''"),
    "quote_conversions": ("event_id String DEFAULT ''",),
}

_DELTA_DIMS = (
    "tupleElement(d, 1) AS day, tupleElement(d, 2) AS carrier, tupleElement(d, 3) AS line, "
    "tupleElement(d, 4) AS province"
)

VIEWS: dict[str, str] = {
    "events_daily_mv": "TO $db.events_daily AS "
    "SELECT toDate(time) AS day, type, count() AS events FROM $db.raw_events GROUP BY day, type",
    # The aggregates change exactly when raw rows are stored, i.e. once per new event (the writer
    # puts a batch's changes on its raw rows, see analytics.ingest.aggregates).
    "policy_daily_mv": f"TO $db.policy_daily AS SELECT {_DELTA_DIMS}, tupleElement(d, 5) AS written, "
    "tupleElement(d, 6) AS rate, tupleElement(d, 7) AS active, tupleElement(d, 8) AS started, "
    "tupleElement(d, 9) AS up, tupleElement(d, 10) AS renewed, tupleElement(d, 11) AS cancelled "
    "FROM $db.raw_events ARRAY JOIN policy_deltas AS d",
    "claim_daily_mv": f"TO $db.claim_daily AS SELECT {_DELTA_DIMS}, tupleElement(d, 5) AS claims, "
    "tupleElement(d, 6) AS incurred, tupleElement(d, 7) AS paid "
    "FROM $db.raw_events ARRAY JOIN claim_deltas AS d",
    "quote_daily_mv": f"TO $db.quote_daily AS SELECT {_DELTA_DIMS}, tupleElement(d, 5) AS issued, "
    "tupleElement(d, 6) AS bound FROM $db.raw_events ARRAY JOIN quote_deltas AS d",
    "call_daily_mv": "TO $db.call_daily AS SELECT tupleElement(d, 1) AS day, tupleElement(d, 2) AS agent_id, "
    "tupleElement(d, 3) AS calls, tupleElement(d, 4) AS answered, tupleElement(d, 5) AS answered_seconds "
    "FROM $db.raw_events ARRAY JOIN call_deltas AS d",
    "message_daily_mv": "TO $db.message_daily AS SELECT tupleElement(d, 1) AS day, "
    "tupleElement(d, 2) AS channel, tupleElement(d, 3) AS inbound, tupleElement(d, 4) AS outbound "
    "FROM $db.raw_events ARRAY JOIN message_deltas AS d",
    "response_daily_mv": "TO $db.response_daily AS SELECT tupleElement(d, 1) AS day, "
    "tupleElement(d, 2) AS channel, tupleElement(d, 3) AS seconds, tupleElement(d, 4) AS conversations "
    "FROM $db.raw_events ARRAY JOIN response_deltas AS d",
    "conversion_daily_mv": "TO $db.conversion_daily AS SELECT tupleElement(d, 1) AS day, "
    "tupleElement(d, 2) AS agent_id, tupleElement(d, 3) AS conversions "
    "FROM $db.raw_events ARRAY JOIN conversion_deltas AS d",
}


async def create_schema(store: Store) -> None:
    """Create the database, its tables and views (idempotent)."""
    await store.command("CREATE DATABASE IF NOT EXISTS $db")
    for name, body in TABLES.items():
        await store.command(f"CREATE TABLE IF NOT EXISTS $db.{name} ({body}")
    for name, columns in ADDED_COLUMNS.items():
        for column in columns:
            await store.command(f"ALTER TABLE $db.{name} ADD COLUMN IF NOT EXISTS {column}")
    await store.command(
        "ALTER TABLE $db.claim_events ADD INDEX IF NOT EXISTS claim_policy policy_id "
        "TYPE bloom_filter GRANULARITY 4"
    )
    await store.command(
        "ALTER TABLE $db.messages ADD INDEX IF NOT EXISTS message_conversation conversation_id "
        "TYPE bloom_filter GRANULARITY 4"
    )
    for table, index in (("calls", "call_customer"), ("policy_terms", "term_customer")):
        await store.command(
            f"ALTER TABLE $db.{table} ADD INDEX IF NOT EXISTS {index} customer_id "
            "TYPE bloom_filter GRANULARITY 4"
        )
    for name, body in VIEWS.items():
        await store.command(f"CREATE MATERIALIZED VIEW IF NOT EXISTS $db.{name} {body}")


async def drop_schema(store: Store) -> None:
    """Drop the database (tests, and a rebuild by backfill)."""
    await store.command("DROP DATABASE IF EXISTS $db")
