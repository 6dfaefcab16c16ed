"""The worker's loops wait for their work instead of polling for it: the dispatcher and the Slack
poster are woken by the NOTIFY of the commit that queues it, the campaign pacer by a campaign's
start (then every 2 s while it runs). A lost notification only delays the work until the safety
poll (injected short here), never loses it."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from aintech_contracts.envelope import CloudEvent
from aintech_contracts.events import crm
from aintech_contracts.rbac import Role
from aintech_devtools.api import eventually
from aintech_shared.scheduler import JobWaker, ScheduledJob, run_scheduler
from omnichannel.core.runtime import build_runtime
from omnichannel.delivery import consumers
from omnichannel.delivery.dispatcher import Dispatcher
from omnichannel.jobs import jobs
from omnichannel.models import MESSAGING
from omnichannel.notifications.slack import SlackPoster
from omnichannel.providers.factory import Providers
from omnichannel.settings import Settings

from .conftest import Api, make_settings
from .fakes import ThreadedServer
from .test_campaigns import create, segment_of
from .test_slack import SECRET_PATH, FakeSlack, fraud_alert

NEVER = 3600.0  # a safety poll that never comes within a test: only the NOTIFY can wake the loop
SOON = 0.2  # an injected short safety poll: what picks up work whose notification was lost
DEAF = "omnichannel_nobody_notifies_this"  # a channel no commit notifies: every notification lost


def settings_for(api: Api, **overrides: Any) -> Settings:
    return make_settings(api.twilio, api.sendgrid, api.signer, **overrides)


@contextlib.asynccontextmanager
async def looping(run: Callable[[asyncio.Event], Any]) -> AsyncIterator[None]:
    stop = asyncio.Event()
    task = asyncio.create_task(run(stop))
    try:
        yield
    finally:
        stop.set()
        async with asyncio.timeout(30):
            await task


async def quote_by_sms(api: Api) -> str:
    """Commit a quote for an SMS customer: its message is queued (with the dispatcher's NOTIFY)."""
    number = "+346" + str(uuid.uuid4().int)[:8]
    customer_id = await api.customer(mobile=number, preferred_channel="sms")
    payload = crm.QuoteCreated(
        quote_id=uuid.uuid4(),
        quote_number="Q-2026-0042",
        quote_type="auto",
        customer_id=customer_id,
        status="sent",
        base_premium=Decimal("400.00"),
        total_premium=Decimal("385.20"),
        carriers=[crm.CarrierOffer(carrier="Allianz", premium=Decimal("385.20"))],
        best_carrier="Allianz",
    )
    event = CloudEvent.wrap(payload, type_=payload.event_type, source="core-crm", subject=None)
    async with api.db.transaction() as session:
        await consumers.on_quote_created(session, event)
    return number


async def test_a_queued_message_wakes_the_dispatcher_at_once(api: Api, providers: Providers) -> None:
    dispatcher = Dispatcher(api.db, settings_for(api, dispatch_safety_poll_seconds=NEVER), providers)
    async with looping(dispatcher.run):
        await eventually(lambda: _true(dispatcher.listening.is_set()), within=30)
        number = await quote_by_sms(api)
        [sms] = await eventually(lambda: _texts(api, number), within=30)
    assert "Q-2026-0042" in sms["body"]


async def test_a_message_whose_notification_was_lost_is_sent_by_the_safety_poll(
    api: Api, providers: Providers
) -> None:
    dispatcher = Dispatcher(api.db, settings_for(api, dispatch_safety_poll_seconds=SOON), providers)
    dispatcher.channel = DEAF
    async with looping(dispatcher.run):
        number = await quote_by_sms(api)
        [sms] = await eventually(lambda: _texts(api, number), within=30)
    assert "Q-2026-0042" in sms["body"]


@pytest.fixture(scope="module")
def slack() -> Iterator[FakeSlack]:
    fake = FakeSlack()
    server = ThreadedServer(fake.app())
    server.start()
    fake.url = server.url
    yield fake
    server.stop()


def poster_for(api: Api, slack: FakeSlack, *, safety: float) -> SlackPoster:
    slack.reset()
    settings = settings_for(
        api, slack_webhook_urls={"fraud_alert": slack.url + SECRET_PATH}, dispatch_safety_poll_seconds=safety
    )
    return SlackPoster(api.db, settings)


async def test_a_queued_staff_alert_wakes_the_slack_poster_at_once(api: Api, slack: FakeSlack) -> None:
    poster = poster_for(api, slack, safety=NEVER)
    try:
        async with looping(poster.run):
            await eventually(lambda: _true(poster.listening.is_set()), within=30)
            await fraud_alert(api, users=[uuid.uuid4()], alert=f"fraud:{uuid.uuid4().hex[:6]}")
            await eventually(lambda: _true(len(slack.received) == 1), within=30)
    finally:
        await poster.close()
    assert "Posible fraude" in slack.received[0][2]["text"]


async def test_a_staff_alert_whose_notification_was_lost_is_posted_by_the_safety_poll(
    api: Api, slack: FakeSlack
) -> None:
    poster = poster_for(api, slack, safety=SOON)
    poster.channel = DEAF
    try:
        async with looping(poster.run):
            await fraud_alert(api, users=[uuid.uuid4()], alert=f"fraud:{uuid.uuid4().hex[:6]}")
            await eventually(lambda: _true(len(slack.received) == 1), within=30)
    finally:
        await poster.close()


def pacer(api: Api, runs: list[int]) -> ScheduledJob:
    """The worker's own campaign job (its channel, its safety poll), counting its runs."""
    [job] = [j for j in jobs(build_runtime(settings_for(api))) if j.name == "omnichannel.campaigns"]
    assert job.wake_on is not None and job.every >= timedelta(minutes=1)

    async def counted(session: AsyncSession) -> timedelta | None:
        runs.append(1)
        return await job.func(session)

    return dataclasses.replace(job, func=counted)


async def test_a_started_campaign_wakes_the_pacer_which_then_paces_it_every_two_seconds(api: Api) -> None:
    supervisor = api.person(Role.supervisor)
    segment, _ = await segment_of(api, 5)
    campaign = await create(api, supervisor, segment, rate=60)  # two messages per 2 s
    runs: list[int] = []
    job = pacer(api, runs)
    waker = JobWaker(api.db, [job])
    async with looping(lambda stop: run_scheduler(api.db, MESSAGING, [job], stop, waker=waker)):
        await eventually(lambda: _true(waker.listening.is_set() and len(runs) >= 1), within=30)
        started = await api.client.post(f"/campaigns/{campaign['id']}/start", headers=supervisor.auth)
        assert started.status_code == 200
        # the safety poll is a minute away: the start's NOTIFY runs the pacer, and its run says the
        # next is due in 2 s while the campaign runs (five recipients: three runs)
        await eventually(lambda: _pending(api, supervisor.auth, campaign["id"], 0), within=30)


async def test_a_campaign_started_while_the_pacer_was_deaf_is_paced_by_its_safety_poll(api: Api) -> None:
    supervisor = api.person(Role.supervisor)
    segment, _ = await segment_of(api, 2)
    campaign = await create(api, supervisor, segment, rate=60)
    job = dataclasses.replace(pacer(api, []), every=timedelta(seconds=SOON))
    deaf = JobWaker(api.db, [])
    async with looping(lambda stop: run_scheduler(api.db, MESSAGING, [job], stop, waker=deaf)):
        await api.client.post(f"/campaigns/{campaign['id']}/start", headers=supervisor.auth)
        await eventually(lambda: _pending(api, supervisor.auth, campaign["id"], 0), within=30)


async def _true(condition: bool) -> bool | None:
    return True if condition else None


async def _texts(api: Api, to: str) -> list[dict[str, Any]]:
    return api.twilio.to(to)


async def _pending(api: Api, auth: dict[str, str], campaign_id: str, pending: int) -> bool | None:
    progress = (await api.client.get(f"/campaigns/{campaign_id}", headers=auth)).json()["progress"]
    return True if progress["pending"] == pending else None
