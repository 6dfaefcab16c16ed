"""Every status value of the fleet's vocabularies reads as words in Spanish and English.

The vocabularies are ``aintech_contracts.statuses``; their texts are ``templates/<lang>/statuses.txt``,
imported by the message and in-app templates. A value added to an enum without a text in both
languages fails here, before a customer could be sent the raw value.
"""

from __future__ import annotations

import inspect
from enum import StrEnum

import pytest

from aintech_contracts import statuses
from aintech_contracts.statuses import VOCABULARIES, ClaimStatus, TaskPriority
from aintech_shared.errors import UnprocessableEntity
from omnichannel.templating.service import LANGUAGES, _environment, render, render_inapp, status_text

EVERY_VALUE = [(name, value) for name, enum in VOCABULARIES.items() for value in enum]


def test_every_status_enum_of_the_contracts_is_a_vocabulary() -> None:
    enums = {
        obj
        for _, obj in inspect.getmembers(statuses, inspect.isclass)
        if issubclass(obj, StrEnum) and obj is not StrEnum
    }
    assert enums == set(VOCABULARIES.values())


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(("vocabulary", "value"), EVERY_VALUE, ids=[f"{n}.{v.value}" for n, v in EVERY_VALUE])
def test_every_value_of_every_vocabulary_has_a_text(vocabulary: str, value: StrEnum, language: str) -> None:
    text = status_text(value, language=language)
    assert text.strip() and "_" not in text, f"{vocabulary}.{value.value} in {language}: {text!r}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_status_texts_name_no_vocabulary_or_value_that_does_not_exist(language: str) -> None:
    labels = _environment().get_template(f"{language}/statuses.txt").module.labels  # type: ignore[attr-defined]
    assert set(labels) == set(VOCABULARIES)
    for name, enum in VOCABULARIES.items():
        assert set(labels[name]) == {v.value for v in enum}, f"{language}/statuses.txt: {name}"


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("status", list(ClaimStatus), ids=str)
def test_every_claim_status_reaches_the_customer_as_words(status: ClaimStatus, language: str) -> None:
    words = status_text(status, language=language)
    message = render(
        "claim_update",
        language=language,
        variables={"first_name": "Lucía", "claim_number": "SIN-1", "status": status.value},
    )
    for form in (message.text, message.short, message.html):
        assert words in form
        if words != status.value:
            assert status.value not in form, f"the raw status is shown: {form!r}"
    notice = render_inapp(
        "claim_status_changed", language=language, variables={"claim_number": "SIN-1", "status": status}
    )
    assert notice.title.endswith(f"SIN-1: {words}") and words in notice.body


def test_a_new_claim_reads_received_in_spanish_and_english() -> None:
    variables = {"first_name": "Ana", "claim_number": "SIN-2", "status": ClaimStatus.reported.value}
    assert render("claim_update", language="es", variables=variables).short == (
        "Hola Ana, su siniestro SIN-2: recibido."
    )
    assert render("claim_update", language="en", variables=variables).short == (
        "Hello Ana, your claim SIN-2: received."
    )


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("priority", list(TaskPriority), ids=str)
def test_every_task_priority_reaches_the_assignee_as_words(priority: TaskPriority, language: str) -> None:
    notice = render_inapp(
        "task_assigned", language=language, variables={"title": "Llamar", "priority": priority}
    )
    assert status_text(priority, language=language) in notice.body


def test_a_status_outside_the_vocabulary_is_refused_not_shown() -> None:
    with pytest.raises(UnprocessableEntity):
        render(
            "claim_update",
            language="es",
            variables={"first_name": "Ana", "claim_number": "SIN-3", "status": "closed"},
        )
