"""Events of the scraper (carrier-portal jobs).

``carrier.price_observed`` — one per offer a carrier's portal showed for a risk (key: the carrier);
the quote engine keeps them to show a carrier's observed price beside its tariff price.
Money is ``Decimal`` sent as a string.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

from aintech_contracts.events.base import EventData, declare_topic

JOB_TOPIC = declare_topic("scraper.job", 3)

Money = Annotated[Decimal, PlainSerializer(lambda v: str(v), return_type=str, when_used="json")]


class ObservedRisk(BaseModel):
    """The risk the carrier priced (a car and its driver)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    product_type: str = Field(description="`auto`.")
    plate: str
    postal_code: str
    driver_birth_date: date


class CarrierPriceObserved(EventData):
    """A carrier's portal showed this price for this risk (one event per offer)."""

    event_type = "carrier.price_observed"
    topic = JOB_TOPIC
    job_id: UUID
    carrier: str = Field(description="Carrier slug (`mapfre`, `axa`, `allianz`, ...).")
    carrier_name: str
    product: str | None = Field(default=None, description="The carrier's name for the offer.")
    premium: Money = Field(description="Annual premium with taxes, in `currency`.")
    currency: str = "EUR"
    risk: ObservedRisk
    quote_id: UUID | None = Field(default=None, description="The quote-engine quote the job was started for.")
    adapter_version: str
    observed_at: datetime


class ParsedField(BaseModel):
    """One field read from a policy document, with how sure the reader is (0-1)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    value: object
    confidence: float = Field(ge=0, le=1)


class PolicyDocumentParsed(EventData):
    """A carrier's policy document was downloaded and read (key: the carrier). Fields the reader
    could not read are listed in ``unreadable``, never guessed; a consumer proposes, never
    overwrites."""

    event_type = "policy.document_parsed"
    topic = JOB_TOPIC
    job_id: UUID
    carrier: str
    carrier_name: str
    policy_number: str = Field(description="The policy number the job asked for.")
    fields: dict[str, ParsedField] = Field(
        description="policy_number, holder, holder_id (DNI/NIE, check letter verified), start_date, "
        "end_date, premium_total (taxes included), coverages, vehicle_plate or property_address."
    )
    unreadable: list[str]
    pages: int
    parsed_at: datetime


class PortfolioPolicyListed(EventData):
    """A carrier's portal lists this policy in the broker's portfolio (one event per valid row of a
    ``portfolio_sync`` job; key: the carrier). Fields have the shape of a parsed document's (value +
    confidence; a DNI/NIE with a wrong check letter has ``check_letter_valid: false`` and a low
    confidence); what the row did not give is in ``unreadable``. A consumer proposes, never
    overwrites."""

    event_type = "policy.portfolio_listed"
    topic = JOB_TOPIC
    job_id: UUID
    carrier: str
    carrier_name: str
    policy_number: str
    fields: dict[str, ParsedField] = Field(
        description="policy_number, holder, holder_id, start_date, end_date, premium_total (as listed), "
        "product, status (the carrier's word)."
    )
    unreadable: list[str]
    problems: list[str] = Field(default_factory=list, description="What is wrong with the row, if anything.")
    page: int
    listed_at: datetime


class PortfolioSynced(EventData):
    """A ``portfolio_sync`` job walked every page of a carrier's portfolio (key: the carrier),
    published after its ``policy.portfolio_listed`` events. ``policy_numbers`` is everything the
    portal listed: a policy the CRM has with that carrier and not in it is no longer listed."""

    event_type = "portfolio.synced"
    topic = JOB_TOPIC
    job_id: UUID
    carrier: str
    carrier_name: str
    policy_numbers: list[str] = Field(max_length=50_000)
    pages: int
    rows: int = Field(description="Rows read, flagged ones included.")
    flagged: int = Field(description="Rows with a problem (a row without a readable number is not listed).")
    unnumbered: int = Field(
        default=0,
        description="Rows whose policy number could not be read: a policy missing from `policy_numbers` "
        "may be one of them.",
    )
    synced_at: datetime
