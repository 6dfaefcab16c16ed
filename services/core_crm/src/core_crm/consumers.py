"""What the CRM does with events: its own automations, the timeline intake, accounts, workflow triggers.

* ``core-crm.automation`` (crm.customer, crm.policy, crm.claim, crm.quote,
  omnichannel.confirmation): `customer.created` -> welcome task and the unmatched calls and
  messages from the customer's phones or e-mail linked to them (also when `customer.updated`
  changes one of those); `policy.expiring_soon` ->
  renewal task; `renewal.confirmed` (the customer answered CONFIRMAR to the renewal reminder) ->
  the renewal is marked confirmed and the agent gets a task to issue it; `policy.renewed` closes
  the policy's renewal tasks; `claim.created` -> adjuster assignment; `quote.created` -> the
  quote is e-mailed (an `crm.email_requested` event for omnichannel); policy and claim events
  also re-run the customer's segmentation.
* ``core-crm.timeline`` (crm.interaction): `interaction.logged` from telephony and omnichannel ->
  the customer's timeline, or kept as an unmatched contact when it matches no customer.
* ``core-crm.accounts`` (auth.user): the accounts read model; verified customer accounts are
  linked to the CRM customer with the same e-mail, whichever event arrives first.
* ``core-crm.workflows`` (the topics of the business events in `workflows/triggers.py`): starts
  event-triggered workflows.

Each handler runs in the consumer's transaction with the processed-event row, so a redelivered
event has no second effect; automations also carry de-duplication keys of their own.
"""

from __future__ import annotations

import uuid
from datetime import datetime, time, timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from aintech_contracts.envelope import CloudEvent
from aintech_contracts.events.auth import (
    USER_TOPIC,
    UserDisabled,
    UserEmailChanged,
    UserEmailVerified,
    UserEnabled,
    UserRegistered,
    UserRoleChanged,
)
from aintech_contracts.events.crm import (
    CLAIM_TOPIC,
    CUSTOMER_TOPIC,
    INTERACTION_TOPIC,
    POLICY_TOPIC,
    QUOTE_TOPIC,
    ClaimCreated,
    CustomerCreated,
    CustomerUpdated,
    EmailRequested,
    InteractionLogged,
    PolicyExpiringSoon,
    PolicyRenewed,
    QuoteCreated,
)
from aintech_contracts.events.omnichannel import CONFIRMATION_TOPIC, RenewalConfirmed
from aintech_shared.events.consumer import ConsumerSpec, Handler, PermanentError
from core_crm.accounts import service as accounts
from core_crm.claims import service as claims
from core_crm.core.base import utcnow
from core_crm.core.runtime import Runtime
from core_crm.customers import service as customers
from core_crm.intake import service as intake
from core_crm.profile import service as profile
from core_crm.renewals import service as renewals
from core_crm.tasks import service as tasks
from core_crm.tasks.service import LOCAL_TZ
from core_crm.workflows import service as workflows
from core_crm.workflows.triggers import TRIGGER_EVENTS, trigger_topics

log = structlog.get_logger("crm.consumers")


def quote_email_text(first_name: str, data: QuoteCreated, *, english: bool) -> tuple[str, str]:
    """Subject and text of the e-mail comparing a new quote's carrier offers (Spanish or English)."""
    valid = data.valid_until.astimezone(LOCAL_TZ).date().isoformat() if data.valid_until else None
    if english:
        offers = [f"- {c.carrier}: {c.premium} €/year" for c in data.carriers]
        total = f"Total premium: {data.total_premium} €/year. Valid until {valid or '30 days from today'}."
        return f"Your quote {data.quote_number}", (
            f"Hello {first_name},\n\nThese are the offers for your {data.quote_type} insurance:\n"
            + "\n".join(offers or [f"- Total: {data.total_premium} €/year"])
            + f"\n\n{total}\n"
        )
    offers = [f"- {c.carrier}: {c.premium} €/año" for c in data.carriers]
    total = f"Prima total: {data.total_premium} €/año. Válido hasta {valid or '30 días desde hoy'}."
    return f"Tu presupuesto {data.quote_number}", (
        f"Hola {first_name},\n\nEstas son las ofertas de tu seguro {data.quote_type}:\n"
        + "\n".join(offers or [f"- Total: {data.total_premium} €/año"])
        + f"\n\n{total}\n"
    )


def _at_nine(day: datetime) -> datetime:
    return datetime.combine(day.astimezone(LOCAL_TZ).date(), time(9), tzinfo=LOCAL_TZ)


def automation(rt: Runtime) -> ConsumerSpec:
    """The CRM reacting to its own events."""

    async def customer_created(session: AsyncSession, event: CloudEvent) -> None:
        data = event.data_as(CustomerCreated)
        customer = await customers.internal_get(session, customer_id=data.customer_id)
        if customer is None:
            return
        await intake.link_for_customer(session, rt=rt, customer_id=customer.id)
        await tasks.create_task(
            session,
            rt=rt,
            title=f"Llamada de bienvenida a {customer.first_name} {customer.last_name}",
            description="Presentarse, confirmar contacto y canal preferido, ofrecer revisión de pólizas.",
            task_type="welcome",
            priority="medium",
            assigned_to=customer.owner_id,
            customer_id=customer.id,
            due_date=_at_nine(utcnow() + timedelta(days=2)),
            created_by=None,
            dedupe_key=f"welcome:{customer.id}",
        )

    async def customer_updated(session: AsyncSession, event: CloudEvent) -> None:
        data = event.data_as(CustomerUpdated)
        if intake.touches_contact(data.changed_fields):
            await intake.link_for_customer(session, rt=rt, customer_id=data.customer_id)

    async def renewal_task(session: AsyncSession, event: CloudEvent) -> None:
        data = event.data_as(PolicyExpiringSoon)
        await renewals.open_renewal_task(
            session,
            rt=rt,
            policy_id=data.policy_id,
            term_end=data.coverage_end_date,
            days_left=data.days_left,
        )

    async def renewal_confirmed(session: AsyncSession, event: CloudEvent) -> None:
        try:
            await renewals.confirm(session, rt=rt, data=event.data_as(RenewalConfirmed))
        except renewals.ConfirmationRefused as exc:
            raise PermanentError(str(exc)) from exc

    async def renewed(session: AsyncSession, event: CloudEvent) -> None:
        data = event.data_as(PolicyRenewed)
        await renewals.close_after_renewal(
            session,
            rt=rt,
            policy_id=data.policy_id,
            previous_end=data.previous_end_date,
            new_end=data.coverage_end_date,
        )
        await profile.resegment(session, rt=rt, customer_id=data.customer_id)

    async def claim_created(session: AsyncSession, event: CloudEvent) -> None:
        data = event.data_as(ClaimCreated)
        await claims.auto_assign_adjuster(session, rt=rt, claim_id=data.claim_id)
        await profile.resegment(session, rt=rt, customer_id=data.customer_id)

    async def quote_email(session: AsyncSession, event: CloudEvent) -> None:
        data = event.data_as(QuoteCreated)
        customer = await customers.internal_get(session, customer_id=data.customer_id)
        if customer is None or not customer.email:
            log.info("quote_email_skipped", quote_id=str(data.quote_id), reason="no e-mail address")
            return
        subject, body = quote_email_text(
            customer.first_name, data, english=customer.preferred_language[:2] == "en"
        )
        valid = data.valid_until.astimezone(LOCAL_TZ).date().isoformat() if data.valid_until else ""
        await rt.outbox.publish(
            session,
            EmailRequested(
                request_id=uuid.uuid5(uuid.NAMESPACE_URL, f"quote-email:{data.quote_id}"),
                to=customer.email,
                to_name=f"{customer.first_name} {customer.last_name}",
                subject=subject,
                body_text=body,
                template="crm.quote",
                language=customer.preferred_language,
                variables={
                    "quote_number": data.quote_number,
                    "total_premium": str(data.total_premium),
                    "best_carrier": data.best_carrier or "",
                    "valid_until": valid,
                },
                customer_id=customer.id,
                related_type="quote",
                related_id=data.quote_id,
            ),
            key=str(customer.id),
        )

    async def resegment(session: AsyncSession, event: CloudEvent) -> None:
        customer_id = event.data.get("customer_id")
        if customer_id:
            await profile.resegment(session, rt=rt, customer_id=uuid.UUID(str(customer_id)))

    handlers: dict[str, Handler] = {
        "customer.created": customer_created,
        "customer.updated": customer_updated,
        "policy.expiring_soon": renewal_task,
        "renewal.confirmed": renewal_confirmed,
        "claim.created": claim_created,
        "quote.created": quote_email,
        "policy.created": resegment,
        "policy.renewed": renewed,
        "policy.cancelled": resegment,
        "claim.paid": resegment,
    }
    return ConsumerSpec(
        "core-crm.automation",
        [CUSTOMER_TOPIC, POLICY_TOPIC, CLAIM_TOPIC, QUOTE_TOPIC, CONFIRMATION_TOPIC],
        handlers,
    )


def timeline(rt: Runtime) -> ConsumerSpec:
    """Calls and messages from telephony and omnichannel onto the customer's timeline."""

    async def logged(session: AsyncSession, event: CloudEvent) -> None:
        await intake.take_in(session, rt=rt, data=event.data_as(InteractionLogged))

    return ConsumerSpec("core-crm.timeline", [INTERACTION_TOPIC], {"interaction.logged": logged})


def account_links(rt: Runtime) -> ConsumerSpec:
    """The accounts read model, and linking verified customer accounts to CRM customers."""

    async def registered(session: AsyncSession, event: CloudEvent) -> None:
        data = event.data_as(UserRegistered)
        account = await accounts.record_registration(
            session,
            user_id=data.user_id,
            email=str(data.email),
            first_name=data.first_name,
            last_name=data.last_name,
            role=data.role,
        )
        if account.email_verified and account.role == "customer" and account.email:
            await customers.link_account(session, rt=rt, user_id=data.user_id, email=account.email)

    async def verified(session: AsyncSession, event: CloudEvent) -> None:
        data = event.data_as(UserEmailVerified)
        account = await accounts.record_verification(session, user_id=data.user_id, email=str(data.email))
        if account.role == "customer":
            await customers.link_account(session, rt=rt, user_id=data.user_id, email=str(data.email))

    async def email_changed(session: AsyncSession, event: CloudEvent) -> None:
        # The account proved its new address; the old one is no longer its proof of anything, so a
        # customer later created with the old address is never linked to it.
        data = event.data_as(UserEmailChanged)
        await accounts.record_verification(session, user_id=data.user_id, email=str(data.new_email))

    async def role_changed(session: AsyncSession, event: CloudEvent) -> None:
        data = event.data_as(UserRoleChanged)
        await accounts.record_role(session, user_id=data.user_id, role=data.new_role)

    async def disabled(session: AsyncSession, event: CloudEvent) -> None:
        await accounts.record_active(session, user_id=event.data_as(UserDisabled).user_id, active=False)

    async def enabled(session: AsyncSession, event: CloudEvent) -> None:
        await accounts.record_active(session, user_id=event.data_as(UserEnabled).user_id, active=True)

    return ConsumerSpec(
        "core-crm.accounts",
        [USER_TOPIC],
        {
            "user.registered": registered,
            "user.email_verified": verified,
            "user.email_changed": email_changed,
            "user.role_changed": role_changed,
            "user.disabled": disabled,
            "user.enabled": enabled,
        },
    )


def workflow_triggers(rt: Runtime) -> ConsumerSpec:
    """The business events that may start event-triggered workflows (workflows/triggers.py)."""

    async def trigger(session: AsyncSession, event: CloudEvent) -> None:
        await workflows.on_event(session, event=event)

    return ConsumerSpec("core-crm.workflows", trigger_topics(), dict.fromkeys(TRIGGER_EVENTS, trigger))


def consumer_specs(rt: Runtime) -> list[ConsumerSpec]:
    return [automation(rt), timeline(rt), account_links(rt), workflow_triggers(rt)]
