"""Alembic environment of scraper: migrates the `scraper` schema only."""

from scraper.models import Base
from scraper.settings import Settings

from aintech_shared.migrations import run_migrations

run_migrations(Base.metadata, Settings().service_database_url)
