"""What a free-text customer search is taken for (no database: the classification alone)."""

from __future__ import annotations

import pytest

from core_crm.core import spain
from core_crm.customers.repository import phrase_words
from core_crm.customers.service import classify_query


@pytest.mark.parametrize(
    ("query", "kind"),
    [
        ("12345678Z", "dni"),
        ("12345678-z", "dni"),
        ("X1234567L", "nie"),
        ("B58378431", "cif"),
        ("A58818501", "cif"),
    ],
)
def test_each_tax_id_kind_is_still_recognised(query: str, kind: str) -> None:
    compact = "".join(c for c in query if c.isalnum()).upper()
    assert spain.tax_id_kind(compact) == kind
    assert classify_query(query) == ("tax_id", compact)


@pytest.mark.parametrize("value", ["GARCIA", "FERNANDEZLOPEZ", "B5837843", "1234567", "X123456L", ""])
def test_a_value_with_fewer_than_seven_digits_is_no_tax_id(value: str) -> None:
    assert spain.tax_id_kind(value) is None


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("García", ("name", "garcia")),
        ("  Fernández   LÓPEZ ", ("name", "fernandez lopez")),
        ("Muñoz", ("name", "munoz")),
        ("ana@example.com", ("email", "ana@example.com")),
        ("612 345 678", ("phone", "+34612345678")),
    ],
)
def test_names_emails_and_phones_are_classified_as_before(query: str, expected: tuple[str, str]) -> None:
    assert classify_query(query) == expected


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("garcia", []),  # one word: its own pattern is the index's
        ("fernandez lopez", ["fernandez", "lopez"]),
        ("de la cruz", ["cruz"]),  # under three letters: no trigram, left to the phrase
        ("jo li", []),
        ("maria de los angeles lopez", ["angeles", "lopez", "maria"]),  # the longest three
        ("cruz cruz", ["cruz"]),
    ],
)
def test_a_phrase_asks_the_index_for_its_longest_words(name: str, words: list[str]) -> None:
    assert phrase_words(name) == words
