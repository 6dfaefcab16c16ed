"""Alembic environment of omnichannel: migrates the `omnichannel` schema only."""

from aintech_shared.migrations import run_migrations
from omnichannel.models import Base
from omnichannel.settings import Settings

run_migrations(Base.metadata, Settings().service_database_url)
