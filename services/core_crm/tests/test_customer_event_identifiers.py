"""A customer's DNI and IBAN leave the CRM only as keyed digests: the customer events carry
``dni_digest``/``iban_digest`` and the last characters, never the values (the API still shows them
to staff)."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from aintech_contracts import identifiers
from core_crm.settings import DEV_IDENTIFIER_DIGEST_KEY, Settings

from .conftest import DNIS, IBAN, Api


def _hmac(key: bytes, value: str) -> str:
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


async def test_customer_events_carry_digests_of_the_dni_and_iban_not_the_values(api: Api) -> None:
    key = api.app.state.runtime.settings.identifier_key
    created = await api.customer(dni="12345678-z", iban="ES91 2100 0418 4502 0005 1332")
    assert created["dni"] == "12345678Z" and created["iban"] == IBAN, "staff still read the values"
    [event] = await api.events("customer.created", key=created["id"])
    data = event["data"]
    raw = json.dumps(event)
    for value in ("12345678Z", "12345678-z", IBAN, "ES91 2100 0418 4502 0005 1332", "21000418450200051332"):
        assert value not in raw, f"{value!r} travels in clear"
    assert "dni" not in data and "iban" not in data
    assert data["dni_digest"] == _hmac(key, "12345678Z")
    assert data["iban_digest"] == _hmac(key, IBAN)
    assert (data["dni_last3"], data["iban_last4"]) == ("78Z", "1332")

    other_account = "ES7921000813610123456789"
    same_account = await api.customer(iban=IBAN.lower(), dni=DNIS[3])
    [same] = await api.events("customer.created", key=same_account["id"])
    assert same["data"]["iban_digest"] == data["iban_digest"], "the same account, however written"
    assert same["data"]["dni_digest"] != data["dni_digest"]

    url = f"/customers/{created['id']}"
    etag = (await api.call("GET", url, expect=200)).headers["etag"]
    await api.call(
        "PATCH", url, json={"iban": other_account}, headers={**api.agent, "If-Match": etag}, expect=200
    )
    [updated] = await api.events("customer.updated", key=created["id"])
    assert updated["data"]["changed_fields"] == ["iban"]
    assert updated["data"]["iban_digest"] == _hmac(key, other_account)
    assert other_account not in json.dumps(updated)


def test_a_digest_needs_the_key_and_another_key_gives_another_digest() -> None:
    one, other = b"k" * 32, b"q" * 32
    assert identifiers.digest(IBAN, one) != identifiers.digest(IBAN, other)
    assert identifiers.digest("es91 2100-0418 4502 0005 1332", one) == identifiers.digest(IBAN, one)
    assert hashlib.sha256(IBAN.encode()).hexdigest() != identifiers.digest(IBAN, one), (
        "keyed, not a bare hash"
    )
    with pytest.raises(ValueError, match="needs a key"):
        identifiers.digest(IBAN, b"")


def test_production_refuses_the_development_digest_key() -> None:
    with pytest.raises(ValueError, match="AINTECH_IDENTIFIER_DIGEST_KEY"):
        Settings(AINTECH_ENV="production", AINTECH_IDENTIFIER_DIGEST_KEY=DEV_IDENTIFIER_DIGEST_KEY)
    short = "too-short"
    with pytest.raises(ValueError, match="at least 16"):
        Settings(AINTECH_IDENTIFIER_DIGEST_KEY=short)
    assert Settings(AINTECH_IDENTIFIER_DIGEST_KEY="x" * 32).identifier_key == b"x" * 32
