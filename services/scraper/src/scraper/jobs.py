"""scraper's scheduled jobs: each runs once per period across every replica (a row lock per job).

A job is ``ScheduledJob(name, every, run)`` where ``run(session)`` works in the job's transaction::

    ScheduledJob("scraper.expire", timedelta(hours=1), expire)
"""

from __future__ import annotations

from aintech_shared.scheduler import ScheduledJob
from scraper.core.runtime import Runtime


def jobs(rt: Runtime) -> list[ScheduledJob]:
    """The worker's jobs besides the chassis' housekeeping (none yet)."""
    return []
