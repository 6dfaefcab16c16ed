"""Create a new service under services/ from the fleet's template (see README, "Adding a service").

Usage: uv run python scripts/new_service.py <package_name> [--into DIR] [--bare] [--force]

The service must first be declared in libs/contracts/src/aintech_contracts/fleet.py (schema, port,
route). The template is the whole chassis a service is made of, and passes its own tests:

* ``settings.py``, ``app.py``, ``__main__.py``;
* ``core/base.py`` (the declarative base of the service's schema) and ``core/runtime.py`` (the one
  place the runtime is built: settings, outbox, clients);
* a sample domain, ``notes/`` (``router.py`` thin, ``service.py`` with the rules, ``repository.py``
  on ``aintech_shared.db.RepositoryBase``, ``schemas.py``, ``models.py`` on ``RecordMixin``), with
  cursor pagination (``aintech_shared.pagination``) — replace it with the service's own domains;
* ``consumers.py`` (the table: group -> topic -> event type -> handler), ``jobs.py`` (scheduled
  jobs) and ``worker.py`` (assembles them, nothing else);
* the Alembic environment and its initial migration (messaging tables + the sample table);
* ``tests/`` on ``aintech_devtools.api.ServiceApi``, one rolled-back transaction per test.

``--bare`` leaves the sample domain (and its tests) out; ``--into`` writes under another root
(``<DIR>/services/<package>``) instead of the repository; an existing service is refused unless
``--force`` (which rewrites the template's files and leaves the others).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "libs" / "contracts" / "src"))

from aintech_contracts.fleet import BY_NAME, ServiceSpec  # noqa: E402

# Placeholders: @name@ (package), @slug@, @schema@, @prefix@ (env prefix), @description@, @title@.
CHASSIS: dict[str, str] = {}
SAMPLE: dict[str, str] = {}
CHASSIS["pyproject.toml"] = """[project]
name = "aintech-@slug@"
version = "0.1.0"
description = "AINTECH @slug@: @description@"
requires-python = ">=3.11"
dependencies = ["aintech-shared", "aintech-contracts"]

[project.scripts]
aintech-@slug@ = "@name@.__main__:main"
aintech-@slug@-worker = "@name@.worker:main"

[tool.uv.sources]
aintech-shared = { workspace = true }
aintech-contracts = { workspace = true }

[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[tool.hatch.build.targets.wheel]
packages = ["src/@name@"]
"""

CHASSIS["alembic.ini"] = """[alembic]
script_location = %(here)s/migrations
file_template = %%(rev)s_%%(slug)s
prepend_sys_path = .

[loggers]
keys = root

[handlers]
keys = console

[formatters]
keys = generic

[logger_root]
level = WARNING
handlers = console

[handler_console]
class = StreamHandler
args = (sys.stderr,)
formatter = generic

[formatter_generic]
format = %%(levelname)s %%(name)s %%(message)s
"""

CHASSIS["migrations/env.py"] = '''"""Alembic environment of @name@: migrates the `@schema@` schema only."""

from aintech_shared.migrations import run_migrations
from @name@.models import Base
from @name@.settings import Settings

run_migrations(Base.metadata, Settings().service_database_url)
'''

CHASSIS["migrations/script.py.mako"] = '''"""${message}

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
Create Date: ${create_date}
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
${imports if imports else ""}
revision: str = ${repr(up_revision)}
down_revision: str | None = ${repr(down_revision)}
branch_labels: str | Sequence[str] | None = ${repr(branch_labels)}
depends_on: str | Sequence[str] | None = ${repr(depends_on)}


def upgrade() -> None:
    ${upgrades if upgrades else "pass"}


def downgrade() -> None:
    ${downgrades if downgrades else "pass"}
'''

BARE_MIGRATION = '''"""Initial schema: messaging tables (outbox, processed events, scheduled jobs).

Revision ID: 0001
Revises:
"""

from aintech_shared.migrations import create_messaging_tables, drop_messaging_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_messaging_tables("@schema@")


def downgrade() -> None:
    drop_messaging_tables("@schema@")
'''

SAMPLE_MIGRATION = '''"""Initial schema: messaging tables (outbox, processed events, scheduled jobs) and the sample notes.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from aintech_shared.migrations import create_messaging_tables, drop_messaging_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

SCHEMA = "@schema@"


def upgrade() -> None:
    create_messaging_tables(SCHEMA)
    op.create_table(
        "notes",
        sa.Column("author_id", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notes")),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_notes_author_created", "notes", ["author_id", "created_at"], unique=False, schema=SCHEMA
    )


def downgrade() -> None:
    op.drop_index("ix_notes_author_created", table_name="notes", schema=SCHEMA)
    op.drop_table("notes", schema=SCHEMA)
    drop_messaging_tables(SCHEMA)
'''

CHASSIS["src/@name@/__init__.py"] = '''"""@slug@: @description@."""
'''

CHASSIS[
    "src/@name@/settings.py"
] = '''"""Configuration of @name@ (shared AINTECH_* variables plus @prefix@* ones)."""

from aintech_shared.settings import ServiceSettings


class Settings(ServiceSettings, service="@name@"):
    """Name, schema, port and the @prefix@ prefix come from the fleet registry."""
'''

CHASSIS[
    "src/@name@/core/__init__.py"
] = '''"""Building blocks every domain of @name@ may use; imports no domain."""
'''

CHASSIS[
    "src/@name@/core/base.py"
] = '''"""The declarative base of the `@schema@` schema (column helpers: aintech_shared.db)."""

from sqlalchemy.orm import DeclarativeBase

from aintech_shared.db import RecordMixin, created_column, schema_metadata, ts_column, utcnow, uuid_pk
from aintech_shared.events.tables import messaging_tables
from @name@.settings import Settings


class Base(DeclarativeBase):
    """Typed declarative base: every table of this service lives in its schema."""

    metadata = schema_metadata(Settings.db_schema)


MESSAGING = messaging_tables(Base.metadata)

__all__ = ["MESSAGING", "Base", "RecordMixin", "created_column", "ts_column", "utcnow", "uuid_pk"]
'''

CHASSIS[
    "src/@name@/core/runtime.py"
] = '''"""The one place @name@'s runtime is built: settings, the outbox and the clients of outside parties.

The API builds it in its lifespan, the worker in ``worker.py``; requests reach it through
``RuntimeDep``, jobs and consumer handlers receive it as an argument. A client of an outside party
(a provider's SDK, an HTTP API) is built here too, behind a small port with a console adapter used
when no credentials are configured.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends
from starlette.requests import HTTPConnection

from aintech_shared.events.outbox import Outbox
from @name@.core.base import MESSAGING
from @name@.settings import Settings

SOURCE = "@slug@"


@dataclass
class Runtime:
    settings: Settings
    outbox: Outbox


def build_runtime(settings: Settings) -> Runtime:
    return Runtime(settings=settings, outbox=Outbox(MESSAGING, source=SOURCE))


def get_runtime(conn: HTTPConnection) -> Runtime:
    runtime: Runtime = conn.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
'''

CHASSIS[
    "src/@name@/consumers.py"
] = '''"""Every Kafka consumer @name@ runs, as one table: group -> topic -> event type -> handler.

Handlers parse the event and call a domain service; the consumer runs each in its transaction with
the processed-event row (at least once, de-duplicated), e.g.::

    consumer_group(
        "@slug@.crm",
        {CUSTOMER_TOPIC: {CustomerCreated.event_type: on_customer_created}},
    )
"""

from __future__ import annotations

from aintech_shared.events.consumer import ConsumerSpec
from @name@.core.runtime import Runtime


def consumer_specs(rt: Runtime) -> list[ConsumerSpec]:
    """The worker's consumers (none yet)."""
    return []
'''

CHASSIS[
    "src/@name@/jobs.py"
] = '''"""@name@'s scheduled jobs: each runs once per period across every replica (a row lock per job).

A job is ``ScheduledJob(name, every, run)`` where ``run(session)`` works in the job's transaction::

    ScheduledJob("@slug@.expire", timedelta(hours=1), expire)
"""

from __future__ import annotations

from aintech_shared.scheduler import ScheduledJob
from @name@.core.runtime import Runtime


def jobs(rt: Runtime) -> list[ScheduledJob]:
    """The worker's jobs besides the chassis' housekeeping (none yet)."""
    return []
'''

CHASSIS[
    "src/@name@/worker.py"
] = '''"""@slug@ worker (python -m @name@.worker): assembles the runtime, the consumers and the jobs."""

from aintech_shared import worker
from @name@.consumers import consumer_specs
from @name@.core.base import MESSAGING
from @name@.core.runtime import build_runtime
from @name@.jobs import jobs
from @name@.settings import Settings


def main() -> None:
    rt = build_runtime(Settings())
    worker.main(rt.settings, MESSAGING, consumers=consumer_specs(rt), jobs=jobs(rt))


if __name__ == "__main__":
    main()
'''

CHASSIS["src/@name@/__main__.py"] = '''"""Serve the @slug@ API: python -m @name@."""

from aintech_shared.serve import serve
from @name@.app import create_app
from @name@.settings import Settings


def main() -> None:
    settings = Settings()
    serve(create_app(settings), settings)


if __name__ == "__main__":
    main()
'''

BARE_APP = '''"""@name@ HTTP API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from aintech_shared.app import create_service_app
from @name@.core.runtime import build_runtime
from @name@.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the @slug@ application."""
    settings = settings or Settings()

    @asynccontextmanager
    async def runtime_hook(app: FastAPI) -> AsyncIterator[None]:
        app.state.runtime = build_runtime(settings)
        yield

    return create_service_app(
        settings,
        title="AINTECH @slug@",
        description="@description@.",
        lifespan_hooks=[runtime_hook],
    )
'''

BARE_MODELS = '''"""Tables of the `@schema@` schema (imported here so Alembic sees the whole metadata)."""

from @name@.core.base import MESSAGING, Base

__all__ = ["MESSAGING", "Base"]
'''
SAMPLE["src/@name@/app.py"] = '''"""@name@ HTTP API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from aintech_shared.app import create_service_app
from @name@.core.runtime import build_runtime
from @name@.notes.router import router as notes_router
from @name@.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the @slug@ application."""
    settings = settings or Settings()

    @asynccontextmanager
    async def runtime_hook(app: FastAPI) -> AsyncIterator[None]:
        app.state.runtime = build_runtime(settings)
        yield

    return create_service_app(
        settings,
        title="AINTECH @slug@",
        description="@description@.",
        routers=[notes_router],
        lifespan_hooks=[runtime_hook],
    )
'''

SAMPLE[
    "src/@name@/models.py"
] = '''"""Tables of the `@schema@` schema (imported here so Alembic sees the whole metadata)."""

from @name@.core.base import MESSAGING, Base
from @name@.notes.models import Note

__all__ = ["MESSAGING", "Base", "Note"]
'''

SAMPLE[
    "src/@name@/notes/__init__.py"
] = '''"""The sample domain: notes a signed-in user writes and reads back (replace it with real ones)."""
'''

SAMPLE[
    "src/@name@/notes/models.py"
] = '''"""The ``notes`` table: the common columns (id, created_at, updated_at) come from ``RecordMixin``."""

from __future__ import annotations

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from @name@.core.base import Base, RecordMixin


class Note(RecordMixin, Base):
    __tablename__ = "notes"
    __table_args__ = (Index("ix_notes_author_created", "author_id", "created_at"),)

    author_id: Mapped[str] = mapped_column(String(64), nullable=False)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False, default="")
'''

SAMPLE[
    "src/@name@/notes/schemas.py"
] = '''"""What the notes API accepts and answers (validated at the edge; lengths match the columns)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints


def _no_nul(value: str) -> str:
    if "\\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


Title = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), AfterValidator(_no_nul)
]
Body = Annotated[str, StringConstraints(max_length=10_000), AfterValidator(_no_nul)]


class NoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"title": "Llamar a Lucía"}]})

    title: Title
    body: Body = ""


class NoteOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    author_id: str
    title: str
    body: str
    created_at: datetime
    updated_at: datetime
'''

SAMPLE[
    "src/@name@/notes/repository.py"
] = '''"""Every query on notes (the only module of the domain that speaks SQL)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement

from aintech_shared.db import RepositoryBase
from aintech_shared.pagination import newest_first
from @name@.notes.models import Note


class NoteRepository(RepositoryBase[Note]):
    model = Note

    async def page(
        self, *, author_id: str | None, after: list[Any] | None, limit: int
    ) -> tuple[list[Note], list[Any] | None]:
        """One page of notes (one author's, or everyone's), newest first (keyset: created_at, id)."""
        conditions: list[ColumnElement[bool]] = []
        if author_id is not None:
            conditions.append(Note.author_id == author_id)
        return await newest_first(
            self.session,
            Note,
            at=Note.created_at,
            id_=Note.id,
            conditions=conditions,
            after=after,
            limit=limit,
        )
'''

SAMPLE[
    "src/@name@/notes/service.py"
] = '''"""The rules of notes: an author reads their own, staff read everyone's. Never commits."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from aintech_shared.auth import Principal
from aintech_shared.errors import NotFound
from @name@.notes.models import Note
from @name@.notes.repository import NoteRepository


async def create_note(session: AsyncSession, *, author: Principal, title: str, body: str) -> Note:
    """Write a note for its author."""
    notes = NoteRepository(session)
    note = notes.add(Note(author_id=author.user_id, title=title, body=body))
    await notes.flush()
    return note


async def get_note(session: AsyncSession, *, viewer: Principal, note_id: uuid.UUID) -> Note:
    """One note the viewer may read (404 otherwise: another's note is not revealed)."""
    note = await NoteRepository(session).get(note_id)
    if note is None or not (viewer.is_staff or note.author_id == viewer.user_id):
        raise NotFound("No such note.")
    return note


async def list_notes(
    session: AsyncSession, *, viewer: Principal, after: list[Any] | None, limit: int
) -> tuple[list[Note], list[Any] | None]:
    """The notes the viewer may read, newest first: staff see all, others their own."""
    author = None if viewer.is_staff else viewer.user_id
    return await NoteRepository(session).page(author_id=author, after=after, limit=limit)
'''

SAMPLE[
    "src/@name@/notes/router.py"
] = '''"""Notes over HTTP: parse, authorise, call the service, answer (no rules, no SQL here)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, status

from aintech_shared.auth import CurrentPrincipal
from aintech_shared.db import DbSession, ReadSession
from aintech_shared.errors import responses
from aintech_shared.pagination import Cursor, CursorPage, Limit, decode_cursor
from @name@.notes import service
from @name@.notes.schemas import NoteIn, NoteOut

router = APIRouter(prefix="/notes", tags=["notes"])

GUARDED = (401, "Missing or invalid access token")


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=NoteOut,
    summary="Write a note",
    responses=responses(GUARDED, (422, "Invalid note")),
)
async def create_note(body: NoteIn, principal: CurrentPrincipal, db: DbSession) -> NoteOut:
    note = await service.create_note(db, author=principal, title=body.title, body=body.body)
    return NoteOut.model_validate(note)


@router.get(
    "",
    response_model=CursorPage[NoteOut],
    summary="My notes (staff: everyone's), newest first",
    description="Cursor pagination: pass `next_cursor` back as `cursor` until it is null.",
    responses=responses(GUARDED, (422, "Invalid cursor")),
)
async def list_notes(
    principal: CurrentPrincipal, db: ReadSession, cursor: Cursor = None, limit: Limit = 50
) -> CursorPage[NoteOut]:
    after = decode_cursor(cursor, kinds=("datetime", "uuid"))
    rows, next_key = await service.list_notes(db, viewer=principal, after=after, limit=limit)
    return CursorPage.build(rows, next_key, item=NoteOut.model_validate)


@router.get(
    "/{note_id}",
    response_model=NoteOut,
    summary="One note",
    responses=responses(GUARDED, (404, "No such note (or not yours)")),
)
async def get_note(note_id: uuid.UUID, principal: CurrentPrincipal, db: ReadSession) -> NoteOut:
    return NoteOut.model_validate(await service.get_note(db, viewer=principal, note_id=note_id))
'''

TESTS: dict[str, str] = {}

TESTS[
    "tests/conftest.py"
] = '''"""Fixtures: @name@'s app on the real Postgres and Kafka of `make test`, one rolled-back transaction
per test, tokens signed by test keys."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI

from aintech_devtools.api import ServiceApi, service_api, started_app
from aintech_devtools.testing import TestKeys
from @name@.app import create_app
from @name@.settings import Settings


@pytest.fixture(scope="session")
def keys() -> TestKeys:
    settings = Settings()
    return TestKeys(issuer=settings.jwt_issuer, audience=settings.jwt_audience)


@pytest.fixture(scope="session")
async def app(admin_database_url: str, kafka_bootstrap: str, keys: TestKeys) -> AsyncIterator[FastAPI]:
    async with started_app(create_app(), keys) as application:
        yield application


@pytest.fixture
async def api(app: FastAPI, keys: TestKeys) -> AsyncIterator[ServiceApi]:
    async with service_api(app, keys) as client:
        yield client
'''

TESTS[
    "tests/test_notes.py"
] = '''"""The sample domain through the HTTP API: what a client of @slug@ would notice."""

from __future__ import annotations

import uuid

from aintech_contracts.rbac import Role
from aintech_devtools.api import ServiceApi


async def test_an_author_writes_a_note_and_reads_it_back(api: ServiceApi) -> None:
    author = api.person(Role.customer)
    created = await api.call(
        "POST", "/notes", as_=author, json={"title": "  Llamar  ", "body": "mañana"}, expect=201
    )
    note = created.json()
    assert note["title"] == "Llamar" and note["author_id"] == str(author.user_id)
    assert note["created_at"] == note["updated_at"]
    read = await api.call("GET", f"/notes/{note['id']}", as_=author, expect=200)
    assert read.json() == note
    stored = await api.row("SELECT title FROM @schema@.notes WHERE id = :id", id=uuid.UUID(note["id"]))
    assert stored == {"title": "Llamar"}


async def test_another_customers_note_is_not_found_but_staff_read_it(api: ServiceApi) -> None:
    author, stranger, agent = api.person(Role.customer), api.person(Role.customer), api.person(Role.agent)
    note = (await api.call("POST", "/notes", as_=author, json={"title": "Mía"}, expect=201)).json()
    await api.call("GET", f"/notes/{note['id']}", as_=stranger, expect=404)
    await api.call("GET", f"/notes/{note['id']}", as_=agent, expect=200)
    listed = (await api.call("GET", "/notes", as_=stranger, expect=200)).json()
    assert listed == {"items": [], "next_cursor": None}


async def test_notes_are_listed_newest_first_page_by_page(api: ServiceApi) -> None:
    author = api.person(Role.customer)
    for n in range(3):
        await api.call("POST", "/notes", as_=author, json={"title": f"nota {n}"}, expect=201)
    first = (await api.call("GET", "/notes", as_=author, params={"limit": 2}, expect=200)).json()
    assert [n["title"] for n in first["items"]] == ["nota 2", "nota 1"] and first["next_cursor"]
    rest = await api.call(
        "GET", "/notes", as_=author, params={"limit": 2, "cursor": first["next_cursor"]}, expect=200
    )
    assert [n["title"] for n in rest.json()["items"]] == ["nota 0"] and rest.json()["next_cursor"] is None


async def test_bad_input_is_a_problem_not_a_crash(api: ServiceApi) -> None:
    author = api.person(Role.customer)
    await api.call("POST", "/notes", json={"title": "x"}, expect=401)
    await api.call("POST", "/notes", as_=author, json={"title": ""}, expect=422)
    await api.call("POST", "/notes", as_=author, json={"title": "x" * 201}, expect=422)
    await api.call("POST", "/notes", as_=author, json={"title": "a\\x00b"}, expect=422)
    await api.call("GET", "/notes", as_=author, params={"cursor": "bm90LW91cnM="}, expect=422)
    await api.call("GET", f"/notes/{uuid.uuid4()}", as_=author, expect=404)
'''

TESTS[
    "tests/test_worker.py"
] = '''"""The worker's parts assemble from the runtime: its consumer table and its jobs."""

from __future__ import annotations

from @name@ import worker
from @name@.consumers import consumer_specs
from @name@.core.runtime import build_runtime
from @name@.jobs import jobs
from @name@.settings import Settings


def test_worker_assembles_its_consumers_and_jobs() -> None:
    rt = build_runtime(Settings())
    specs, scheduled = consumer_specs(rt), jobs(rt)
    assert all(spec.topics and spec.handlers for spec in specs)
    assert len({job.name for job in scheduled}) == len(scheduled), "job names are unique"
    assert callable(worker.main)
'''


def render(spec: ServiceSpec, *, root: Path = ROOT, bare: bool = False) -> dict[Path, str]:
    """Every file of the service ``spec`` under ``root/services/<package>``, with its text."""
    values = {
        "@name@": spec.name,
        "@slug@": spec.slug,
        "@schema@": spec.schema,
        "@prefix@": spec.env_prefix,
        "@description@": spec.description,
    }
    files = dict(CHASSIS)
    if bare:
        files |= {
            "migrations/versions/0001_initial.py": BARE_MIGRATION,
            "src/@name@/app.py": BARE_APP,
            "src/@name@/models.py": BARE_MODELS,
        }
    else:
        files |= {"migrations/versions/0001_initial.py": SAMPLE_MIGRATION, **SAMPLE, **TESTS}

    def fill(text: str) -> str:
        for placeholder, value in values.items():
            text = text.replace(placeholder, value)
        return text

    base = root / "services" / spec.name
    return {base / fill(path): fill(body) for path, body in files.items()}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="Create a service from the fleet's template.")
    parser.add_argument("package", help="the package name declared in aintech_contracts/fleet.py")
    parser.add_argument("--into", type=Path, default=ROOT, help="root to write services/<package> under")
    parser.add_argument("--bare", action="store_true", help="leave the sample domain and its tests out")
    parser.add_argument(
        "--force", action="store_true", help="rewrite the template's files of an existing service"
    )
    args = parser.parse_args(argv[1:])
    if args.package not in BY_NAME:
        print(
            f"unknown service {args.package!r}: declare it first in aintech_contracts/fleet.py",
            file=sys.stderr,
        )
        return 2
    root: Path = args.into.resolve()
    target = root / "services" / args.package
    if target.exists() and not args.force:
        print(f"{target} exists: --force rewrites the template's files in it", file=sys.stderr)
        return 1
    for path, body in render(BY_NAME[args.package], root=root, bare=args.bare).items():
        path.parent.mkdir(parents=True, exist_ok=True)
        existed = path.exists()
        path.write_text(body)
        print(f"{'rewrote' if existed else 'created':<9} {path.relative_to(root)}")
    tidy(target)
    return 0


def tidy(directory: Path) -> None:
    """Sort imports and format the service as ``make lint`` expects (the order of first-party imports
    depends on the package's name); skipped when ruff is not installed."""
    config = str(ROOT / "pyproject.toml")
    for command in (["check", "--fix", "--select", "I", "--quiet"], ["format", "--quiet"]):
        try:
            subprocess.run(
                [sys.executable, "-m", "ruff", *command, "--config", config, str(directory)], check=False
            )
        except OSError:
            return


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
