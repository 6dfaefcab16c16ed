"""What a customer's CONFIRMAR to a renewal reminder does.

Omnichannel sends the renewal reminder when `policy.expiring_soon` is announced and publishes
`renewal.confirmed` when the customer answers CONFIRMAR. The reminder carries no new premium
(the carrier sets the next term's price, and the broker's agent issues the renewal with it), so
the confirmation is the customer's consent to renew, not an agreed price: the CRM records it on
the policy, closes the "call to renew" task with a note, and gives the agent a high-priority task
to issue the renewal. Once per reminder (``reminder_message_id``).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from aintech_contracts.events.omnichannel import RenewalConfirmed
from aintech_contracts.statuses import TaskPriority
from core_crm.core.base import utcnow
from core_crm.core.runtime import Runtime
from core_crm.customers import service as customers
from core_crm.customers.models import Customer
from core_crm.policies import service as policies
from core_crm.policies.models import Policy, PolicyStatus
from core_crm.renewals.models import ConfirmationOutcome, RenewalConfirmation
from core_crm.renewals.repository import RenewalConfirmationRepository
from core_crm.tasks import service as tasks
from core_crm.tasks.service import LOCAL_TZ

log = structlog.get_logger("crm.renewals")

CALL_TO_RENEW = "renewal"  # the task `policy.expiring_soon` creates
ISSUE_RENEWAL = "renewal_issue"  # the task a confirmation creates
FOLLOW_UP = "renewal_follow_up"  # a confirmation for a policy that cannot be renewed
AUTO_RENEWAL_REVIEW = "renewal_review"  # an automatic renewal that did not renew (renewals/auto.py)
RENEWAL_TASKS = (CALL_TO_RENEW, ISSUE_RENEWAL, AUTO_RENEWAL_REVIEW)
RENEWAL_LEAD_DAYS = 7

CHANNEL_NAMES = {"whatsapp": "WhatsApp", "sms": "SMS", "email": "e-mail", "chat": "chat"}


class ConfirmationRefused(Exception):
    """The confirmation names a policy or customer the CRM cannot match (never succeeds)."""


def _at_nine(day: date) -> datetime:
    return datetime.combine(day, time(9), tzinfo=LOCAL_TZ)


def _next_morning() -> datetime:
    return _at_nine(utcnow().astimezone(LOCAL_TZ).date() + timedelta(days=1))


def _local(moment: datetime) -> str:
    return moment.astimezone(LOCAL_TZ).strftime("%d/%m/%Y %H:%M")


async def open_renewal_task(
    session: AsyncSession, *, rt: Runtime, policy_id: uuid.UUID, term_end: date, days_left: int
) -> None:
    """`policy.expiring_soon`: a task for the customer's agent to renew the policy (once per term),
    unless the customer already confirmed this term's renewal (the agent then has the issue task)."""
    policy = await policies.lock_for_automation(session, policy_id=policy_id)
    if policy is None:
        return
    customer = await customers.internal_get(session, customer_id=policy.customer_id)
    if customer is None:
        return
    if policy.renewal_confirmed_at is not None and policy.coverage_end_date == term_end:
        log.info("renewal_task_skipped", policy_id=str(policy.id), reason="already confirmed by the customer")
        return
    due = max(
        _at_nine(term_end) - timedelta(days=RENEWAL_LEAD_DAYS), _at_nine(utcnow().astimezone(LOCAL_TZ).date())
    )
    await tasks.create_task(
        session,
        rt=rt,
        title=f"Renovar póliza {policy.policy_number} ({policy.carrier})",
        description=f"La póliza {policy.policy_type} de {customer.first_name} {customer.last_name} "
        f"vence el {term_end:%d/%m/%Y} ({days_left} días). Prima actual: {policy.premium_amount} €.",
        task_type=CALL_TO_RENEW,
        priority=TaskPriority.high if days_left <= 15 else TaskPriority.medium,
        assigned_to=customer.owner_id,
        customer_id=customer.id,
        policy_id=policy.id,
        due_date=due,
        created_by=None,
        dedupe_key=f"renewal:{policy.id}:{term_end}",
    )


async def confirm(
    session: AsyncSession, *, rt: Runtime, data: RenewalConfirmed
) -> RenewalConfirmation | None:
    """Act on a customer's CONFIRMAR (once per reminder); None when this reminder was already handled."""
    policy = await policies.lock_for_automation(session, policy_id=data.policy_id)
    if policy is None:
        raise ConfirmationRefused(f"no policy {data.policy_id}")
    confirmations = RenewalConfirmationRepository(session)
    if await confirmations.by_reminder(reminder_message_id=data.reminder_message_id) is not None:
        return None
    customer = await _policyholder(session, policy=policy, named=data.customer_id)
    record = RenewalConfirmation(
        reminder_message_id=data.reminder_message_id,
        message_id=data.message_id,
        policy_id=policy.id,
        customer_id=customer.id,
        channel=data.channel,
        confirmed_at=data.confirmed_at,
    )
    channel = CHANNEL_NAMES.get(data.channel, data.channel)
    if policy.status not in (PolicyStatus.active, PolicyStatus.expired):
        record.outcome = ConfirmationOutcome.not_renewable.value
        task = await tasks.create_task(
            session,
            rt=rt,
            title=f"Llamar: quiere renovar la póliza {policy.policy_number}, que está {_status_es(policy)}",
            description=f"{customer.first_name} {customer.last_name} respondió CONFIRMAR por {channel} el "
            f"{_local(data.confirmed_at)} al recordatorio de renovación, pero la póliza está "
            f"{_status_es(policy)}. Explicarle la situación y, si procede, ofrecerle una nueva póliza.",
            task_type=FOLLOW_UP,
            priority=TaskPriority.high,
            assigned_to=customer.owner_id,
            customer_id=customer.id,
            policy_id=policy.id,
            due_date=_next_morning(),
            created_by=None,
            dedupe_key=f"renewal-follow-up:{data.reminder_message_id}",
        )
        record.task_id = task.id
    elif policy.expiry_notified_for is not None and policy.expiry_notified_for != policy.coverage_end_date:
        # The reminder announced a term that has since been renewed: nothing is left to do.
        record.outcome = ConfirmationOutcome.already_renewed.value
        record.term_end_date = policy.expiry_notified_for
    else:
        record.outcome = ConfirmationOutcome.confirmed.value
        record.term_end_date = policy.coverage_end_date
        await policies.mark_renewal_confirmed(
            session, policy=policy, confirmed_at=data.confirmed_at, channel=data.channel
        )
        note = (
            f"Completada automáticamente: {customer.first_name} {customer.last_name} confirmó la "
            f"renovación respondiendo CONFIRMAR por {channel} el {_local(data.confirmed_at)}."
        )
        for open_task in await tasks.open_tasks_of_policy(
            session, policy_id=policy.id, task_types=[CALL_TO_RENEW]
        ):
            await tasks.complete_automatically(session, rt=rt, task=open_task, note=note)
        task = await tasks.create_task(
            session,
            rt=rt,
            title=f"Emitir la renovación de la póliza {policy.policy_number} ({policy.carrier})",
            description=f"{customer.first_name} {customer.last_name} confirmó la renovación por {channel} "
            f"el {_local(data.confirmed_at)}. El periodo actual vence el {policy.coverage_end_date:%d/%m/%Y} "
            f"(prima actual {policy.premium_amount} €): pedir a {policy.carrier} la prima del nuevo "
            "periodo, comunicársela al cliente y registrar la renovación.",
            task_type=ISSUE_RENEWAL,
            priority=TaskPriority.high,
            assigned_to=customer.owner_id,
            customer_id=customer.id,
            policy_id=policy.id,
            due_date=_next_morning(),
            created_by=None,
            dedupe_key=f"renewal-issue:{policy.id}:{policy.coverage_end_date}",
        )
        record.task_id = task.id
    confirmations.add(record)
    await confirmations.flush()
    log.info(
        "renewal_confirmed",
        policy_id=str(policy.id),
        reminder_message_id=str(data.reminder_message_id),
        outcome=record.outcome,
    )
    return record


async def close_after_renewal(
    session: AsyncSession, *, rt: Runtime, policy_id: uuid.UUID, previous_end: date, new_end: date
) -> int:
    """`policy.renewed`: the open renewal tasks of the policy are done; returns how many were closed."""
    note = f"Completada automáticamente: la póliza se renovó (nuevo periodo hasta el {new_end:%d/%m/%Y})."
    closed = 0
    for open_task in await tasks.open_tasks_of_policy(session, policy_id=policy_id, task_types=RENEWAL_TASKS):
        if open_task.dedupe_key and not open_task.dedupe_key.endswith(f":{previous_end}"):
            continue  # a task about another term
        await tasks.complete_automatically(session, rt=rt, task=open_task, note=note)
        closed += 1
    return closed


async def _policyholder(session: AsyncSession, *, policy: Policy, named: uuid.UUID) -> Customer:
    """The policy's customer, if it is the one the confirmation names (or what it was merged into)."""
    customer = await customers.internal_get(session, customer_id=policy.customer_id)
    if customer is None:
        raise ConfirmationRefused(f"the customer of policy {policy.id} is no longer live")
    if named != customer.id:
        resolved = await customers.find_for_contact(session, customer_id=named, phone=None, email=None)
        if resolved is None or resolved.id != customer.id:
            raise ConfirmationRefused(f"policy {policy.id} does not belong to customer {named}")
    return customer


# How a policy's status reads in the agent's task (every PolicyStatus; the tasks are in Spanish).
POLICY_STATUS_ES: dict[PolicyStatus, str] = {
    PolicyStatus.pending: "pendiente de activar",
    PolicyStatus.active: "en vigor",
    PolicyStatus.expired: "vencida",
    PolicyStatus.cancelled: "cancelada",
}


def _status_es(policy: Policy) -> str:
    return POLICY_STATUS_ES[PolicyStatus(policy.status)]
