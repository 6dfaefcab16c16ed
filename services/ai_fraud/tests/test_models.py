"""The model registry: a training job with progress on synthetic data (held-out metrics beat a
baseline), promote and roll back without a restart, a tampered artifact refused with the active
model kept, and the fraud_oracle.csv loader on a tiny file."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import jsonschema_rs
import numpy as np
import pytest
from pydantic import ValidationError
from sqlalchemy import text

from ai_fraud.cases import service as cases
from ai_fraud.core.features import MODEL_FEATURES
from ai_fraud.models_registry import service as registry
from ai_fraud.models_registry.oracle import OracleFileError, load_fraud_oracle
from ai_fraud.models_registry.schemas import TrainRequest
from ai_fraud.models_registry.synthetic import generate

from .conftest import Api

ROWS = 3000


async def _train(api: Api, seed: int) -> dict[str, Any]:
    job = (await api.call("POST", "/models/train", json={"rows": ROWS, "seed": seed}, expect=202)).json()
    assert job["status"] == "queued"
    await registry.run_next_job(api.app.state.db, api.rt, labelled=cases.labelled_examples)
    done = (await api.call("GET", f"/models/jobs/{job['id']}", expect=200)).json()
    assert done["status"] == "succeeded", done
    assert done["progress"] == 100 and done["model_version"] is not None
    return dict(done)


async def test_training_promote_and_rollback_without_restart(api: Api) -> None:
    first = await _train(api, seed=11)
    metrics = first["report"]
    print("held-out metrics (SYNTHETIC data):", metrics)
    assert metrics["roc_auc"] > metrics["baseline"]["roc_auc"]
    assert metrics["pr_auc"] > metrics["held_out_prevalence"] * 2
    assert metrics["recall_at_10pct_review"] > metrics["baseline"]["recall_at_10pct_review"]
    assert "synthetic" in metrics["caveat"]
    second = await _train(api, seed=12)
    v1, v2 = first["model_version"], second["model_version"]
    listed = (await api.call("GET", "/models", expect=200)).json()
    assert {m["version"]: m["status"] for m in listed} == {v2: "candidate", v1: "candidate"}
    assert all(len(m["data_digest"]) == 64 and len(m["feature_digest"]) == 64 for m in listed)

    customer = await api.customer()
    claim = await api.claim(
        customer,
        await api.policy(customer, start=date(2026, 1, 1)),
        incident=datetime(2026, 1, 3, 23, 30, tzinfo=UTC),
        attributes={"police_report": False},
    )
    assert all(p["kind"] != "model" for p in (await api.score(claim))["parts"])

    await api.call("POST", f"/models/{v1}/promote", expect=200)
    scored = await api.score(claim)
    model = [p for p in scored["parts"] if p["kind"] == "model"]
    assert scored["model_version"] == v1 and model[0]["code"] == f"model_v{v1}"
    assert model[0]["evidence"]["contributions"], "the explanation names the features that moved it"
    assert model[0]["evidence"]["contributions"][0]["feature"] in MODEL_FEATURES

    await api.call("POST", f"/models/{v2}/promote", expect=200)
    assert (await api.score(claim))["model_version"] == v2
    rolled = (await api.call("POST", "/models/rollback", expect=200)).json()
    assert rolled["version"] == v1
    assert (await api.score(claim))["model_version"] == v1


async def test_a_tampered_artifact_is_refused_and_the_active_model_kept(api: Api) -> None:
    good = (await _train(api, seed=21))["model_version"]
    bad = (await _train(api, seed=22))["model_version"]
    await api.call("POST", f"/models/{good}/promote", expect=200)
    await api.conn.execute(
        text("UPDATE fraud.model_versions SET artifact = artifact || '\\x00'::bytea WHERE version = :v"),
        {"v": bad},
    )
    refused = await api.call("POST", f"/models/{bad}/promote", expect=422)
    assert refused.headers["content-type"] == "application/problem+json"
    assert "digest" in refused.json()["detail"] and "unchanged" in refused.json()["detail"]
    statuses = {m["version"]: m["status"] for m in (await api.call("GET", "/models", expect=200)).json()}
    assert statuses[good] == "active" and statuses[bad] == "candidate"

    # Tampered after promotion (another replica loads it): the process keeps its loaded model.
    await api.conn.execute(
        text("UPDATE fraud.model_versions SET status = 'retired' WHERE version = :v"), {"v": good}
    )
    await api.conn.execute(
        text("UPDATE fraud.model_versions SET status = 'active' WHERE version = :v"), {"v": bad}
    )
    customer = await api.customer()
    claim = await api.claim(
        customer,
        await api.policy(customer, start=date(2025, 1, 1)),
        incident=datetime(2026, 1, 3, tzinfo=UTC),
    )
    assert (await api.score(claim))["model_version"] == good


async def test_rollback_with_nothing_before_is_a_conflict(api: Api) -> None:
    await api.call("POST", "/models/rollback", expect=409)
    await api.call("POST", "/models/999999/promote", expect=404)


def test_the_synthetic_generator_is_seeded() -> None:
    x1, y1 = generate(500, seed=5)
    x2, y2 = generate(500, seed=5)
    assert np.array_equal(x1, x2) and np.array_equal(y1, y2)
    assert x1.shape == (500, len(MODEL_FEATURES)) and 0.01 < y1.mean() < 0.2


ORACLE_HEADER = (
    "Month,WeekOfMonth,DayOfWeek,Make,AccidentArea,DayOfWeekClaimed,MonthClaimed,WeekOfMonthClaimed,Sex,"
    "MaritalStatus,Age,Fault,PolicyType,VehicleCategory,VehiclePrice,FraudFound_P,PolicyNumber,RepNumber,"
    "Deductible,DriverRating,Days_Policy_Accident,Days_Policy_Claim,PastNumberOfClaims,AgeOfVehicle,"
    "AgeOfPolicyHolder,PoliceReportFiled,WitnessPresent,AgentType,NumberOfSuppliments,AddressChange_Claim,"
    "NumberOfCars,Year,BasePolicy"
)


def test_the_fraud_oracle_loader_reads_a_file_the_user_supplies(tmp_path: Path) -> None:
    rows = [
        "Dec,5,Wednesday,Honda,Urban,Tuesday,Jan,1,Female,Single,21,Policy Holder,Sport - Liability,Sport,"
        "more than 69000,0,1,12,300,1,more than 30,more than 30,none,3 years,26 to 30,No,No,External,none,"
        "1 year,3 to 4,1994,Liability",
        "Jan,3,Wednesday,Honda,Urban,Monday,Jan,4,Male,Single,34,Policy Holder,Sport - Collision,Sport,"
        "more than 69000,1,2,15,400,4,1 to 7,8 to 15,2 to 4,6 years,31 to 35,Yes,No,External,none,"
        "under 6 months,1 vehicle,1994,Collision",
    ]
    path = tmp_path / "fraud_oracle.csv"
    path.write_text(ORACLE_HEADER + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    x, y = load_fraud_oracle(path)
    assert y.tolist() == [0, 1]
    column = dict(zip(MODEL_FEATURES, x[1], strict=True))
    assert column["days_since_policy_start"] == 4.0
    assert column["claims_last_12m"] == 3.0
    assert column["police_report"] == 1.0 and column["witnesses"] == 0.0
    assert column["days_since_address_change"] == 90.0

    broken = tmp_path / "other.csv"
    broken.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(OracleFileError, match="missing column"):
        load_fraud_oracle(broken)


@pytest.mark.parametrize(
    ("body", "accepted"),
    [
        ({"seed": 7, "rows": 500}, True),
        ({"seed": 292653.0, "rows": 5180.0}, True),  # JSON Schema's integers: the contract run sent these
        ({"seed": False}, False),
        ({"seed": "7"}, False),
        ({"rows": 500.5}, False),
        ({"rows": True}, False),
    ],
)
def test_a_training_request_takes_the_integers_its_schema_states(
    body: dict[str, Any], accepted: bool
) -> None:
    stated = jsonschema_rs.validator_for(TrainRequest.model_json_schema()).is_valid(body)
    try:
        parsed = TrainRequest.model_validate(body)
        taken = True
    except ValidationError:
        taken = False
    assert (taken, stated) == (accepted, accepted)
    if taken:
        assert type(parsed.seed) is int and type(parsed.rows) is int
