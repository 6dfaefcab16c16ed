"""Sentiment of inbound messages: the scorer (Spanish and English, negation, intensifiers), its
accuracy on the labelled set in ``sentiment_labelled.tsv``, the score carried in ``message.received``,
and the supervisors' ``negative_message`` notification for a very negative message."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from aintech_contracts.envelope import CloudEvent
from aintech_contracts.events.auth import UserRegistered
from aintech_contracts.events.omnichannel import MessageReceived
from aintech_contracts.rbac import Role
from aintech_devtools.api import eventually
from aintech_devtools.testing import patient_consumer, publish_event
from aintech_shared.events.consumer import EventConsumer
from omnichannel.consumers import consumer_specs
from omnichannel.contacts import service as contacts
from omnichannel.core.runtime import build_runtime
from omnichannel.delivery import sentiment_alerts
from omnichannel.models import MESSAGING
from omnichannel.sentiment.scorer import VERY_NEGATIVE, score
from omnichannel.settings import Settings

from .conftest import Api

LABELLED = Path(__file__).with_name("sentiment_labelled.tsv")
ACCURACY_FLOOR = 0.85  # docs/omnichannel.md reports the measured figure and the confusion matrix


def labelled() -> list[tuple[str, str, str]]:
    rows = []
    for line in LABELLED.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            lang, label, text = line.split("\t")
            rows.append((lang, label, text))
    return rows


def phone() -> str:
    return "+346" + str(uuid.uuid4().int)[:8]


# --- the scorer ---------------------------------------------------------------------------------


def test_scores_stay_in_range_and_plain_questions_are_neutral() -> None:
    for text in ("", "¿Cuándo vence mi póliza?", "When does my policy expire?", "!!!", "12345"):
        result = score(text)
        assert result.score == 0.0 and result.label == "neutral", text
    extreme = score("PÉSIMO, HORRIBLE, ESTAFADORES, LADRONES, DESASTRE, VERGÜENZA!!!!!!")
    assert -1.0 <= extreme.score < VERY_NEGATIVE


def test_spanish_and_english_praise_is_positive_and_abuse_negative() -> None:
    assert score("Muchas gracias, un servicio excelente").label == "positive"
    assert score("Thank you, excellent service").label == "positive"
    assert score("Sois unos ladrones, es una vergüenza").label == "negative"
    assert score("You are thieves, this is a disgrace").label == "negative"


def test_accents_are_optional() -> None:
    assert score("pesimo servicio").score == score("pésimo servicio").score < 0


def test_negation_flips_the_words_after_it() -> None:
    assert score("Estoy contento").label == "positive"
    assert score("No estoy contento").label == "negative"
    assert score("I am happy").label == "positive"
    assert score("I am not happy").label == "negative"
    assert score("The service was not bad").label == "positive"


def test_intensifiers_strengthen_and_diminishers_soften() -> None:
    assert score("muy malo").score < score("malo").score < score("algo malo").score < 0
    assert score("really good").score > score("good").score > score("slightly good").score > 0


def test_after_but_the_clause_that_follows_counts_more() -> None:
    assert score("El agente fue amable pero el pago es un desastre").label == "negative"
    assert score("The wait was long but the agent was wonderful").label == "positive"


def test_accuracy_on_the_labelled_set_meets_the_floor_in_each_language() -> None:
    rows = labelled()
    assert len(rows) >= 60
    assert {lang for lang, _, _ in rows} == {"es", "en"}
    for language in ("es", "en"):
        mine = [(label, text) for lang, label, text in rows if lang == language]
        right = sum(score(text).label == label for label, text in mine)
        assert right / len(mine) >= ACCURACY_FLOOR, (language, right, len(mine))
    confusion = Counter((label, score(text).label) for _, label, text in rows)
    assert sum(n for (want, got), n in confusion.items() if want == got) / len(rows) >= ACCURACY_FLOOR
    assert confusion[("positive", "negative")] == 0, "praise read as a complaint"
    assert confusion[("negative", "negative")] >= 20


# --- omnichannel carries it and alerts supervisors ---------------------------------------------


async def received(api: Api, address: str) -> list[dict[str, Any]]:
    rows = await api.sql(
        "SELECT payload FROM omnichannel.outbox WHERE event_type = 'message.received' ORDER BY seq"
    )
    return [r["payload"] for r in rows if r["payload"]["data"]["from_address"] == address]


async def test_an_inbound_message_carries_its_sentiment_in_message_received(api: Api) -> None:
    happy, angry = phone(), phone()
    assert (await api.inbound(happy, "Muchas gracias, todo perfecto")).status_code == 200
    assert (await api.inbound(angry, "Sois unos ladrones, es una vergüenza!!")).status_code == 200

    [good] = await received(api, happy)
    [bad] = await received(api, angry)
    assert good["data"]["sentiment_label"] == "positive" and good["data"]["sentiment_score"] > 0.5
    assert bad["data"]["sentiment_label"] == "negative" and bad["data"]["sentiment_score"] <= VERY_NEGATIVE
    parsed = CloudEvent.model_validate(bad).data_as(MessageReceived)
    assert parsed.sentiment_score == bad["data"]["sentiment_score"]


async def supervisor(api: Api) -> uuid.UUID:
    user_id = uuid.uuid4()
    async with api.db.transaction() as session:
        await contacts.apply_user(
            session,
            event=UserRegistered(
                user_id=user_id,
                email=f"sup-{user_id.hex[:6]}@example.com",
                first_name="Sara",
                last_name="Jefa",
                role="supervisor",
                registered_at=datetime.now(UTC),
            ),
        )
    return user_id


async def alert(api: Api, payload: dict[str, Any]) -> None:
    async with api.db.transaction() as session:
        await sentiment_alerts.on_message_received(session, CloudEvent.model_validate(payload))


async def notes(api: Api, user_id: uuid.UUID) -> list[dict[str, Any]]:
    person = api.person(Role.supervisor, user_id=user_id)
    answer = await api.client.get("/notifications", headers=person.auth)
    assert answer.status_code == 200, answer.text
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


async def test_a_very_negative_message_notifies_each_supervisor_once(api: Api) -> None:
    boss, other = await supervisor(api), await supervisor(api)
    angry = phone()
    customer_id = await api.customer(mobile=angry, first_name="Ramón")
    await api.inbound(angry, "Es una vergüenza, sois unos estafadores y voy a denunciar!!")
    [event] = await received(api, angry)
    for _ in range(2):  # delivered twice, as Kafka may
        await alert(api, event)

    for user_id in (boss, other):
        [note] = await notes(api, user_id)
        assert note["kind"] == "negative_message"
        assert "Ramón" in note["title"] and "estafadores" in note["body"]
        assert note["data"]["conversation_id"] == event["data"]["conversation_id"]
    assert customer_id


async def test_a_mildly_negative_message_notifies_nobody(api: Api) -> None:
    boss = await supervisor(api)
    number = phone()
    await api.inbound(number, "El pago llega algo tarde")
    [event] = await received(api, number)
    assert VERY_NEGATIVE < event["data"]["sentiment_score"] < 0
    await alert(api, event)
    assert await notes(api, boss) == []


async def test_the_worker_alerts_supervisors_from_message_received_on_kafka(
    api: Api, kafka_bootstrap: str
) -> None:
    """The real consumer group reads ``message.received`` off the broker and notifies."""
    boss = await supervisor(api)
    angry = phone()
    await api.inbound(angry, "Pésimo servicio, sois unos incompetentes, es una vergüenza!!")
    [payload] = await received(api, angry)
    data = MessageReceived.model_validate(payload["data"])
    [spec] = [s for s in consumer_specs(build_runtime(Settings())) if s.name == "omnichannel.sentiment"]
    stop = asyncio.Event()
    task = asyncio.create_task(
        EventConsumer(
            patient_consumer(spec, name=f"test-sentiment-{uuid.uuid4().hex[:8]}"),
            db=api.db,
            tables=MESSAGING,
            bootstrap=kafka_bootstrap,
        ).run(stop)
    )
    try:
        await publish_event(kafka_bootstrap, data, key=str(data.conversation_id), source="omnichannel")
        [note] = await eventually(lambda: about(api, boss, data.message_id), within=30)
    finally:
        stop.set()
        await task
    assert note["kind"] == "negative_message"


async def about(api: Api, user_id: uuid.UUID, message_id: uuid.UUID) -> list[dict[str, Any]]:
    return [n for n in await notes(api, user_id) if n["data"].get("message_id") == str(message_id)]


@pytest.mark.parametrize("kind", ["negative_message"])
async def test_supervisors_can_choose_channels_for_the_new_kind(api: Api, kind: str) -> None:
    person = api.person(Role.supervisor)
    answer = await api.client.get("/notifications/preferences", headers=person.auth)
    assert kind in {p["kind"] for p in answer.json()}
