"""The planted cases score exactly as they did before the lean score path: the same score, band,
parts (with their reasons and evidence), features and published `fraud.scored` / `fraud.alert`
events as ``golden_scores.json``, which was captured from the code before that change.

Everything is fixed: the dates (no "now"; an unsaved claim, reported "now", is left out), the
model (trained on 3 000 synthetic claims, seed 31), the identifiers. What differs from run to run
(claim, customer, ring and photo ids, the model's version number, times) is replaced by its role
before the comparison. Regenerate the file only for a change meant to change scores:
``AI_FRAUD_WRITE_GOLDEN=1`` with this test alone.
"""

from __future__ import annotations

import json
import os
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from ai_fraud.readmodel import service as readmodel
from aintech_contracts.events.crm import ClaimCreated

from .conftest import Api
from .test_models import _train
from .test_photos import _jpeg, _photo

GOLDEN = Path(__file__).with_name("golden_scores.json")
REPORTED = datetime(2026, 3, 20, 9, 15, tzinfo=UTC)


async def _claim(
    api: Api,
    customer: uuid.UUID,
    policy: uuid.UUID,
    *,
    incident: datetime,
    amount: str = "1200.00",
    claim_type: str = "water_damage",
    attributes: dict[str, Any] | None = None,
    reported: datetime = REPORTED,
) -> uuid.UUID:
    claim_id = uuid.uuid4()
    data = ClaimCreated(
        claim_id=claim_id,
        claim_number=f"CLM-{claim_id.hex[:8]}",
        claim_type=claim_type,
        status="reported",
        customer_id=customer,
        policy_id=policy,
        policy_number="POL-G",
        incident_date=incident,
        description="Siniestro de referencia",
        claimed_amount=Decimal(amount),
        attributes=attributes if attributes is not None else {"police_report": True, "witnesses": 1},
    )
    async with api.app.state.db.transaction() as session:
        await readmodel.apply_claim(session, data=data, at=reported)
    return claim_id


async def _planted(api: Api) -> dict[str, uuid.UUID]:
    """One claim per signal, a ring of four sharing an IBAN and a workshop, a high-band claim and a
    photo reused from another customer's claim."""
    claims: dict[str, uuid.UUID] = {}
    long_ago = datetime(2023, 1, 1, tzinfo=UTC)
    early = await api.customer(at=long_ago)
    claims["early_night_no_evidence"] = await _claim(
        api,
        early,
        await api.policy(early, start=date(2026, 3, 1), coverage="10000.00"),
        incident=datetime(2026, 3, 4, 23, 30, tzinfo=UTC),
        amount="9500.00",
        attributes={"police_report": False, "witnesses": 0},
    )
    frequent = await api.customer(at=long_ago)
    policy = await api.policy(frequent, start=date(2024, 1, 1))
    for day in (1, 40, 80):
        claims[f"frequent_{day}"] = await _claim(
            api, frequent, policy, incident=datetime(2026, 1, 1, 12, tzinfo=UTC) + timedelta(days=day)
        )
    changed = await api.customer(iban="ES1000000000000000000001", at=long_ago)
    await api.change_customer(
        changed, at=REPORTED - timedelta(days=3), changed=["iban"], iban="ES1000000000000000000002"
    )
    claims["bank_changed_fire_on_life"] = await _claim(
        api,
        changed,
        await api.policy(changed, start=date(2025, 5, 1), policy_type="life"),
        claim_type="fire",
        incident=REPORTED - timedelta(days=1, hours=5),
    )
    for i in range(4):
        member = await api.customer(iban="ES1000000000000000000099", dni=None, at=long_ago)
        claims[f"ring_{i}"] = await _claim(
            api,
            member,
            await api.policy(member, start=date(2024, 1, 1), policy_type="auto", coverage="30000.00"),
            claim_type="collision",
            incident=datetime(2026, 2, i + 1, 12, tzinfo=UTC),
            attributes={"workshop": "Taller Dorado de Referencia", "police_report": True, "witnesses": 1},
        )
    high = await api.customer(iban="ES1000000000000000000003", at=long_ago)
    await api.change_customer(
        high, at=REPORTED - timedelta(days=5), changed=["iban"], iban="ES1000000000000000000004"
    )
    old = await api.policy(high, start=date(2024, 1, 1))
    for months in (3, 7):
        claims[f"high_prior_{months}"] = await _claim(
            api, high, old, incident=REPORTED - timedelta(days=30 * months)
        )
    claims["high"] = await _claim(
        api,
        high,
        await api.policy(high, start=date(2026, 3, 10), coverage="10000.00"),
        incident=datetime(2026, 3, 18, 0, 40, tzinfo=UTC),
        amount="9500.00",
        attributes={"police_report": False, "witnesses": 0},
    )
    for name in ("photo_original", "photo_reused"):
        owner = await api.customer(at=long_ago)
        claims[name] = await _claim(
            api,
            owner,
            await api.policy(owner, start=date(2024, 1, 1), policy_type="auto"),
            claim_type="collision",
            incident=datetime(2026, 3, 1, 12, tzinfo=UTC),
        )
    picture = _photo(4711)
    for name, body in (
        ("photo_original", _jpeg(picture, 95)),
        ("photo_reused", _jpeg(picture.resize((512, 384)), 55)),
    ):
        await api.call(
            "POST",
            f"/claims/{claims[name]}/photos",
            content=body,
            headers={**api.auth(), "Content-Type": "image/jpeg"},
            expect=201,
        )
    return claims


class _Roles:
    """Replaces run-specific ids and numbers by stable names ("claim:high", "ring:1", ...)."""

    def __init__(self, claims: dict[str, uuid.UUID], model_version: int) -> None:
        self.names = {str(v): f"claim:{k}" for k, v in claims.items()}
        self.model_version = model_version
        self.others: dict[str, str] = {}

    def __call__(self, value: Any, key: str = "") -> Any:
        if isinstance(value, dict):
            return {k: self(v, k) for k, v in value.items() if k not in ("scored_at", "time", "id")}
        if isinstance(value, list):
            return [self(v, key) for v in value]
        if key == "claim_number":
            return "<claim number>"
        if isinstance(value, str):
            if value in self.names:
                return self.names[value]
            try:
                uuid.UUID(value)
            except ValueError:
                return value.replace(f"v{self.model_version}", "v<model>")
            return self.others.setdefault(value, f"{key or 'id'}:{len(self.others) + 1}")
        if key == "model_version" and value == self.model_version:
            return "<model>"
        return value


async def _observed(api: Api) -> dict[str, Any]:
    version = (await _train(api, seed=31))["model_version"]
    await api.call("POST", f"/models/{version}/promote", expect=200)
    claims = await _planted(api)
    roles = _Roles(claims, version)
    scores: dict[str, Any] = {}
    for claim in claims.values():  # stored once, so each ring sees its members' bands
        await api.score(claim)
    for name, claim in claims.items():
        scores[name] = roles(await api.score(claim, language="en"))
    published = {
        kind: [roles(e["data"]) for e in await api.outbox(kind) if e["data"]["claim_id"] in roles.names]
        for kind in ("fraud.scored", "fraud.alert")
    }
    return {"scores": scores, "published": published}


async def test_the_planted_cases_score_exactly_as_before(api: Api) -> None:
    observed = json.loads(json.dumps(await _observed(api), sort_keys=True))
    if os.environ.get("AI_FRAUD_WRITE_GOLDEN") == "1":
        GOLDEN.write_text(json.dumps(observed, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
    golden = json.loads(GOLDEN.read_text())
    assert {k: v["band"] for k, v in golden["scores"].items()}.keys() == observed["scores"].keys()
    assert {v["band"] for v in golden["scores"].values()} == {"low", "review", "high"}
    for name in golden["scores"]:
        assert observed["scores"][name] == golden["scores"][name], name
    assert observed["published"] == golden["published"]
