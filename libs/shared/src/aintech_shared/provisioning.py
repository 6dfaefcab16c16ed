"""Create each service's schema and login role (run once per cluster, before migrations).

``python -m aintech_shared.provisioning`` uses ``AINTECH_DATABASE_URL`` (an administrator login)
and each service's ``<SERVICE>_DB_PASSWORD`` (development default when unset).
"""

from __future__ import annotations

import asyncio
import os
import sys

import asyncpg

from aintech_contracts.fleet import FLEET, ServiceSpec
from aintech_shared.settings import DEV_DB_PASSWORD_PREFIX


def service_password(spec: ServiceSpec) -> str:
    return os.environ.get(f"{spec.env_prefix}DB_PASSWORD") or f"{DEV_DB_PASSWORD_PREFIX}{spec.slug}"


def _ident(name: str) -> str:
    if not name.replace("_", "").isalnum():
        raise ValueError(f"unsafe identifier {name!r}")
    return f'"{name}"'


async def provision(admin_url: str, services: tuple[ServiceSpec, ...] = FLEET) -> list[str]:
    """Idempotently create roles ``svc_<schema>`` and schemas owned by them; returns what changed."""
    changes: list[str] = []
    conn = await asyncpg.connect(admin_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        database = await conn.fetchval("SELECT current_database()")
        await conn.execute("REVOKE ALL ON SCHEMA public FROM PUBLIC")
        for spec in services:
            role = f"svc_{spec.schema}"
            password = service_password(spec)
            exists = await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role)
            verb = "ALTER" if exists else "CREATE"
            # Passwords cannot be bound parameters in DDL; quote_literal-equivalent escaping.
            literal = "'" + password.replace("'", "''") + "'"
            await conn.execute(f"{verb} ROLE {_ident(role)} LOGIN PASSWORD {literal} NOSUPERUSER NOCREATEDB")
            if not exists:
                changes.append(f"role {role}")
            has_schema = await conn.fetchval(
                "SELECT 1 FROM information_schema.schemata WHERE schema_name = $1", spec.schema
            )
            if not has_schema:
                await conn.execute(f"CREATE SCHEMA {_ident(spec.schema)} AUTHORIZATION {_ident(role)}")
                changes.append(f"schema {spec.schema}")
            await conn.execute(f"ALTER ROLE {_ident(role)} SET search_path = {_ident(spec.schema)}")
            await conn.execute(f"GRANT CONNECT ON DATABASE {_ident(database)} TO {_ident(role)}")
            changes.extend(await _extensions(conn, spec, role))
    finally:
        await conn.close()
    return changes


EXTENSIONS_SCHEMA = "extensions"


async def _extensions(conn: asyncpg.Connection, spec: ServiceSpec, role: str) -> list[str]:
    """Create the service's Postgres extensions in the ``extensions`` schema and let its role use them.

    An extension the server does not ship is skipped with a warning: the service's migrations
    check for it and fall back (e.g. core-crm's name search without trigram indexes).
    """
    changes: list[str] = []
    if not spec.extensions:
        return changes
    await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {_ident(EXTENSIONS_SCHEMA)}")
    await conn.execute(f"GRANT USAGE ON SCHEMA {_ident(EXTENSIONS_SCHEMA)} TO {_ident(role)}")
    for name in spec.extensions:
        installed = await conn.fetchval("SELECT 1 FROM pg_extension WHERE extname = $1", name)
        if installed:
            continue
        available = await conn.fetchval("SELECT 1 FROM pg_available_extensions WHERE name = $1", name)
        if not available:
            print(f"warning: extension {name} is not available; {spec.slug} falls back", file=sys.stderr)
            continue
        schema = _ident(EXTENSIONS_SCHEMA)
        await conn.execute(f"CREATE EXTENSION IF NOT EXISTS {_ident(name)} WITH SCHEMA {schema}")
        changes.append(f"extension {name}")
    return changes


def main() -> int:
    url = os.environ.get("AINTECH_DATABASE_URL")
    if not url:
        print("AINTECH_DATABASE_URL (an administrator login) is required", file=sys.stderr)
        return 2
    changes = asyncio.run(provision(url))
    print("provisioned: " + (", ".join(changes) if changes else "nothing to do"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
