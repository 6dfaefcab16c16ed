"""Alembic environment of telephony: migrates the `telephony` schema only."""

from aintech_shared.migrations import run_migrations
from telephony.models import Base
from telephony.settings import Settings

run_migrations(Base.metadata, Settings().service_database_url)
