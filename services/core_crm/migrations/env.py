"""Alembic environment of core_crm: migrates the `crm` schema only."""

from aintech_shared.migrations import run_migrations
from core_crm.models import Base
from core_crm.settings import Settings

run_migrations(Base.metadata, Settings().service_database_url)
