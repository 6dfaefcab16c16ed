"""The policy events' payloads, built from a row."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from aintech_contracts.events.crm import PolicyCancelled, PolicyCreated, PolicyExpiringSoon, PolicyRenewed
from core_crm.policies.models import Policy


def _fields(policy: Policy) -> dict[str, object]:
    return {
        "policy_id": policy.id,
        "policy_number": policy.policy_number,
        "policy_type": policy.policy_type,
        "carrier": policy.carrier,
        "customer_id": policy.customer_id,
        "status": policy.status,
        "coverage_start_date": policy.coverage_start_date,
        "coverage_end_date": policy.coverage_end_date,
        "premium_amount": policy.premium_amount,
        "premium_frequency": policy.premium_frequency,
        "coverage_amount": policy.coverage_amount,
    }


def created(policy: Policy, *, quote_id: uuid.UUID | None = None) -> PolicyCreated:
    return PolicyCreated.model_validate({**_fields(policy), "quote_id": quote_id})


def renewed(
    policy: Policy,
    *,
    previous_start: date,
    previous_end: date,
    previous_premium: Decimal,
    automatic: bool = False,
) -> PolicyRenewed:
    return PolicyRenewed.model_validate(
        {
            **_fields(policy),
            "previous_start_date": previous_start,
            "previous_end_date": previous_end,
            "previous_premium_amount": previous_premium,
            "term_number": policy.term_number,
            "automatic": automatic,
        }
    )


def cancelled(policy: Policy) -> PolicyCancelled:
    assert policy.cancelled_at is not None and policy.cancellation_reason is not None
    return PolicyCancelled(
        policy_id=policy.id,
        policy_number=policy.policy_number,
        policy_type=policy.policy_type,
        carrier=policy.carrier,
        customer_id=policy.customer_id,
        reason=policy.cancellation_reason,
        cancelled_at=policy.cancelled_at,
    )


def expiring_soon(policy: Policy, *, today: date) -> PolicyExpiringSoon:
    return PolicyExpiringSoon(
        policy_id=policy.id,
        policy_number=policy.policy_number,
        policy_type=policy.policy_type,
        carrier=policy.carrier,
        customer_id=policy.customer_id,
        coverage_end_date=policy.coverage_end_date,
        days_left=(policy.coverage_end_date - today).days,
        premium_amount=policy.premium_amount,
    )
