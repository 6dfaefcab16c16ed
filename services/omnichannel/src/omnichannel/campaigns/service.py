"""Campaign rules: snapshot the segment, pace the sends, pause/resume, finish exactly once.

Each pacer run (one replica at a time: it is a scheduled job) turns at most the allowance of
``rate_per_minute`` for the time elapsed into queued messages, marking each recipient with its
message in the same transaction, so a restarted worker picks up where it stopped and never
queues a recipient twice; the dispatcher then sends each message at most once. The pacer runs
every ``PACE_EVERY`` while a campaign is running; with none running it waits for the NOTIFY of a
start or resume (its scheduled job's ``wake_on``), with a one-minute safety poll.
"""

from __future__ import annotations

import dataclasses
import uuid
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from aintech_contracts.events.omnichannel import CampaignCompleted
from aintech_shared import live
from aintech_shared.errors import Conflict, NotFound, UnprocessableEntity
from omnichannel.campaigns import repository
from omnichannel.campaigns.models import Campaign, CampaignRecipient
from omnichannel.campaigns.schemas import CampaignIn, CampaignOut, Progress
from omnichannel.contacts import service as contacts
from omnichannel.core.base import utcnow
from omnichannel.core.events import CAMPAIGNS_CHANNEL, DISPATCH_CHANNEL, OUTBOX
from omnichannel.messaging import consent, templated
from omnichannel.messaging import outbound as outbound_queue
from omnichannel.templating.service import TEMPLATES, render

log = structlog.get_logger("omnichannel.campaigns")

MAX_BATCH = 500
PACE_EVERY = timedelta(seconds=2)  # while a campaign is running
PACE_SAFETY = timedelta(minutes=1)  # with none running: a start or resume wakes the pacer


async def create(
    session: AsyncSession, *, body: CampaignIn, created_by: uuid.UUID, default_rate: int
) -> Campaign:
    """A draft campaign; the template is rendered once now so a missing variable is a 422 today."""
    if body.template not in TEMPLATES:
        raise UnprocessableEntity(f"Unknown template {body.template!r}.")
    render(body.template, language=body.language or "es", variables={"first_name": "-", **body.variables})
    campaign = Campaign(
        name=body.name,
        channel=body.channel,
        template=body.template,
        segment=body.segment,
        language=body.language,
        variables=body.variables,
        rate_per_minute=body.rate_per_minute or default_rate,
        created_by=created_by,
        status="draft",
    )
    await repository.add(session, campaign)
    return campaign


async def get(session: AsyncSession, *, campaign_id: uuid.UUID, for_update: bool = False) -> Campaign:
    campaign = await repository.get(session, campaign_id, for_update=for_update)
    if campaign is None:
        raise NotFound("No such campaign.")
    return campaign


async def start(session: AsyncSession, *, campaign: Campaign) -> Campaign:
    """Snapshot the segment's reachable customers and start sending."""
    if campaign.status != "draft":
        raise Conflict(f"The campaign is {campaign.status}; only a draft can start.")
    count = await repository.snapshot_recipients(
        session,
        campaign_id=campaign.id,
        segment=campaign.segment,
        channel=campaign.channel,
        language=campaign.language,
    )
    if count == 0:
        raise UnprocessableEntity(
            f"Nobody in segment {campaign.segment!r} can be reached by {campaign.channel}."
        )
    campaign.status = "running"
    campaign.started_at = utcnow()
    await session.flush()
    await _wake_pacer(session)
    return campaign


async def pause(session: AsyncSession, *, campaign: Campaign) -> Campaign:
    if campaign.status != "running":
        raise Conflict(f"The campaign is {campaign.status}; only a running campaign can pause.")
    campaign.status = "paused"
    campaign.paused_at = utcnow()
    await session.flush()
    return campaign


async def resume(session: AsyncSession, *, campaign: Campaign) -> Campaign:
    if campaign.status != "paused":
        raise Conflict(f"The campaign is {campaign.status}; only a paused campaign can resume.")
    campaign.status = "running"
    campaign.last_batch_at = utcnow()
    await session.flush()
    await _wake_pacer(session)
    # its messages queued before the pause are the dispatcher's again
    await live.notify(session, DISPATCH_CHANNEL, {"resumed": str(campaign.id)})
    return campaign


async def cancel(session: AsyncSession, *, campaign: Campaign) -> Campaign:
    if campaign.status in ("completed", "cancelled"):
        raise Conflict(f"The campaign is already {campaign.status}.")
    campaign.status = "cancelled"
    campaign.completed_at = utcnow()
    await outbound_queue.cancel_queued(session, campaign_id=campaign.id)
    await session.flush()
    return campaign


async def view(session: AsyncSession, *, campaign: Campaign) -> CampaignOut:
    progress = await repository.progress(session, campaign.id)
    return CampaignOut(
        id=campaign.id,
        name=campaign.name,
        channel=campaign.channel,
        template=campaign.template,
        segment=campaign.segment,
        language=campaign.language,
        variables=campaign.variables,
        status=campaign.status,
        rate_per_minute=campaign.rate_per_minute,
        created_by=campaign.created_by,
        created_at=campaign.created_at,
        started_at=campaign.started_at,
        completed_at=campaign.completed_at,
        progress=Progress(**progress),
    )


async def listing(
    session: AsyncSession, *, after: list[Any] | None, limit: int
) -> tuple[list[CampaignOut], list[Any] | None]:
    """Campaigns with their progress, newest first."""
    rows, next_key = await repository.listing(session, after=after, limit=limit)
    return [await view(session, campaign=c) for c in rows], next_key


async def recipients(
    session: AsyncSession, *, campaign: Campaign, after: list[Any] | None, limit: int
) -> tuple[list[tuple[CampaignRecipient, str | None]], list[Any] | None]:
    return await repository.recipients(session, campaign.id, after=after, limit=limit)


def allowance(campaign: Campaign, *, now: Any) -> int:
    """How many messages the rate allows since the last batch (a first batch: two seconds' worth)."""
    if campaign.last_batch_at is None:
        seconds = 2.0
    else:
        seconds = max(0.0, (now - campaign.last_batch_at).total_seconds())
    return min(MAX_BATCH, int(campaign.rate_per_minute * seconds / 60))


async def _wake_pacer(session: AsyncSession) -> None:
    """The pacer's NOTIFY, delivered when the transaction that started or resumed a campaign commits."""
    await session.execute(select(func.pg_notify(CAMPAIGNS_CHANNEL, "")))


async def pace_job(session: AsyncSession) -> timedelta | None:
    """The pacer's scheduled run: ``PACE_EVERY`` until the next run while a campaign is running;
    with none running, nothing until a start or resume wakes it (or its safety poll)."""
    await pace(session)
    running = await repository.running(session)
    return PACE_EVERY if running else None


async def pace(session: AsyncSession, *, now: datetime | None = None) -> int:
    """One pacer run over every running campaign; returns how many messages it queued.

    ``now`` is the pacer's clock (the current time unless given)."""
    queued = 0
    at = now or utcnow()
    for campaign in await repository.running(session):
        queued += await _pace_one(session, campaign, now=at)
    return queued


async def _pace_one(session: AsyncSession, campaign: Campaign, *, now: datetime) -> int:
    budget = allowance(campaign, now=now)
    queued = 0
    if budget > 0:
        batch = await repository.next_pending(session, campaign.id, limit=budget)
        for recipient in batch:
            queued += await _send_one(session, campaign, recipient)
        # Advance by the time the budget represents, so the rate holds without drift.
        campaign.last_batch_at = now
    progress = await repository.progress(session, campaign.id)
    if progress["pending"] == 0 and progress["queued"] == 0:
        campaign.status = "completed"
        campaign.completed_at = now
        await OUTBOX.publish(
            session,
            CampaignCompleted(
                campaign_id=campaign.id,
                name=campaign.name,
                channel=campaign.channel,
                segment=campaign.segment,
                sent=progress["sent"] + progress["delivered"],
                failed=progress["failed"],
                skipped=progress["skipped"],
                completed_at=now,
            ),
            key=str(campaign.id),
        )
        log.info("campaign_completed", campaign_id=str(campaign.id), **progress)
    await session.flush()
    return queued


async def _send_one(session: AsyncSession, campaign: Campaign, recipient: CampaignRecipient) -> int:
    recipient.updated_at = utcnow()
    if await consent.is_opted_out(session, channel=campaign.channel, address=recipient.address):
        recipient.status, recipient.detail = "skipped", "opted out"
        return 0
    contact = await contacts.get(session, customer_id=recipient.customer_id)
    if contact is None or contact.deleted_at is not None:
        recipient.status, recipient.detail = "skipped", "customer no longer exists"
        return 0
    person = dataclasses.replace(
        contacts.recipient_of(contact), email=recipient.address, mobile=recipient.address
    )
    refusals: list[str] = []
    message = await templated.send_template(
        session,
        recipient=person,
        template=campaign.template,
        variables=campaign.variables,
        channel=campaign.channel,
        language=campaign.language or recipient.language,
        purpose="marketing",
        campaign_id=campaign.id,
        context={"campaign_id": str(campaign.id)},
        refusals=refusals,
    )
    if message is None:
        recipient.status, recipient.detail = "skipped", (refusals[0] if refusals else "not reachable")[:500]
        return 0
    recipient.status = "queued"
    recipient.message_id = message.id
    return 1
