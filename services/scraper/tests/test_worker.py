"""The worker's parts assemble from the runtime: its consumer table and its jobs."""

from __future__ import annotations

from scraper import worker
from scraper.consumers import consumer_specs
from scraper.core.runtime import build_runtime
from scraper.jobs import jobs
from scraper.settings import Settings


def test_worker_assembles_its_consumers_and_jobs() -> None:
    rt = build_runtime(Settings())
    specs, scheduled = consumer_specs(rt), jobs(rt)
    assert all(spec.topics and spec.handlers for spec in specs)
    assert {job.name for job in scheduled} >= {
        "scraper.schedules",
        "scraper.leases",
        "scraper.artifact_retention",
    }
    assert callable(worker.main)
