"""Demo data: with the demo portals on (development), the broker's accounts on them, so a newcomer
can queue a price job on `make run` and see prices arrive in a comparison (idempotent)."""

from __future__ import annotations

import asyncio

from aintech_shared.db import Database
from scraper.carriers import service as carriers
from scraper.carriers.models import PortalAccount
from scraper.demo.portal import PASSWORD, USERNAME
from scraper.settings import Settings

DEMO_CARRIERS = ("mapfre", "allianz", "axa")


async def seed_demo_accounts(db: Database, settings: Settings) -> int:
    """Point each demo carrier's account at the demo portal when it has none; the count set."""
    if not settings.demo_portal_on:
        return 0
    added = 0
    async with db.transaction() as session:
        for carrier in DEMO_CARRIERS:
            if await session.get(PortalAccount, carrier) is not None:
                continue
            await carriers.set_account(
                session,
                settings=settings,
                carrier=carrier,
                base_url=f"http://127.0.0.1:{settings.port}/demo-portal/{carrier}",
                username=USERNAME,
                password=PASSWORD,
            )
            added += 1
    return added


async def _main() -> None:
    settings = Settings()
    db = Database(settings.service_database_url, schema=settings.db_schema)
    try:
        added = await seed_demo_accounts(db, settings)
        print(f"scraper: {added} demo portal accounts set")
    finally:
        await db.dispose()


def main() -> None:
    asyncio.run(_main())


if __name__ == "__main__":
    main()
