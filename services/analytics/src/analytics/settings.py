"""Configuration of analytics (shared AINTECH_* variables plus ANALYTICS_* ones)."""

from __future__ import annotations

from pydantic import Field

from aintech_shared.settings import ServiceSettings


class Settings(ServiceSettings, service="analytics"):
    """Name, schema, port and the ANALYTICS_ prefix come from the fleet registry."""

    clickhouse_url: str | None = Field(
        default=None,
        description="A ClickHouse server (``http://user:password@host:8123/``) through "
        "clickhouse-connect; unset: chDB in process, in ``chdb_path``.",
    )
    chdb_path: str = Field(
        default=".local/analytics/chdb",
        description="chDB's data directory (owned by the one analytics API process, see docs/analytics.md).",
    )
    store_database: str = Field(
        default="analytics", pattern=r"^[a-z_][a-z0-9_]{0,62}$", description="The ClickHouse database."
    )
    ingest_enabled: bool = Field(default=True, description="Run the ingest loop in this process.")
    ingest_group: str = Field(default="analytics.ingest", description="The ingest consumer group.")
    ingest_batch_rows: int = Field(
        default=20_000,
        ge=1,
        le=200_000,
        description="Rows per insert, at most (a backlog fills it; a trickle flushes sooner).",
    )
    ingest_flush_seconds: float = Field(
        default=1.0, gt=0, le=60, description="A partial batch is inserted after this long."
    )
    max_range_days: int = Field(default=1100, ge=31, le=3700, description="Longest date range a query takes.")
    churn_model_dir: str = Field(
        default=".local/analytics/churn",
        description="Where the churn model's skops artifact and its record (model.json) live.",
    )
    churn_min_matured: int = Field(
        default=500,
        ge=50,
        description="Matured renewals the store must hold to train on them; "
        "fewer: the documented synthetic history is used (and the model says so).",
    )
    churn_job_enabled: bool = Field(
        default=True,
        description="Score the customers up for renewal daily (in the API process, which owns the store).",
    )
    reports_public_url: str = Field(
        default="http://127.0.0.1:8000",
        description="The platform's address as staff reach it (the link a report e-mail carries).",
    )
    reports_poll_seconds: float = Field(
        default=30, gt=0, le=3600, description="How often the report runner looks for due schedules."
    )
