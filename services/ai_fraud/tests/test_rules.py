"""Rules as data: created, edited, disabled through the API; refused when the condition is not
valid (with the reason); effective on the very next score, no restart — also after a rule change
that was rolled back (the scores' cached rules never outlive the change they were read at)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from ai_fraud.rules.conditions import ConditionError, evaluate, parse
from ai_fraud.rules.models import Rule
from ai_fraud.scoring import service as scoring
from aintech_contracts.rbac import Role

from .conftest import Api


def test_the_evaluator_reads_the_condition_tree_without_eval() -> None:
    node = parse(
        {
            "all": [
                {"feature": "night_incident", "op": "eq", "value": True},
                {"not": {"feature": "witnesses", "op": "gt", "value": 0}},
            ]
        }
    )
    assert evaluate(node, {"night_incident": True, "witnesses": 0.0})
    assert not evaluate(node, {"night_incident": True, "witnesses": 2.0})
    assert not evaluate(
        parse({"feature": "claimed_amount", "op": "gt", "value": 10}), {"claimed_amount": None}
    )
    assert evaluate(parse({"feature": "claimed_amount", "op": "is_null"}), {"claimed_amount": None})


@pytest.mark.parametrize(
    ("condition", "reason"),
    [
        ({"feature": "__import__('os')", "op": "eq", "value": 1}, "unknown feature"),
        ({"feature": "claimed_amount", "op": "matches", "value": 1}, "does not apply"),
        ({"feature": "claimed_amount", "op": "gt", "value": "1000"}, "must be a number"),
        ({"feature": "night_incident", "op": "lt", "value": True}, "does not apply"),
        ({"all": []}, "non-empty list"),
        ({"feature": "claimed_amount", "op": "gt"}, "needs a value"),
    ],
)
def test_invalid_conditions_are_refused_with_the_reason(condition: dict[str, object], reason: str) -> None:
    with pytest.raises(ConditionError, match=reason):
        parse(condition)


async def test_an_invalid_rule_is_refused_with_the_reason_and_not_stored(api: Api) -> None:
    body = {
        "code": "bad_rule",
        "name_es": "Mala",
        "name_en": "Bad",
        "weight": 10,
        "condition": {"feature": "claimed_amount", "op": "gt", "value": "lots"},
    }
    response = await api.call("POST", "/rules", json=body, expect=422)
    assert response.headers["content-type"] == "application/problem+json"
    assert "must be a number" in response.text
    codes = [r["code"] for r in (await api.call("GET", "/rules", expect=200)).json()]
    assert "bad_rule" not in codes


@pytest.mark.parametrize(
    ("wrong", "field"),
    [({"enabled": 0}, "enabled"), ({"enabled": "true"}, "enabled"), ({"weight": True}, "weight")],
)
async def test_a_rule_is_on_by_a_boolean_and_weighed_by_a_number(
    api: Api, wrong: dict[str, object], field: str
) -> None:
    """Found by the contract run's coverage phase: `"enabled": 0` made a disabled rule (pydantic's
    lax bool), where the document says boolean; `"weight": true` would weigh 1 point."""
    body = {
        "code": "typed_rule",
        "name_es": "Tipada",
        "name_en": "Typed",
        "weight": 10,
        "condition": {"feature": "claimed_amount", "op": "gt", "value": 1000},
        **wrong,
    }
    response = await api.call("POST", "/rules", json=body, expect=422)
    assert response.headers["content-type"] == "application/problem+json"
    assert field in response.text
    codes = [r["code"] for r in (await api.call("GET", "/rules", expect=200)).json()]
    assert "typed_rule" not in codes


async def test_a_rule_edit_takes_numbers_not_booleans(api: Api) -> None:
    body = {
        "code": "edited_rule",
        "name_es": "Editada",
        "name_en": "Edited",
        "weight": 10,
        "condition": {"feature": "claimed_amount", "op": "gt", "value": 1000},
    }
    created = (await api.call("POST", "/rules", json=body, expect=201)).json()
    await api.call("PATCH", f"/rules/{created['id']}", json={"weight": True}, expect=422)
    await api.call(
        "PATCH", f"/rules/{created['id']}", json={"weight": 5, "expected_version": True}, expect=422
    )
    kept = (await api.call("GET", f"/rules/{created['id']}", expect=200)).json()
    assert (kept["weight"], kept["version"]) == (10, 1)
    edited = await api.call("PATCH", f"/rules/{created['id']}", json={"weight": 20.0}, expect=200)
    assert edited.json()["weight"] == 20


async def test_agents_and_customers_cannot_touch_rules(api: Api) -> None:
    await api.call("GET", "/rules", headers=api.auth(Role.agent), expect=403)
    await api.call("GET", "/rules", headers=api.auth(Role.customer), expect=403)


async def test_a_rule_change_applies_to_the_next_score_without_a_restart(api: Api) -> None:
    customer = await api.customer()
    policy = await api.policy(customer, start=date(2024, 1, 1))
    claim = await api.claim(
        customer, policy, incident=datetime(2026, 3, 10, 12, tzinfo=UTC), amount="4200.00"
    )
    before = await api.score(claim)
    assert all(p["code"] != "big_amount" for p in before["parts"])

    created = (
        await api.call(
            "POST",
            "/rules",
            expect=201,
            json={
                "code": "big_amount",
                "name_es": "Importe alto",
                "name_en": "Large amount",
                "weight": 50,
                "condition": {"feature": "claimed_amount", "op": "gte", "value": 4000},
            },
        )
    ).json()
    fired = await api.score(claim)
    assert [p["points"] for p in fired["parts"] if p["code"] == "big_amount"] == [50.0]
    assert fired["score"] > before["score"]

    updated = (
        await api.call(
            "PATCH",
            f"/rules/{created['id']}",
            expect=200,
            json={
                "condition": {"feature": "claimed_amount", "op": "gte", "value": 5000},
                "expected_version": 1,
            },
        )
    ).json()
    assert updated["version"] == 2
    assert all(p["code"] != "big_amount" for p in (await api.score(claim))["parts"])

    await api.call("PATCH", f"/rules/{created['id']}", expect=409, json={"weight": 5, "expected_version": 1})
    await api.call(
        "PATCH",
        f"/rules/{created['id']}",
        expect=200,
        json={"condition": {"feature": "claimed_amount", "op": "gte", "value": 4000}},
    )
    assert any(p["code"] == "big_amount" for p in (await api.score(claim))["parts"])
    disabled = (await api.call("POST", f"/rules/{created['id']}/disable", expect=200)).json()
    assert disabled["enabled"] is False
    assert all(p["code"] != "big_amount" for p in (await api.score(claim))["parts"])
    history = (await api.call("GET", f"/rules/{created['id']}/versions", expect=200)).json()
    assert [v["change"] for v in history] == ["disabled", "updated", "updated", "created"]
    assert history[-1]["snapshot"]["condition"]["value"] == 4000


async def test_a_rolled_back_rule_change_leaves_no_stale_rules_behind(api: Api) -> None:
    customer = await api.customer()
    claim = await api.claim(
        customer,
        await api.policy(customer, start=date(2024, 1, 1)),
        incident=datetime(2026, 3, 10, 12, tzinfo=UTC),
        amount="4200.00",
    )
    with pytest.raises(RuntimeError):
        async with api.app.state.db.transaction() as session:
            session.add(
                Rule(
                    code="rolled_back",
                    name_es="Deshecha",
                    name_en="Rolled back",
                    condition={"feature": "claimed_amount", "op": "gte", "value": 4000},
                    weight=50,
                    version=1,
                )
            )
            await session.flush()
            seen = await scoring.score_claim(session, rt=api.rt, claim_id=claim, trigger="test")
            assert "rolled_back" in {p["code"] for p in seen.parts}, "the transaction sees its own rule"
            raise RuntimeError("the change is abandoned")
    await api.call(
        "POST",
        "/rules",
        expect=201,
        json={
            "code": "committed",
            "name_es": "Confirmada",
            "name_en": "Committed",
            "weight": 10,
            "condition": {"feature": "claimed_amount", "op": "gte", "value": 1},
        },
    )
    codes = {p["code"] for p in (await api.score(claim))["parts"]}
    assert "rolled_back" not in codes and "committed" in codes


async def test_unknown_rule_is_404(api: Api) -> None:
    response = await api.call("GET", "/rules/00000000-0000-0000-0000-000000000000", expect=404)
    assert response.headers["content-type"] == "application/problem+json"
    _ = timedelta
