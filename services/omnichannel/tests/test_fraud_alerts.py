"""`fraud.alert` from ai-fraud becomes a `fraud_alert` notification for every supervisor (in their
language, once per alert), and for nobody else."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from aintech_contracts.events import auth, fraud
from aintech_contracts.rbac import Role
from omnichannel.delivery import consumers

from .conftest import Api
from .test_events import handle


async def _user(api: Api, role: str) -> uuid.UUID:
    user_id = uuid.uuid4()
    await handle(
        api,
        consumers.on_user_registered,
        auth.UserRegistered(
            user_id=user_id,
            email=f"{role}-{user_id.hex[:8]}@example.com",
            first_name="Marta",
            last_name="Gil",
            role=role,
            registered_at=datetime.now(UTC),
        ),
    )
    return user_id


def _alert(claim_id: uuid.UUID) -> fraud.FraudAlert:
    return fraud.FraudAlert(
        claim_id=claim_id,
        claim_number="CLM-2026-0042",
        customer_id=uuid.uuid4(),
        score=83,
        summary_es="Puntuación 83: foto reutilizada de otro siniestro",
        summary_en="Score 83: photo reused from another claim",
        scored_at=datetime.now(UTC),
    )


async def _inbox(api: Api, user_id: uuid.UUID, role: Role) -> list[dict[str, object]]:
    person = api.person(role, user_id=user_id)
    response = await api.client.get("/notifications", headers=person.auth)
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


async def test_every_supervisor_is_notified_once_and_agents_are_not(api: Api) -> None:
    first, second = await _user(api, "supervisor"), await _user(api, "supervisor")
    agent = await _user(api, "agent")
    claim_id = uuid.uuid4()
    event = await handle(api, consumers.on_fraud_alert, _alert(claim_id))
    await handle(api, consumers.on_fraud_alert, _alert(claim_id), event_id=event.id)  # redelivered

    for supervisor in (first, second):
        [note] = [n for n in await _inbox(api, supervisor, Role.supervisor) if n["kind"] == "fraud_alert"]
        assert note["title"] == "Alerta de fraude: siniestro CLM-2026-0042"
        assert "83/100" in str(note["body"]) and "foto reutilizada" in str(note["body"])
        assert note["data"] == {"claim_id": str(claim_id), "score": 83}
    assert await _inbox(api, agent, Role.agent) == []


async def test_a_user_promoted_to_supervisor_hears_of_the_next_alert(api: Api) -> None:
    promoted = await _user(api, "agent")
    await handle(
        api,
        consumers.on_user_role_changed,
        auth.UserRoleChanged(
            user_id=promoted, old_role="agent", new_role="supervisor", changed_by=uuid.uuid4()
        ),
    )
    await handle(api, consumers.on_fraud_alert, _alert(uuid.uuid4()))
    assert [n["kind"] for n in await _inbox(api, promoted, Role.supervisor)] == ["fraud_alert"]
