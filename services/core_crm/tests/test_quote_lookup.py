"""Quotes by number, as agents read them over the phone."""

from __future__ import annotations

from typing import Any

from core_crm.core.numbers import canonical

from .conftest import Api


async def _quote(api: Api, customer_id: str) -> dict[str, Any]:
    body = {
        "customer_id": customer_id,
        "quote_type": "auto",
        "coverage_details": {"cover": "terceros"},
        "base_premium": "500.00",
    }
    return dict((await api.call("POST", "/quotes", json=body, expect=201)).json())


def test_a_number_read_aloud_is_the_stored_number() -> None:
    assert canonical("QUO", "quo 2026 1042") == "QUO-2026-0001042"
    assert canonical("QUO", "QUO-2026-0001042") == "QUO-2026-0001042"
    assert canonical("QUO", "quo.2026.0001042") == "QUO-2026-0001042"
    assert canonical("QUO", "POL-2026-0001042") is None
    assert canonical("QUO", "hello") is None


async def test_an_agent_finds_a_quote_by_its_number_as_spoken(api: Api) -> None:
    customer = await api.customer()
    quote = await _quote(api, customer["id"])
    number = quote["quote_number"]
    found = await api.call("GET", f"/quotes/by-number/{number}", expect=200)
    assert found.json()["id"] == quote["id"] and found.headers["etag"]
    prefix, year, serial = number.split("-")
    spoken = f"{prefix.lower()} {year} {int(serial)}"
    assert (await api.call("GET", f"/quotes/by-number/{spoken}", expect=200)).json()["id"] == quote["id"]
    missing = await api.call("GET", f"/quotes/by-number/QUO-{year}-9999999", expect=404)
    assert missing.headers["content-type"].startswith("application/problem+json")
    await api.call("GET", "/quotes/by-number/QUO;drop", expect=422)


async def test_a_customer_finds_only_their_own_quote_by_number(api: Api) -> None:
    mine = await api.customer()
    other = await api.customer()
    my_quote = await _quote(api, mine["id"])
    their_quote = await _quote(api, other["id"])
    me = await api.customer_login(mine["id"])
    await api.call("GET", f"/quotes/by-number/{my_quote['quote_number']}", headers=me, expect=200)
    await api.call("GET", f"/quotes/by-number/{their_quote['quote_number']}", headers=me, expect=404)
