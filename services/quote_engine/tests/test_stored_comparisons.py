"""A comparison is answered without the explanation lines by default and stored as its pinned tariff
versions and totals; reading it back rates it again under those versions and must give the stored
figures to the cent (decision 0061). The tariffs in force are cached per process under a
generation counter that every tariff change moves."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from quote_engine.tariffs.illustrative import CARRIERS, auto_tariff

from .conftest import AUTO_RISK, SUMMARY_TAX, Api, summary

D = Decimal
BODY = {"risk": AUTO_RISK, "effective_date": "2026-03-01"}


async def _stored_result(api: Api, comparison_id: str) -> dict[str, Any]:
    raw = await api.conn.scalar(
        text("SELECT result::text FROM quotes.calculations WHERE id = :id"), {"id": comparison_id}
    )
    return dict(json.loads(raw))


async def test_a_comparison_is_stored_as_its_pins_and_totals_without_the_lines(api: Api) -> None:
    answer = (await api.call("POST", "/compare", json=BODY, expect=201)).json()
    stored = await _stored_result(api, answer["id"])
    assert [(p["product_code"], p["cover_level"], p["total"]) for p in stored["offers"]] == [
        (o["product_code"], o["cover"]["code"], o["total"]) for o in answer["offers"]
    ]
    assert [p["tariff_version_id"] for p in stored["offers"]] == [
        o["tariff"]["tariff_version_id"] for o in answer["offers"]
    ]
    assert stored["recommendation"] == answer["recommendation"]
    assert "lines" not in json.dumps(stored)
    assert all("lines" not in o for o in answer["offers"])
    assert all(set(t) == set(SUMMARY_TAX) for o in answer["offers"] for t in o["taxes"])


async def test_reading_a_comparison_back_rates_its_explanation_again(api: Api) -> None:
    explained = (await api.call("POST", "/compare?explain=true", json=BODY, expect=201)).json()
    read = (await api.call("GET", f"/{explained['id']}", expect=200)).json()
    assert read["offers"] == explained["offers"] and read["recommendation"] == explained["recommendation"]
    for offer in read["offers"]:
        assert sum((D(line["amount"]) for line in offer["lines"]), D(0)) == D(offer["total"])
    compact = (await api.call("GET", f"/{explained['id']}?explain=false", expect=200)).json()
    assert compact["offers"] == [summary(o) for o in explained["offers"]]


async def test_one_offer_of_a_comparison_is_read_alone_with_its_explanation(api: Api) -> None:
    explained = (await api.call("POST", "/compare?explain=true", json=BODY, expect=201)).json()
    for rank in (1, 7, len(explained["offers"])):
        offer = (await api.call("GET", f"/{explained['id']}/offers/{rank}", expect=200)).json()
        assert offer == explained["offers"][rank - 1]
        assert offer["rank"] == rank and offer["lines"]
    missing = await api.call("GET", f"/{explained['id']}/offers/{len(explained['offers']) + 1}", expect=404)
    assert "no offer" in missing.json()["detail"]
    calculation = {"product_code": "mapfre-auto", "cover_level": "todo_riesgo", **BODY}
    calculated = (await api.call("POST", "/calculate", json=calculation, expect=201)).json()
    alone = (await api.call("GET", f"/{calculated['id']}/offers/1", expect=200)).json()
    assert alone == calculated["offer"] and alone["lines"]
    await api.call("GET", f"/{calculated['id']}/offers/2", expect=404)


@pytest.mark.parametrize(
    ("field", "value"),
    [("total", '"1.00"'), ("digest", '"0000000000000000000000000000000000000000000000000000000000000000"')],
)
async def test_a_stored_comparison_that_no_longer_re_rates_to_its_figures_is_an_error(
    api: Api, field: str, value: str
) -> None:
    answer = (await api.call("POST", "/compare", json=BODY, expect=201)).json()
    await api.conn.execute(
        text(
            "UPDATE quotes.calculations SET result = jsonb_set(result, :path, CAST(:value AS jsonb)) "
            "WHERE id = :id"
        ),
        {"path": ["offers", "2", field], "value": value, "id": answer["id"]},
    )
    for path in (f"/{answer['id']}", f"/{answer['id']}/offers/1"):
        problem = (await api.call("GET", path, expect=500)).json()
        assert problem["type"].endswith("stored-quote-mismatch"), problem
        assert answer["id"] in problem["detail"]


async def test_a_comparison_stored_in_full_before_is_read_back_as_stored(api: Api) -> None:
    explained = (await api.call("POST", "/compare?explain=true", json=BODY, expect=201)).json()
    full = {k: explained[k] for k in ("offers", "ineligible", "cover_matrix", "recommendation")}
    await api.conn.execute(
        text("UPDATE quotes.calculations SET result = CAST(:result AS jsonb) WHERE id = :id"),
        {"result": json.dumps(full), "id": explained["id"]},
    )
    read = (await api.call("GET", f"/{explained['id']}", expect=200)).json()
    assert read["offers"] == explained["offers"]
    offer = (await api.call("GET", f"/{explained['id']}/offers/3", expect=200)).json()
    assert offer == explained["offers"][2]


async def test_a_stored_tariff_version_cannot_be_edited(api: Api) -> None:
    version_id = await api.conn.scalar(text("SELECT id FROM quotes.tariff_versions LIMIT 1"))
    for update in (
        "UPDATE quotes.tariff_versions SET definition = jsonb_set(definition, '{minimum_premium}', '\"1\"') "
        "WHERE id = :id",
        "UPDATE quotes.tariff_versions SET digest = 'x' WHERE id = :id",
        "UPDATE quotes.tariff_versions SET effective_from = DATE '2000-01-01' WHERE id = :id",
    ):
        with pytest.raises(DBAPIError, match="immutable"):
            async with api.conn.begin_nested():
                await api.conn.execute(text(update), {"id": version_id})
    # its status still moves (activate, retire, roll back)
    await api.conn.execute(
        text("UPDATE quotes.tariff_versions SET status = 'retired' WHERE id = :id"), {"id": version_id}
    )


async def test_a_new_tariff_version_is_used_by_the_next_comparison_despite_the_cache(api: Api) -> None:
    before = (await api.call("POST", "/compare", json=BODY, expect=201)).json()
    again = (await api.call("POST", "/compare", json=BODY, expect=201)).json()  # served from the cache
    assert [o["total"] for o in again["offers"]] == [o["total"] for o in before["offers"]]
    product = CARRIERS[0].slug + "-auto"
    document = copy.deepcopy(auto_tariff(CARRIERS[0]))
    document["effective_from"] = "2026-02-01"
    for cover in document["cover_levels"]:
        cover["base_rates"] = {z: str(D(v) * 2) for z, v in cover["base_rates"].items()}
    version = (await api.call("POST", "/tariffs", json=document, headers=api.admin, expect=201)).json()
    await api.call("POST", f"/tariffs/versions/{version['id']}/activate", headers=api.admin, expect=200)
    after = (await api.call("POST", "/compare", json=BODY, expect=201)).json()
    pinned = {o["tariff"]["tariff_version_id"] for o in after["offers"] if o["product_code"] == product}
    assert pinned == {version["id"]}
    old = {o["cover"]["code"]: D(o["total"]) for o in before["offers"] if o["product_code"] == product}
    new = {o["cover"]["code"]: D(o["total"]) for o in after["offers"] if o["product_code"] == product}
    assert all(new[c] > old[c] for c in old)
    await api.call("POST", f"/tariffs/versions/{version['id']}/retire", headers=api.admin, expect=200)
    retired = (await api.call("POST", "/compare", json=BODY, expect=201)).json()
    pinned = {o["tariff"]["tariff_version_id"] for o in retired["offers"] if o["product_code"] == product}
    assert version["id"] not in pinned and pinned
    # the comparisons priced under the retired version still read back as priced
    read = (await api.call("GET", f"/{after['id']}", expect=200)).json()
    assert [o["total"] for o in read["offers"]] == [o["total"] for o in after["offers"]]
