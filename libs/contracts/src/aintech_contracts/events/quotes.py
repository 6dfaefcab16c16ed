"""Events of the quote engine (rating and carrier comparison).

``quote.calculated`` is published for every stored calculation and comparison with each offer's
total and the tariff version it pinned; when it answers the CRM's ``quote.pricing_requested`` it
names that request and the CRM creates the quote from it (``quote.pricing_failed`` otherwise).
``tariff.activated`` and ``tariff.retired`` follow a tariff version through its life, so a read
model of which carrier tariffs are live can be kept without calling the engine. Money is
``Decimal`` sent as a string.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

from aintech_contracts.events.base import EventData, declare_topic

QUOTE_TOPIC = declare_topic("quotes.quote", 3)
TARIFF_TOPIC = declare_topic("quotes.tariff", 3)

Money = Annotated[Decimal, PlainSerializer(lambda v: str(v), return_type=str, when_used="json")]
Line = Literal["auto", "home", "life", "health", "business"]


class PricedOffer(BaseModel):
    """One product at one cover level, as priced (``total`` null: ineligible)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    product_code: str
    carrier: str
    cover_level: str
    cover_name: str = ""
    deductible: Money | None = None
    rank: int | None = Field(default=None, description="Place in a comparison's ranking (1 = recommended).")
    tariff_version_id: UUID
    tariff_version: int
    net_premium: Money | None = None
    total: Money | None = None
    eligible: bool


class QuoteCalculated(EventData):
    """A calculation (one offer) or comparison (every offer, ranked) was priced and stored."""

    event_type = "quote.calculated"
    topic = QUOTE_TOPIC
    calculation_id: UUID
    kind: Literal["calculation", "comparison"]
    line: Line
    priced_on: date
    customer_id: UUID | None = None
    risk: dict[str, Any] = Field(default_factory=dict, description="The risk as priced (`line` included).")
    requested_by: UUID | None = None
    offers: list[PricedOffer]
    recommended_product_code: str | None = None
    recommended_cover_level: str | None = None
    crm_request_id: UUID | None = Field(
        default=None, description="The CRM's `quote.pricing_requested` this answers, if any."
    )
    created_at: datetime


class QuotePricingFailed(EventData):
    """A CRM pricing request could not be priced (invalid risk, no product in force, none eligible)."""

    event_type = "quote.pricing_failed"
    topic = QUOTE_TOPIC
    crm_request_id: UUID
    customer_id: UUID
    requested_by: UUID | None = None
    reason: str


class _TariffFields(EventData):
    tariff_version_id: UUID
    product_code: str
    carrier: str
    line: Line
    version: int
    effective_from: date
    effective_to: date | None = None
    digest: str


class TariffActivated(_TariffFields):
    """A tariff version became active (quotes dated inside its validity use it)."""

    event_type = "tariff.activated"
    topic = TARIFF_TOPIC
    activated_at: datetime


class TariffRetired(_TariffFields):
    """A tariff version was retired (by hand, or by a roll back to an earlier version)."""

    event_type = "tariff.retired"
    topic = TARIFF_TOPIC
    retired_at: datetime
