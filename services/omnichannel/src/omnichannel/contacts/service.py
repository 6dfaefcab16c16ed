"""Keep the read models current from CRM and authenticator events; match senders to customers."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from aintech_contracts.events.auth import UserRegistered
from aintech_contracts.events.crm import CustomerCreated, CustomerDeleted, CustomerUpdated
from aintech_shared.phones import to_e164
from omnichannel.contacts import repository
from omnichannel.contacts.models import Contact, PlatformUser
from omnichannel.core.addresses import email_address


@dataclass(frozen=True)
class Recipient:
    """Who a message is for: a name, a language and the addresses we know."""

    customer_id: uuid.UUID | None
    user_id: uuid.UUID | None
    first_name: str
    display_name: str
    language: str
    email: str | None
    mobile: str | None
    preferred_channel: str | None


async def apply_customer(session: AsyncSession, *, event: CustomerCreated | CustomerUpdated) -> None:
    """Store the customer's latest contact details (an older update never overwrites a newer one)."""
    version = event.version if isinstance(event, CustomerUpdated) else 0
    await repository.upsert(
        session,
        {
            "customer_id": event.customer_id,
            "user_id": event.user_id,
            "first_name": event.first_name[:100],
            "last_name": event.last_name[:100],
            "company_name": (event.company_name or None) and event.company_name[:200],
            "email": email_address(event.email) if event.email else None,
            "phone": to_e164(event.phone, bare_international=True),
            "mobile": to_e164(event.mobile, bare_international=True),
            "preferred_channel": event.preferred_channel,
            "preferred_language": (event.preferred_language or "es")[:5],
            "segment": event.segment[:50] if event.segment else None,
            "status": event.status[:20],
            "version": version,
            "deleted_at": None,
        },
    )


async def apply_customer_deleted(session: AsyncSession, *, event: CustomerDeleted) -> None:
    """Forget the person's details (erased) or mark them gone (deleted, merged)."""
    await repository.mark_deleted(session, event.customer_id, erase=event.reason == "erased")


async def apply_user(session: AsyncSession, *, event: UserRegistered) -> None:
    await repository.upsert_user(
        session,
        {
            "user_id": event.user_id,
            "email": email_address(str(event.email)),
            "first_name": event.first_name[:100],
            "last_name": event.last_name[:100],
            "role": event.role[:20],
        },
    )


async def apply_user_email(session: AsyncSession, *, user_id: uuid.UUID, email: str) -> None:
    """A platform user's proven new address replaces the old one in the read model."""
    await repository.set_user_email(session, user_id, email_address(email))


async def apply_user_role(session: AsyncSession, *, user_id: uuid.UUID, role: str) -> None:
    """A platform user's new role (who is a supervisor decides who hears of fraud alerts)."""
    await repository.set_user_role(session, user_id, role[:20])


async def supervisors(session: AsyncSession) -> Sequence[uuid.UUID]:
    """The platform users known here as supervisors."""
    return await repository.users_with_role(session, "supervisor")


async def match_phone(session: AsyncSession, *, address: str) -> Contact | None:
    """The one live customer whose mobile or phone is ``address`` (E.164); None if none or several."""
    return await repository.by_phone(session, address)


async def match_email(session: AsyncSession, *, address: str) -> Contact | None:
    """The one live customer with this e-mail address; None if none or several."""
    return await repository.by_email(session, email_address(address))


async def get(session: AsyncSession, *, customer_id: uuid.UUID) -> Contact | None:
    return await repository.get(session, customer_id)


async def for_user(session: AsyncSession, *, user_id: uuid.UUID) -> Contact | None:
    return await repository.by_user(session, user_id)


async def user(session: AsyncSession, *, user_id: uuid.UUID) -> PlatformUser | None:
    return await repository.get_user(session, user_id)


async def users_with_roles(session: AsyncSession, *, roles: list[str]) -> list[uuid.UUID]:
    return await repository.user_ids_with_roles(session, roles)


def recipient_of(contact: Contact) -> Recipient:
    return Recipient(
        customer_id=contact.customer_id,
        user_id=contact.user_id,
        first_name=contact.first_name or contact.company_name or "",
        display_name=contact.display_name,
        language=contact.preferred_language,
        email=contact.email,
        mobile=contact.mobile or contact.phone,
        preferred_channel=contact.preferred_channel,
    )


async def recipient_for_user(session: AsyncSession, *, user_id: uuid.UUID) -> Recipient | None:
    """A platform user as a recipient: their customer record when linked, else their account."""
    contact = await repository.by_user(session, user_id)
    if contact is not None:
        return recipient_of(contact)
    account = await repository.get_user(session, user_id)
    if account is None:
        return None
    return Recipient(
        customer_id=None,
        user_id=account.user_id,
        first_name=account.first_name,
        display_name=f"{account.first_name} {account.last_name}".strip(),
        language="es",
        email=account.email,
        mobile=None,
        preferred_channel="email",
    )
