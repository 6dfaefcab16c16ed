"""Every query on proxies."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select

from aintech_shared.db import RepositoryBase
from scraper.proxies.models import Proxy


class ProxyRepository(RepositoryBase[Proxy]):
    model = Proxy

    async def listed(self) -> list[Proxy]:
        return await self.all(select(Proxy).order_by(Proxy.label, Proxy.id))

    async def lock_next(self, *, now: datetime) -> Proxy | None:
        """The least recently used enabled, healthy proxy out of cooldown, locked (others skip it)."""
        query = (
            select(Proxy)
            .where(
                Proxy.enabled, Proxy.healthy, or_(Proxy.cooldown_until.is_(None), Proxy.cooldown_until <= now)
            )
            .order_by(Proxy.last_used_at.asc().nulls_first(), Proxy.id)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        return (await self.session.scalars(query)).first()

    async def enabled(self) -> list[Proxy]:
        return await self.all(select(Proxy).where(Proxy.enabled).order_by(Proxy.id))
