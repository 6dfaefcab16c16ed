"""Tables of the `analytics` schema (imported here so Alembic sees the whole metadata)."""

from analytics.core.base import MESSAGING, Base
from analytics.reports.models import Report, ReportSchedule

__all__ = ["MESSAGING", "Base", "Report", "ReportSchedule"]
