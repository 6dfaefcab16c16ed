"""Outbound-webhook endpoints (`/integrations/webhooks`, administrators only)."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Response, status

from aintech_shared.db import DbSession, ReadSession
from aintech_shared.errors import responses
from aintech_shared.pagination import Cursor, CursorPage, Limit, decode_cursor
from core_crm.core.runtime import RuntimeDep
from core_crm.customers.access import Viewer, admin
from core_crm.integrations import service
from core_crm.integrations.catalog import WEBHOOK_EVENTS
from core_crm.integrations.schemas import (
    DeliveryOut,
    ReplayOut,
    ReplayRange,
    SubscriptionCreate,
    SubscriptionCreated,
    SubscriptionOut,
    SubscriptionUpdate,
)

router = APIRouter(prefix="/integrations/webhooks", tags=["integrations"])

Admin = Annotated[Viewer, Depends(admin())]
GUARDED = ((401, "Missing or invalid access token"), (403, "Administrators only"))
NOT_FOUND = (404, "No such webhook subscription", "No such webhook subscription.")
KINDS: tuple[Literal["datetime"], Literal["uuid"]] = ("datetime", "uuid")

EVENTS_DOC = ", ".join(f"`{t}`" for t in sorted(WEBHOOK_EVENTS))


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=SubscriptionCreated,
    summary="Subscribe a URL to CRM events",
    description="Each event of the chosen types is POSTed to the URL as JSON `{type, timestamp, "
    "event_id, data}`, signed per the Standard Webhooks specification (`webhook-id`, "
    "`webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256>` with the `secret` returned "
    "here, once). A failing target is retried with exponential backoff and jitter for a day, then the "
    "subscription is switched off and its creator gets a task. The URL must be http(s) and resolve "
    "only to public addresses (the workflow webhooks' SSRF rules; allow-list "
    f"`CORE_CRM_WEBHOOK_ALLOWLIST`). Event types: {EVENTS_DOC}.",
    responses=responses(*GUARDED, (422, "Unknown event type, or a URL that is not allowed")),
)
async def create_subscription(
    body: SubscriptionCreate, who: Admin, db: DbSession, rt: RuntimeDep, response: Response
) -> SubscriptionCreated:
    row = await service.create_subscription(
        db,
        rt=rt,
        url=body.url,
        event_types=body.event_types,
        description=body.description,
        created_by=who.actor_id,
    )
    response.headers["Location"] = f"/integrations/webhooks/{row.id}"
    return SubscriptionCreated.model_validate(row)


@router.get(
    "",
    response_model=CursorPage[SubscriptionOut],
    summary="List webhook subscriptions",
    responses=responses(*GUARDED, (422, "Invalid cursor")),
)
async def list_subscriptions(
    _: Admin, db: ReadSession, cursor: Cursor = None, limit: Limit = 50
) -> CursorPage[SubscriptionOut]:
    rows, next_key = await service.subscriptions(db, after=decode_cursor(cursor, kinds=KINDS), limit=limit)
    return CursorPage[SubscriptionOut].build(rows, next_key, item=SubscriptionOut.model_validate)


@router.get(
    "/{subscription_id}",
    response_model=SubscriptionOut,
    summary="Get a webhook subscription",
    responses=responses(*GUARDED, NOT_FOUND),
)
async def get_subscription(subscription_id: uuid.UUID, _: Admin, db: ReadSession) -> SubscriptionOut:
    return SubscriptionOut.model_validate(await service.get_subscription(db, subscription_id=subscription_id))


@router.patch(
    "/{subscription_id}",
    response_model=SubscriptionOut,
    summary="Change or switch a webhook subscription on/off",
    description="Switching it on again (`active: true`) clears the notice of why it was switched off; "
    "failed deliveries are not resent by themselves (replay them).",
    responses=responses(*GUARDED, NOT_FOUND, (422, "Unknown event type, or a URL that is not allowed")),
)
async def update_subscription(
    subscription_id: uuid.UUID, body: SubscriptionUpdate, _: Admin, db: DbSession, rt: RuntimeDep
) -> SubscriptionOut:
    changes = body.model_dump(exclude_unset=True)
    row = await service.update_subscription(db, rt=rt, subscription_id=subscription_id, changes=changes)
    return SubscriptionOut.model_validate(row)


@router.delete(
    "/{subscription_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a webhook subscription (and its delivery log)",
    responses=responses(*GUARDED, NOT_FOUND),
)
async def delete_subscription(subscription_id: uuid.UUID, _: Admin, db: DbSession) -> Response:
    await service.delete_subscription(db, subscription_id=subscription_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/{subscription_id}/deliveries",
    response_model=CursorPage[DeliveryOut],
    summary="The delivery log of a subscription",
    description="Newest first, cursor pagination; each delivery with its attempts and status codes.",
    responses=responses(*GUARDED, NOT_FOUND, (422, "Invalid filter or cursor")),
)
async def deliveries(
    subscription_id: uuid.UUID,
    _: Admin,
    db: ReadSession,
    status_: Annotated[
        Literal["pending", "retrying", "succeeded", "failed"] | None, Query(alias="status")
    ] = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> CursorPage[DeliveryOut]:
    rows, next_key = await service.deliveries(
        db,
        subscription_id=subscription_id,
        status=status_,
        after=decode_cursor(cursor, kinds=KINDS),
        limit=limit,
    )
    return CursorPage[DeliveryOut].build(rows, next_key, item=DeliveryOut.model_validate)


@router.post(
    "/{subscription_id}/deliveries/{delivery_id}/replay",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=DeliveryOut,
    summary="Send one delivery again",
    description="A new delivery with the same payload and `webhook-id` (so the receiver can tell a "
    "repeat), sent by the worker shortly.",
    responses=responses(*GUARDED, (404, "No such subscription or delivery")),
)
async def replay_one(
    subscription_id: uuid.UUID, delivery_id: uuid.UUID, _: Admin, db: DbSession
) -> DeliveryOut:
    row = await service.replay_one(db, subscription_id=subscription_id, delivery_id=delivery_id)
    return DeliveryOut.model_validate(row)


@router.post(
    "/{subscription_id}/replay",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=ReplayOut,
    summary="Send again every delivery of a time range",
    description="The deliveries first made in `[since, until)` (only the failed ones with "
    "`only_failed`), at most 1,000 at once.",
    responses=responses(*GUARDED, NOT_FOUND, (422, "Invalid range, or more than 1,000 deliveries")),
)
async def replay_range(subscription_id: uuid.UUID, body: ReplayRange, _: Admin, db: DbSession) -> ReplayOut:
    count = await service.replay_range(
        db, subscription_id=subscription_id, since=body.since, until=body.until, only_failed=body.only_failed
    )
    return ReplayOut(replayed=count)
