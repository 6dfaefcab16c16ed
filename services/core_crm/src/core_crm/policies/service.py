"""Policy rules: the lifecycle (pending -> active -> expired | cancelled; renewals add terms)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from aintech_contracts.rbac import Role
from aintech_shared.errors import Conflict, Forbidden, NotFound, UnprocessableEntity
from core_crm.core.base import today, utcnow
from core_crm.core.numbers import next_number
from core_crm.core.preconditions import check_version
from core_crm.core.runtime import Runtime
from core_crm.customers import service as customers
from core_crm.customers.access import Viewer
from core_crm.policies import events, repository
from core_crm.policies.models import PAYMENTS_PER_YEAR, Policy, PolicyStatus, PolicyTerm
from core_crm.policies.schemas import PolicyCreate, validate_details

MAX_TERM_DAYS = 366 * 5


def _field_error(field: str, message: str) -> UnprocessableEntity:
    return UnprocessableEntity(
        f"{field}: {message}",
        errors=[{"location": "body", "field": field, "message": message, "type": "value_error"}],
    )


def _plate(policy_type: str, details: dict[str, Any]) -> str | None:
    return details.get("plate") if policy_type == "auto" else None


async def create_policy(
    session: AsyncSession,
    *,
    rt: Runtime,
    viewer: Viewer,
    data: PolicyCreate,
    quote_id: uuid.UUID | None = None,
) -> Policy:
    """Sell a policy to a live customer; its first term is recorded. Publishes `policy.created`."""
    await customers.referenced_customer(session, viewer=viewer, customer_id=data.customer_id)
    backdated = check_start(
        viewer, data.coverage_start_date, data.backdating_reason, grace_days=rt.settings.backdate_grace_days
    )
    if (data.coverage_end_date - data.coverage_start_date).days > MAX_TERM_DAYS:
        raise _field_error("coverage_end_date", "a term lasts at most five years")
    if data.policy_number and await repository.number_taken(session, data.policy_number):
        raise Conflict("A policy with this number already exists.")
    number = data.policy_number or await next_number(session, "POL")
    policy = Policy(
        customer_id=data.customer_id,
        policy_number=number,
        policy_type=data.policy_type.value,
        carrier=data.carrier,
        coverage_start_date=data.coverage_start_date,
        coverage_end_date=data.coverage_end_date,
        premium_amount=data.premium_amount,
        premium_frequency=data.premium_frequency.value,
        coverage_amount=data.coverage_amount,
        deductible=data.deductible,
        status=data.status,
        details=data.details,
        vehicle_plate=_plate(data.policy_type.value, data.details),
        policy_document_url=data.policy_document_url,
        certificate_url=data.certificate_url,
        notes=data.notes,
        attributes=data.metadata,
        backdating_reason=data.backdating_reason if backdated else None,
        backdated_by=viewer.actor_id if backdated else None,
        created_by=viewer.actor_id,
        updated_by=viewer.actor_id,
    )
    await repository.add(session, policy)
    await repository.add(session, _term(policy, viewer.actor_id))
    await rt.outbox.publish(session, events.created(policy, quote_id=quote_id), key=str(policy.id))
    return policy


BACKDATERS = frozenset({Role.supervisor, Role.admin})


def check_start(viewer: Viewer, start: date, reason: str | None, *, grace_days: int) -> bool:
    """Whether cover starting on ``start`` is backdated, refusing it unless a supervisor gives a reason.

    Cover may start at most ``grace_days`` before today: an earlier start would cover incidents
    that already happened. A supervisor (or admin) may still record one with a reason.
    """
    earliest = today() - timedelta(days=grace_days)
    if start >= earliest:
        return False
    if not reason:
        raise _field_error(
            "coverage_start_date",
            f"cover may start at most {grace_days} days before today (on or after {earliest}); "
            "an earlier start needs a supervisor and a backdating_reason",
        )
    if viewer.principal.role not in BACKDATERS:
        raise Forbidden(
            f"Cover starting before {earliest} is backdated: only a supervisor may record it, with a reason."
        )
    return True


def _term(policy: Policy, actor: uuid.UUID | None) -> PolicyTerm:
    return PolicyTerm(
        policy_id=policy.id,
        term_number=policy.term_number,
        start_date=policy.coverage_start_date,
        end_date=policy.coverage_end_date,
        premium_amount=policy.premium_amount,
        premium_frequency=policy.premium_frequency,
        coverage_amount=policy.coverage_amount,
        created_by=actor,
    )


def ensure_visible(viewer: Viewer, policy: Policy | None) -> Policy:
    """The policy if the viewer may see it; 404 otherwise (customers: their own only)."""
    if policy is None or not viewer.may_see(policy.customer_id):
        raise NotFound("No such policy.")
    return policy


async def get_policy(session: AsyncSession, *, viewer: Viewer, policy_id: uuid.UUID) -> Policy:
    """One policy the viewer may see."""
    return ensure_visible(viewer, await repository.get(session, policy_id))


async def get_by_number(session: AsyncSession, *, viewer: Viewer, number: str) -> Policy:
    """A policy by its number."""
    return ensure_visible(viewer, await repository.by_number(session, number))


async def lock_policy(session: AsyncSession, *, viewer: Viewer, policy_id: uuid.UUID) -> Policy:
    """Lock a policy for a change (404 when the viewer may not see it)."""
    return ensure_visible(viewer, await repository.get(session, policy_id, for_update=True))


async def update_policy(
    session: AsyncSession,
    *,
    viewer: Viewer,
    policy_id: uuid.UUID,
    expected_version: int | None,
    changes: dict[str, Any],
) -> Policy:
    """Edit a policy's descriptive fields (412 on a stale version, 409 once cancelled)."""
    policy = await lock_policy(session, viewer=viewer, policy_id=policy_id)
    check_version(policy.version, expected_version)
    if policy.status == PolicyStatus.cancelled:
        raise Conflict("A cancelled policy cannot be changed.")
    for field in ("carrier", "premium_frequency", "details", "metadata", "auto_renew"):
        if field in changes and changes[field] is None:
            raise _field_error(field, "cannot be null")
    if "details" in changes:
        try:
            changes["details"] = validate_details(policy.policy_type, changes["details"])
        except ValueError as exc:
            raise _field_error("details", str(exc)) from exc
        policy.vehicle_plate = _plate(policy.policy_type, changes["details"])
    if "premium_frequency" in changes:
        changes["premium_frequency"] = str(changes["premium_frequency"])
    for key, value in changes.items():
        setattr(policy, "attributes" if key == "metadata" else key, value)
    policy.version += 1
    policy.updated_at = utcnow()
    policy.updated_by = viewer.actor_id
    await repository.flush(session)
    return policy


async def correct_term(
    session: AsyncSession,
    *,
    viewer: Viewer,
    policy_id: uuid.UUID,
    start: date | None,
    end: date | None,
    annual_premium: Decimal | None,
) -> Policy:
    """Correct the current term's dates or premium to what the carrier's document says (the term
    history row of the current term follows). The term rules hold: end after start, at most five
    years; 409 once cancelled. The premium is annual, spread over the policy's payments."""
    policy = await lock_policy(session, viewer=viewer, policy_id=policy_id)
    if policy.status == PolicyStatus.cancelled:
        raise Conflict("A cancelled policy cannot be changed.")
    new_start = start or policy.coverage_start_date
    new_end = end or policy.coverage_end_date
    if new_end <= new_start:
        raise _field_error("end_date", f"the term must end after it starts ({new_start})")
    if (new_end - new_start).days > MAX_TERM_DAYS:
        raise _field_error("end_date", "a term lasts at most five years")
    policy.coverage_start_date, policy.coverage_end_date = new_start, new_end
    if annual_premium is not None:
        per_payment = (annual_premium / PAYMENTS_PER_YEAR[policy.premium_frequency]).quantize(Decimal("0.01"))
        if per_payment <= 0:
            raise _field_error("premium_total", "must be positive")
        policy.premium_amount = per_payment
    term = await repository.current_term(session, policy.id, policy.term_number)
    if term is not None:
        term.start_date, term.end_date = new_start, new_end
        term.premium_amount = policy.premium_amount
    policy.version += 1
    policy.updated_at = utcnow()
    policy.updated_by = viewer.actor_id
    await repository.flush(session)
    return policy


async def find_for_document(
    session: AsyncSession, *, policy_number: str, carrier: str, carrier_name: str
) -> Policy | None:
    """The policy a carrier's document is about: same number, same carrier (slug or name, any case)."""
    policy = await repository.by_number(session, policy_number)
    if policy is None or policy.carrier.strip().lower() not in {carrier.lower(), carrier_name.lower()}:
        return None
    return policy


async def live_with_carrier(session: AsyncSession, *, carrier: str, carrier_name: str) -> Sequence[Policy]:
    """The active and pending policies the CRM has with a carrier (slug or name, any case)."""
    return await repository.live_of_carrier(session, sorted({carrier.lower(), carrier_name.lower()}))


async def activate_policy(
    session: AsyncSession, *, viewer: Viewer, policy_id: uuid.UUID, expected_version: int | None
) -> Policy:
    """pending -> active (409 from any other status)."""
    policy = await lock_policy(session, viewer=viewer, policy_id=policy_id)
    check_version(policy.version, expected_version)
    if policy.status != PolicyStatus.pending:
        raise Conflict(f"Only a pending policy can be activated; this one is {policy.status}.")
    policy.status = PolicyStatus.active.value
    policy.version += 1
    policy.updated_at = utcnow()
    policy.updated_by = viewer.actor_id
    await repository.flush(session)
    return policy


async def cancel_policy(
    session: AsyncSession,
    *,
    rt: Runtime,
    viewer: Viewer,
    policy_id: uuid.UUID,
    reason: str,
    expected_version: int | None,
) -> Policy:
    """pending|active -> cancelled with a reason. Publishes `policy.cancelled`."""
    policy = await lock_policy(session, viewer=viewer, policy_id=policy_id)
    check_version(policy.version, expected_version)
    if policy.status not in (PolicyStatus.pending, PolicyStatus.active):
        raise Conflict(f"A policy that is {policy.status} cannot be cancelled.")
    policy.status = PolicyStatus.cancelled.value
    policy.cancellation_reason = reason
    policy.cancelled_at = utcnow()
    policy.version += 1
    policy.updated_at = utcnow()
    policy.updated_by = viewer.actor_id
    await repository.flush(session)
    await rt.outbox.publish(session, events.cancelled(policy), key=str(policy.id))
    return policy


async def renew_policy(
    session: AsyncSession,
    *,
    rt: Runtime,
    viewer: Viewer,
    policy_id: uuid.UUID,
    premium_amount: Decimal,
    coverage_end_date: date | None,
    coverage_amount: Decimal | None,
    expected_version: int | None,
) -> Policy:
    """Start the next term where the current one ends; the old term stays in the history."""
    policy = await lock_policy(session, viewer=viewer, policy_id=policy_id)
    check_version(policy.version, expected_version)
    return await start_next_term(
        session,
        rt=rt,
        policy=policy,
        premium_amount=premium_amount,
        coverage_end_date=coverage_end_date,
        coverage_amount=coverage_amount,
        actor=viewer.actor_id,
    )


async def start_next_term(
    session: AsyncSession,
    *,
    rt: Runtime,
    policy: Policy,
    premium_amount: Decimal,
    coverage_end_date: date | None,
    coverage_amount: Decimal | None,
    actor: uuid.UUID | None,
    automatic: bool = False,
    attributes: dict[str, Any] | None = None,
) -> Policy:
    """Renew a locked policy: the next term starts where the current one ends. Publishes `policy.renewed`."""
    if policy.status not in (PolicyStatus.active, PolicyStatus.expired):
        raise Conflict(f"A policy that is {policy.status} cannot be renewed.")
    start = policy.coverage_end_date
    end = coverage_end_date or _one_year_after(start)
    if end <= start:
        raise _field_error("coverage_end_date", f"must be after the current term's end ({start})")
    if (end - start).days > MAX_TERM_DAYS:
        raise _field_error("coverage_end_date", "a term lasts at most five years")
    previous = (policy.coverage_start_date, policy.coverage_end_date, policy.premium_amount)
    policy.coverage_start_date = start
    policy.coverage_end_date = end
    policy.premium_amount = premium_amount
    if coverage_amount is not None:
        policy.coverage_amount = coverage_amount
    policy.term_number += 1
    policy.status = PolicyStatus.active.value
    policy.renewal_confirmed_at = policy.renewal_confirmed_via = None
    if attributes is not None:
        policy.attributes = attributes
    policy.version += 1
    policy.updated_at = utcnow()
    policy.updated_by = actor
    await repository.flush(session)
    await repository.add(session, _term(policy, actor))
    await rt.outbox.publish(
        session,
        events.renewed(
            policy,
            previous_start=previous[0],
            previous_end=previous[1],
            previous_premium=previous[2],
            automatic=automatic,
        ),
        key=str(policy.id),
    )
    return policy


async def lock_for_automation(session: AsyncSession, *, policy_id: uuid.UUID) -> Policy | None:
    """Lock a policy for a change made by an automation (no caller to check); None when unknown."""
    return await repository.get(session, policy_id, for_update=True)


async def mark_renewal_confirmed(
    session: AsyncSession, *, policy: Policy, confirmed_at: datetime, channel: str
) -> Policy:
    """Record on a (locked) policy that the customer confirmed its current term's renewal."""
    policy.renewal_confirmed_at = confirmed_at
    policy.renewal_confirmed_via = channel
    policy.version += 1
    policy.updated_at = utcnow()
    await repository.flush(session)
    return policy


def _one_year_after(day: date) -> date:
    try:
        return day.replace(year=day.year + 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year + 1, day=28)


async def policy_terms(
    session: AsyncSession, *, viewer: Viewer, policy_id: uuid.UUID
) -> Sequence[PolicyTerm]:
    """Every term of a policy, oldest first."""
    policy = await get_policy(session, viewer=viewer, policy_id=policy_id)
    return await repository.terms(session, policy.id)


async def coverage_on(
    session: AsyncSession, *, policy: Policy, on: date
) -> tuple[bool, str, PolicyTerm | None]:
    """Whether ``policy`` covered (or covers) the day ``on``, why, and under which term."""
    if policy.status == PolicyStatus.pending:
        return False, "The policy is not active yet.", None
    term = await repository.term_on(session, policy.id, on)
    if term is None:
        return False, "No term of the policy includes this date.", None
    if policy.cancelled_at is not None and on >= policy.cancelled_at.date():
        return False, f"The policy was cancelled on {policy.cancelled_at.date()}.", term
    return True, f"Covered by term {term.term_number} ({term.start_date} to {term.end_date}).", term


async def check_coverage(
    session: AsyncSession, *, viewer: Viewer, policy_id: uuid.UUID, on: date
) -> tuple[Policy, bool, str, PolicyTerm | None]:
    """Coverage of a policy the viewer may see on a given day."""
    policy = await get_policy(session, viewer=viewer, policy_id=policy_id)
    covered, reason, term = await coverage_on(session, policy=policy, on=on)
    return policy, covered, reason, term


async def search_policies(
    session: AsyncSession,
    *,
    viewer: Viewer,
    customer_id: uuid.UUID | None,
    policy_type: str | None,
    statuses: Sequence[str] | None,
    carrier: str | None,
    text: str | None,
    expiring_within_days: int | None,
    after: list[Any] | None,
    limit: int,
) -> tuple[Sequence[Policy], list[Any] | None]:
    """One page of policies; a customer only gets their own."""
    if not viewer.is_staff:
        if viewer.customer_id is None or (customer_id is not None and customer_id != viewer.customer_id):
            return [], None
        customer_id = viewer.customer_id
    window = None
    if expiring_within_days is not None:
        window = (today(), today() + timedelta(days=expiring_within_days))
        statuses = [PolicyStatus.active.value]
    return await repository.search(
        session,
        customer_id=customer_id,
        policy_type=policy_type,
        statuses=statuses,
        carrier=carrier,
        text=text,
        ending_between=window,
        after=after,
        limit=limit,
    )


async def expiring_policies(
    session: AsyncSession, *, viewer: Viewer, days: int, limit: int
) -> Sequence[Policy]:
    """Active policies whose term ends within ``days`` days, soonest first."""
    start = today()
    rows = await repository.expiring(session, start=start, end=start + timedelta(days=days), limit=limit)
    return [p for p in rows if viewer.may_see(p.customer_id)]


async def announce_expiring(
    session: AsyncSession, *, rt: Runtime, batch: int = 500, on: date | None = None
) -> int:
    """Publish `policy.expiring_soon` once per policy per term for terms ending within the window
    that starts ``on`` (default: today, UTC)."""
    now = on if on is not None else today()
    until = now + timedelta(days=rt.settings.expiring_warning_days)
    sent = 0
    while True:
        rows = await repository.to_warn(session, today=now, until=until, limit=batch)
        for policy in rows:
            policy.expiry_notified_for = policy.coverage_end_date
            await rt.outbox.publish(session, events.expiring_soon(policy, today=now), key=str(policy.id))
        await repository.flush(session)
        sent += len(rows)
        if len(rows) < batch:
            return sent


async def expire_ended(session: AsyncSession) -> int:
    """Mark active policies whose term has ended as expired."""
    return await repository.expire_ended(session, today=today())


async def policies_of(session: AsyncSession, *, customer_id: uuid.UUID) -> Sequence[Policy]:
    """Every policy of a customer (for 360 views and exports)."""
    return await repository.for_customer(session, customer_id)


async def owner_of(session: AsyncSession, *, policy_id: uuid.UUID) -> uuid.UUID | None:
    """The customer a policy belongs to (None when there is no such policy)."""
    row = await repository.get(session, policy_id)
    return row.customer_id if row is not None else None
