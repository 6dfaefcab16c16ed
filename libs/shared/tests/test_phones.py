"""The one E.164 phone type and caller-id helper of the fleet."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError

from aintech_shared.phones import E164Phone, OptionalE164Phone, caller_id, parse_e164, to_e164


class Person(BaseModel):
    phone: E164Phone
    mobile: OptionalE164Phone


def test_spanish_national_and_international_numbers_become_e164() -> None:
    assert to_e164("612 34 56 78") == "+34612345678"
    assert to_e164("0034 612 345 678") == "+34612345678"
    assert to_e164("+351 912 345 678") == "+351912345678"
    assert parse_e164("91 123 45 67") == "+34911234567"


def test_what_is_not_a_phone_number_is_refused() -> None:
    assert to_e164("not a number") is None
    assert to_e164("+34612\x00345678") is None
    assert to_e164("6" * 41) is None
    assert to_e164(None) is None and to_e164("   ") is None
    with pytest.raises(ValueError, match="is not a phone number"):
        parse_e164("hello")
    with pytest.raises(ValueError, match="is not a valid phone number"):
        parse_e164("+34 123")


def test_bare_international_digits_are_read_only_when_asked() -> None:
    assert to_e164("351912345678") is None
    assert to_e164("351912345678", bare_international=True) == "+351912345678"


def test_pydantic_fields_normalise_and_explain() -> None:
    person = Person(phone="612345678", mobile="  ")
    assert person.phone == "+34612345678" and person.mobile is None
    with pytest.raises(ValidationError) as caught:
        Person(phone="12", mobile="x")
    problems = {e["loc"][0]: e["msg"] for e in caught.value.errors()}
    assert "phone" in problems and "mobile" in problems
    assert "phone number" in problems["phone"]


def test_caller_id_is_e164_when_it_can_be_and_as_sent_otherwise() -> None:
    assert caller_id("+34612345678") == "+34612345678"
    assert caller_id("whatsapp:+34612345678") == "+34612345678"
    assert caller_id("WhatsApp:34612345678") == "+34612345678"
    assert caller_id(" anonymous ") == "anonymous"
    assert caller_id("client:agent-7") == "client:agent-7"
    assert caller_id("x" * 400, limit=320) == "x" * 320
    assert caller_id("x" * 400) == "x" * 40
