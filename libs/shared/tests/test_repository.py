"""The declarative columns and the repository base on real Postgres (a scratch schema, rolled back)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import String, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from aintech_devtools.testing import ScratchSchema, rolled_back
from aintech_shared.db import Database, RecordMixin, RepositoryBase, schema_metadata

SCHEMA = f"repo_test_{uuid.uuid4().hex[:8]}"


class Base(DeclarativeBase):
    metadata = schema_metadata(SCHEMA)


class Widget(RecordMixin, Base):
    __tablename__ = "widgets"

    name: Mapped[str] = mapped_column(String(50), nullable=False)
    colour: Mapped[str] = mapped_column(String(20), nullable=False)


class WidgetRepository(RepositoryBase[Widget]):
    model = Widget

    async def by_name(self, *, name: str) -> Widget | None:
        return await self.find_one(name=name)


@pytest.fixture(scope="module")
async def db(scratch: ScratchSchema) -> AsyncIterator[Database]:
    database = Database(scratch.url, schema=SCHEMA, pool_size=2)
    async with database.engine.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{SCHEMA}"'))
        await conn.run_sync(Base.metadata.create_all)
    try:
        yield database
    finally:
        async with database.engine.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA "{SCHEMA}" CASCADE'))
        await database.dispose()


async def test_added_record_gets_id_and_timestamps_and_is_found_by_keyword(db: Database) -> None:
    async with rolled_back(db), db.transaction() as session:
        repo = WidgetRepository(session)
        widget = repo.add(Widget(name="grifo", colour="azul"))
        await repo.flush()
        assert isinstance(widget.id, uuid.UUID)
        assert widget.created_at.tzinfo is not None and widget.updated_at == widget.created_at
        assert await repo.get(widget.id) is widget
        assert await repo.by_name(name="grifo") is widget
        assert await repo.by_name(name="ninguno") is None
        assert await repo.get(uuid.uuid4()) is None


async def test_find_filters_orders_and_limits(db: Database) -> None:
    async with rolled_back(db), db.transaction() as session:
        repo = WidgetRepository(session)
        for name, colour in (("b", "rojo"), ("a", "rojo"), ("c", "verde")):
            repo.add(Widget(name=name, colour=colour))
        await repo.flush()
        red = await repo.find(colour="rojo", order_by=[Widget.name])
        assert [w.name for w in red] == ["a", "b"]
        assert [w.name for w in await repo.find(order_by=[Widget.name.desc()], limit=2)] == ["c", "b"]


async def test_update_bumps_updated_at_only(db: Database) -> None:
    async with rolled_back(db), db.transaction() as session:
        repo = WidgetRepository(session)
        widget = repo.add(Widget(name="x", colour="gris"))
        await repo.flush()
        created, updated = widget.created_at, widget.updated_at
        widget.colour = "negro"
        await repo.flush()
        assert widget.created_at == created
        assert widget.updated_at > updated
