"""Campaigns: a template to a CRM segment, throttled, opt-outs respected, progress, pause/resume,
and nothing sent twice when the worker restarts mid-way."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from aintech_contracts.rbac import Role
from omnichannel.campaigns import service as campaigns
from omnichannel.delivery.dispatcher import Dispatcher
from omnichannel.messaging import consent
from omnichannel.messaging import outbound as outbound_queue

from .conftest import Api, Person


async def segment_of(api: Api, size: int) -> tuple[str, list[str]]:
    segment = f"hogar-{uuid.uuid4().hex[:6]}"
    emails = [f"s{n}-{uuid.uuid4().hex[:6]}@example.com" for n in range(size)]
    for email in emails:
        await api.customer(email=email, segment=segment)
    await api.customer(email=f"fuera-{uuid.uuid4().hex[:6]}@example.com", segment="otro")
    return segment, emails


async def create(api: Api, who: Person, segment: str, *, rate: int, channel: str = "email") -> dict[str, Any]:
    response = await api.client.post(
        "/campaigns",
        json={
            "name": "Novedades hogar",
            "channel": channel,
            "template": "announcement",
            "segment": segment,
            "variables": {"title": "Nuevas coberturas", "message": "Ahora cubrimos daños eléctricos."},
            "rate_per_minute": rate,
        },
        headers=who.auth,
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def pace(
    api: Api, *, seconds_since_last_batch: float | None = None, campaign_id: str | None = None
) -> int:
    """One pacer run; given a campaign, its clock reads that many seconds after the campaign's last
    batch, so the allowance never depends on how long the machine took between steps."""
    now = None
    if seconds_since_last_batch is not None:
        [row] = await api.sql("SELECT last_batch_at FROM omnichannel.campaigns WHERE id = :i", i=campaign_id)
        now = row["last_batch_at"] + timedelta(seconds=seconds_since_last_batch)
    async with api.db.transaction() as session:
        return await campaigns.pace(session, now=now)


async def test_a_campaign_reaches_its_segment_at_its_rate_skips_opt_outs_and_finishes(
    api: Api, dispatcher: Dispatcher
) -> None:
    supervisor = api.person(Role.supervisor)
    segment, emails = await segment_of(api, 6)
    async with api.db.transaction() as session:
        await consent.set_consent(
            session,
            channel="email",
            address=emails[0],
            opted_out=True,
            keyword="unsubscribe",
            customer_id=None,
        )
    campaign = await create(api, supervisor, segment, rate=60)
    cid = campaign["id"]
    assert campaign["status"] == "draft"
    started = await api.client.post(f"/campaigns/{cid}/start", headers=supervisor.auth)
    assert started.status_code == 200
    assert started.json()["progress"] == {
        "total": 6,
        "pending": 5,
        "queued": 0,
        "sent": 0,
        "delivered": 0,
        "failed": 0,
        "skipped": 1,
    }

    assert await pace(api) == 2, "a first batch is two seconds' worth: 60/min -> 2"
    assert await pace(api, seconds_since_last_batch=0, campaign_id=cid) == 0, "no time passed: nothing more"
    assert await pace(api, seconds_since_last_batch=2, campaign_id=cid) == 2
    await dispatcher.dispatch_once()
    progress = (await api.client.get(f"/campaigns/{cid}", headers=supervisor.auth)).json()["progress"]
    assert progress == {
        "total": 6,
        "pending": 1,
        "queued": 0,
        "sent": 4,
        "delivered": 0,
        "failed": 0,
        "skipped": 1,
    }

    paused = await api.client.post(f"/campaigns/{cid}/pause", headers=supervisor.auth)
    assert paused.json()["status"] == "paused"
    assert await pace(api, seconds_since_last_batch=60, campaign_id=cid) == 0, (
        "a paused campaign sends nothing"
    )
    assert (await api.client.post(f"/campaigns/{cid}/pause", headers=supervisor.auth)).status_code == 409
    await api.client.post(f"/campaigns/{cid}/resume", headers=supervisor.auth)
    assert await pace(api, seconds_since_last_batch=60, campaign_id=cid) == 1
    await dispatcher.dispatch_once()
    await pace(api)
    done = (await api.client.get(f"/campaigns/{cid}", headers=supervisor.auth)).json()
    assert done["status"] == "completed"
    assert done["progress"]["sent"] == 5 and done["progress"]["skipped"] == 1

    assert api.sendgrid.to(emails[0]) == [], "the opted-out address got nothing"
    for email in emails[1:]:
        [mail] = api.sendgrid.to(email)
        assert mail["subject"] == "Nuevas coberturas"
    completed = await api.sql(
        "SELECT payload FROM omnichannel.outbox WHERE event_type = 'campaign.completed'"
    )
    assert (completed[0]["payload"]["data"]["sent"], completed[0]["payload"]["data"]["skipped"]) == (5, 1)
    recipients = (await api.client.get(f"/campaigns/{cid}/recipients", headers=supervisor.auth)).json()
    assert sorted(r["message_status"] or r["status"] for r in recipients["items"]) == ["sent"] * 5 + [
        "skipped"
    ]


async def test_nothing_is_sent_twice_when_the_worker_stops_mid_campaign(
    api: Api, dispatcher: Dispatcher, settings: Any, providers: Any
) -> None:
    supervisor = api.person(Role.supervisor)
    segment, emails = await segment_of(api, 4)
    cid = (await create(api, supervisor, segment, rate=120))["id"]
    await api.client.post(f"/campaigns/{cid}/start", headers=supervisor.auth)
    assert await pace(api) == 4

    # The worker claims the batch and dies before it knows what the provider did.
    async with api.db.transaction() as session:
        claimed = await outbound_queue.claim_due(session, limit=2)
    assert len(claimed) == 2
    restarted = Dispatcher(api.db, settings, providers)
    assert await restarted.dispatch_once() == 2, "only the two unclaimed messages go out"
    assert await restarted.dispatch_once() == 0
    assert await pace(api, seconds_since_last_batch=60, campaign_id=cid) == 0, "no recipient is queued twice"

    await api.execute(
        "UPDATE omnichannel.messages SET claimed_at = now() - interval '1 hour' WHERE status = 'sending'"
    )
    restarted._last_sweep = 0.0
    await restarted.dispatch_once()
    stuck = await api.sql(
        "SELECT status, error_code FROM omnichannel.messages WHERE id = ANY(:i)", i=[m.id for m in claimed]
    )
    assert stuck == [{"status": "failed", "error_code": "unknown"}] * 2, "outcome unknown: failed, not resent"
    assert sum(len(api.sendgrid.to(e)) for e in emails) == 2
    await pace(api)
    view = (await api.client.get(f"/campaigns/{cid}", headers=supervisor.auth)).json()
    assert view["status"] == "completed" and view["progress"]["failed"] == 2 and view["progress"]["sent"] == 2


async def test_campaign_rules_and_permissions(api: Api) -> None:
    supervisor, agent = api.person(Role.supervisor), api.person(Role.agent)
    segment, _ = await segment_of(api, 1)
    denied = await api.client.post(
        "/campaigns",
        json={"name": "x", "channel": "email", "template": "announcement", "segment": segment},
        headers=agent.auth,
    )
    assert denied.status_code == 403
    missing = await api.client.post(
        "/campaigns",
        json={"name": "x", "channel": "email", "template": "announcement", "segment": segment},
        headers=supervisor.auth,
    )
    assert missing.status_code == 422, "the announcement needs a title and a message"
    unknown = await api.client.post(
        "/campaigns",
        json={"name": "x", "channel": "sms", "template": "welcome", "segment": segment},
        headers=supervisor.auth,
    )
    assert unknown.status_code == 422, "campaigns go by e-mail or WhatsApp"
    empty = await create(api, supervisor, "nadie-" + uuid.uuid4().hex[:6], rate=10)
    assert (
        await api.client.post(f"/campaigns/{empty['id']}/start", headers=supervisor.auth)
    ).status_code == 422
    cancelled = await create(api, supervisor, segment, rate=10)
    await api.client.post(f"/campaigns/{cancelled['id']}/start", headers=supervisor.auth)
    assert (
        await api.client.post(f"/campaigns/{cancelled['id']}/start", headers=supervisor.auth)
    ).status_code == 409
    assert (await api.client.post(f"/campaigns/{cancelled['id']}/cancel", headers=supervisor.auth)).json()[
        "status"
    ] == "cancelled"
    assert (await api.client.get(f"/campaigns/{uuid.uuid4()}", headers=supervisor.auth)).status_code == 404


async def test_a_cursor_the_listing_did_not_hand_out_is_a_documented_422(api: Api) -> None:
    supervisor = api.person(Role.supervisor)
    document = (await api.client.get("/openapi.json")).json()
    for path in ("/campaigns", "/campaigns/{campaign_id}/recipients"):
        assert document["paths"][path]["get"]["responses"]["422"]["description"] == "Invalid cursor"
    made_up = await api.client.get("/campaigns", params={"cursor": "rVJ0qdG=0r"}, headers=supervisor.auth)
    assert made_up.status_code == 422, made_up.text
    assert made_up.json()["errors"][0]["field"] == "cursor"
    campaign = await create(api, supervisor, "nadie-" + uuid.uuid4().hex[:6], rate=10)
    recipients = await api.client.get(
        f"/campaigns/{campaign['id']}/recipients", params={"cursor": "0" * 64}, headers=supervisor.auth
    )
    assert recipients.status_code == 422, recipients.text
