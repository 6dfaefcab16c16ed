"""Alembic environment of ai_fraud: migrates the `fraud` schema only."""

from ai_fraud.models import Base
from ai_fraud.settings import Settings
from aintech_shared.migrations import run_migrations

run_migrations(Base.metadata, Settings().service_database_url)
