"""Scheduled jobs of the quote engine (none yet)."""

from __future__ import annotations

from aintech_shared.scheduler import ScheduledJob
from quote_engine.core.runtime import Runtime


def jobs(rt: Runtime) -> list[ScheduledJob]:
    """Each runs once per period across all replicas."""
    return []
