"""ai_fraud's scheduled jobs: each runs once per period across every replica (a row lock per job).

A job is ``ScheduledJob(name, every, run)`` where ``run(session)`` works in the job's transaction::

    ScheduledJob("ai-fraud.expire", timedelta(hours=1), expire)
"""

from __future__ import annotations

from ai_fraud.core.runtime import Runtime
from aintech_shared.scheduler import ScheduledJob


def jobs(rt: Runtime) -> list[ScheduledJob]:
    """The worker's jobs besides the chassis' housekeeping (none yet)."""
    return []
