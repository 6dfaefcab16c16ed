"""Nothing lost on the timeline: calls and messages that match no customer are kept until linked.

An `interaction.logged` from telephony or omnichannel is matched to a live customer by id, else
phone, else e-mail. When nothing matches it is kept as an *unmatched contact* the agents can see
and link to a customer (or dismiss); and when a customer is created, or their phone, mobile or
e-mail changes, the open unmatched contacts from those numbers and that address are linked to
them automatically. Matching and storing take an advisory lock per contact (phone, e-mail), so
a contact stored while the customer who owns it is being created is still found by the link.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from aintech_contracts.events.crm import InteractionLogged
from aintech_shared.errors import Conflict, NotFound
from core_crm.core import spain
from core_crm.core.base import utcnow
from core_crm.core.runtime import Runtime
from core_crm.customers import service as customers
from core_crm.customers.access import Viewer
from core_crm.intake import repository
from core_crm.intake.models import IntakeStatus, UnmatchedInteraction
from core_crm.interactions import service as interactions
from core_crm.interactions.models import Interaction

log = structlog.get_logger("crm.intake")

CONTACT_FIELDS = frozenset({"phone", "mobile", "email"})


def _phone(value: str | None) -> str | None:
    """E.164 of a valid number; None otherwise (an invalid number can match nobody)."""
    if not value:
        return None
    try:
        return spain.phone(value)
    except ValueError:
        return None


def _email(value: str | None) -> str | None:
    value = (value or "").strip().lower()
    return value if value and len(value) <= 255 else None


def _contacts(phones: Sequence[str], email: str | None) -> list[str]:
    return [f"phone:{p}" for p in phones] + ([f"email:{email}"] if email else [])


async def take_in(
    session: AsyncSession, *, rt: Runtime, data: InteractionLogged
) -> Interaction | UnmatchedInteraction:
    """A call or message from telephony/omnichannel: onto its customer's timeline, or kept as an
    unmatched contact when it matches nobody (once per source and external id)."""
    phone, email = _phone(data.phone), _email(data.email)
    await repository.lock_contacts(session, _contacts([phone] if phone else [], email))
    existing = await interactions.logged(session, source=data.source, external_id=data.external_id)
    if existing is not None:
        return existing
    kept = await repository.by_external(session, source=data.source, external_id=data.external_id)
    if kept is not None and kept.status != IntakeStatus.open:
        return kept  # dismissed by an agent: stays dismissed
    customer = await customers.find_for_contact(
        session, customer_id=data.customer_id, phone=phone, email=email
    )
    if customer is not None:
        if kept is not None:
            return await _link(session, rt=rt, intake=kept, customer_id=customer.id, actor=None)
        return await interactions.record_channel_contact(
            session,
            rt=rt,
            customer_id=customer.id,
            source=data.source,
            external_id=data.external_id,
            type_=data.type,
            direction=data.direction,
            occurred_at=data.occurred_at,
            agent_id=data.agent_id,
            subject=data.subject,
            summary=data.summary,
            outcome=data.outcome,
            duration_seconds=data.duration_seconds,
            recording_url=data.recording_url,
            recording_consent=data.recording_consent,
        )
    if kept is not None:
        return kept
    kept = UnmatchedInteraction(
        source=data.source,
        external_id=data.external_id,
        type=data.type,
        direction=data.direction,
        occurred_at=data.occurred_at,
        customer_hint=data.customer_id,
        phone=phone or ((data.phone or "")[:32] or None),
        email=email,
        agent_id=data.agent_id,
        subject=data.subject,
        summary=data.summary,
        outcome=data.outcome,
        duration_seconds=data.duration_seconds,
        recording_url=data.recording_url,
        status=IntakeStatus.open.value,
    )
    await repository.add(session, kept)
    log.info("interaction_unmatched_kept", source=data.source, external_id=data.external_id, type=data.type)
    return kept


async def _link(
    session: AsyncSession,
    *,
    rt: Runtime,
    intake: UnmatchedInteraction,
    customer_id: uuid.UUID,
    actor: uuid.UUID | None,
) -> UnmatchedInteraction:
    """Put a (locked, open) unmatched contact on the customer's timeline. The interaction now holds
    its content, so the contact data and content are removed from the intake row."""
    interaction = await interactions.record_channel_contact(
        session,
        rt=rt,
        customer_id=customer_id,
        source=intake.source,
        external_id=intake.external_id,
        type_=intake.type,
        direction=intake.direction,
        occurred_at=intake.occurred_at,
        agent_id=intake.agent_id,
        subject=intake.subject,
        summary=intake.summary,
        outcome=intake.outcome,
        duration_seconds=intake.duration_seconds,
        recording_url=intake.recording_url,
    )
    intake.status = IntakeStatus.linked.value
    intake.customer_id = customer_id
    intake.interaction_id = interaction.id
    intake.resolved_by = actor
    intake.resolved_at = utcnow()
    _forget_content(intake)
    await repository.flush(session)
    log.info(
        "interaction_linked",
        intake_id=str(intake.id),
        customer_id=str(customer_id),
        automatically=actor is None,
    )
    return intake


def _forget_content(intake: UnmatchedInteraction) -> None:
    intake.phone = intake.email = intake.subject = intake.summary = intake.recording_url = None


async def _open(session: AsyncSession, intake_id: uuid.UUID) -> UnmatchedInteraction:
    intake = await repository.get(session, intake_id, for_update=True)
    if intake is None:
        raise NotFound("No such unmatched interaction.")
    if intake.status != IntakeStatus.open:
        raise Conflict(f"This contact is already {intake.status}.", current_status=intake.status)
    return intake


async def link(
    session: AsyncSession, *, rt: Runtime, viewer: Viewer, intake_id: uuid.UUID, customer_id: uuid.UUID
) -> UnmatchedInteraction:
    """An agent puts an unmatched contact on a customer's timeline. Publishes `interaction.created`."""
    intake = await _open(session, intake_id)
    customer = await customers.referenced_customer(session, viewer=viewer, customer_id=customer_id)
    return await _link(session, rt=rt, intake=intake, customer_id=customer.id, actor=viewer.actor_id)


async def dismiss(
    session: AsyncSession, *, viewer: Viewer, intake_id: uuid.UUID, reason: str | None
) -> UnmatchedInteraction:
    """An agent says an unmatched contact is nobody's (spam, wrong number): its content is deleted."""
    intake = await _open(session, intake_id)
    intake.status = IntakeStatus.dismissed.value
    intake.dismiss_reason = reason
    intake.resolved_by = viewer.actor_id
    intake.resolved_at = utcnow()
    _forget_content(intake)
    await repository.flush(session)
    return intake


async def link_for_customer(session: AsyncSession, *, rt: Runtime, customer_id: uuid.UUID) -> int:
    """Link the open unmatched contacts from a customer's phone, mobile or e-mail to them; how many."""
    customer = await customers.internal_get(session, customer_id=customer_id)
    if customer is None:
        return 0
    # Only numbers that identify this customer alone: a number several customers share says nothing.
    phones = sorted(
        {
            p
            for p in (customer.phone, customer.mobile)
            if p and await customers.identified_by_phone(session, p) == customer.id
        }
    )
    email = _email(customer.email)
    await repository.lock_contacts(session, _contacts(phones, email))
    rows = await repository.open_for_contacts(session, phones=phones, email=email)
    for intake in rows:
        await _link(session, rt=rt, intake=intake, customer_id=customer.id, actor=None)
    return len(rows)


def touches_contact(changed_fields: Sequence[str]) -> bool:
    """Whether a customer change may make unmatched contacts theirs."""
    return bool(CONTACT_FIELDS & set(changed_fields))


async def get_intake(session: AsyncSession, *, intake_id: uuid.UUID) -> UnmatchedInteraction:
    """One unmatched contact (404 when unknown)."""
    intake = await repository.get(session, intake_id)
    if intake is None:
        raise NotFound("No such unmatched interaction.")
    return intake


async def search(
    session: AsyncSession, *, status: str, after: list[Any] | None, limit: int
) -> tuple[Sequence[UnmatchedInteraction], list[Any] | None]:
    """One page of unmatched contacts in a status, newest first."""
    return await repository.search(session, status=status, after=after, limit=limit)


PURGE_BATCH = 1000


async def purge_unmatched(
    session: AsyncSession, *, retention_days: int, now: datetime | None = None
) -> list[dict[str, Any]]:
    """Delete the calls and messages from unknown contacts that nobody linked (or dismissed) within
    ``retention_days`` of their arrival, and log each one removed (its id, source, external id, kind
    and arrival — never the phone, address or content). Returns what was removed."""
    cutoff = (now or utcnow()) - timedelta(days=retention_days)
    removed: list[dict[str, Any]] = []
    while True:
        rows = await repository.purge_open_before(session, cutoff=cutoff, limit=PURGE_BATCH)
        removed += [
            {
                "id": str(r.id),
                "source": r.source,
                "external_id": r.external_id,
                "type": r.type,
                "received_at": r.received_at.isoformat(),
            }
            for r in rows
        ]
        if len(rows) < PURGE_BATCH:
            break
    for item in removed:
        log.info("unmatched_contact_purged", retention_days=retention_days, **item)
    log.info(
        "unmatched_contacts_purged",
        count=len(removed),
        cutoff=cutoff.isoformat(),
        retention_days=retention_days,
    )
    return removed
