"""The CRM's customers, policies and claims as ai-fraud keeps them, and a claim's features.

Each event overwrites the row (events of one aggregate arrive in order, keyed by its id). A
customer's bank account or address change is timestamped when ``customer.updated`` names it, which
is what the "changed shortly before" rule reads. A customer's DNI/NIE and IBAN are known only as
the CRM's keyed digests (and last characters): equal values link customers, the values never
reach this service.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from ai_fraud.core.base import utcnow
from ai_fraud.core.features import FeatureVector
from ai_fraud.readmodel import normalise, repository
from ai_fraud.readmodel.models import FraudClaim, FraudCustomer, FraudPolicy
from aintech_contracts.events.crm import (
    ClaimCreated,
    ClaimUpdated,
    CustomerCreated,
    CustomerDeleted,
    CustomerUpdated,
    PolicyCancelled,
    PolicyCreated,
    PolicyRenewed,
)

LOCAL_TZ = ZoneInfo("Europe/Madrid")
# What each kind of policy covers; a claim type covered only by other kinds is inconsistent.
COVERS: dict[str, frozenset[str]] = {
    "auto": frozenset({"collision", "glass", "theft", "vandalism", "fire", "injury", "towing", "accident"}),
    "home": frozenset(
        {"water_damage", "fire", "theft", "storm", "glass", "vandalism", "liability", "electrical"}
    ),
    "life": frozenset({"death", "disability"}),
    "health": frozenset({"hospitalisation", "surgery", "medical", "injury"}),
    "business": frozenset(
        {"liability", "property_damage", "fire", "theft", "water_damage", "business_interruption"}
    ),
}
KNOWN_DAMAGE = frozenset().union(*COVERS.values())
CLAIM_LINKS = ("workshop", "lawyer", "clinic")


@dataclass
class ClaimFacts:
    """What scoring knows of a claim: saved (from the read model) or typed into `analyze`."""

    claim_id: uuid.UUID | None
    claim_number: str | None
    customer_id: uuid.UUID | None
    policy_id: uuid.UUID | None
    claim_type: str
    incident_date: datetime
    reported_at: datetime
    claimed_amount: Decimal | None
    attributes: dict[str, Any]


# --- events -> read model -----------------------------------------------------------------------


def _customer_identifiers(c: CustomerCreated | CustomerUpdated) -> list[tuple[str, str]]:
    found = [
        ("dni", c.dni_digest),
        ("iban", c.iban_digest),
        ("email", normalise.email(c.email)),
        ("phone", normalise.phone(c.phone)),
        ("phone", normalise.phone(c.mobile)),
        ("address", normalise.address(c.address_line1, c.postal_code, c.city)),
    ]
    return [(k, v) for k, v in found if v]


def _iban_differs(previous: FraudCustomer, data: CustomerCreated | CustomerUpdated) -> bool:
    """Whether the bank account differs from the one kept. A row kept from before the digests has
    the account's last four characters and no digest: only those can be compared."""
    if previous.iban_digest is None and previous.iban_last4 is not None:
        return previous.iban_last4 != data.iban_last4
    return previous.iban_digest != data.iban_digest


async def apply_customer(
    session: AsyncSession, *, data: CustomerCreated | CustomerUpdated, at: datetime
) -> None:
    """A customer created or changed (bank account and address changes are timestamped)."""
    previous = await repository.customer(session, data.customer_id)
    changed = set(getattr(data, "changed_fields", []))
    iban_at = previous.iban_changed_at if previous else None
    address_at = previous.address_changed_at if previous else None
    if previous is not None:
        if "iban" in changed or _iban_differs(previous, data):
            iban_at = at
        new_address = normalise.address(data.address_line1, data.postal_code, data.city)
        if changed & {"address_line1", "postal_code", "city"} or (previous.address or None) != new_address:
            address_at = at
    await repository.upsert(
        session,
        FraudCustomer,
        {
            "id": data.customer_id,
            "preferred_language": (data.preferred_language or "es")[:5],
            "dni_digest": data.dni_digest,
            "dni_last3": data.dni_last3,
            "iban_digest": data.iban_digest,
            "iban_last4": data.iban_last4,
            "email": data.email,
            "phone": data.phone,
            "mobile": data.mobile,
            "address": normalise.address(data.address_line1, data.postal_code, data.city),
            "iban_changed_at": iban_at,
            "address_changed_at": address_at,
            "deleted": False,
            "updated_at": utcnow(),
        },
    )
    await repository.replace_identifiers(
        session,
        owner_kind="customer",
        owner_id=data.customer_id,
        customer_id=data.customer_id,
        identifiers=_customer_identifiers(data),
    )


async def forget_customer(session: AsyncSession, *, data: CustomerDeleted) -> None:
    """Deleted, merged or erased: the person's identifiers go (no ring links through them)."""
    await repository.replace_identifiers(
        session,
        owner_kind="customer",
        owner_id=data.customer_id,
        customer_id=data.customer_id,
        identifiers=[],
    )
    row = await repository.customer(session, data.customer_id)
    if row is not None:
        row.deleted = True
        row.dni_digest = row.dni_last3 = row.iban_digest = row.iban_last4 = None
        row.email = row.phone = row.mobile = row.address = None


# What scoring reads of a policy: a change to any of these rescores the policy's open claims.
POLICY_FACTS = ("policy_type", "coverage_start_date", "coverage_end_date", "coverage_amount")


async def apply_policy(session: AsyncSession, *, data: PolicyCreated | PolicyRenewed) -> bool:
    """A policy created or renewed. True when scoring's view of it changed (it is new to the read
    model, or its type, dates or coverage changed): its open claims were scored without it."""
    await repository.lock_policy(session, data.policy_id)
    previous = await repository.policy(session, data.policy_id)
    before = tuple(getattr(previous, f) for f in POLICY_FACTS) if previous is not None else None
    values = {
        "id": data.policy_id,
        "customer_id": data.customer_id,
        "policy_number": data.policy_number,
        "policy_type": data.policy_type,
        "status": data.status,
        "coverage_start_date": data.coverage_start_date,
        "coverage_end_date": data.coverage_end_date,
        "coverage_amount": data.coverage_amount,
        "updated_at": utcnow(),
    }
    await repository.upsert(session, FraudPolicy, values)
    if previous is not None:
        await session.refresh(previous)
    return before != tuple(values[f] for f in POLICY_FACTS)


async def cancel_policy(session: AsyncSession, *, data: PolicyCancelled) -> None:
    """A cancelled policy keeps its facts (no feature reads the status): nothing to rescore."""
    row = await repository.policy(session, data.policy_id)
    if row is not None:
        row.status = "cancelled"


async def lock_policy_of_claim(session: AsyncSession, *, claim_id: uuid.UUID) -> None:
    """Take the lock a policy's arrival takes (see ``apply_policy``) for a saved claim's policy."""
    await repository.lock_policy_of_claim(session, claim_id)


async def open_claims_of_policy(session: AsyncSession, *, policy_id: uuid.UUID) -> list[uuid.UUID]:
    return await repository.open_claims_of_policy(session, policy_id)


def _claim_identifiers(attributes: dict[str, Any]) -> list[tuple[str, str]]:
    found = [("plate", normalise.compact(_text(attributes.get("plate"))))]
    found += [(k, normalise.name(_text(attributes.get(k)))) for k in CLAIM_LINKS]
    return [(k, v) for k, v in found if v]


def _text(value: Any) -> str | None:
    return value[:200] if isinstance(value, str) else None


async def apply_claim(
    session: AsyncSession, *, data: ClaimCreated | ClaimUpdated, at: datetime
) -> FraudClaim:
    """A claim created or changed; returns the row as it now is."""
    row = await repository.claim(session, data.claim_id)
    if row is None:
        incident = getattr(data, "incident_date", None) or at
        row = FraudClaim(
            id=data.claim_id,
            claim_number=data.claim_number,
            customer_id=data.customer_id,
            policy_id=data.policy_id,
            claim_type=getattr(data, "claim_type", None) or "unknown",
            status=data.status,
            incident_date=incident,
            reported_at=at,
            claimed_amount=data.claimed_amount,
            location=data.location,
            description=getattr(data, "description", None),
            attributes=dict(data.attributes),
        )
        session.add(row)
    else:
        row.status = data.status
        row.claimed_amount = data.claimed_amount
        row.customer_id = data.customer_id
        row.policy_id = data.policy_id
        if data.claim_type:
            row.claim_type = data.claim_type
        if data.incident_date:
            row.incident_date = data.incident_date
        if data.location is not None:
            row.location = data.location
        if data.attributes or isinstance(data, ClaimCreated):
            row.attributes = dict(data.attributes)
        row.updated_at = utcnow()
    await session.flush()
    await repository.replace_identifiers(
        session,
        owner_kind="claim",
        owner_id=row.id,
        customer_id=row.customer_id,
        identifiers=_claim_identifiers(row.attributes),
    )
    return row


async def facts_of(
    session: AsyncSession, *, claim_id: uuid.UUID, with_policy: bool = False
) -> ClaimFacts | None:
    """A saved claim's facts; ``with_policy`` loads its policy and customer in the same round trip
    (what scoring reads next)."""
    if with_policy:
        row = await repository.claim_with_policy_and_customer(session, claim_id)
    else:
        row = await repository.claim(session, claim_id)
    if row is None:
        return None
    return ClaimFacts(
        claim_id=row.id,
        claim_number=row.claim_number,
        customer_id=row.customer_id,
        policy_id=row.policy_id,
        claim_type=row.claim_type,
        incident_date=row.incident_date,
        reported_at=row.reported_at,
        claimed_amount=row.claimed_amount,
        attributes=dict(row.attributes),
    )


async def language_of(session: AsyncSession, customer_id: uuid.UUID | None) -> str:
    row = await repository.customer(session, customer_id) if customer_id else None
    return row.preferred_language if row else "es"


# --- features ------------------------------------------------------------------------------------


def _days(later: datetime, earlier: datetime) -> float:
    return round((later - earlier).total_seconds() / 86400, 2)


def _bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        v = value.strip().lower()
        if v in ("yes", "si", "sí", "true", "1"):
            return True
        if v in ("no", "false", "0"):
            return False
    return None


def _count(value: Any) -> float | None:
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float):
        return float(max(0, min(value, 1000)))
    if isinstance(value, list):
        return float(len(value))
    return None


def damage_inconsistent(policy_type: str | None, claim_type: str, damage_type: str | None) -> bool | None:
    """True when the damage is one only other kinds of policy cover (a "fire" on a life policy)."""
    if policy_type not in COVERS:
        return None
    damages = {claim_type.lower(), (damage_type or "").lower()} & KNOWN_DAMAGE
    if not damages:
        return None
    return not damages <= COVERS[policy_type]


class PolicyFacts(NamedTuple):
    """What features read of a claim's policy."""

    policy_type: str
    coverage_start_date: date
    coverage_end_date: date
    coverage_amount: Decimal | None


class CustomerFacts(NamedTuple):
    """What features read of a claim's customer."""

    iban_changed_at: datetime | None
    address_changed_at: datetime | None


async def features_of(session: AsyncSession, *, facts: ClaimFacts) -> FeatureVector:
    """Every catalogue feature of a claim except the ring ones (added by scoring)."""
    policy = await repository.policy(session, facts.policy_id) if facts.policy_id else None
    customer = await repository.customer(session, facts.customer_id) if facts.customer_id else None
    prior = None
    if facts.customer_id is not None:
        incident = _aware(facts.incident_date)
        prior = await repository.claims_between(
            session,
            customer_id=facts.customer_id,
            start=incident - PRIOR_WINDOW,
            end=incident,
            exclude=facts.claim_id,
        )
    return build_features(
        facts,
        policy=(
            PolicyFacts(
                policy.policy_type,
                policy.coverage_start_date,
                policy.coverage_end_date,
                policy.coverage_amount,
            )
            if policy
            else None
        ),
        customer=CustomerFacts(customer.iban_changed_at, customer.address_changed_at) if customer else None,
        prior_claims=prior,
    )


# The window of "the customer's other claims in 12 months" before the incident (scoring's one
# statement counts the same window in SQL: ``interval '8760 hours'``).
PRIOR_WINDOW = timedelta(days=365)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def build_features(
    facts: ClaimFacts,
    *,
    policy: PolicyFacts | None,
    customer: CustomerFacts | None,
    prior_claims: int | None,
) -> FeatureVector:
    """The features of a claim from its facts, its policy's and customer's, and the number of the
    customer's other claims in the 12 months before the incident (None: no customer)."""
    incident = _aware(facts.incident_date)
    start = datetime.combine(policy.coverage_start_date, datetime.min.time(), UTC) if policy else None
    end = datetime.combine(policy.coverage_end_date, datetime.min.time(), UTC) if policy else None
    amount = float(facts.claimed_amount) if facts.claimed_amount is not None else None
    coverage = float(policy.coverage_amount) if policy and policy.coverage_amount else None
    hour = incident.astimezone(LOCAL_TZ).hour
    attrs = facts.attributes
    iban_at = customer.iban_changed_at if customer else None
    address_at = customer.address_changed_at if customer else None
    policy_type = policy.policy_type if policy else None
    features: FeatureVector = {
        "days_since_policy_start": _days(incident, start) if start else None,
        "days_to_policy_end": _days(end, incident) if end else None,
        "claimed_amount": amount,
        "coverage_amount": coverage,
        "amount_to_coverage_ratio": round(amount / coverage, 4) if amount is not None and coverage else None,
        "claims_last_12m": float(prior_claims) if prior_claims is not None else None,
        "incident_hour": float(hour),
        "night_incident": hour >= 22 or hour < 6,
        "police_report": _bool(attrs.get("police_report")),
        "witnesses": _count(attrs.get("witnesses")),
        "days_since_iban_change": _days(facts.reported_at, iban_at) if iban_at else None,
        "days_since_address_change": _days(facts.reported_at, address_at) if address_at else None,
        "days_to_report": max(0.0, _days(facts.reported_at, incident)),
        "claim_type": facts.claim_type,
        "policy_type": policy_type,
        "damage_inconsistent_with_cover": damage_inconsistent(
            policy_type, facts.claim_type, _text(attrs.get("damage_type"))
        ),
    }
    return features


def identifiers_for_facts(facts: ClaimFacts) -> list[tuple[str, str]]:
    """The claim-level identifiers (plate, workshop, lawyer, clinic) of a claim's facts."""
    return _claim_identifiers(facts.attributes)
