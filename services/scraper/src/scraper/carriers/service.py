"""Portal accounts: stored with sealed credentials, allowed only on allow-listed hosts. Never commits."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from aintech_shared.errors import NotFound, UnprocessableEntity
from scraper.carriers.models import PortalAccount
from scraper.carriers.registry import adapter
from scraper.carriers.spec import AdapterSpec
from scraper.core.base import utcnow
from scraper.core.hosts import HostPolicy
from scraper.core.secrets import Sealer
from scraper.settings import Settings


def host_policy(settings: Settings, spec: AdapterSpec) -> HostPolicy:
    """The hosts one carrier's jobs may contact: its adapter's, the configured extras, and loopback
    when the development demo portal is on."""
    extra = ["127.0.0.1", "localhost"] if settings.demo_portal_on else []
    return HostPolicy([*spec.hosts, *settings.allowed_hosts, *extra])


@dataclass(frozen=True)
class Account:
    """An account opened for one job (credentials in memory only, never logged)."""

    base_url: str
    username: str
    password: str

    def __repr__(self) -> str:
        return f"Account(base_url={self.base_url!r}, username=***, password=***)"


async def set_account(
    session: AsyncSession, *, settings: Settings, carrier: str, base_url: str, username: str, password: str
) -> PortalAccount:
    """Store (or replace) the carrier's portal account; 422 when the URL's host is not allowed."""
    spec = adapter(carrier)
    if spec is None:
        raise NotFound(f"Unknown carrier {carrier!r}.")
    if not host_policy(settings, spec).allows(base_url):
        message = f"The host of {base_url!r} is not one of {spec.name}'s hosts ({', '.join(spec.hosts)})."
        raise UnprocessableEntity(
            message,
            errors=[{"location": "body", "field": "base_url", "message": message, "type": "value_error"}],
        )
    sealer = Sealer(settings.secret_key)
    row = await session.get(PortalAccount, carrier, with_for_update=True)
    if row is None:
        row = PortalAccount(carrier=carrier, base_url=base_url, username_sealed=b"", password_sealed=b"")
        session.add(row)
    row.base_url = base_url.rstrip("/")
    row.username_sealed = sealer.seal(username)
    row.password_sealed = sealer.seal(password)
    row.updated_at = utcnow()
    await session.flush()
    return row


async def get_account_row(session: AsyncSession, *, carrier: str) -> PortalAccount:
    row = await session.get(PortalAccount, carrier)
    if row is None:
        raise NotFound(f"No portal account is set for {carrier!r}.")
    return row


async def open_account(session: AsyncSession, *, settings: Settings, carrier: str) -> Account | None:
    """The carrier's account with its credentials decrypted, for a job; None when none is set."""
    row = await session.get(PortalAccount, carrier)
    if row is None:
        return None
    sealer = Sealer(settings.secret_key)
    return Account(
        base_url=row.base_url,
        username=sealer.open(row.username_sealed),
        password=sealer.open(row.password_sealed),
    )
