"""Sentiment carried in ``message.received`` is stored with the message and averaged per agent and
per channel by ``GET /sentiment``, computed by hand below; a replayed event counts once."""

from __future__ import annotations

import uuid
from datetime import date

from aintech_contracts.events.omnichannel import MessageReceived
from analytics.ingest.writer import write_events
from analytics.store.port import Store

from .conftest import Api
from .history import History, at

DAY = date(2026, 3, 10)


def scored(h: History, *, channel: str, agent: uuid.UUID | None, score: float | None, label: str) -> None:
    conversation = uuid.uuid4()
    h.add(
        MessageReceived(
            message_id=uuid.uuid4(),
            conversation_id=conversation,
            channel=channel,
            from_address="+34600000000",
            preview="…",
            received_at=at(DAY),
            agent_id=agent,
            sentiment_score=score,
            sentiment_label=label if score is not None else None,
        ),
        at(DAY),
        key=str(conversation),
    )


async def test_average_sentiment_per_agent_and_per_channel(store: Store, store_api: Api) -> None:
    ana, luis = uuid.uuid4(), uuid.uuid4()
    h = History()
    scored(h, channel="whatsapp", agent=ana, score=0.8, label="positive")
    scored(h, channel="whatsapp", agent=ana, score=-0.9, label="negative")
    scored(h, channel="email", agent=luis, score=0.5, label="positive")
    scored(h, channel="sms", agent=None, score=0.0, label="neutral")
    scored(h, channel="sms", agent=luis, score=None, label="")  # an older event without a score
    await write_events(store, h.events)
    await write_events(store, h.events)  # replayed: changes nothing

    report = (
        await store_api.call("GET", "/sentiment?start=2026-03-01&end=2026-03-31&by=agent", expect=200)
    ).json()
    groups = {g["key"]: g for g in report["groups"]}
    assert groups[str(ana)]["messages"] == 2
    assert abs(groups[str(ana)]["average"] - (-0.05)) < 1e-3  # (0.8 - 0.9) / 2
    assert groups[str(ana)]["very_negative"] == 1 and groups[str(ana)]["negative"] == 1
    assert groups[str(luis)]["messages"] == 1 and abs(groups[str(luis)]["average"] - 0.5) < 1e-3
    assert groups[""]["neutral"] == 1, "a message nobody had yet is its own group"

    by_channel = (
        await store_api.call("GET", "/sentiment?start=2026-03-01&end=2026-03-31&by=channel", expect=200)
    ).json()
    channels = {g["key"]: g for g in by_channel["groups"]}
    assert set(channels) == {"whatsapp", "email", "sms"}
    assert channels["sms"]["messages"] == 1, "the unscored message is not averaged as zero"
    assert by_channel["groups"][0]["key"] == "whatsapp", "worst average first"


async def test_sentiment_outside_the_period_is_not_counted_and_bad_input_is_422(
    store: Store, store_api: Api
) -> None:
    h = History()
    scored(h, channel="chat", agent=uuid.uuid4(), score=-0.7, label="negative")
    await write_events(store, h.events)
    empty = (await store_api.call("GET", "/sentiment?start=2026-04-01&end=2026-04-30", expect=200)).json()
    assert empty["groups"] == []
    for url in ("/sentiment?by=customer", "/sentiment?start=2026-03-31&end=2026-03-01"):
        answer = await store_api.call("GET", url, expect=422)
        assert answer.headers["content-type"].startswith("application/problem+json")
