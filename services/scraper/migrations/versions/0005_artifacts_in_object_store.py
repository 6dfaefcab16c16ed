"""Failure artifacts move to the object store: the row keeps the key and the SHA-256, not the bytes.

Existing rows' bytes are written to the configured object store (the same settings the service
uses: ``AINTECH_OBJECT_STORE_*``) under their new key, with their SHA-256, before the ``content``
column is dropped; the downgrade reads them back.

Revision ID: 0005
Revises: 0004
"""

import asyncio
import concurrent.futures
from collections.abc import Coroutine, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from aintech_shared.objectstore import close_store, object_store
from scraper.settings import Settings

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _run(coro: Coroutine[Any, Any, Any]) -> Any:
    """Run ``coro`` on a loop of its own (the migration may itself run inside an event loop)."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


def _key(job_id: Any, artifact_id: Any, kind: str) -> str:
    return f"scraper/artifacts/{job_id}/{artifact_id}.{'png' if kind == 'screenshot' else 'html'}"


def upgrade() -> None:
    op.add_column("artifacts", sa.Column("object_key", sa.String(300)), schema="scraper")
    op.add_column("artifacts", sa.Column("sha256", sa.String(64)), schema="scraper")
    op.add_column("artifacts", sa.Column("stored_at", sa.DateTime(timezone=True)), schema="scraper")
    bind = op.get_bind()
    rows = bind.execute(
        sa.text("SELECT id, job_id, kind, content_type, content FROM scraper.artifacts")
    ).all()
    if rows:

        async def move() -> list[tuple[Any, str, str, int]]:
            store = object_store(Settings().object_store)
            moved = []
            try:
                for row in rows:
                    key = _key(row.job_id, row.id, row.kind)
                    obj = await store.put(key, bytes(row.content), content_type=row.content_type)
                    moved.append((row.id, key, obj.sha256, obj.size))
            finally:
                await close_store(store)
            return moved

        for artifact_id, key, sha, size in _run(move()):
            bind.execute(
                sa.text(
                    "UPDATE scraper.artifacts SET object_key = :k, sha256 = :s, size = :n, stored_at = now() "
                    "WHERE id = :i"
                ),
                {"k": key, "s": sha, "n": size, "i": artifact_id},
            )
    op.alter_column("artifacts", "object_key", nullable=False, schema="scraper")
    op.create_unique_constraint("uq_artifacts_object_key", "artifacts", ["object_key"], schema="scraper")
    op.drop_column("artifacts", "content", schema="scraper")


def downgrade() -> None:
    op.add_column("artifacts", sa.Column("content", sa.LargeBinary()), schema="scraper")
    bind = op.get_bind()
    op.execute("DELETE FROM scraper.artifacts WHERE stored_at IS NULL")
    rows = bind.execute(sa.text("SELECT id, object_key FROM scraper.artifacts")).all()
    if rows:

        async def fetch() -> list[tuple[Any, bytes]]:
            store = object_store(Settings().object_store)
            out = []
            try:
                for row in rows:
                    out.append((row.id, b"".join([c async for c in store.read(row.object_key)])))
            finally:
                await close_store(store)
            return out

        for artifact_id, content in _run(fetch()):
            bind.execute(
                sa.text("UPDATE scraper.artifacts SET content = :c WHERE id = :i"), {"c": content, "i": artifact_id}
            )
    op.alter_column("artifacts", "content", nullable=False, schema="scraper")
    op.drop_constraint("uq_artifacts_object_key", "artifacts", schema="scraper", type_="unique")
    op.drop_column("artifacts", "stored_at", schema="scraper")
    op.drop_column("artifacts", "sha256", schema="scraper")
    op.drop_column("artifacts", "object_key", schema="scraper")
