"""Calculate, compare, stored quotes and re-pricing through the API, on real Postgres."""

from __future__ import annotations

import copy
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from aintech_contracts.envelope import CloudEvent
from aintech_contracts.events.crm import QuotePricingRequested
from aintech_contracts.rbac import Role
from quote_engine.consumers import consumer_specs
from quote_engine.tariffs.illustrative import CARRIERS, auto_tariff

from .conftest import AUTO_RISK, Api, summary

D = Decimal
HOME_RISK: dict[str, Any] = {
    "line": "home",
    "postal_code": "28004",
    "building_capital": "250000",
    "contents_capital": "40000",
    "construction_year": 1975,
}


def _calc(cover: str = "terceros_ampliado", **risk: Any) -> dict[str, Any]:
    return {
        "product_code": "mapfre-auto",
        "cover_level": cover,
        "effective_date": "2026-03-01",
        "risk": {**AUTO_RISK, **risk},
    }


async def test_a_calculation_is_stored_with_its_pinned_tariff_version(api: Api) -> None:
    created = (await api.call("POST", "/calculate", json=_calc(), expect=201)).json()
    stored = (await api.call("GET", f"/{created['id']}", expect=200)).json()
    assert stored["kind"] == "calculation"
    assert stored["offer"] == created["offer"]
    assert stored["priced_on"] == "2026-03-01"
    products = (await api.call("GET", "/tariffs/products?line=auto", expect=200)).json()
    mapfre = next(p for p in products if p["code"] == "mapfre-auto")
    assert stored["offer"]["tariff"]["tariff_version_id"] == mapfre["versions"][0]["id"]
    assert stored["offer"]["tariff"]["version"] == 1


async def test_an_ineligible_risk_gets_the_reason_not_a_price(api: Api) -> None:
    body = _calc("todo_riesgo", vehicle_age=9)
    offer = (await api.call("POST", "/calculate", json=body, expect=201)).json()["offer"]
    assert offer["eligible"] is False
    assert offer["total"] is None
    assert offer["reasons"] == ["Todo riesgo is offered for vehicles up to 5 years old (vehicle_age = 9)"]


async def test_compare_ranks_every_eligible_offer_and_explains_the_recommendation(api: Api) -> None:
    body = {"risk": AUTO_RISK, "effective_date": "2026-03-01"}
    result = (await api.call("POST", "/compare?explain=true", json=body, expect=201)).json()
    offers = result["offers"]
    # six carriers × four cover levels, all eligible for a four-year-old car
    assert len(offers) == 24 and result["ineligible"] == []
    assert {o["carrier"] for o in offers} == {c.name for c in CARRIERS}
    assert [o["rank"] for o in offers] == list(range(1, 25))
    assert [D(o["score"]) for o in offers] == sorted(D(o["score"]) for o in offers)
    best = offers[0]
    rec = result["recommendation"]
    assert (rec["product_code"], rec["cover_level"], rec["total"]) == (
        best["product_code"],
        best["cover"]["code"],
        best["total"],
    )
    assert "deductible" in rec["why"] and best["carrier"] in rec["why"]
    cheapest = min(offers, key=lambda o: D(o["total"]))
    if cheapest is not best:
        assert cheapest["carrier"] in rec["why"]
    # cover differences side by side
    assert result["cover_matrix"]["danos_propios"]["mapfre-auto/todo_riesgo"] is True
    assert result["cover_matrix"]["danos_propios"]["mapfre-auto/terceros_basico"] is False
    basic = next(o for o in offers if o["cover"]["code"] == "terceros_basico")
    assert "danos_propios" in basic["missing_covers"]
    stored = (await api.call("GET", f"/{result['id']}", expect=200)).json()
    assert stored["kind"] == "comparison" and stored["offers"] == offers
    # by default the same answer without the explanation lines
    compact = (await api.call("POST", "/compare", json=body, expect=201)).json()
    assert compact["offers"] == [summary(o) for o in offers]
    assert (compact["cover_matrix"], compact["recommendation"]) == (
        result["cover_matrix"],
        result["recommendation"],
    )


async def test_compare_lists_ineligible_offers_apart_with_their_reason(api: Api) -> None:
    body = {
        "risk": {**AUTO_RISK, "vehicle_age": 8},
        "cover_levels": ["todo_riesgo", "todo_riesgo_franquicia"],
    }
    result = (await api.call("POST", "/compare", json=body, expect=201)).json()
    assert {o["cover"]["code"] for o in result["offers"]} == {"todo_riesgo_franquicia"}
    assert len(result["ineligible"]) == 6
    assert all("up to 5 years" in o["reasons"][0] for o in result["ineligible"])


async def test_compare_and_calculate_agree_to_the_cent(api: Api) -> None:
    body = {"risk": HOME_RISK, "effective_date": "2026-03-01", "cover_levels": ["completo"]}
    offers = (await api.call("POST", "/compare?explain=true", json=body, expect=201)).json()["offers"]
    for offer in offers:
        single = {
            "product_code": offer["product_code"],
            "cover_level": "completo",
            "effective_date": "2026-03-01",
            "risk": HOME_RISK,
        }
        alone = (await api.call("POST", "/calculate", json=single, expect=201)).json()["offer"]
        assert alone["total"] == offer["total"] and alone["lines"] == offer["lines"]


async def _new_version(api: Api, *, scale: str, effective_from: str) -> dict[str, Any]:
    document = copy.deepcopy(auto_tariff(CARRIERS[0]))
    document["effective_from"] = effective_from
    for cover in document["cover_levels"]:
        cover["base_rates"] = {z: str(D(v) * D(scale)) for z, v in cover["base_rates"].items()}
    version = (await api.call("POST", "/tariffs", json=document, headers=api.admin, expect=201)).json()
    await api.call("POST", f"/tariffs/versions/{version['id']}/activate", headers=api.admin, expect=200)
    return dict(version)


async def test_repricing_an_old_quote_under_a_newer_tariff_keeps_the_old_result(api: Api) -> None:
    old = (await api.call("POST", "/calculate", json=_calc(), expect=201)).json()
    newer = await _new_version(api, scale="1.2", effective_from="2026-06-01")
    assert newer["version"] == 2

    repriced = (await api.call("POST", f"/{old['id']}/reprice", expect=200)).json()
    assert repriced["unchanged"] is True
    assert repriced["repriced_total"] == old["offer"]["total"]
    assert repriced["offer"]["tariff"]["version"] == 1
    # a new quote dated before the new version still uses the old one; after it, the new one
    same_day = (await api.call("POST", "/calculate", json=_calc(), expect=201)).json()["offer"]
    assert same_day["total"] == old["offer"]["total"] and same_day["tariff"]["version"] == 1
    later = (
        await api.call("POST", "/calculate", json={**_calc(), "effective_date": "2026-07-01"}, expect=201)
    ).json()
    assert later["offer"]["tariff"]["version"] == 2
    assert D(later["offer"]["total"]) > D(old["offer"]["total"])


async def test_dry_run_reports_how_many_recent_quotes_a_new_version_changes(api: Api) -> None:
    for age in (22, 35, 50):
        await api.call(
            "POST", "/calculate", json=_calc(driver_age=age, years_licensed=4, no_claims_years=0), expect=201
        )
    document = copy.deepcopy(auto_tariff(CARRIERS[0]))
    document["effective_from"] = "2026-06-01"
    document["factors"][0]["bands"][1]["value"] = "1.60"  # drivers 21-24 pay more
    draft = (await api.call("POST", "/tariffs", json=document, headers=api.admin, expect=201)).json()
    report = (
        await api.call("POST", f"/tariffs/versions/{draft['id']}/dry-run", headers=api.admin, expect=200)
    ).json()
    assert report["sampled"] == 3
    assert (report["changed"], report["increased"], report["decreased"]) == (1, 1, 0)
    assert D(report["max_increase"]) > 0
    # a dry run changes nothing: the draft is still a draft, quotes still use version 1
    assert (await api.call("GET", f"/tariffs/versions/{draft['id']}", expect=200)).json()["status"] == "draft"


async def test_bad_input_is_a_problem_naming_the_field(api: Api) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({**_calc(), "product_code": "nobody-auto"}, "product_code"),
        ({**_calc(), "cover_level": "gold"}, "cover_level"),
        ({**_calc(), "effective_date": "2025-06-01"}, "effective_date"),
        (_calc(driver_age=12), "risk.auto.driver_age"),
        (_calc(postal_code="99999"), "risk.auto.postal_code"),
        ({**_calc(), "risk": HOME_RISK}, "risk.line"),
        (_calc(sex="female"), "risk.auto.sex"),
        (_calc(driver_age=20, years_licensed=10), "risk.auto.years_licensed"),
    ]
    for body, field in cases:
        response = await api.call("POST", "/calculate", json=body, expect=422)
        assert response.headers["content-type"] == "application/problem+json"
        problem = response.json()
        assert field in [e["field"] for e in problem["errors"]], (field, problem)
        assert problem["detail"]
    missing = {k: v for k, v in AUTO_RISK.items() if k != "vehicle_age"}
    response = await api.call("POST", "/calculate", json={**_calc(), "risk": missing}, expect=422)
    assert "risk.auto.vehicle_age" in [e["field"] for e in response.json()["errors"]]
    await api.call("GET", f"/{uuid.uuid4()}", expect=404)


async def test_a_risk_is_priced_on_the_types_its_schema_states(api: Api) -> None:
    """`"garage": 0` was priced as no garage and `"km_per_year": true` as one kilometre (pydantic's
    lax mode), where the document says boolean and integer; a date was taken as a number of seconds.
    Each is refused now, naming the field; a whole number written as 20.0 is still 20."""
    cases: list[tuple[dict[str, Any], str]] = [
        (_calc(garage=0), "risk.auto.garage"),
        (_calc(garage="true"), "risk.auto.garage"),
        (_calc(km_per_year=True), "risk.auto.km_per_year"),
        (_calc(vehicle_age="3"), "risk.auto.vehicle_age"),
        ({**_calc(), "effective_date": 1772323200}, "effective_date"),
    ]
    for body, field in cases:
        response = await api.call("POST", "/calculate", json=body, expect=422)
        assert field in [e["field"] for e in response.json()["errors"]], (field, response.json())
        compare = {"risk": body["risk"], "effective_date": body["effective_date"]}
        response = await api.call("POST", "/compare", json=compare, expect=422)
        assert field in [e["field"] for e in response.json()["errors"]], (field, response.json())
    as_float = _calc(driver_age=float(AUTO_RISK["driver_age"]))
    whole = (await api.call("POST", "/calculate", json=as_float, expect=201)).json()
    exact = (await api.call("POST", "/calculate", json=_calc(), expect=201)).json()
    assert whole["offer"] == exact["offer"]


async def test_quoting_needs_the_permission_and_tariffs_need_rates_manage(api: Api) -> None:
    await api.call("POST", "/calculate", json=_calc(), headers=api.auth(Role.customer), expect=403)
    await api.call("POST", "/calculate", json=_calc(), headers={}, expect=401)
    await api.call("POST", "/tariffs", json=auto_tariff(CARRIERS[0]), expect=403)  # an agent


async def test_calculations_and_activations_are_published_through_the_outbox(api: Api) -> None:
    created = (await api.call("POST", "/calculate", json=_calc(), expect=201)).json()
    rows = await api.conn.execute(
        text("SELECT payload FROM quotes.outbox WHERE event_type = 'quote.calculated' AND key = :k"),
        {"k": created["id"]},
    )
    (event,) = [dict(r[0]) for r in rows]
    assert event["data"]["offers"][0]["total"] == created["offer"]["total"]
    assert event["data"]["offers"][0]["tariff_version_id"] == created["offer"]["tariff"]["tariff_version_id"]
    version = await _new_version(api, scale="1.1", effective_from="2026-06-01")
    activated = await api.conn.scalar(
        text(
            "SELECT count(*) FROM quotes.outbox WHERE event_type = 'tariff.activated'"
            " AND payload->'data'->>'tariff_version_id' = :v"
        ),
        {"v": version["id"]},
    )
    assert activated == 1


async def _answers(api: Api, request_id: uuid.UUID) -> list[dict[str, Any]]:
    rows = await api.conn.execute(
        text(
            "SELECT payload FROM quotes.outbox"
            " WHERE event_type IN ('quote.calculated', 'quote.pricing_failed')"
            " AND payload->'data'->>'crm_request_id' = :r ORDER BY seq"
        ),
        {"r": str(request_id)},
    )
    return [dict(r[0]) for r in rows]


async def test_a_crm_pricing_request_is_answered_once_with_the_comparison(api: Api, app: Any) -> None:
    request = QuotePricingRequested(
        request_id=uuid.uuid4(),
        customer_id=uuid.uuid4(),
        quote_type="home",
        risk={k: v for k, v in HOME_RISK.items() if k != "line"},
        cover_levels=["completo"],
        requested_at=datetime.now(UTC),
    )
    handler = consumer_specs(app.state.runtime)[0].handlers["quote.pricing_requested"]
    event = CloudEvent.wrap(request, type_=request.event_type, source="core-crm", subject=None)
    async with AsyncSession(bind=api.conn, join_transaction_mode="create_savepoint") as session:
        await handler(session, event)
        await handler(session, event)  # redelivered: not priced twice
        await session.commit()
    (answer,) = await _answers(api, request.request_id)
    assert answer["type"] == "quote.calculated"
    offers = answer["data"]["offers"]
    assert len(offers) == 6 and [o["rank"] for o in offers] == [1, 2, 3, 4, 5, 6]
    stored = (await api.call("GET", f"/{answer['data']['calculation_id']}", expect=200)).json()
    assert [o["total"] for o in stored["offers"]] == [o["total"] for o in offers]

    bad = request.model_copy(update={"request_id": uuid.uuid4(), "risk": {"postal_code": "46001"}})
    event = CloudEvent.wrap(bad, type_=bad.event_type, source="core-crm", subject=None)
    async with AsyncSession(bind=api.conn, join_transaction_mode="create_savepoint") as session:
        await handler(session, event)
        await session.commit()
    (refusal,) = await _answers(api, bad.request_id)
    assert refusal["type"] == "quote.pricing_failed"
    assert "building_capital" in refusal["data"]["reason"]


async def test_a_renewal_pricing_request_is_priced_with_the_tariffs_in_force_on_its_renewal_date(
    api: Api, app: Any
) -> None:
    handler = consumer_specs(app.state.runtime)[0].handlers["quote.pricing_requested"]
    renewal = QuotePricingRequested(
        request_id=uuid.uuid4(),
        customer_id=uuid.uuid4(),
        quote_type="home",
        risk={k: v for k, v in HOME_RISK.items() if k != "line"},
        cover_levels=["completo"],
        carriers=["Mapfre"],
        requested_at=datetime.now(UTC),
        effective_date=date(2026, 12, 1),
        purpose="renewal",
    )
    before_any_tariff = renewal.model_copy(
        update={"request_id": uuid.uuid4(), "effective_date": date(2001, 1, 1)}
    )
    async with AsyncSession(bind=api.conn, join_transaction_mode="create_savepoint") as session:
        for request in (renewal, before_any_tariff):
            await handler(
                session, CloudEvent.wrap(request, type_=request.event_type, source="core-crm", subject=None)
            )
        await session.commit()
    (answer,) = await _answers(api, renewal.request_id)
    assert answer["type"] == "quote.calculated" and answer["data"]["priced_on"] == "2026-12-01"
    assert {o["carrier"] for o in answer["data"]["offers"]} == {"Mapfre"}
    (refusal,) = await _answers(api, before_any_tariff.request_id)
    assert refusal["type"] == "quote.pricing_failed" and "2001-01-01" in refusal["data"]["reason"]
