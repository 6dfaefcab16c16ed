"""Alembic environment of quote_engine: migrates the `quotes` schema only."""

from aintech_shared.migrations import run_migrations
from quote_engine.models import Base
from quote_engine.settings import Settings

run_migrations(Base.metadata, Settings().service_database_url)
