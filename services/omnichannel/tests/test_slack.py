"""Staff alerts on Slack (a fake incoming webhook on loopback) and messages sent by hand from the
notification centre to a user, a role or all staff."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
import structlog
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from aintech_contracts.events.auth import UserRegistered
from aintech_contracts.rbac import Role
from aintech_shared.db import Database
from omnichannel.contacts import service as contacts
from omnichannel.notifications import service as notifications
from omnichannel.notifications.slack import SlackPoster
from omnichannel.settings import Settings

from .conftest import Api, make_settings
from .fakes import FakeSendGrid, FakeTwilio, SendGridSigner, ThreadedServer
from .sockets import Socket, ws_url

SECRET_PATH = "/services/T0AINTECH/B0FRAUD/s3cr3t-webhook-token"


@dataclass
class FakeSlack:
    """An incoming webhook: answers the scripted statuses first, then ``200 ok``; records every post."""

    script: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    received: list[tuple[float, str, dict[str, Any]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""

    def app(self) -> Starlette:
        async def hook(request: Request) -> PlainTextResponse:
            body = await request.json()
            with self.lock:
                self.received.append((time.monotonic(), request.url.path, body))
                status, headers = self.script.pop(0) if self.script else (200, {})
            return PlainTextResponse("ok" if status == 200 else "error", status_code=status, headers=headers)

        return Starlette(routes=[Route("/services/{rest:path}", hook, methods=["POST"])])

    def reset(self, *script: tuple[int, dict[str, str]]) -> None:
        with self.lock:
            self.received.clear()
            self.script[:] = list(script)


@pytest.fixture(scope="module")
def slack() -> Iterator[FakeSlack]:
    fake = FakeSlack()
    server = ThreadedServer(fake.app())
    server.start()
    fake.url = server.url
    yield fake
    server.stop()


@pytest.fixture
async def poster(
    db: Database, slack: FakeSlack, twilio: FakeTwilio, sendgrid: FakeSendGrid, signer: SendGridSigner
) -> AsyncIterator[SlackPoster]:
    slack.reset()
    settings = make_settings(
        twilio,
        sendgrid,
        signer,
        slack_webhook_urls={
            "fraud_alert": slack.url + SECRET_PATH,
            "staff_message": slack.url + "/services/S/M/x",
        },
        slack_retry_base_seconds=0.01,
        slack_attempts_per_round=3,
    )
    built = SlackPoster(db, settings)
    yield built
    await built.close()


async def fraud_alert(api: Api, *, users: list[uuid.UUID], alert: str) -> None:
    async with api.db.transaction() as session:
        for user_id in users:
            await notifications.notify(
                session,
                user_id=user_id,
                kind="fraud_alert",
                title="Posible fraude en el siniestro CLM-9",
                body="Tres siniestros en 30 días con el mismo taller (puntuación 0,91).",
                link="https://app.aintech.es/claims/CLM-9",
                source_event_id=f"{alert}:{user_id}",
                alert_key=alert,
            )


async def posts(api: Api) -> list[dict[str, Any]]:
    return await api.sql("SELECT kind, status, attempts, last_error FROM omnichannel.slack_posts")


async def test_a_fraud_alert_is_posted_to_the_fake_slack_once_with_its_text(
    api: Api, poster: SlackPoster, slack: FakeSlack
) -> None:
    supervisors = [uuid.uuid4(), uuid.uuid4()]
    await fraud_alert(api, users=supervisors, alert="fraud:1")

    assert await poster.post_due() == 1, "one post for the alert, not one per user notified"
    assert len(slack.received) == 1
    _, path, body = slack.received[0]
    assert path == SECRET_PATH
    assert "Posible fraude en el siniestro CLM-9" in body["text"]
    assert "Tres siniestros en 30 días" in body["text"]
    assert body["blocks"][0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "Posible fraude en el siniestro CLM-9", "emoji": True},
    }
    assert (
        body["blocks"][1]["text"]["text"]
        == "Tres siniestros en 30 días con el mismo taller (puntuación 0,91)."
    )
    assert "<https://app.aintech.es/claims/CLM-9|" in body["blocks"][2]["elements"][0]["text"]
    assert await posts(api) == [{"kind": "fraud_alert", "status": "sent", "attempts": 1, "last_error": None}]
    assert await poster.post_due() == 0
    assert len(slack.received) == 1


async def test_a_slack_500_then_success_delivers_once(
    api: Api, poster: SlackPoster, slack: FakeSlack
) -> None:
    slack.reset((500, {}))
    await fraud_alert(api, users=[uuid.uuid4()], alert="fraud:2")

    await poster.post_due()
    assert len(slack.received) == 2, "the 500 was retried in the same round"
    assert (await posts(api))[0]["status"] == "sent"
    await poster.post_due()
    assert len(slack.received) == 2, "a post Slack accepted is never sent again"


async def test_slack_429_retry_after_is_waited_before_the_next_try(
    api: Api, poster: SlackPoster, slack: FakeSlack
) -> None:
    slack.reset((429, {"Retry-After": "1"}))
    await fraud_alert(api, users=[uuid.uuid4()], alert="fraud:3")

    await poster.post_due()
    assert len(slack.received) == 2
    first, second = slack.received[0][0], slack.received[1][0]
    assert second - first >= 0.95, f"retried after {second - first:.3f}s instead of Slack's Retry-After: 1"
    assert (await posts(api))[0]["status"] == "sent"


async def test_a_failing_slack_leaves_the_post_waiting_and_never_logs_the_webhook_url(
    api: Api, poster: SlackPoster, slack: FakeSlack
) -> None:
    slack.reset((500, {}), (503, {}), (500, {}))
    await fraud_alert(api, users=[uuid.uuid4()], alert="fraud:4")

    with structlog.testing.capture_logs() as logs:
        await poster.post_due()
    assert len(slack.received) == 3
    [row] = await posts(api)
    assert row["status"] == "pending" and row["attempts"] == 1, "it waits for a later round"
    assert "500" in row["last_error"]
    assert any(entry["event"] == "slack_post_failed" for entry in logs)
    assert "s3cr3t" not in repr(logs) and "s3cr3t" not in row["last_error"]
    assert "s3cr3t" not in repr(poster.settings)
    [due] = await api.sql("SELECT next_attempt_at FROM omnichannel.slack_posts")
    assert due["next_attempt_at"] > datetime.now(UTC), "not posted again before its backoff"
    assert await poster.post_due() == 0


async def test_a_kind_without_a_webhook_is_skipped_not_posted(
    api: Api, db: Database, slack: FakeSlack, settings: Settings
) -> None:
    slack.reset()
    await fraud_alert(api, users=[uuid.uuid4()], alert="fraud:5")
    unconfigured = SlackPoster(db, settings)
    try:
        assert await unconfigured.post_due() == 1
    finally:
        await unconfigured.close()
    assert slack.received == []
    assert (await posts(api))[0]["status"] == "skipped"


def test_slack_webhooks_come_from_the_environment_as_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "OMNICHANNEL_SLACK_WEBHOOK_URLS", '{"fraud_alert": "https://hooks.slack.com' + SECRET_PATH + '"}'
    )
    settings = Settings()
    assert settings.slack_webhook_urls["fraud_alert"].get_secret_value().endswith("s3cr3t-webhook-token")
    assert "s3cr3t" not in repr(settings) and "s3cr3t" not in str(settings.model_dump())


def test_slack_webhooks_are_only_for_staff_alert_kinds(
    twilio: FakeTwilio, sendgrid: FakeSendGrid, signer: SendGridSigner
) -> None:
    with pytest.raises(ValidationError, match="not a staff alert kind"):
        make_settings(
            twilio, sendgrid, signer, slack_webhook_urls={"claim_status_changed": "https://hooks.slack.com/x"}
        )
    with pytest.raises(ValidationError, match="not an http"):
        make_settings(twilio, sendgrid, signer, slack_webhook_urls={"fraud_alert": "hooks.slack.com/x"})


# --- Messages sent by hand ------------------------------------------------------------------------


async def staff(api: Api, role: Role) -> uuid.UUID:
    user_id = uuid.uuid4()
    async with api.db.transaction() as session:
        await contacts.apply_user(
            session,
            event=UserRegistered(
                user_id=user_id,
                email=f"{role.value}-{user_id.hex[:6]}@aintech.es",
                first_name="Ana",
                last_name="Ruiz",
                role=role.value,
                registered_at=datetime.now(UTC),
            ),
        )
    return user_id


async def history(api: Api, user_id: uuid.UUID, role: Role) -> list[dict[str, Any]]:
    person = api.person(role, user_id=user_id)
    answer = await api.client.get("/notifications", headers=person.auth)
    assert answer.status_code == 200, answer.text
    return list(answer.json()["items"])


async def test_a_supervisor_messages_every_agent_live_and_into_their_history(
    api: Api, replicas: list[str], poster: SlackPoster, slack: FakeSlack
) -> None:
    agents = [await staff(api, Role.agent), await staff(api, Role.agent)]
    other = await staff(api, Role.admin)
    supervisor = api.person(Role.supervisor, user_id=await staff(api, Role.supervisor))
    socket = await Socket.open(
        ws_url(replicas[0], "/ws/notifications"), api.person(Role.agent, agents[0]).token
    )
    try:
        await socket.until(lambda f: f["type"] == "hello")
        sent = await api.client.post(
            "/notifications/messages",
            json={"role": "agent", "title": "Cierre", "text": "Hoy cerramos a las 18:00."},
            headers=supervisor.auth,
        )
        assert sent.status_code == 201, sent.text
        assert sent.json()["recipients"] == 2
        pushed = await socket.until(lambda f: f["type"] == "notification")
        assert pushed["notification"]["kind"] == "staff_message"
        assert pushed["notification"]["body"] == "Hoy cerramos a las 18:00."
    finally:
        await socket.close()
    for agent in agents:
        [note] = await history(api, agent, Role.agent)
        assert (note["kind"], note["title"], note["body"]) == (
            "staff_message",
            "Cierre",
            "Hoy cerramos a las 18:00.",
        )
        assert note["data"] == {"message_id": sent.json()["id"], "sent_by": str(supervisor.user_id)}
    assert await history(api, other, Role.admin) == [], "an admin is not an agent"
    assert await poster.post_due() == 1, "posted to Slack once, not once per agent"
    assert "Hoy cerramos a las 18:00." in slack.received[0][2]["text"]


async def test_an_admin_messages_one_user_or_all_staff_but_never_customers(api: Api) -> None:
    admin = api.person(Role.admin, user_id=await staff(api, Role.admin))
    agent = await staff(api, Role.agent)
    customer = await staff(api, Role.customer)

    one = await api.client.post(
        "/notifications/messages", json={"user_id": str(agent), "text": "Hola"}, headers=admin.auth
    )
    assert (one.status_code, one.json()["recipients"]) == (201, 1)
    everyone = await api.client.post(
        "/notifications/messages", json={"everyone": True, "text": "Aviso"}, headers=admin.auth
    )
    assert (everyone.status_code, everyone.json()["recipients"]) == (201, 2)
    assert [n["body"] for n in await history(api, agent, Role.agent)] == ["Aviso", "Hola"]
    assert [n["title"] for n in await history(api, admin.user_id, Role.admin)] == ["Mensaje del equipo"]
    assert await history(api, customer, Role.customer) == []


async def test_an_agent_may_not_send_messages(api: Api) -> None:
    await staff(api, Role.agent)
    agent = api.person(Role.agent)
    answer = await api.client.post(
        "/notifications/messages", json={"everyone": True, "text": "Hola"}, headers=agent.auth
    )
    assert answer.status_code == 403
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert await api.sql("SELECT id FROM omnichannel.notifications") == []


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"role": "gerente", "text": "Hola"}, "role"),
        ({"role": "customer", "text": "Hola"}, "role"),
        ({"role": "agent", "text": ""}, "text"),
        ({"role": "agent", "text": "   "}, "blank"),
        ({"user_id": "00000000-0000-4000-8000-000000000000", "text": "Hola"}, "No user"),
        ({"role": "agent", "everyone": True, "text": "Hola"}, "exactly one"),
        ({"text": "Hola"}, "exactly one"),
        ({"role": "admin", "text": "Hola"}, "Nobody holds the role admin"),
    ],
)
async def test_bad_messages_are_refused_with_nothing_stored(
    api: Api, body: dict[str, Any], detail: str
) -> None:
    await staff(api, Role.agent)
    supervisor = api.person(Role.supervisor)
    answer = await api.client.post("/notifications/messages", json=body, headers=supervisor.auth)
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert detail in answer.text
    assert await api.sql("SELECT id FROM omnichannel.notifications") == []
    assert await api.sql("SELECT id FROM omnichannel.slack_posts") == []
