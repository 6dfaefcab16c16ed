"""The flattened model (NumPy arrays, no scikit-learn call per score) gives the same numbers as
scikit-learn: the same probabilities to the last bit on synthetic claims, and the same scores,
bands and explanations on the planted cases."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np

from ai_fraud.models_registry import training
from ai_fraud.models_registry.synthetic import generate
from ai_fraud.readmodel import service as readmodel
from ai_fraud.scoring import service as scoring

from .conftest import IBAN, Api
from .test_models import _train


def _reference(predictor: training.Predictor) -> training.Predictor:
    return training.Predictor(predictor.model, compiled=False)


async def _planted(api: Api) -> list[Any]:
    """One claim per planted signal, and a ring of four sharing an IBAN and a workshop."""
    claims = []
    customer = await api.customer()
    early = await api.policy(customer, start=date(2026, 3, 1), coverage="10000.00")
    claims.append(
        await api.claim(
            customer,
            early,
            incident=datetime(2026, 3, 4, 23, 30, tzinfo=UTC),
            amount="9500.00",
            attributes={"police_report": False, "witnesses": 0},
        )
    )
    frequent = await api.customer()
    policy = await api.policy(frequent, start=date(2024, 1, 1))
    for day in (1, 40, 80):
        claims.append(
            await api.claim(
                frequent, policy, incident=datetime(2026, 1, 1, 12, tzinfo=UTC) + timedelta(days=day)
            )
        )
    changed = await api.customer(iban=IBAN)
    await api.change_customer(
        changed, at=datetime.now(UTC) - timedelta(days=3), changed=["iban"], iban="ES7921000813610123456789"
    )
    claims.append(
        await api.claim(
            changed,
            await api.policy(changed, start=date(2025, 5, 1), policy_type="life"),
            claim_type="fire",
            incident=datetime.now(UTC) - timedelta(days=1),
        )
    )
    for i in range(4):
        member = await api.customer(iban="ES6000491500051234567892", dni=None)
        claims.append(
            await api.claim(
                member,
                await api.policy(member, start=date(2024, 1, 1), policy_type="auto", coverage="30000.00"),
                claim_type="collision",
                incident=datetime(2026, 2, i + 1, 12, tzinfo=UTC),
                attributes={"workshop": "Taller Hermanos Ruiz", "police_report": True, "witnesses": 1},
            )
        )
    return claims


async def test_the_flattened_model_scores_the_planted_cases_exactly_as_scikit_learn(api: Api) -> None:
    version = (await _train(api, seed=31))["model_version"]
    await api.call("POST", f"/models/{version}/promote", expect=200)
    claims = await _planted(api)
    for claim in claims:  # stored once, so each ring sees its members' bands
        await api.score(claim)
    fast_predictor = api.rt.model.predictor
    assert api.rt.model.version == version and fast_predictor.compiled is not None
    results = []
    async with api.app.state.db.transaction() as session:
        for claim in claims:
            facts = await readmodel.facts_of(session, claim_id=claim)
            assert facts is not None
            pair = []
            for predictor in (fast_predictor, _reference(fast_predictor)):  # then scikit-learn's
                api.rt.model.predictor = predictor
                pair.append(_comparable(await scoring.evaluate(session, rt=api.rt, facts=facts)))
            api.rt.model.predictor = fast_predictor
            results.append(pair)
    assert all(any(p["kind"] == "model" for p in fast["parts"]) for fast, _ in results)
    assert {fast["band"] for fast, _ in results} >= {"low", "review"}, "the planted cases span the bands"
    for fast, slow in results:
        assert fast == slow


def _comparable(result: scoring.Result) -> dict[str, Any]:
    return {
        "score": result.score,
        "band": result.band,
        "parts": result.parts,
        "features": result.features,
        "ring_id": result.ring_id,
    }


async def test_the_flattened_model_gives_scikit_learns_probabilities_to_the_last_bit(api: Api) -> None:
    version = (await _train(api, seed=32))["model_version"]
    await api.call("POST", f"/models/{version}/promote", expect=200)
    customer = await api.customer()
    claim = await api.claim(
        customer,
        await api.policy(customer, start=date(2025, 1, 1)),
        incident=datetime(2026, 1, 3, tzinfo=UTC),
    )
    await api.score(claim)
    predictor = api.rt.model.predictor
    x, _ = generate(5000, seed=404)
    assert np.array_equal(predictor.proba(x), _reference(predictor).proba(x))

    # A missing value (never produced by the feature builder) takes the side each split learned.
    hgb, _ = predictor.compiled
    forest = hgb.forest
    x[::7, 0] = np.nan
    x[::11, 3] = np.nan
    trees = predictor.model["hgb"].calibrated_classifiers_[0].estimator.estimator
    assert np.array_equal(forest.raw(x), trees.decision_function(x))
