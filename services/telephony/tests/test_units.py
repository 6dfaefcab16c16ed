"""Pure rules: office hours in the office's time zone, routing priority, toll-fraud checks, TwiML."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time

import pytest

from aintech_shared.phones import to_e164
from telephony.core.phones import outbound_refusal
from telephony.providers import twiml
from telephony.queue.service import RoutingFacts, priority_for
from telephony.settings import Settings
from telephony.voice.service import is_open

from .conftest import twiml as parse


def test_office_hours_follow_madrid_time_and_weekdays() -> None:
    settings = Settings(office_opens=time(9), office_closes=time(19), office_days=[0, 1, 2, 3, 4])
    # Monday 2 March 2026: Madrid is UTC+1 in winter.
    assert not is_open(settings, datetime(2026, 3, 2, 7, 59, tzinfo=UTC))
    assert is_open(settings, datetime(2026, 3, 2, 8, 0, tzinfo=UTC))
    assert is_open(settings, datetime(2026, 3, 2, 17, 59, tzinfo=UTC))
    assert not is_open(settings, datetime(2026, 3, 2, 18, 0, tzinfo=UTC))
    # Summer time (UTC+2): 9:00 in Madrid is 7:00 UTC.
    assert is_open(settings, datetime(2026, 7, 6, 7, 0, tzinfo=UTC))
    assert not is_open(settings, datetime(2026, 3, 7, 10, 0, tzinfo=UTC)), "Saturday"


@pytest.mark.parametrize(
    ("department", "claims", "vip", "expected"),
    [
        ("claims", 0, False, 3),
        ("claims", 1, False, 4),
        ("sales", 0, True, 3),
        ("renewals", 2, True, 4),
        ("other", 0, False, 1),
        ("other", 1, True, 3),
    ],
)
def test_priority_rises_with_open_claims_and_vip(
    department: str, claims: int, vip: bool, expected: int
) -> None:
    assert priority_for(department, RoutingFacts(open_claims=claims, vip=vip, last_agent_id=None)) == expected


def test_numbers_are_normalised_and_special_rates_refused() -> None:
    assert to_e164("612 34 56 78") == "+34612345678"
    assert to_e164("+351 912 345 678") == "+351912345678"
    assert to_e164("not a number") is None and to_e164("+34612\x00345678") is None
    allowed = ["ES", "PT"]
    assert outbound_refusal("+34612345678", allowed_regions=allowed) is None
    assert outbound_refusal("+351912345678", allowed_regions=allowed) is None
    assert "not allowed" in (outbound_refusal("+33612345678", allowed_regions=allowed) or "")
    assert "premium-rate" in (outbound_refusal("+34806123456", allowed_regions=allowed) or "")
    assert "shared-cost" in (outbound_refusal("+34902123456", allowed_regions=allowed) or "")
    assert "80x/90x" in (outbound_refusal("+34900123456", allowed_regions=allowed) or "")


def test_twiml_documents_are_valid_xml_with_the_expected_verbs() -> None:
    call_id = uuid.uuid4()
    joined = parse(
        twiml.join_conference(
            call_id, conference_callback="https://x/c?a=1&b=2", wait_url=None, customer=False
        )
    )
    conference = joined.find("Dial/Conference")
    assert conference is not None and conference.text == f"call-{call_id}"
    assert conference.get("statusCallback") == "https://x/c?a=1&b=2"
    assert conference.get("statusCallbackEvent") == "start end join leave"
    menu = parse(twiml.ivr_menu(greeting="Hola", action="https://x/ivr", timeout=5, fallback="https://x/f"))
    assert [child.tag for child in menu] == ["Gather", "Redirect"]
    assert [child.tag for child in parse(twiml.message_and_hangup("Adiós"))] == ["Say", "Hangup"]


def test_vip_segments_are_crm_segments_and_a_typo_is_refused_at_start() -> None:
    assert Settings(vip_segments=["VIP", "premium"]).vip_segments == ["vip", "premium"]
    with pytest.raises(ValueError, match="vip_segments"):
        Settings(vip_segments=["gold"])
