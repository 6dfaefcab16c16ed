"""Alembic environment of omnichannel: migrates the `omnichannel` schema only."""

from omnichannel.models import Base
from omnichannel.settings import Settings

from aintech_shared.migrations import run_migrations

run_migrations(Base.metadata, Settings().service_database_url)
