"""Demo accounts for development: python -m authenticator.seed (idempotent).

Creates admin@aintech.com, supervisor1-2@aintech.com, agent1-3@aintech.com and
customer1@aintech.com with verified e-mails; the password comes from AINTECH_SEED_PASSWORD.
"""

from __future__ import annotations

import asyncio
import sys

from aintech_contracts.rbac import Role
from aintech_shared.db import Database
from authenticator.core.passwords import password_problems
from authenticator.settings import Settings
from authenticator.users import repository
from authenticator.users.service import create_user

SEED_USERS: tuple[tuple[str, str, str, Role], ...] = (
    ("admin@aintech.com", "Ana", "Administradora", Role.admin),
    ("supervisor1@aintech.com", "Sergio", "Supervisor", Role.supervisor),
    ("supervisor2@aintech.com", "Sara", "Supervisora", Role.supervisor),
    ("agent1@aintech.com", "Alberto", "Agente", Role.agent),
    ("agent2@aintech.com", "Andrea", "Agente", Role.agent),
    ("agent3@aintech.com", "Adrián", "Agente", Role.agent),
    ("customer1@aintech.com", "Carmen", "Cliente", Role.customer),
)


async def seed(settings: Settings) -> list[str]:
    """Create the demo accounts that do not exist yet; returns the e-mails created."""
    from authenticator.core.runtime import build_runtime
    from authenticator.tokens.keys import build_key_store

    password = settings.seed_password.get_secret_value()
    problems = password_problems(password)
    if problems:
        raise SystemExit("AINTECH_SEED_PASSWORD " + "; ".join(problems))
    keys = build_key_store(settings, cache_seconds=settings.key_cache_seconds)
    runtime = build_runtime(settings, keys=keys)
    db = Database(settings.service_database_url, schema=settings.db_schema, pool_size=2)
    created: list[str] = []
    try:
        async with db.transaction() as session:
            await keys.ensure_active_key(session)
            for email, first, last, role in SEED_USERS:
                if await repository.by_email(session, email) is not None:
                    continue
                await create_user(
                    session,
                    rt=runtime,
                    email=email,
                    first_name=first,
                    last_name=last,
                    phone=None,
                    password_hash=await runtime.hasher.hash(password),
                    role=role,
                    verified=True,
                    client=None,
                )
                created.append(email)
    finally:
        await db.dispose()
    return created


def main() -> int:
    created = asyncio.run(seed(Settings()))
    print("seeded: " + (", ".join(created) if created else "nothing to do (all demo accounts exist)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
