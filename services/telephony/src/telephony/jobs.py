"""telephony's scheduled jobs (each runs once per period across every replica)."""

from __future__ import annotations

from aintech_shared.scheduler import ScheduledJob
from telephony.core.runtime import Runtime
from telephony.queue.jobs import queue_jobs
from telephony.recordings.jobs import recording_jobs
from telephony.signalling.jobs import signalling_jobs


def jobs(rt: Runtime) -> list[ScheduledJob]:
    """Queue auto-assignment and escalation, webhook receipt purge, stale presence purge, recordings
    copied into the object store and purged after the retention period."""
    return [*queue_jobs(rt), *signalling_jobs(), *recording_jobs(rt)]
