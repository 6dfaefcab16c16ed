"""The proxy pool's rules. Never commits."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import quote

from sqlalchemy.ext.asyncio import AsyncSession

from aintech_shared.errors import Conflict, NotFound
from scraper.core.base import utcnow
from scraper.core.secrets import Sealer
from scraper.proxies.models import Proxy
from scraper.proxies.repository import ProxyRepository
from scraper.proxies.schemas import ProxyIn, ProxyOut
from scraper.settings import Settings


def out(proxy: Proxy) -> ProxyOut:
    return ProxyOut.model_validate(proxy).model_copy(
        update={"credentials_set": proxy.username_sealed is not None}
    )


async def add_proxy(session: AsyncSession, *, settings: Settings, body: ProxyIn) -> Proxy:
    """Add a proxy to the pool (409 when the host and port are already there)."""
    repo = ProxyRepository(session)
    if await repo.find_one(host=body.host, port=body.port) is not None:
        raise Conflict(f"The pool already has {body.host}:{body.port}.")
    sealer = Sealer(settings.secret_key)
    proxy = repo.add(
        Proxy(
            label=body.label,
            scheme=body.scheme,
            host=body.host,
            port=body.port,
            username_sealed=sealer.seal(body.username) if body.username else None,
            password_sealed=sealer.seal(body.password) if body.password else None,
        )
    )
    await repo.flush()
    return proxy


async def list_proxies(session: AsyncSession) -> list[Proxy]:
    return await ProxyRepository(session).listed()


async def remove_proxy(session: AsyncSession, *, proxy_id: uuid.UUID) -> None:
    proxy = await ProxyRepository(session).get(proxy_id, for_update=True)
    if proxy is None:
        raise NotFound(f"Proxy {proxy_id} does not exist.")
    await session.delete(proxy)


@dataclass(frozen=True)
class Lease:
    """A proxy lent to one job: its id (to report a ban) and its URL with credentials (never logged)."""

    id: uuid.UUID
    url: str

    def __repr__(self) -> str:
        return f"Lease(id={self.id})"


async def take(session: AsyncSession, *, settings: Settings, now: datetime | None = None) -> Lease | None:
    """Rotate: the least recently used usable proxy, marked used now; None when the pool is empty
    (or every proxy is cooling down or unhealthy): the job goes direct."""
    now = now or utcnow()
    proxy = await ProxyRepository(session).lock_next(now=now)
    if proxy is None:
        return None
    proxy.last_used_at = now
    auth = ""
    if proxy.username_sealed is not None:
        sealer = Sealer(settings.secret_key)
        user = quote(sealer.open(proxy.username_sealed), safe="")
        password = quote(sealer.open(proxy.password_sealed), safe="") if proxy.password_sealed else ""
        auth = f"{user}:{password}@"
    return Lease(id=proxy.id, url=f"{proxy.scheme}://{auth}{proxy.host}:{proxy.port}")


async def cool_down(
    session: AsyncSession,
    *,
    settings: Settings,
    proxy_id: uuid.UUID,
    reason: str,
    now: datetime | None = None,
) -> None:
    """A carrier banned or challenged traffic through this proxy: rest it for the cooldown period."""
    proxy = await ProxyRepository(session).get(proxy_id, for_update=True)
    if proxy is None:
        return
    proxy.cooldown_until = (now or utcnow()) + timedelta(seconds=settings.proxy_cooldown_seconds)
    proxy.bans += 1
    proxy.last_error = reason[:300]


async def _reachable(host: str, port: int, within: float) -> str | None:
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), within)
    except (OSError, TimeoutError) as exc:
        return f"{type(exc).__name__}: cannot connect"
    writer.close()
    return None


async def check_health(session: AsyncSession, *, settings: Settings, now: datetime | None = None) -> int:
    """Try a TCP connection to every enabled proxy; mark each healthy or not; the count unhealthy."""
    now = now or utcnow()
    proxies = await ProxyRepository(session).enabled()
    problems = await asyncio.gather(
        *(_reachable(p.host, p.port, settings.proxy_check_timeout_seconds) for p in proxies)
    )
    for proxy, problem in zip(proxies, problems, strict=True):
        proxy.healthy = problem is None
        proxy.last_checked_at = now
        if problem:
            proxy.last_error = problem
    return sum(1 for p in problems if p)


async def check_one(session: AsyncSession, *, settings: Settings, proxy_id: uuid.UUID) -> Proxy:
    proxy = await ProxyRepository(session).get(proxy_id, for_update=True)
    if proxy is None:
        raise NotFound(f"Proxy {proxy_id} does not exist.")
    problem = await _reachable(proxy.host, proxy.port, settings.proxy_check_timeout_seconds)
    proxy.healthy, proxy.last_checked_at = problem is None, utcnow()
    if problem:
        proxy.last_error = problem
    return proxy
