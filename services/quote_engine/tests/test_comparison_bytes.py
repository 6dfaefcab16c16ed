"""A comparison's response, its stored JSON and its read-back are byte for byte what the engine
answered before the compare path was made cheaper (goldens captured from that code).

Ids and timestamps differ from run to run: every UUID is replaced by its order of first
appearance and ``created_at`` by a marker; everything else — key order, number formatting,
whitespace, non-ASCII text — is compared as bytes. Postgres prints JSONB in a canonical form, so
the stored ``request``/``result`` compare as values. ``QUOTE_GOLDEN_WRITE=1`` rewrites the goldens.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from .conftest import Api

GOLDEN = Path(__file__).parent / "golden"
UUID = re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
CREATED = re.compile(rb'"created_at":"[^"]+"')

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


def _masked(*parts: bytes) -> bytes:
    """The parts one per line, UUIDs numbered by first appearance across all of them."""
    seen: dict[bytes, bytes] = {}

    def number(match: re.Match[bytes]) -> bytes:
        return seen.setdefault(match.group(0), b"<uuid-%d>" % len(seen))

    return b"\n".join(CREATED.sub(b'"created_at":"<created_at>"', UUID.sub(number, p)) for p in parts) + b"\n"


@pytest.mark.parametrize(("name", "body"), [("auto", AUTO), ("home", HOME)])
async def test_comparison_response_and_stored_json_are_byte_identical_to_the_golden(
    api: Api, name: str, body: dict[str, Any]
) -> None:
    answered = await api.call("POST", "/compare", json=body, expect=201)
    comparison_id = answered.json()["id"]
    stored = (
        await api.conn.execute(
            text("SELECT request::text, result::text FROM quotes.calculations WHERE id = :id"),
            {"id": comparison_id},
        )
    ).one()
    read_back = await api.call("GET", f"/{comparison_id}", expect=200)
    got = _masked(
        answered.headers["content-type"].encode(),
        answered.content,
        stored[0].encode(),
        stored[1].encode(),
        read_back.content,
    )
    path = GOLDEN / f"comparison_{name}.txt"
    if os.environ.get("QUOTE_GOLDEN_WRITE") == "1":
        path.write_bytes(got)
    assert got == path.read_bytes()
