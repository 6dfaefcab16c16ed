"""A comparison's response, its stored JSON and its read-back, down to the bytes.

``comparison_<risk>_explained.txt`` is the full answer (every offer's explanation lines) as the
engine gave it before comparisons were answered and stored compactly (decision 0061): a
``?explain=true`` comparison and the read-back of any comparison must still give it, byte for
byte. ``comparison_<risk>.txt`` is the compact default: the answer without the lines (each tax
its code, base and amount), the stored
request, the stored pins and totals, and the explained read-back.

Each part is checked twice: its bytes are exactly the standard serialisation of its value
(``json.dumps`` compact with raw UTF-8 for the answers, as FastAPI's JSONResponse writes them;
Postgres' ``jsonb::text`` form for the stored columns), and that value equals the golden's. Run to
run, the ids and ``created_at`` differ (masked: a tariff version id by its product's code), and so
does the order of products with equal standing (they come from Postgres in product-id order, a
random UUID): the ineligible offers and each cover-matrix row are put in code order before the
comparison. ``QUOTE_GOLDEN_WRITE=1`` rewrites the compact goldens (never the explained ones).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from .conftest import Api

GOLDEN = Path(__file__).parent / "golden"

AUTO = {
    "risk": {
        "line": "auto",
        "postal_code": "28013",
        "driver_age": 20,
        "years_licensed": 1,
        "vehicle_type": "car",
        "vehicle_value": "18000",
        "vehicle_power_hp": 110,
        "vehicle_age": 8,
        "km_per_year": 12000,
        "garage": False,
        "use": "private",
    },
    "effective_date": "2026-03-01",
}
HOME = {
    "risk": {
        "line": "home",
        "postal_code": "46001",
        "building_capital": "180000.50",
        "contents_capital": "30000",
        "construction_year": 1998,
        "home_type": "apartment",
        "alarm": True,
    },
    "cover_levels": ["completo", "todo_riesgo"],
    "carriers": ["Mapfre", "AXA", "Mutua Madrileña"],
    "effective_date": "2026-03-01",
}


def _canonical(raw: bytes, *, stored: bool = False) -> str:
    """The part's value, masked and put in a run-independent order, as compact JSON text — after
    checking that ``raw`` is byte for byte the standard serialisation of its value."""
    value = json.loads(raw)
    separators = (", ", ": ") if stored else (",", ":")
    assert raw.decode() == json.dumps(value, ensure_ascii=False, separators=separators)
    if "id" in value:
        value["id"] = "<id>"
    if "created_at" in value:
        value["created_at"] = "<created_at>"
    for offer in [*value.get("offers", []), *value.get("ineligible", [])]:
        pin = offer.get("tariff", offer)  # an answered offer's pin, or a stored pin itself
        pin["tariff_version_id"] = f"<version of {pin['product_code']}>"
    if "ineligible" in value:
        value["ineligible"].sort(
            key=lambda o: (o["product_code"], o["cover"]["code"] if "cover" in o else o["cover_level"])
        )
    if "cover_matrix" in value:
        value["cover_matrix"] = {c: dict(sorted(row.items())) for c, row in value["cover_matrix"].items()}
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


async def _stored(api: Api, comparison_id: str) -> tuple[str, str]:
    row = (
        await api.conn.execute(
            text("SELECT request::text, result::text FROM quotes.calculations WHERE id = :id"),
            {"id": comparison_id},
        )
    ).one()
    return row[0], row[1]


@pytest.mark.parametrize(("name", "body"), [("auto", AUTO), ("home", HOME)])
async def test_comparison_response_and_stored_json_are_byte_identical_to_the_golden(
    api: Api, name: str, body: dict[str, Any]
) -> None:
    answered = await api.call("POST", "/compare", json=body, expect=201)
    comparison_id = answered.json()["id"]
    request, result = await _stored(api, comparison_id)
    read_back = await api.call("GET", f"/{comparison_id}", expect=200)
    assert answered.headers["content-type"] == "application/json"
    assert all("lines" not in o for o in [*answered.json()["offers"], *answered.json()["ineligible"]])
    got = "\n".join(
        [
            _canonical(answered.content),
            _canonical(request.encode(), stored=True),
            _canonical(result.encode(), stored=True),
            _canonical(read_back.content),
        ]
    )
    path = GOLDEN / f"comparison_{name}.txt"
    if os.environ.get("QUOTE_GOLDEN_WRITE") == "1":
        path.write_text(got + "\n", encoding="utf-8")
    assert got + "\n" == path.read_text(encoding="utf-8")
    # The read-back is the full answer as it was read back before (its cover matrix's rows now in
    # the answer's order, not jsonb's: the same object).
    explained = (GOLDEN / f"comparison_{name}_explained.txt").read_text(encoding="utf-8").splitlines()
    assert json.loads(_canonical(read_back.content)) == json.loads(explained[1])


@pytest.mark.parametrize(("name", "body"), [("auto", AUTO), ("home", HOME)])
async def test_an_explained_comparison_and_its_read_back_are_byte_identical_to_the_full_golden(
    api: Api, name: str, body: dict[str, Any]
) -> None:
    answered = await api.call("POST", "/compare?explain=true", json=body, expect=201)
    read_back = await api.call("GET", f"/{answered.json()['id']}", expect=200)
    explained = (GOLDEN / f"comparison_{name}_explained.txt").read_text(encoding="utf-8").splitlines()
    assert _canonical(answered.content) == explained[0]
    assert json.loads(_canonical(read_back.content)) == json.loads(explained[1])
