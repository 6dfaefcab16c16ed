"""Alembic environment of authenticator: migrates the `auth` schema only."""

from aintech_shared.migrations import run_migrations
from authenticator.models import Base
from authenticator.settings import Settings

run_migrations(Base.metadata, Settings().service_database_url)
