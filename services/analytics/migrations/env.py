"""Alembic environment of analytics: migrates the `analytics` schema only."""

from analytics.models import Base
from analytics.settings import Settings

from aintech_shared.migrations import run_migrations

run_migrations(Base.metadata, Settings().service_database_url)
