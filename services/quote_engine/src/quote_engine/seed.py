"""Demo data: the illustrative tariffs, imported and activated once (idempotent)."""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import AsyncSession

from aintech_shared.db import Database
from quote_engine.core.runtime import Runtime, build_runtime
from quote_engine.settings import Settings
from quote_engine.tariffs import repository, service
from quote_engine.tariffs.illustrative import all_tariffs


async def seed_tariffs(session: AsyncSession, *, rt: Runtime) -> int:
    """Import and activate each illustrative tariff whose product has no version yet."""
    added = 0
    for document in all_tariffs():
        if await repository.product_by_code(session, document["product_code"]) is not None:
            continue
        version, _ = await service.import_tariff(
            session, definition=service.parse_definition(document), source="seed", actor=None
        )
        await service.activate(session, rt=rt, version_id=version.id)
        added += 1
    return added


async def _main() -> None:
    settings = Settings()
    db = Database(settings.service_database_url, schema=settings.db_schema)
    try:
        async with db.transaction() as session:
            added = await seed_tariffs(session, rt=build_runtime(settings))
        print(f"quote-engine: {added} illustrative tariffs loaded")
    finally:
        await db.dispose()


def main() -> None:
    asyncio.run(_main())


if __name__ == "__main__":
    main()
