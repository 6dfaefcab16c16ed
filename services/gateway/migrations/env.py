"""Alembic environment of gateway: migrates the `gateway` schema only."""

from aintech_shared.migrations import run_migrations
from gateway.models import Base
from gateway.settings import Settings

run_migrations(Base.metadata, Settings().service_database_url)
