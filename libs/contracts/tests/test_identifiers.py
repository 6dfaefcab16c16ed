"""Customer events carry keyed digests of the DNI/NIE and IBAN, never the values."""

from __future__ import annotations

import uuid

import pytest
from pydantic import ValidationError

from aintech_contracts import identifiers
from aintech_contracts.events import CATALOGUE
from aintech_contracts.events.crm import CustomerCreated, CustomerUpdated

IBAN = "ES9121000418450200051332"
KEY = b"contract-test-key-0123456789abcdef"
PERSON = {
    "customer_id": uuid.uuid4(),
    "customer_type": "individual",
    "first_name": "Ana",
    "last_name": "Ruiz",
    "status": "active",
}


def test_no_event_of_the_catalogue_has_a_field_for_a_dni_or_iban_in_clear() -> None:
    for event_type, model in CATALOGUE.items():
        fields = set(model.model_fields)
        assert not fields & {"dni", "iban", "nie", "cif", "tax_id"}, event_type


def test_a_digest_field_refuses_anything_but_a_digest() -> None:
    with pytest.raises(ValidationError, match="iban_digest"):
        CustomerCreated(**PERSON, iban_digest=IBAN)
    with pytest.raises(ValidationError, match="iban_last4"):
        CustomerCreated(**PERSON, iban_last4=IBAN)
    ok = CustomerCreated(**PERSON, iban_digest=identifiers.digest(IBAN, KEY), iban_last4="1332")
    assert IBAN not in ok.model_dump_json()


def test_an_event_published_before_the_digests_is_read_without_the_values() -> None:
    legacy = {**PERSON, "customer_id": str(PERSON["customer_id"]), "dni": "12345678Z", "iban": IBAN}
    data = CustomerUpdated.model_validate({**legacy, "changed_fields": ["iban"], "version": 3})
    assert (data.dni_digest, data.iban_digest) == (None, None)
    assert (data.dni_last3, data.iban_last4) == ("78Z", "1332")
    dumped = data.model_dump_json()
    assert IBAN not in dumped and "12345678" not in dumped


def test_the_digest_is_keyed_and_blind_to_spacing_and_case() -> None:
    assert identifiers.digest("es91 2100-0418 4502 0005 1332", KEY) == identifiers.digest(IBAN, KEY)
    assert identifiers.digest(IBAN, KEY) != identifiers.digest(IBAN, KEY + b"2")
    assert identifiers.digest(None, KEY) is None and identifiers.digest(" - ", KEY) is None
    assert identifiers.last(IBAN, 4) == "1332" and identifiers.last("123", 4) is None
