"""Create a new service skeleton under services/ (see README, "Adding a service").

Usage: uv run python scripts/new_service.py <package_name>
The service must first be declared in libs/contracts/src/aintech_contracts/fleet.py (schema, port, route).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "libs" / "contracts" / "src"))

from aintech_contracts.fleet import BY_NAME, ServiceSpec  # noqa: E402

FILES: dict[str, str] = {
    "pyproject.toml": """[project]
name = "aintech-{slug}"
version = "0.1.0"
description = "AINTECH {slug}: {description}"
requires-python = ">=3.11"
dependencies = ["aintech-shared", "aintech-contracts"]

[project.scripts]
aintech-{slug} = "{name}.__main__:main"
aintech-{slug}-worker = "{name}.worker:main"

[tool.uv.sources]
aintech-shared = {{ workspace = true }}
aintech-contracts = {{ workspace = true }}

[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[tool.hatch.build.targets.wheel]
packages = ["src/{name}"]
""",
    "alembic.ini": """[alembic]
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
""",
    "migrations/env.py": '''"""Alembic environment of {name}: migrates the `{schema}` schema only."""

from aintech_shared.migrations import run_migrations
from {name}.models import Base
from {name}.settings import Settings

run_migrations(Base.metadata, Settings().service_database_url)
''',
    "migrations/script.py.mako": '''"""${{message}}

Revision ID: ${{up_revision}}
Revises: ${{down_revision | comma,n}}
Create Date: ${{create_date}}
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
${{imports if imports else ""}}
revision: str = ${{repr(up_revision)}}
down_revision: str | None = ${{repr(down_revision)}}
branch_labels: str | Sequence[str] | None = ${{repr(branch_labels)}}
depends_on: str | Sequence[str] | None = ${{repr(depends_on)}}


def upgrade() -> None:
    ${{upgrades if upgrades else "pass"}}


def downgrade() -> None:
    ${{downgrades if downgrades else "pass"}}
''',
    "migrations/versions/0001_initial.py": '''"""Initial schema: messaging tables (outbox, processed events, scheduled jobs).

Revision ID: 0001
Revises:
"""

from aintech_shared.migrations import create_messaging_tables, drop_messaging_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_messaging_tables("{schema}")


def downgrade() -> None:
    drop_messaging_tables("{schema}")
''',
    "src/{name}/__init__.py": '''"""{slug}: {description}."""
''',
    "src/{name}/settings.py": '''"""Configuration of {name} (shared AINTECH_* variables plus {prefix}* ones)."""

from aintech_shared.settings import ServiceSettings


class Settings(ServiceSettings, service="{name}"):
    """Name, schema, port and the {prefix} prefix come from the fleet registry."""
''',
    "src/{name}/models.py": '''"""Tables of the service's schema (named once, in the fleet registry)."""

from sqlalchemy.orm import DeclarativeBase

from aintech_shared.db import schema_metadata
from aintech_shared.events.tables import messaging_tables
from {name}.settings import Settings


class Base(DeclarativeBase):
    """Typed declarative base: every table of this service lives in its schema."""

    metadata = schema_metadata(Settings.db_schema)


MESSAGING = messaging_tables(Base.metadata)
''',
    "src/{name}/app.py": '''"""{name} HTTP API."""

from fastapi import FastAPI

from aintech_shared.app import create_service_app
from {name}.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the {slug} application."""
    return create_service_app(
        settings or Settings(),
        title="AINTECH {slug}",
        description="{description}.",
    )
''',
    "src/{name}/__main__.py": '''"""Serve the {slug} API: python -m {name}."""

from aintech_shared.serve import serve
from {name}.app import create_app
from {name}.settings import Settings


def main() -> None:
    settings = Settings()
    serve(create_app(settings), settings)


if __name__ == "__main__":
    main()
''',
    "src/{name}/worker.py": '''"""{slug} worker: outbox relay, consumers and scheduled jobs (python -m {name}.worker)."""

from aintech_shared import worker
from {name}.models import MESSAGING
from {name}.settings import Settings


def main() -> None:
    worker.main(Settings(), MESSAGING)


if __name__ == "__main__":
    main()
''',
}


def render(spec: ServiceSpec) -> dict[Path, str]:
    values = {
        "name": spec.name,
        "slug": spec.slug,
        "schema": spec.schema,
        "port": spec.port,
        "prefix": spec.env_prefix,
        "description": spec.description,
    }
    base = ROOT / "services" / spec.name
    return {base / path.format(**values): body.format(**values) for path, body in FILES.items()}


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[1] not in BY_NAME:
        print(f"usage: {argv[0]} <service>; declare it first in aintech_contracts/fleet.py", file=sys.stderr)
        return 2
    for path, body in render(BY_NAME[argv[1]]).items():
        if path.exists():
            print(f"kept      {path.relative_to(ROOT)}")
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body)
        print(f"created   {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
