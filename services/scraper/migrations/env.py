"""Alembic environment of scraper: migrates the `scraper` schema only."""

from aintech_shared.migrations import run_migrations
from scraper.models import Base
from scraper.settings import Settings

run_migrations(Base.metadata, Settings().service_database_url)
