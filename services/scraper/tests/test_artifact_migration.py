"""Migration 0005 moves failure artifacts kept in Postgres (bytea) to the object store, with their
SHA-256, and drops the column; its downgrade brings the bytes back."""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
import uuid
from pathlib import Path

import anyio
from sqlalchemy import text

from aintech_devtools.testing import committed_database
from aintech_shared.objectstore import LocalObjectStore

from .conftest import ALEMBIC_INI


async def _alembic(url: str, root: str, *args: str) -> None:
    done = await anyio.run_process(
        [sys.executable, "-m", "alembic", "-c", str(ALEMBIC_INI), *args],
        env={**os.environ, "AINTECH_DATABASE_URL": url, "AINTECH_OBJECT_STORE_ROOT": root},
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")


async def test_bytea_artifacts_are_moved_to_the_object_store_and_back(admin_database_url: str) -> None:
    html, png = b"<p class='error-login'>No</p>", b"\x89PNG\r\n\x1a\n-screenshot-"
    job_id, html_id, png_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    with tempfile.TemporaryDirectory(prefix="scraper-migration-") as root:
        async with committed_database(admin_database_url, service="scraper", alembic_ini=ALEMBIC_INI) as db:
            await _alembic(db.url, root, "downgrade", "0004")
            async with db.engine.begin() as conn:
                await conn.execute(
                    text(
                        "INSERT INTO scraper.jobs (id, kind, carrier, params, status, max_attempts, "
                        "created_at, updated_at) VALUES "
                        "(:i, 'prices', 'mapfre', '{}', 'failed', 4, now(), now())"
                    ),
                    {"i": job_id},
                )
                for artifact_id, kind, media, content in (
                    (html_id, "html", "text/html; charset=utf-8", html),
                    (png_id, "screenshot", "image/png", png),
                ):
                    await conn.execute(
                        text(
                            "INSERT INTO scraper.artifacts (id, job_id, attempt, kind, content_type, "
                            "content, size, expires_at) "
                            "VALUES (:i, :j, 1, :k, :m, :c, :n, now() + interval '1 day')"
                        ),
                        {
                            "i": artifact_id,
                            "j": job_id,
                            "k": kind,
                            "m": media,
                            "c": content,
                            "n": len(content),
                        },
                    )
            await _alembic(db.url, root, "upgrade", "head")
            async with db.engine.connect() as conn:
                rows = {
                    r.id: r
                    for r in await conn.execute(
                        text("SELECT id, object_key, sha256, size, stored_at FROM scraper.artifacts")
                    )
                }
                columns = await conn.scalars(
                    text(
                        "SELECT column_name FROM information_schema.columns "
                        "WHERE table_schema = 'scraper' AND table_name = 'artifacts'"
                    )
                )
                assert "content" not in set(columns)
            store = LocalObjectStore(Path(root))
            for artifact_id, content in ((html_id, html), (png_id, png)):
                row = rows[artifact_id]
                assert row.stored_at is not None and row.size == len(content)
                assert row.sha256 == hashlib.sha256(content).hexdigest()
                assert b"".join([c async for c in store.read(row.object_key)]) == content
            await _alembic(db.url, root, "downgrade", "0004")
            async with db.engine.connect() as conn:
                found = await conn.execute(text("SELECT id, content FROM scraper.artifacts"))
                back: dict[uuid.UUID, bytes] = {row.id: row.content for row in found}
            assert back == {html_id: html, png_id: png}
