"""The queue as several workers see it: each worker has its own connection pool on a database where
every claim commits for real, so row locks and SKIP LOCKED are really contended."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import timedelta

from sqlalchemy import text

from aintech_devtools.testing import CommittedDatabase
from aintech_shared.db import Database
from aintech_shared.objectstore import object_store
from scraper.core.base import utcnow
from scraper.core.errors import ErrorClass, ScrapeError
from scraper.flows import store_artifacts
from scraper.scrape_jobs import service
from scraper.scrape_jobs.service import Capture
from scraper.settings import Settings

from .conftest import RISK, worker_database


async def queue(
    settings: Settings, db: Database, n: int, carrier: str = "mapfre", **kw: object
) -> list[uuid.UUID]:
    ids = []
    async with db.transaction() as session:
        for _ in range(n):
            job = await service.create_job(
                session,
                settings=settings,
                kind="prices",
                carrier=carrier,
                params={"risk": RISK},
                requested_by=None,
                **kw,  # type: ignore[arg-type]
            )
            ids.append(job.id)
    return ids


async def open_limits(
    db: Database, carrier: str, *, max_concurrent: int = 100, min_interval_ms: int = 0
) -> None:
    async with db.transaction() as session:
        await session.execute(
            text(
                "UPDATE scraper.carrier_limits SET max_concurrent = :m, min_interval_ms = :i"
                " WHERE carrier = :c"
            ),
            {"m": max_concurrent, "i": min_interval_ms, "c": carrier},
        )


async def claim(db: Database, worker: str, **kw: object) -> service.Claimed | None:
    async with db.transaction() as session:
        return await service.claim_next(session, worker=worker, lease_seconds=60, **kw)  # type: ignore[arg-type]


async def test_two_workers_never_run_one_job_twice(
    live_settings: Settings, live_database: CommittedDatabase
) -> None:
    setup = worker_database(live_settings)
    workers = [worker_database(live_settings) for _ in range(4)]
    try:
        ids: list[uuid.UUID] = []
        for carrier in ("mapfre", "axa", "allianz"):
            ids += await queue(live_settings, setup, 15, carrier=carrier)
            await open_limits(setup, carrier)
        runs: list[tuple[str, uuid.UUID]] = []
        deadline = time.monotonic() + 60

        async def work(name: str, db: Database) -> None:
            # A worker polls until the queue is empty (a carrier another worker is claiming from
            # is skipped, not waited for).
            while len(runs) < len(ids) and time.monotonic() < deadline:
                job = await claim(db, name)
                if job is None:
                    await asyncio.sleep(0.005)  # the worker's poll period
                    continue
                runs.append((name, job.id))
                async with db.transaction() as session:
                    assert await service.finish(session, job_id=job.id, worker=name) is not None

        await asyncio.gather(*(work(f"w{i}", db) for i, db in enumerate(workers)))
        ran = [job_id for _, job_id in runs]
        assert sorted(ran) == sorted(ids), "every job ran exactly once"
        assert len({name for name, _ in runs}) > 1, "the work was shared"
        async with live_database.engine.connect() as conn:
            statuses = (
                await conn.execute(text("SELECT status, count(*) FROM scraper.jobs GROUP BY status"))
            ).all()
        assert dict(statuses) == {"succeeded": 45}
    finally:
        for db in [setup, *workers]:
            await db.dispose()


async def test_a_killed_workers_job_is_resumed_by_another_after_its_lease_expires(
    live_settings: Settings,
) -> None:
    setup, doomed, survivor = (worker_database(live_settings) for _ in range(3))
    try:
        [job_id] = await queue(live_settings, setup, 1)
        taken = await claim(doomed, "doomed")
        assert taken is not None and taken.id == job_id and taken.attempt == 1
        await doomed.dispose()  # the worker process dies: its connections close, its lease stays
        assert await claim(survivor, "survivor") is None, "a live lease is respected"
        after_lease = taken.lease_expires_at + timedelta(seconds=1)
        resumed = await claim(survivor, "survivor", now=after_lease)
        assert resumed is not None and resumed.id == job_id and resumed.attempt == 2
        # Had the first worker only been slow, its late report is refused: the job is not its own.
        async with setup.transaction() as session:
            assert await service.finish(session, job_id=job_id, worker="doomed") is None
        async with setup.transaction() as session:
            assert await service.finish(session, job_id=job_id, worker="survivor") is not None
    finally:
        for db in (setup, survivor):
            await db.dispose()


async def test_a_job_whose_workers_keep_dying_fails_instead_of_looping(live_settings: Settings) -> None:
    setup = worker_database(live_settings)
    try:
        [job_id] = await queue(live_settings, setup, 1, max_attempts=2)
        await open_limits(setup, "mapfre")
        now = utcnow()
        for attempt in (1, 2):
            taken = await claim(setup, f"w{attempt}", now=now)
            assert taken is not None and taken.attempt == attempt
            now = taken.lease_expires_at + timedelta(seconds=1)
        assert await claim(setup, "w3", now=now) is None
        async with setup.transaction() as session:
            job = await service.get_job(session, job_id=job_id)
        assert job.status == "failed" and job.error_class == "worker_lost"
    finally:
        await setup.dispose()


async def test_a_carriers_concurrency_limit_holds_across_workers(live_settings: Settings) -> None:
    setup = worker_database(live_settings)
    workers = [worker_database(live_settings) for _ in range(3)]
    try:
        await queue(live_settings, setup, 5, carrier="axa")
        await queue(live_settings, setup, 1, carrier="allianz")
        await open_limits(setup, "axa", max_concurrent=2)
        await open_limits(setup, "allianz")
        got = await asyncio.gather(*(claim(db, f"w{i}") for i, db in enumerate(workers)))
        more = await claim(setup, "w-late")
        carriers = sorted(j.carrier for j in [*got, more] if j is not None)
        assert carriers == ["allianz", "axa", "axa"], "two AXA jobs at most, the third worker takes Allianz"
    finally:
        for db in [setup, *workers]:
            await db.dispose()


async def test_a_carriers_start_interval_spaces_its_jobs(live_settings: Settings) -> None:
    setup = worker_database(live_settings)
    try:
        await queue(live_settings, setup, 2)
        await open_limits(setup, "mapfre", min_interval_ms=60_000)
        now = utcnow()
        assert await claim(setup, "w", now=now) is not None
        assert await claim(setup, "w", now=now + timedelta(seconds=30)) is None
        assert await claim(setup, "w", now=now + timedelta(seconds=61)) is not None
    finally:
        await setup.dispose()


async def test_a_failed_attempt_is_retried_with_backoff_then_fails_with_its_class(
    live_settings: Settings,
) -> None:
    setup = worker_database(live_settings)
    settings = live_settings.model_copy(update={"backoff_initial_seconds": 10, "backoff_jitter_seconds": 5})
    try:
        [job_id] = await queue(settings, setup, 1, max_attempts=2)
        await open_limits(setup, "mapfre")
        now = utcnow()
        taken = await claim(setup, "w", now=now)
        assert taken is not None
        down = ScrapeError(ErrorClass.site_down, "503 from the portal")
        async with setup.transaction() as session:
            job = await service.fail_attempt(
                session, settings=settings, job_id=job_id, worker="w", error=down, now=now
            )
            assert job is not None and job.status == "queued"
            delay = (job.next_attempt_at - now).total_seconds()
        assert 10 <= delay <= 15, delay
        assert await claim(setup, "w", now=now + timedelta(seconds=delay - 1)) is None, (
            "not before its retry time"
        )
        again = await claim(setup, "w", now=now + timedelta(seconds=delay + 1))
        assert again is not None and again.attempt == 2
        async with setup.transaction() as session:
            job = await service.fail_attempt(
                session, settings=settings, job_id=job_id, worker="w", error=down
            )
            assert job is not None and job.status == "failed" and job.error_class == "site_down"
    finally:
        await setup.dispose()


async def test_a_refused_login_is_not_retried_and_keeps_the_page(live_settings: Settings) -> None:
    setup = worker_database(live_settings)
    try:
        [job_id] = await queue(live_settings, setup, 1)
        taken = await claim(setup, "w")
        assert taken is not None
        refused = ScrapeError(ErrorClass.login_refused, "the portal refused the credentials")
        page = Capture(
            url="https://portal.mapfre.es/login", html=b"<p class='error-login'>No</p>", screenshot=b"\x89PNG"
        )
        async with setup.transaction() as session:
            job = await service.fail_attempt(
                session, settings=live_settings, job_id=job_id, worker="w", error=refused, capture=page
            )
            assert job is not None and job.status == "failed" and job.attempts == 1
        objects = object_store(live_settings.object_store)
        assert (
            await store_artifacts(setup, objects, live_settings, job_id=job_id, attempt=1, capture=page) == 2
        )
        async with setup.transaction() as session:
            kept = await service.artifacts(session, job_id=job_id)
            assert sorted(a.kind for a in kept) == ["html", "screenshot"]
            assert (
                await service.purge_artifacts(session, objects=objects, now=utcnow() + timedelta(days=13))
                == 0
            )
        async with setup.transaction() as session:
            assert (
                await service.purge_artifacts(session, objects=objects, now=utcnow() + timedelta(days=15))
                == 2
            )
            assert await service.artifacts(session, job_id=job_id, now=utcnow()) == []
    finally:
        await setup.dispose()


async def test_a_cancelled_running_job_stops_at_its_next_progress_report(live_settings: Settings) -> None:
    setup = worker_database(live_settings)
    try:
        [job_id] = await queue(live_settings, setup, 1)
        taken = await claim(setup, "w")
        assert taken is not None
        async with setup.transaction() as session:
            assert await service.report_progress(
                session, job_id=job_id, worker="w", progress=40, note="logged in", lease_seconds=60
            )
        async with setup.transaction() as session:
            await service.cancel_job(session, job_id=job_id)
        async with setup.transaction() as session:
            assert not await service.report_progress(
                session, job_id=job_id, worker="w", progress=60, note="quoting", lease_seconds=60
            )
            job = await service.get_job(session, job_id=job_id)
            assert job.status == "cancelled" and job.progress == 40
    finally:
        await setup.dispose()
