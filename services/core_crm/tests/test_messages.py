"""The CRM's own customer-facing text (the quote e-mail) comes from its templates, in Spanish and
English, for every kind of insurance a quote can be for."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from aintech_contracts.events.crm import CarrierOffer, QuoteCreated
from aintech_contracts.statuses import PolicyStatus, QuoteStatus
from core_crm.consumers import quote_email_message
from core_crm.policies.models import PolicyType
from core_crm.renewals.service import POLICY_STATUS_ES


def quote(quote_type: str, *offers: tuple[str, str]) -> QuoteCreated:
    return QuoteCreated(
        quote_id=uuid.uuid4(),
        quote_number="Q-2026-0042",
        quote_type=quote_type,
        customer_id=uuid.uuid4(),
        status=QuoteStatus.sent,
        base_premium=Decimal("500"),
        total_premium=Decimal("480.00"),
        valid_until=datetime(2026, 7, 1, 10, tzinfo=UTC),
        carriers=[CarrierOffer(carrier=c, premium=Decimal(p)) for c, p in offers],
    )


@pytest.mark.parametrize("language", ["es", "en"])
@pytest.mark.parametrize("kind", list(PolicyType), ids=str)
def test_the_quote_email_names_every_kind_of_insurance_in_both_languages(
    kind: PolicyType, language: str
) -> None:
    message = quote_email_message("Ana", quote(kind.value, ("Zurich", "480.00")), language=language)
    assert "Q-2026-0042" in message.subject
    assert f" {kind.value} " not in message.text or language == "en", "the raw type is shown in Spanish"
    assert "Zurich: 480.00" in message.text and "2026-07-01" in message.text


def test_the_quote_email_compares_the_carriers_in_the_customers_language() -> None:
    offers = (("Zurich", "480.00"), ("Generali", "510.00"))
    spanish = quote_email_message("Ana", quote("home", *offers), language="es-ES")
    assert spanish.subject == "Tu presupuesto Q-2026-0042"
    assert "Hola Ana" in spanish.text and "seguro de hogar" in spanish.text
    assert "- Zurich: 480.00 €/año\n- Generali: 510.00 €/año" in spanish.text
    english = quote_email_message("John", quote("auto", *offers), language="en")
    assert english.subject == "Your quote Q-2026-0042"
    assert "Hello John" in english.text and "your car insurance" in english.text
    assert "Total premium: 480.00 €/year. Valid until 2026-07-01." in english.text
    unknown = quote_email_message("Ana", quote("life"), language="fr")
    assert unknown.subject.startswith("Tu presupuesto") and "- Total: 480.00 €/año" in unknown.text


def test_every_policy_status_reads_as_words_in_the_agents_renewal_task() -> None:
    assert set(POLICY_STATUS_ES) == set(PolicyStatus)
    assert all(text and text not in {s.value for s in PolicyStatus} for text in POLICY_STATUS_ES.values())
