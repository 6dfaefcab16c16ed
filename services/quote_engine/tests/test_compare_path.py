"""``POST /compare`` as it is served: the body validated once from its bytes (a hot route), the
answer written from the rating's figures, the stored row and its ``quote.calculated`` event written
by one statement in the request's transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from .conftest import AUTO_RISK, Api


async def test_a_comparison_is_stored_with_its_event_naming_the_answered_ranking(api: Api) -> None:
    answer = (await api.call("POST", "/compare", json={"risk": AUTO_RISK}, expect=201)).json()
    stored = (
        await api.conn.execute(
            text("SELECT kind, line, total, result FROM quotes.calculations WHERE id = :id"),
            {"id": answer["id"]},
        )
    ).one()
    assert stored.kind == "comparison" and stored.line == "auto"
    assert str(stored.total) == answer["recommendation"]["total"]
    assert [p["total"] for p in stored.result["offers"]] == [o["total"] for o in answer["offers"]]
    events = (
        await api.conn.execute(
            text("SELECT payload FROM quotes.outbox WHERE event_type = 'quote.calculated' AND key = :k"),
            {"k": answer["id"]},
        )
    ).all()
    assert len(events) == 1
    data = events[0].payload["data"]
    ranked = [o for o in data["offers"] if o["rank"] is not None]
    assert [(o["rank"], o["product_code"], o["cover_level"], o["total"]) for o in ranked] == [
        (o["rank"], o["product_code"], o["cover"]["code"], o["total"]) for o in answer["offers"]
    ]
    assert len(data["offers"]) == len(answer["offers"]) + len(answer["ineligible"])
    assert data["recommended_product_code"] == answer["recommendation"]["product_code"]
    assert data["created_at"].startswith(answer["created_at"][:19])


def _figures(answer: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(o["product_code"], o["cover"]["code"], o["total"]) for o in answer["offers"]]


async def test_a_money_field_sent_as_a_json_number_is_priced_as_the_same_decimal_string(api: Api) -> None:
    as_text = await api.call(
        "POST", "/compare", json={"risk": {**AUTO_RISK, "vehicle_value": "18000.5"}}, expect=201
    )
    as_number = await api.call(
        "POST", "/compare", json={"risk": {**AUTO_RISK, "vehicle_value": 18000.5}}, expect=201
    )
    assert _figures(as_number.json()) == _figures(as_text.json())
    assert as_number.json()["request"]["risk"]["vehicle_value"] == "18000.5"


async def test_a_body_that_is_not_json_or_not_a_valid_request_is_a_problem_naming_it(api: Api) -> None:
    bad_json = await api.call(
        "POST",
        "/compare",
        content=b'{"risk": {',
        headers={**api.auth(), "content-type": "application/json"},
        expect=400,
    )
    assert bad_json.json()["type"].endswith("/malformed-json")
    not_json = await api.call(
        "POST", "/compare", content=b"risk", headers={**api.auth(), "content-type": "text/plain"}, expect=422
    )
    assert not_json.json()["detail"]
    too_young = {"risk": {**AUTO_RISK, "driver_age": 15}}
    problem = (await api.call("POST", "/compare", json=too_young, expect=422)).json()
    assert "risk.auto.driver_age" in [e["field"] for e in problem["errors"]]
    # Refused before any row or event was written.
    assert await api.conn.scalar(text("SELECT count(*) FROM quotes.calculations")) == 0
