"""Interaction rules: references belong to the same customer; channel contacts are recorded once."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from aintech_contracts.events.crm import InteractionCreated
from aintech_shared.errors import NotFound, UnprocessableEntity
from core_crm.claims import service as claims
from core_crm.core.base import utcnow
from core_crm.core.runtime import Runtime
from core_crm.customers import service as customers
from core_crm.customers.access import Viewer
from core_crm.interactions import repository
from core_crm.interactions.models import Interaction
from core_crm.interactions.schemas import InteractionCreate
from core_crm.policies import service as policies
from core_crm.quotes import service as quotes

log = structlog.get_logger("core_crm.interactions")


def _field_error(field: str, message: str) -> UnprocessableEntity:
    return UnprocessableEntity(
        f"{field}: {message}",
        errors=[{"location": "body", "field": field, "message": message, "type": "value_error"}],
    )


async def check_references(
    session: AsyncSession,
    *,
    customer_id: uuid.UUID | None,
    policy_id: uuid.UUID | None,
    claim_id: uuid.UUID | None,
    quote_id: uuid.UUID | None,
) -> None:
    """Referenced policies, claims and quotes must exist and belong to the same customer (422)."""
    owners = {
        "policy_id": await policies.owner_of(session, policy_id=policy_id) if policy_id else None,
        "claim_id": await claims.owner_of(session, claim_id=claim_id) if claim_id else None,
        "quote_id": await quotes.owner_of(session, quote_id=quote_id) if quote_id else None,
    }
    for field, value in (("policy_id", policy_id), ("claim_id", claim_id), ("quote_id", quote_id)):
        if value is None:
            continue
        owner = owners[field]
        if owner is None or (customer_id is not None and owner != customer_id):
            raise _field_error(field, "no such record for this customer")


def _event(row: Interaction) -> InteractionCreated:
    return InteractionCreated(
        interaction_id=row.id,
        customer_id=row.customer_id,
        type=row.type,
        direction=row.direction,
        subject=row.subject,
        outcome=row.outcome,
        agent_id=row.agent_id,
        duration_seconds=row.duration,
        occurred_at=row.occurred_at,
        source=row.source,
    )


async def log_interaction(
    session: AsyncSession, *, rt: Runtime, viewer: Viewer, data: InteractionCreate
) -> Interaction:
    """An agent records a contact on a customer's timeline. Publishes `interaction.created`."""
    await customers.referenced_customer(session, viewer=viewer, customer_id=data.customer_id)
    await check_references(
        session,
        customer_id=data.customer_id,
        policy_id=data.policy_id,
        claim_id=data.claim_id,
        quote_id=data.quote_id,
    )
    values: dict[str, Any] = data.model_dump(exclude={"metadata", "occurred_at"})
    row = Interaction(
        **values,
        attributes=data.metadata,
        occurred_at=data.occurred_at or utcnow(),
        source="crm",
        agent_id=viewer.actor_id,
    )
    await repository.add(session, row)
    await rt.outbox.publish(session, _event(row), key=str(row.customer_id))
    return row


async def logged(session: AsyncSession, *, source: str, external_id: str) -> Interaction | None:
    """The interaction a call or message from telephony/omnichannel became, if any."""
    return await repository.by_external(session, source=source, external_id=external_id)


async def record_channel_contact(
    session: AsyncSession,
    *,
    rt: Runtime,
    customer_id: uuid.UUID,
    source: str,
    external_id: str,
    type_: str,
    direction: str | None,
    occurred_at: datetime,
    agent_id: uuid.UUID | None,
    subject: str | None,
    summary: str | None,
    outcome: str | None,
    duration_seconds: int | None,
    recording_url: str | None,
    recording_consent: str | None = None,
) -> Interaction:
    """Put a call or message from telephony/omnichannel on a customer's timeline (once per external
    id). Publishes `interaction.created`. A call's recording consent is kept in its metadata."""
    existing = await repository.by_external(session, source=source, external_id=external_id)
    if existing is not None:
        return existing
    row = Interaction(
        customer_id=customer_id,
        type=type_,
        direction=direction,
        channel=type_,
        subject=subject,
        description=summary,
        outcome=outcome,
        duration=duration_seconds,
        recording_url=recording_url,
        call_sid=external_id if type_ == "call" else None,
        source=source,
        external_id=external_id,
        agent_id=agent_id,
        occurred_at=occurred_at,
        attributes={"recording_consent": recording_consent} if recording_consent else {},
    )
    await repository.add(session, row)
    await rt.outbox.publish(session, _event(row), key=str(row.customer_id))
    return row


async def attach_transcript(session: AsyncSession, *, source: str, external_id: str, transcript: str) -> bool:
    """A recorded call's transcript, attached to the interaction the call became (kept in its
    metadata, searchable with ``q``); False when the call is on no customer's timeline."""
    row = await repository.by_external(session, source=source, external_id=external_id)
    if row is None:
        log.info("transcript_without_interaction", source=source, external_id=external_id)
        return False
    row.attributes = {**row.attributes, "transcript": transcript}
    await session.flush()
    return True


async def get_interaction(session: AsyncSession, *, viewer: Viewer, interaction_id: uuid.UUID) -> Interaction:
    """One interaction the viewer may see."""
    row = await repository.get(session, interaction_id)
    if row is None or not viewer.may_see(row.customer_id):
        raise NotFound("No such interaction.")
    return row


async def search_interactions(
    session: AsyncSession,
    *,
    viewer: Viewer,
    customer_id: uuid.UUID | None,
    types: Sequence[str] | None,
    agent_id: uuid.UUID | None,
    since: datetime | None,
    until: datetime | None,
    after: list[Any] | None,
    limit: int,
    text_query: str | None = None,
) -> tuple[Sequence[Interaction], list[Any] | None]:
    """One page of interactions, newest first; a customer only gets their own."""
    if not viewer.is_staff:
        if viewer.customer_id is None or (customer_id is not None and customer_id != viewer.customer_id):
            return [], None
        customer_id = viewer.customer_id
    return await repository.search(
        session,
        customer_id=customer_id,
        types=types,
        agent_id=agent_id,
        since=since,
        until=until,
        after=after,
        limit=limit,
        text_query=text_query,
    )


async def timeline(
    session: AsyncSession,
    *,
    viewer: Viewer,
    customer_id: uuid.UUID,
    types: Sequence[str] | None,
    after: list[Any] | None,
    limit: int,
) -> tuple[Sequence[Interaction], list[Any] | None]:
    """A customer's contacts on every channel, newest first (404 for a customer not the viewer's)."""
    customer = await customers.get_customer(session, viewer=viewer, customer_id=customer_id)
    return await repository.search(
        session,
        customer_id=customer.id,
        types=types,
        agent_id=None,
        since=None,
        until=None,
        after=after,
        limit=limit,
    )


async def interactions_of(session: AsyncSession, *, customer_id: uuid.UUID) -> Sequence[Interaction]:
    """Every interaction of a customer (for exports)."""
    return await repository.for_customer(session, customer_id)
