"""Alembic environment of analytics: migrates the `analytics` schema only."""

from aintech_shared.migrations import run_migrations
from analytics.models import Base
from analytics.settings import Settings

run_migrations(Base.metadata, Settings().service_database_url)
