"""Campaigns: create, start, pause, resume, cancel, follow progress (supervisors)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

from fastapi import APIRouter, status

from aintech_shared.db import DbSession
from aintech_shared.errors import responses
from aintech_shared.pagination import Cursor, CursorPage, Limit, decode_cursor, encode_cursor
from omnichannel.campaigns import service
from omnichannel.campaigns.models import Campaign
from omnichannel.campaigns.schemas import CampaignIn, CampaignOut, RecipientOut
from omnichannel.core.deps import CampaignManager, user_uuid
from omnichannel.core.request import SettingsDep

router = APIRouter(prefix="/campaigns", tags=["campaigns"])

ERRORS = responses(
    (403, "Missing permission campaigns:manage"),
    (404, "No such campaign"),
    (409, "Not allowed in the campaign's current status"),
)
# A cursor is opaque: one not handed out by a listing is refused (422 naming `cursor`).
PAGE_ERRORS = responses(
    (403, "Missing permission campaigns:manage"), (404, "No such campaign"), (422, "Invalid cursor")
)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=CampaignOut,
    summary="Create a campaign (draft)",
    description="A template to a CRM segment over e-mail or WhatsApp. Missing template variables are "
    "a 422 now, "
    "not a failure per recipient later.",
    responses={
        **ERRORS,
        **responses(
            (
                422,
                "Unknown template, or a variable the template needs is missing",
                "Template 'announcement' needs: title, message.",
            )
        ),
    },
)
async def create(
    body: CampaignIn, principal: CampaignManager, db: DbSession, settings: SettingsDep
) -> CampaignOut:
    campaign = await service.create(
        db, body=body, created_by=user_uuid(principal), default_rate=settings.campaign_default_rate_per_minute
    )
    return await service.view(db, campaign=campaign)


@router.get(
    "", response_model=CursorPage[CampaignOut], summary="Campaigns with their progress", responses=PAGE_ERRORS
)
async def listing(
    principal: CampaignManager, db: DbSession, cursor: Cursor = None, limit: Limit = 50
) -> CursorPage[CampaignOut]:
    after = decode_cursor(cursor, kinds=("datetime", "uuid"))
    rows, next_key = await service.listing(db, after=after, limit=limit)
    return CursorPage.build(rows, next_key, item=lambda c: c)


@router.get(
    "/{campaign_id}",
    response_model=CampaignOut,
    summary="A campaign and its progress",
    description="Recipients by state: pending (not queued yet), queued, sent, delivered, failed, skipped "
    "(opted out or unreachable).",
    responses=ERRORS,
)
async def get(campaign_id: uuid.UUID, principal: CampaignManager, db: DbSession) -> CampaignOut:
    return await service.view(db, campaign=await service.get(db, campaign_id=campaign_id))


@router.get(
    "/{campaign_id}/recipients",
    response_model=CursorPage[RecipientOut],
    summary="Per-recipient status",
    responses=PAGE_ERRORS,
)
async def recipients(
    campaign_id: uuid.UUID,
    principal: CampaignManager,
    db: DbSession,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> CursorPage[RecipientOut]:
    after = decode_cursor(cursor, kinds=("uuid",))
    campaign = await service.get(db, campaign_id=campaign_id)
    rows, next_key = await service.recipients(db, campaign=campaign, after=after, limit=limit)
    items = [
        RecipientOut(
            customer_id=r.customer_id,
            address=r.address,
            status=r.status,
            message_id=r.message_id,
            message_status=message_status,
            detail=r.detail,
        )
        for r, message_status in rows
    ]
    return CursorPage(items=items, next_cursor=encode_cursor(next_key) if next_key else None)


Transition = Callable[..., Awaitable[Campaign]]


async def _transition(db: DbSession, campaign_id: uuid.UUID, action: Transition) -> CampaignOut:
    campaign = await service.get(db, campaign_id=campaign_id, for_update=True)
    await action(db, campaign=campaign)
    return await service.view(db, campaign=campaign)


@router.post(
    "/{campaign_id}/start",
    response_model=CampaignOut,
    summary="Start sending",
    description="Sends to every customer of the segment reachable on the campaign's channel (with "
    "consent); a segment with nobody reachable is a 422.",
    responses={
        **ERRORS,
        **responses(
            (
                422,
                "Nobody in the segment can be reached on the campaign's channel",
                "Nobody in segment 'hogar-premium' can be reached by email.",
            )
        ),
    },
)
async def start(campaign_id: uuid.UUID, principal: CampaignManager, db: DbSession) -> CampaignOut:
    return await _transition(db, campaign_id, service.start)


@router.post(
    "/{campaign_id}/pause",
    response_model=CampaignOut,
    summary="Pause (queued messages wait too)",
    responses=ERRORS,
)
async def pause(campaign_id: uuid.UUID, principal: CampaignManager, db: DbSession) -> CampaignOut:
    return await _transition(db, campaign_id, service.pause)


@router.post(
    "/{campaign_id}/resume", response_model=CampaignOut, summary="Resume where it stopped", responses=ERRORS
)
async def resume(campaign_id: uuid.UUID, principal: CampaignManager, db: DbSession) -> CampaignOut:
    return await _transition(db, campaign_id, service.resume)


@router.post(
    "/{campaign_id}/cancel",
    response_model=CampaignOut,
    summary="Cancel (nothing more is sent)",
    responses=ERRORS,
)
async def cancel(campaign_id: uuid.UUID, principal: CampaignManager, db: DbSession) -> CampaignOut:
    return await _transition(db, campaign_id, service.cancel)
