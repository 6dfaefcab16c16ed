"""Failure artifacts live in the object store (the row keeps the key and the SHA-256): written
after their row, so a crash leaves no object nameless; purged object first, then row, and a purge
interrupted in between is finished by the next one; served through the API to operators only."""

from __future__ import annotations

import hashlib
import uuid
from datetime import timedelta

from sqlalchemy import text

from aintech_contracts.rbac import Role
from aintech_devtools.api import ServiceApi
from scraper.core.base import utcnow
from scraper.core.errors import ErrorClass, ScrapeError
from scraper.scrape_jobs import service
from scraper.scrape_jobs.service import Capture

from .conftest import RISK, Scraping


async def _refused(scraping: Scraping) -> uuid.UUID:
    scraping.portal.state.password = "changed-by-the-carrier"
    job_id = await scraping.queue("axa")
    assert await scraping.runner.run_once() == "failed"
    return job_id


async def test_failure_artifacts_are_objects_with_their_sha256_and_no_bytes_in_postgres(
    scraping: Scraping,
) -> None:
    job_id = await _refused(scraping)
    kept = await scraping.artifacts(job_id)
    assert [k["kind"] for k in kept] == ["html", "screenshot"]
    for row in kept:
        assert row["stored_at"] is not None and row["object_key"].startswith(f"scraper/artifacts/{job_id}/")
        assert row["sha256"] == hashlib.sha256(row["content"]).hexdigest() and row["size"] == len(
            row["content"]
        )
    assert kept[1]["content"].startswith(b"\x89PNG") and b"login-error" in kept[0]["content"]
    columns = await scraping.rows(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'scraper' "
        "AND table_name = 'artifacts'"
    )
    assert "content" not in {c["column_name"] for c in columns}


async def test_the_purge_deletes_the_object_then_the_row_and_finishes_an_interrupted_purge(
    scraping: Scraping,
) -> None:
    job_id = await _refused(scraping)
    kept = await scraping.artifacts(job_id)
    store = scraping.runner.objects
    # A purge that died after deleting one object and before deleting the rows.
    await store.delete(kept[0]["object_key"])
    later = utcnow() + timedelta(days=scraping.settings.artifact_retention_days, minutes=1)
    async with scraping.db.transaction() as session:
        assert await service.artifacts(session, job_id=job_id, now=later) == [], "expired: never served"
        assert await service.purge_artifacts(session, objects=store, now=later) == 2
    assert all([await store.stat(k["object_key"]) is None for k in kept])
    assert await scraping.rows("SELECT id FROM scraper.artifacts WHERE job_id = :j", j=job_id) == []


async def test_a_row_whose_object_was_never_written_is_hidden_then_swept(scraping: Scraping) -> None:
    job_id = await scraping.queue("mapfre")
    async with scraping.db.transaction() as session:
        await session.execute(text("UPDATE scraper.carrier_limits SET last_started_at = NULL"))
    claimed = await scraping.runner.claim_one()
    assert claimed is not None and claimed.id == job_id
    async with scraping.db.transaction() as session:  # the worker died right after this commit
        await service.fail_attempt(
            session,
            settings=scraping.settings,
            job_id=job_id,
            worker=scraping.runner.name,
            error=ScrapeError(ErrorClass.layout_changed, "gone"),
            capture=Capture(url="http://127.0.0.1/x", html=b"<p>x</p>"),
        )
    store = scraping.runner.objects
    [row] = await scraping.rows(
        "SELECT id, object_key, stored_at FROM scraper.artifacts WHERE job_id = :j", j=job_id
    )
    assert row["stored_at"] is None and await store.stat(row["object_key"]) is None
    async with scraping.db.transaction() as session:
        assert await service.artifacts(session, job_id=job_id) == []
        assert await service.purge_artifacts(session, objects=store) == 0, "its writer may still be at it"
    async with scraping.db.transaction() as session:
        assert await service.purge_artifacts(session, objects=store, now=utcnow() + timedelta(hours=2)) == 1
    assert await scraping.rows("SELECT id FROM scraper.artifacts WHERE job_id = :j", j=job_id) == []


async def test_an_artifact_is_downloaded_through_the_api_by_operators_only(api: ServiceApi) -> None:
    boss = api.person(Role.supervisor)
    job = (
        await api.call(
            "POST",
            "/jobs",
            as_=boss,
            json={"kind": "prices", "carrier": "mapfre", "params": {"risk": RISK}},
            expect=201,
        )
    ).json()
    html = b"<p class='error-login'>No</p><script>alert(1)</script>"
    objects = api.app.state.runtime.objects
    key = f"scraper/artifacts/{job['id']}/test.html"
    stored = await objects.put(key, html, content_type="text/html; charset=utf-8")
    artifact = await api.row(
        "INSERT INTO scraper.artifacts (id, job_id, attempt, kind, content_type, object_key, sha256, size, "
        "stored_at, expires_at) VALUES (gen_random_uuid(), :j, 1, 'html', 'text/html; charset=utf-8', "
        ":k, :s, :n, now(), now() + interval '1 day') RETURNING id",
        j=job["id"],
        k=key,
        s=stored.sha256,
        n=stored.size,
    )
    assert artifact is not None
    url = f"/jobs/{job['id']}/artifacts/{artifact['id']}"
    got = await api.call("GET", url, as_=boss, expect=200)
    assert got.content == html and got.headers["content-type"].startswith("text/plain")
    assert got.headers["x-content-type-options"] == "nosniff"
    listed = (await api.call("GET", f"/jobs/{job['id']}", as_=boss, expect=200)).json()["artifacts"]
    assert [(a["id"], a["sha256"]) for a in listed] == [(str(artifact["id"]), stored.sha256)]
    await api.call("GET", url, as_=api.person(Role.agent), expect=403)
    await api.call("GET", url, as_=api.person(Role.customer), expect=403)
    await objects.delete(key)
