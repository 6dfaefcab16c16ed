"""Events of the core CRM (customers, policies, claims, quotes, interactions, tasks, workflows).

Payloads carry what other services need to keep a local read model without calling the CRM:
a customer's names, contact points and segment; a policy's number, carrier, term and premium; a
claim's amounts, status and adjuster; a quote's carrier comparison. Money is ``Decimal``, sent
as a JSON string (``"612.40"``) so no amount is ever rounded through a float. Dates of a policy
term are calendar dates (``YYYY-MM-DD``); instants are ISO 8601 in UTC. Statuses, segments and
priorities are the vocabularies of ``aintech_contracts.statuses``: a value outside them is refused.

``interaction.logged`` is the one event of this catalogue the CRM does not publish: telephony
(every call) and omnichannel (every WhatsApp, SMS, e-mail and chat message) publish it on
``crm.interaction``, the intake of the customer timeline; the CRM consumes it and matches the
customer by id, or else by phone (E.164) or e-mail.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, model_validator

from aintech_contracts import identifiers
from aintech_contracts.events.base import EventData, declare_topic
from aintech_contracts.identifiers import DIGEST_PATTERN
from aintech_contracts.statuses import (
    ClaimStatus,
    CustomerSegment,
    CustomerStatus,
    PolicyStatus,
    QuoteStatus,
    TaskPriority,
)

CUSTOMER_TOPIC = declare_topic("crm.customer", 6)
POLICY_TOPIC = declare_topic("crm.policy", 6)
CLAIM_TOPIC = declare_topic("crm.claim", 6)
QUOTE_TOPIC = declare_topic("crm.quote", 3)
INTERACTION_TOPIC = declare_topic("crm.interaction", 6)
TASK_TOPIC = declare_topic("crm.task", 3)
NOTIFICATION_TOPIC = declare_topic("crm.notification", 3)

# Amounts travel as strings with their exact digits ("1234.50").
Money = Annotated[Decimal, PlainSerializer(lambda v: str(v), return_type=str, when_used="json")]

Channel = Literal["call", "email", "sms", "whatsapp", "meeting", "chat"]
Direction = Literal["inbound", "outbound"]


# --- customers ---------------------------------------------------------------------------------


class _CustomerFields(EventData):
    """What every customer event carries: enough for a local read model of the person."""

    customer_id: UUID
    customer_type: Literal["individual", "business"]
    first_name: str
    last_name: str
    company_name: str | None = None
    email: str | None = None
    phone: str | None = Field(default=None, description="E.164")
    mobile: str | None = Field(default=None, description="E.164")
    preferred_channel: Channel | None = None
    preferred_language: str = "es"
    segment: CustomerSegment | None = None
    status: CustomerStatus
    province: str | None = None
    user_id: UUID | None = Field(default=None, description="The linked customer account, if any.")
    # Identifiers for fraud checks (ai-fraud's ring detection): keyed digests, never the values
    # (``aintech_contracts.identifiers``); the last characters say which one to a person.
    dni_digest: str | None = Field(
        default=None, pattern=DIGEST_PATTERN, description="HMAC-SHA256 of the DNI/NIE/CIF's compact form."
    )
    dni_last3: str | None = Field(default=None, max_length=3, description="Its last three characters.")
    iban_digest: str | None = Field(
        default=None, pattern=DIGEST_PATTERN, description="HMAC-SHA256 of the IBAN's compact form."
    )
    iban_last4: str | None = Field(default=None, max_length=4, description="Its last four characters.")
    address_line1: str | None = None
    postal_code: str | None = None
    city: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _without_clear_identifiers(cls, data: Any) -> Any:
        """An event published before the digests (``dni``/``iban`` in clear, still in the topic's
        retention) is read without the values: only the last characters are kept, never the rest."""
        if isinstance(data, dict) and ("dni" in data or "iban" in data):
            data = dict(data)
            dni, iban = data.pop("dni", None), data.pop("iban", None)
            data.setdefault("dni_last3", identifiers.last(dni, 3))
            data.setdefault("iban_last4", identifiers.last(iban, 4))
        return data


class CustomerCreated(_CustomerFields):
    """A customer was created (by an agent, a conversion or the seed).

    The customer's DNI/NIE/CIF and IBAN are not in the payload: ``dni_digest`` and ``iban_digest``
    are keyed digests (HMAC-SHA256 of the compact form, ``aintech_contracts.identifiers``), equal
    for equal values, and ``dni_last3`` / ``iban_last4`` tell a person which one it is. Staff read
    the values from the CRM's API.
    """

    event_type = "customer.created"
    topic = CUSTOMER_TOPIC
    created_by: UUID | None = None


class CustomerUpdated(_CustomerFields):
    """A customer's data changed (edit, segmentation, account link, merge survivor, erasure).

    Same payload as ``customer.created`` (identifiers as keyed digests); ``changed_fields`` names
    the CRM's fields (``dni``, ``iban``, ...), not the payload's.
    """

    event_type = "customer.updated"
    topic = CUSTOMER_TOPIC
    changed_fields: list[str]
    version: int


class CustomerDeleted(EventData):
    """A customer is gone from the CRM: deleted, merged into another, or erased under GDPR.

    Consumers drop their copy of the person's data; after ``merged`` they re-point the records
    to ``merged_into``.
    """

    event_type = "customer.deleted"
    topic = CUSTOMER_TOPIC
    customer_id: UUID
    reason: Literal["deleted", "merged", "erased"]
    merged_into: UUID | None = None
    deleted_at: datetime


class LeadReceived(EventData):
    """A lead arrived through a signed inbound webhook (a web form, Zapier).

    It was matched to a live customer by e-mail, phone or DNI/NIE, or created as a prospect. It
    starts the lead workflows (any workflow triggered by `lead.received`).
    """

    event_type = "lead.received"
    topic = CUSTOMER_TOPIC
    lead_id: UUID
    customer_id: UUID
    source: str
    campaign: str | None = None
    matched: bool = Field(description="True when an existing customer was found (no new record).")
    matched_by: Literal["email", "phone", "dni"] | None = None
    received_at: datetime


# --- policies ----------------------------------------------------------------------------------


class _PolicyFields(EventData):
    policy_id: UUID
    policy_number: str
    policy_type: Literal["auto", "home", "life", "health", "business"]
    carrier: str
    customer_id: UUID
    status: PolicyStatus
    coverage_start_date: date
    coverage_end_date: date
    premium_amount: Money
    premium_frequency: str
    coverage_amount: Money | None = None


class PolicyCreated(_PolicyFields):
    """A policy was sold (directly, or by converting a quote)."""

    event_type = "policy.created"
    topic = POLICY_TOPIC
    quote_id: UUID | None = None


class PolicyRenewed(_PolicyFields):
    """A policy entered a new term; the previous term is kept in its history."""

    event_type = "policy.renewed"
    topic = POLICY_TOPIC
    previous_start_date: date
    previous_end_date: date
    previous_premium_amount: Money
    term_number: int
    automatic: bool = Field(
        default=False,
        description="Renewed by the CRM on its own (the policy's `auto_renew`, priced by the quote "
        "engine) rather than by an agent.",
    )


class PolicyCancelled(EventData):
    """A policy was cancelled before the end of its term."""

    event_type = "policy.cancelled"
    topic = POLICY_TOPIC
    policy_id: UUID
    policy_number: str
    policy_type: str
    carrier: str
    customer_id: UUID
    reason: str
    cancelled_at: datetime


class PolicyExpiringSoon(EventData):
    """A policy's current term ends within the warning window (published once per term)."""

    event_type = "policy.expiring_soon"
    topic = POLICY_TOPIC
    policy_id: UUID
    policy_number: str
    policy_type: str
    carrier: str
    customer_id: UUID
    coverage_end_date: date
    days_left: int
    premium_amount: Money


# --- claims ------------------------------------------------------------------------------------


class ClaimCreated(EventData):
    """A customer reported a claim against one of their policies."""

    event_type = "claim.created"
    topic = CLAIM_TOPIC
    claim_id: UUID
    claim_number: str
    claim_type: str
    status: ClaimStatus
    customer_id: UUID
    policy_id: UUID
    policy_number: str
    incident_date: datetime
    location: str | None = None
    description: str
    claimed_amount: Money | None = None
    adjuster_id: UUID | None = None
    attributes: dict[str, Any] = Field(
        default_factory=dict,
        description="The claim's free-form details (police_report, witnesses, workshop, plate, "
        "damage_type, …) as typed in by the agent.",
    )


class ClaimUpdated(EventData):
    """A claim changed: fields edited, investigation started, or an adjuster assigned."""

    event_type = "claim.updated"
    topic = CLAIM_TOPIC
    claim_id: UUID
    claim_number: str
    status: ClaimStatus
    previous_status: ClaimStatus | None = None
    customer_id: UUID
    policy_id: UUID
    claimed_amount: Money | None = None
    adjuster_id: UUID | None = None
    changed_fields: list[str]
    claim_type: str | None = None
    incident_date: datetime | None = None
    location: str | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)


class ClaimApproved(EventData):
    """A claim was approved for an amount within the policy's coverage."""

    event_type = "claim.approved"
    topic = CLAIM_TOPIC
    claim_id: UUID
    claim_number: str
    customer_id: UUID
    policy_id: UUID
    claimed_amount: Money | None = None
    approved_amount: Money
    adjuster_id: UUID | None = None
    approved_by: UUID


class ClaimDenied(EventData):
    """A claim was denied, with the reason given to the customer."""

    event_type = "claim.denied"
    topic = CLAIM_TOPIC
    claim_id: UUID
    claim_number: str
    customer_id: UUID
    policy_id: UUID
    reason: str
    adjuster_id: UUID | None = None
    denied_by: UUID


class ClaimPaid(EventData):
    """The approved amount of a claim was paid out."""

    event_type = "claim.paid"
    topic = CLAIM_TOPIC
    claim_id: UUID
    claim_number: str
    customer_id: UUID
    policy_id: UUID
    approved_amount: Money
    paid_amount: Money
    payment_reference: str | None = None
    paid_at: datetime


class ClaimDocumentAdded(EventData):
    """A file (photo, PDF) was uploaded to a claim.

    The bytes are in the platform's object store (``aintech_shared.objectstore``, the same store
    for every service) under ``object_key``; ``sha256`` is the digest recorded at upload, so a
    reader can check what it fetched. The type was recognised from the content, not the name.
    """

    event_type = "claim.document_added"
    topic = CLAIM_TOPIC
    claim_id: UUID
    claim_number: str
    customer_id: UUID
    policy_id: UUID
    document_id: UUID
    object_key: str
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="Hex SHA-256 of the whole file.")
    content_type: Literal["image/jpeg", "image/png", "image/heic", "application/pdf"]
    size: int = Field(ge=0, description="Bytes.")
    name: str = Field(description="The file name as uploaded (shown to people, never used as a path).")
    document_type: str | None = None
    uploaded_by: UUID | None = None


# --- quotes ------------------------------------------------------------------------------------


class CarrierOffer(BaseModel):
    """One carrier's price in a quote's comparison."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    carrier: str
    premium: Money
    coverage_amount: Money | None = None
    deductible: Money | None = None


class QuoteCreated(EventData):
    """A quote was prepared for a customer, with the carriers compared."""

    event_type = "quote.created"
    topic = QUOTE_TOPIC
    quote_id: UUID
    quote_number: str
    quote_type: str
    customer_id: UUID
    status: QuoteStatus
    base_premium: Money
    total_premium: Money
    valid_until: datetime | None = None
    carriers: list[CarrierOffer]
    best_carrier: str | None = None


class QuotePricingRequested(EventData):
    """An agent asked for a quote priced by the quote engine (``risk`` in the engine's terms).

    The engine consumes it, compares every eligible product and answers with ``quote.calculated``
    (``crm_request_id`` = ``request_id``) or ``quote.pricing_failed``; the CRM then creates the
    quote from the engine's figures. Kafka keeps the request while the engine is down."""

    event_type = "quote.pricing_requested"
    topic = QUOTE_TOPIC
    request_id: UUID
    customer_id: UUID
    quote_type: Literal["auto", "home", "life", "health", "business"]
    risk: dict[str, Any]
    cover_levels: list[str] | None = None
    carriers: list[str] | None = None
    notes: str | None = None
    valid_until: datetime | None = None
    requested_by: UUID | None = None
    requested_at: datetime
    effective_date: date | None = Field(
        default=None,
        description="Price with the tariffs in force on this day (a renewal: the renewal date); "
        "default: the day it is priced.",
    )
    purpose: Literal["quote", "renewal"] = Field(
        default="quote", description="`renewal`: the CRM's automatic renewal of a policy, not a new quote."
    )


class QuoteConverted(EventData):
    """A customer accepted a quote and it became a policy (once per quote)."""

    event_type = "quote.converted"
    topic = QUOTE_TOPIC
    quote_id: UUID
    quote_number: str
    customer_id: UUID
    policy_id: UUID
    policy_number: str
    carrier: str
    total_premium: Money
    converted_at: datetime


# --- interactions ------------------------------------------------------------------------------


class InteractionCreated(EventData):
    """A contact with a customer is on their timeline (logged by an agent or taken in from
    ``interaction.logged``)."""

    event_type = "interaction.created"
    topic = INTERACTION_TOPIC
    interaction_id: UUID
    customer_id: UUID
    type: Channel
    direction: Direction | None = None
    subject: str | None = None
    outcome: str | None = None
    agent_id: UUID | None = None
    duration_seconds: int | None = None
    occurred_at: datetime
    source: str = Field(description="crm, telephony or omnichannel")


class InteractionLogged(EventData):
    """A call or message happened (published by telephony and omnichannel, not by the CRM).

    The CRM puts it on the customer's timeline: matched by ``customer_id`` when the publisher
    knows it, otherwise by ``phone`` (E.164) or ``email``. ``external_id`` (a call SID, a
    message id) makes a redelivery a no-op. Key: the customer id when known, else the phone or
    e-mail.
    """

    event_type = "interaction.logged"
    topic = INTERACTION_TOPIC
    source: Literal["telephony", "omnichannel"]
    external_id: str = Field(min_length=1, max_length=100)
    type: Channel
    direction: Direction
    occurred_at: datetime
    customer_id: UUID | None = None
    phone: str | None = Field(default=None, description="E.164")
    email: str | None = None
    agent_id: UUID | None = None
    subject: str | None = Field(default=None, max_length=255)
    summary: str | None = None
    outcome: str | None = Field(default=None, max_length=100)
    duration_seconds: int | None = Field(default=None, ge=0)
    recording_url: str | None = Field(default=None, max_length=500)
    # A call's recording consent (GDPR/LOPDGDD): the caller heard the notice and did not refuse
    # ("given"), or refused with a key ("refused"); None when not asked.
    recording_consent: Literal["given", "refused"] | None = None


class InteractionTranscribed(EventData):
    """The provider's transcript of a recorded call arrived after the call was logged: the CRM
    attaches it to that interaction (matched by ``source`` + ``external_id``), where agents can
    search it. Same topic and key as ``interaction.logged``, so it arrives after it."""

    event_type = "interaction.transcribed"
    topic = INTERACTION_TOPIC
    source: Literal["telephony"]
    external_id: str = Field(min_length=1, max_length=100)
    transcript: str = Field(max_length=20_000)
    transcribed_at: datetime


# --- tasks -------------------------------------------------------------------------------------


class TaskCreated(EventData):
    """A task was created (by an agent, a consumer or a workflow)."""

    event_type = "task.created"
    topic = TASK_TOPIC
    task_id: UUID
    title: str
    task_type: str | None = None
    priority: TaskPriority
    assigned_to: UUID | None = None
    customer_id: UUID | None = None
    policy_id: UUID | None = None
    claim_id: UUID | None = None
    due_date: datetime | None = None
    created_by: UUID | None = None


class TaskCompleted(EventData):
    """A task was done."""

    event_type = "task.completed"
    topic = TASK_TOPIC
    task_id: UUID
    title: str
    assigned_to: UUID | None = None
    customer_id: UUID | None = None
    completed_at: datetime
    completed_by: UUID | None = None


# --- outgoing e-mail ---------------------------------------------------------------------------


class EmailRequested(EventData):
    """The CRM asks omnichannel to deliver an e-mail (a quote, a workflow's ``send_email`` step).

    ``template`` names the message; ``subject`` and ``body_text`` are already rendered, and
    ``variables`` carries the values for a richer template on the delivery side. ``request_id``
    is unique: deliver each at most once.
    """

    event_type = "crm.email_requested"
    topic = NOTIFICATION_TOPIC
    request_id: UUID
    to: str
    to_name: str | None = None
    subject: str
    body_text: str
    template: str
    language: str = "es"
    variables: dict[str, str] = Field(default_factory=dict)
    customer_id: UUID | None = None
    related_type: str | None = None
    related_id: UUID | None = None


# --- proving a new contact detail -----------------------------------------------------------------


class ContactCodeRequested(EventData):
    """A customer asked to change their own phone, mobile or e-mail: omnichannel sends ``code`` to the
    new number (SMS) or address (e-mail), which the customer types back to prove they hold it. The
    code is a secret: delivered once, stored redacted."""

    event_type = "crm.contact_code_requested"
    topic = NOTIFICATION_TOPIC
    change_id: UUID
    customer_id: UUID
    field: Literal["phone", "mobile", "email"]
    channel: Literal["sms", "email"] = "sms"
    to: str = Field(description="E.164 for a phone, else the e-mail address")
    first_name: str
    language: str = "es"
    code: str
    expires_at: datetime
