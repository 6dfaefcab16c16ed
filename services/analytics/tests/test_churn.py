"""Churn: the model learns the planted patterns (held out, against a single-feature baseline),
scores customers from the store with bands, factors and actions, and publishes its scores."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import numpy as np
import pytest
from sqlalchemy import select

from aintech_contracts.rbac import Role
from aintech_devtools.api import started_app
from aintech_devtools.testing import TestKeys
from analytics.app import create_app
from analytics.churn import model, synthetic
from analytics.churn.features import MODEL_FEATURES
from analytics.churn.job import churn_job
from analytics.core.base import MESSAGING
from analytics.core.runtime import Runtime
from analytics.ingest.writer import write_events
from analytics.settings import Settings
from analytics.store.port import Store

from .conftest import Api
from .history import History, at


@pytest.fixture(scope="module")
def trained() -> model.Trained:
    x, y = synthetic.generate()
    return model.train(x, y)


def test_the_model_beats_the_best_single_feature_on_held_out_data(trained: model.Trained) -> None:
    m = trained.metrics
    assert m["held_out_rows"] == 1000
    assert m["roc_auc"] > 0.75
    assert m["roc_auc"] > m["baseline"]["roc_auc"] + 0.05


def test_the_probabilities_are_calibrated(trained: model.Trained) -> None:
    """The mean predicted probability on fresh rows is close to their observed churn rate."""
    predictor = model.load(trained.artifact, expected_digest=trained.artifact_digest)
    x, y = synthetic.generate(3000, seed=99)
    assert abs(float(predictor.proba(x).mean()) - float(y.mean())) < 0.03


def test_a_tampered_artifact_is_refused(trained: model.Trained) -> None:
    with pytest.raises(model.ArtifactRefused, match="digest"):
        model.load(trained.artifact + b"x", expected_digest=trained.artifact_digest)


def test_bands_follow_the_thresholds() -> None:
    assert [model.band(p) for p in (0.71, 0.7, 0.51, 0.5, 0.31, 0.3, 0.0)] == [
        "critical",
        "high",
        "high",
        "medium",
        "medium",
        "low",
        "low",
    ]


def test_a_big_premium_rise_is_the_top_factor_and_drives_the_action(trained: model.Trained) -> None:
    predictor = model.load(trained.artifact, expected_digest=trained.artifact_digest)
    typical = dict(zip(MODEL_FEATURES, predictor.reference, strict=True))
    risky = {**typical, "premium_change": 0.6}
    x = np.asarray([[risky[n] for n in MODEL_FEATURES], [typical[n] for n in MODEL_FEATURES]])
    (p_risky, factors), (p_typical, _) = predictor.explain(x)
    assert p_risky > p_typical + 0.2
    assert factors[0]["feature"] == "premium_change"
    action = model.action(model.band(p_risky), factors)
    assert action is not None and action["code"] == "premium_change"
    assert model.action("low", factors) is None


def _book(today: date) -> tuple[History, uuid.UUID, uuid.UUID]:
    """Two customers renewing within 90 days: one loyal (long tenure, stable premium, two
    policies), one at risk (new, +45 % at renewal, a denied claim)."""
    h = History()
    loyal = h.customer(province="Madrid", when=at(today - timedelta(days=3000)))
    p1 = h.policy(loyal, start=today - timedelta(days=2900), premium="300.00")
    for year in range(1, 8):
        h.renew(
            p1,
            loyal,
            previous_start=today - timedelta(days=2900 - 365 * (year - 1)),
            start=today - timedelta(days=2900 - 365 * year),
            premium="300.00",
            previous_premium="300.00",
            term=year + 1,
        )
    h.policy(loyal, start=today - timedelta(days=100), premium="200.00", line="auto")
    risky = h.customer(province="Sevilla", when=at(today - timedelta(days=700)))
    p2 = h.policy(risky, start=today - timedelta(days=700), premium="400.00")
    h.renew(
        p2,
        risky,
        previous_start=today - timedelta(days=700),
        start=today - timedelta(days=335),
        premium="580.00",
        previous_premium="400.00",
    )
    h.claim(risky, p2, on=today - timedelta(days=60), claimed="2000.00", outcome="denied")
    h.claim(risky, p2, on=today - timedelta(days=30), claimed="900.00", outcome="denied")
    return h, loyal, risky


async def test_customers_up_for_renewal_are_scored_with_factors_and_actions(
    store: Store, store_api: Api
) -> None:
    today = date.today()
    h, loyal, risky = _book(today)
    await write_events(store, h.events)
    answer = (await store_api.call("POST", "/predict/churn", json={}, expect=200)).json()
    ids = [s["customer_id"] for s in answer["scores"]]
    assert ids == [str(risky), str(loyal)]  # both renew within 90 days; riskiest first
    top, low = answer["scores"]
    assert top["probability"] > low["probability"]
    assert top["features"]["premium_change"] == pytest.approx(0.45)
    assert top["features"]["claims_denied_12m"] == 2
    assert {f["feature"] for f in top["factors"]} & {"premium_change", "claims_denied_12m"}
    assert top["band"] in {"critical", "high", "medium"} and top["action"] is not None
    assert 0 < top["days_to_renewal"] <= 90
    info = answer["model"]
    assert info["training_source"] == "synthetic" and "synthetic" in info["caveat"]
    assert info["metrics"]["roc_auc"] > 0.75
    model_info = (await store_api.call("GET", "/predict/churn/model", expect=200)).json()
    assert model_info["artifact_digest"] == info["artifact_digest"]


async def test_named_customers_are_scored_and_unknown_ones_listed(store: Store, store_api: Api) -> None:
    h, loyal, _ = _book(date.today())
    await write_events(store, h.events)
    stranger = uuid.uuid4()
    body = {"customer_ids": [str(loyal), str(stranger)]}
    answer = (await store_api.call("POST", "/predict/churn", json=body, expect=200)).json()
    assert [s["customer_id"] for s in answer["scores"]] == [str(loyal)]
    assert answer["missing"] == [str(stranger)]


async def test_bad_requests_are_problem_json_and_customers_may_not_predict(store_api: Api) -> None:
    r = await store_api.call("POST", "/predict/churn", json={"customer_ids": ["nope"]}, expect=422)
    assert r.headers["content-type"].startswith("application/problem+json")
    await store_api.call(
        "POST", "/predict/churn", json={"customer_ids": [str(uuid.uuid4())] * 1001}, expect=422
    )
    await store_api.call("POST", "/predict/churn", json={}, headers=store_api.auth(Role.customer), expect=403)


async def test_the_daily_job_publishes_a_score_per_customer_up_for_renewal(
    store: Store, settings: Settings, keys: TestKeys
) -> None:
    h, loyal, risky = _book(date.today())
    await write_events(store, h.events)
    application = create_app(
        settings.model_copy(update={"store_database": store.database, "ingest_enabled": False})
    )
    async with started_app(application, keys):
        rt: Runtime = application.state.runtime
        async with application.state.db.transaction() as session:
            await churn_job(rt).func(session)
            rows = (
                await session.execute(
                    select(MESSAGING.outbox.c.key, MESSAGING.outbox.c.payload).where(
                        MESSAGING.outbox.c.event_type == "customer.churn_scored",
                        MESSAGING.outbox.c.key.in_([str(loyal), str(risky)]),
                    )
                )
            ).all()
            await session.rollback()
    by_key = {r.key: r.payload["data"] for r in rows}
    assert set(by_key) == {str(loyal), str(risky)}
    assert by_key[str(risky)]["probability"] > by_key[str(loyal)]["probability"]
    assert by_key[str(risky)]["synthetic_training"] is True
    assert by_key[str(risky)]["renewal_policy_id"] is not None


async def test_enough_matured_renewals_train_on_the_store_not_the_synthetic_history(
    store: Store, settings: Settings, tmp_path: object
) -> None:
    """40 customers who left after two denied claims, 40 who renewed without any: the store's
    history is used (features as of 90 days before each term ended) and the pattern is learnt."""
    from analytics.churn import service

    today = date.today()
    start, end = today - timedelta(days=500), today - timedelta(days=135)
    h = History()
    for i in range(80):
        customer = h.customer(province="Madrid", when=at(start - timedelta(days=1)))
        policy = h.policy(customer, start=start, premium="300.00")
        if i % 2:
            h.claim(customer, policy, on=start + timedelta(days=100), claimed="500.00", outcome="denied")
            h.claim(customer, policy, on=start + timedelta(days=120), claimed="700.00", outcome="denied")
        else:
            h.renew(
                policy, customer, previous_start=start, start=end, premium="300.00", previous_premium="300.00"
            )
    await write_events(store, h.events)
    local = settings.model_copy(update={"churn_model_dir": str(tmp_path), "churn_min_matured": 50})
    record = await service.train(store, local, today=today)
    assert record["training_source"] == "store" and record["training_rows"] == 80
    assert "synthetic" not in record["caveat"]
    assert record["metrics"]["roc_auc"] == 1.0
