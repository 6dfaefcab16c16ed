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
* ``core-crm.pricing`` (quotes.quote): `quote.calculated` answering a pricing request -> the
  quote is created from the engine's figures; `quote.pricing_failed` -> a task for the agent.
  An answer to an automatic renewal's request goes to ``renewals.auto`` instead (priced, or a task).
* ``core-crm.retention`` (analytics.churn): `customer.churn_scored` in the critical band, the
  renewal within 90 days -> one retention task per customer and renewal term (high priority, the
  customer's owner, the model's top factors and recommended action in the description).
* ``core-crm.fraud`` (fraud.score): `fraud.scored` -> the claim's latest score and band (shown to
  staff with `fraud:review`); `fraud.alert` -> an investigation task for a supervisor, one per
  alert event.
* ``core-crm.proposals`` (scraper.job): `policy.document_parsed`, `policy.portfolio_listed`,
  `portfolio.synced` -> a policy proposal (reconcile
  the matched policy's differing fields, or create it) that an agent accepts or rejects.
* ``core-crm.workflows`` (the topics of the business events in `workflows/triggers.py`): starts
  event-triggered workflows.

Each handler runs in the consumer's transaction with the processed-event row, so a redelivered
event has no second effect; automations also carry de-duplication keys of their own.
"""

from __future__ import annotations

import dataclasses
import uuid
from datetime import datetime, time, timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from aintech_contracts.envelope import CloudEvent
from aintech_contracts.events.analytics import CHURN_TOPIC, ChurnScored
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
    InteractionTranscribed,
    PolicyExpiringSoon,
    PolicyRenewed,
    QuoteCreated,
)
from aintech_contracts.events.fraud import SCORE_TOPIC, FraudAlert, FraudScored
from aintech_contracts.events.omnichannel import CONFIRMATION_TOPIC, RenewalConfirmed
from aintech_contracts.events.quotes import QUOTE_TOPIC as ENGINE_QUOTE_TOPIC
from aintech_contracts.events.quotes import QuoteCalculated, QuotePricingFailed
from aintech_contracts.events.scraper import (
    JOB_TOPIC,
    PolicyDocumentParsed,
    PortfolioPolicyListed,
    PortfolioSynced,
)
from aintech_contracts.statuses import TaskPriority
from aintech_shared.events.consumer import ConsumerSpec, Handler, PermanentError
from aintech_shared.events.routing import consumer_group
from core_crm.accounts import service as accounts
from core_crm.claims import service as claims
from core_crm.core import actor
from core_crm.core.base import utcnow
from core_crm.core.runtime import Runtime
from core_crm.customers import service as customers
from core_crm.fraud import service as fraud
from core_crm.intake import service as intake
from core_crm.integrations import service as webhooks
from core_crm.integrations.catalog import WEBHOOK_EVENTS
from core_crm.integrations.catalog import topics as webhook_topics
from core_crm.interactions import service as interactions
from core_crm.leads import service as leads
from core_crm.messages import service as messages
from core_crm.messages.service import Message
from core_crm.profile import service as profile
from core_crm.proposals import service as proposals
from core_crm.quotes import pricing
from core_crm.renewals import auto as auto_renewals
from core_crm.renewals import service as renewals
from core_crm.tasks import service as tasks
from core_crm.tasks.service import LOCAL_TZ
from core_crm.workflows import service as workflows
from core_crm.workflows.triggers import TRIGGER_EVENTS, trigger_topics

log = structlog.get_logger("crm.consumers")


def quote_email_message(first_name: str, data: QuoteCreated, *, language: str | None) -> Message:
    """The e-mail comparing a new quote's carrier offers, in the customer's language."""
    valid = data.valid_until.astimezone(LOCAL_TZ).date().isoformat() if data.valid_until else None
    return messages.render(
        "quote_email",
        language=language,
        variables={
            "first_name": first_name,
            "quote_number": data.quote_number,
            "quote_type": data.quote_type,
            "offers": [{"carrier": c.carrier, "premium": str(c.premium)} for c in data.carriers],
            "total_premium": str(data.total_premium),
            "valid_until": valid,
        },
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
            priority=TaskPriority.medium,
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
        await profile.resegment(session, rt=rt, customer_id=data.customer_id, wait=False)

    async def claim_created(session: AsyncSession, event: CloudEvent) -> None:
        data = event.data_as(ClaimCreated)
        await claims.auto_assign_adjuster(session, rt=rt, claim_id=data.claim_id)
        await profile.resegment(session, rt=rt, customer_id=data.customer_id, wait=False)

    async def quote_email(session: AsyncSession, event: CloudEvent) -> None:
        data = event.data_as(QuoteCreated)
        customer = await customers.internal_get(session, customer_id=data.customer_id)
        if customer is None or not customer.email:
            log.info("quote_email_skipped", quote_id=str(data.quote_id), reason="no e-mail address")
            return
        message = quote_email_message(customer.first_name, data, language=customer.preferred_language)
        valid = data.valid_until.astimezone(LOCAL_TZ).date().isoformat() if data.valid_until else ""
        await rt.outbox.publish(
            session,
            EmailRequested(
                request_id=uuid.uuid5(uuid.NAMESPACE_URL, f"quote-email:{data.quote_id}"),
                to=customer.email,
                to_name=f"{customer.first_name} {customer.last_name}",
                subject=message.subject,
                body_text=message.text,
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
            await profile.resegment(session, rt=rt, customer_id=uuid.UUID(str(customer_id)), wait=False)

    return consumer_group(
        "core-crm.automation",
        {
            CUSTOMER_TOPIC: {"customer.created": customer_created, "customer.updated": customer_updated},
            POLICY_TOPIC: {
                "policy.expiring_soon": renewal_task,
                "policy.created": resegment,
                "policy.renewed": renewed,
                "policy.cancelled": resegment,
            },
            CLAIM_TOPIC: {"claim.created": claim_created, "claim.paid": resegment},
            QUOTE_TOPIC: {"quote.created": quote_email},
            CONFIRMATION_TOPIC: {"renewal.confirmed": renewal_confirmed},
        },
    )


def timeline(rt: Runtime) -> ConsumerSpec:
    """Calls and messages from telephony and omnichannel onto the customer's timeline."""

    async def logged(session: AsyncSession, event: CloudEvent) -> None:
        await intake.take_in(session, rt=rt, data=event.data_as(InteractionLogged))

    async def transcribed(session: AsyncSession, event: CloudEvent) -> None:
        data = event.data_as(InteractionTranscribed)
        await interactions.attach_transcript(
            session, source=data.source, external_id=data.external_id, transcript=data.transcript
        )

    return consumer_group(
        "core-crm.timeline",
        {INTERACTION_TOPIC: {"interaction.logged": logged, "interaction.transcribed": transcribed}},
    )


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

    return consumer_group(
        "core-crm.accounts",
        {
            USER_TOPIC: {
                "user.registered": registered,
                "user.email_verified": verified,
                "user.email_changed": email_changed,
                "user.role_changed": role_changed,
                "user.disabled": disabled,
                "user.enabled": enabled,
            }
        },
    )


def workflow_triggers(rt: Runtime) -> ConsumerSpec:
    """The business events that may start event-triggered workflows (workflows/triggers.py)."""

    async def trigger(session: AsyncSession, event: CloudEvent) -> None:
        await workflows.on_event(session, event=event)

    return ConsumerSpec("core-crm.workflows", trigger_topics(), dict.fromkeys(TRIGGER_EVENTS, trigger))


def engine_pricing(rt: Runtime) -> ConsumerSpec:
    """The quote engine's answers to the CRM's pricing requests."""

    async def calculated(session: AsyncSession, event: CloudEvent) -> None:
        data = event.data_as(QuoteCalculated)
        if data.crm_request_id is None or await auto_renewals.on_priced(session, rt=rt, data=data):
            return
        await pricing.create_from_engine(session, rt=rt, data=data)

    async def failed(session: AsyncSession, event: CloudEvent) -> None:
        data = event.data_as(QuotePricingFailed)
        if await auto_renewals.on_failed(session, rt=rt, data=data):
            return
        await tasks.create_task(
            session,
            rt=rt,
            title="Quote could not be priced",
            description=f"The quote engine could not price the risk: {data.reason}",
            task_type="follow_up",
            created_by=None,
            assigned_to=data.requested_by,
            customer_id=data.customer_id
            if await customers.internal_get(session, customer_id=data.customer_id)
            else None,
            dedupe_key=f"quote-pricing-failed:{data.crm_request_id}",
        )

    return consumer_group(
        "core-crm.pricing",
        {ENGINE_QUOTE_TOPIC: {"quote.calculated": calculated, "quote.pricing_failed": failed}},
    )


def _stamped(handler: Handler) -> Handler:
    """The handler, after recording that what it changes was caused by the event (change history)."""

    async def run(session: AsyncSession, event: CloudEvent) -> None:
        await actor.stamp_event(session, event)
        await handler(session, event)

    return run


def _with_trail(spec: ConsumerSpec) -> ConsumerSpec:
    return dataclasses.replace(spec, handlers={t: _stamped(h) for t, h in spec.handlers.items()})


def integrations() -> ConsumerSpec:
    """The CRM's business events, turned into deliveries for the webhook subscriptions to them."""

    async def fan_out(session: AsyncSession, event: CloudEvent) -> None:
        await webhooks.fan_out(session, event=event)

    return ConsumerSpec("core-crm.integrations", webhook_topics(), dict.fromkeys(WEBHOOK_EVENTS, fan_out))


def lead_scores() -> ConsumerSpec:
    """Lead scores follow what a lead does: replies and calls, quotes, changes to their record."""

    async def rescore(session: AsyncSession, event: CloudEvent) -> None:
        customer_id = event.data.get("customer_id")
        if customer_id:
            await leads.rescore(session, customer_id=uuid.UUID(str(customer_id)))

    return consumer_group(
        "core-crm.leads",
        {
            CUSTOMER_TOPIC: {"customer.updated": rescore, "lead.received": rescore},
            INTERACTION_TOPIC: {"interaction.created": rescore},
            QUOTE_TOPIC: {"quote.created": rescore},
        },
    )


RETENTION_WINDOW_DAYS = 90


def retention(rt: Runtime) -> ConsumerSpec:
    """A critical churn risk near renewal becomes a retention task (one per customer and term)."""

    async def churn_scored(session: AsyncSession, event: CloudEvent) -> None:
        data = event.data_as(ChurnScored)
        if data.band != "critical" or data.next_renewal is None or data.days_to_renewal is None:
            return
        if not 0 <= data.days_to_renewal <= RETENTION_WINDOW_DAYS:
            return
        customer = await customers.internal_get(session, customer_id=data.customer_id)
        if customer is None:
            return
        factors = "; ".join(f"{f.es} ({f.value:g})" for f in data.factors) or "sin factores destacados"
        await tasks.create_task(
            session,
            rt=rt,
            title=f"Retención: {customer.first_name} {customer.last_name} "
            f"renueva el {data.next_renewal:%d/%m/%Y}",
            description=f"Riesgo de baja {data.probability:.0%} (crítico). Factores: {factors}. "
            f"Acción recomendada: {data.action_es or 'llamada de seguimiento'}.",
            task_type="retention",
            priority=TaskPriority.high,
            assigned_to=customer.owner_id,
            customer_id=customer.id,
            due_date=_at_nine(utcnow() + timedelta(days=2)),
            created_by=None,
            metadata={
                "churn_probability": data.probability,
                "renewal_policy_id": str(data.renewal_policy_id) if data.renewal_policy_id else None,
                "synthetic_model": data.synthetic_training,
            },
            dedupe_key=f"retention:{customer.id}:{data.next_renewal}",
        )

    return consumer_group("core-crm.retention", {CHURN_TOPIC: {"customer.churn_scored": churn_scored}})


def fraud_flags(rt: Runtime) -> ConsumerSpec:
    """ai-fraud's verdicts on claims: the score on the claim, an investigation task per alert."""

    async def scored(session: AsyncSession, event: CloudEvent) -> None:
        await fraud.record_score(session, data=event.data_as(FraudScored), event_id=event.id)

    async def alert(session: AsyncSession, event: CloudEvent) -> None:
        await fraud.open_investigation(session, rt=rt, data=event.data_as(FraudAlert), event_id=event.id)

    return consumer_group(
        "core-crm.fraud",
        {SCORE_TOPIC: {FraudScored.event_type: scored, FraudAlert.event_type: alert}},
    )


def policy_proposals(rt: Runtime) -> ConsumerSpec:
    """Parsed carrier policy documents and portfolio syncs -> policy proposals for an agent (never a
    change by itself)."""

    async def parsed(session: AsyncSession, event: CloudEvent) -> None:
        await proposals.record(session, event_id=event.id, data=event.data_as(PolicyDocumentParsed))

    async def listed(session: AsyncSession, event: CloudEvent) -> None:
        await proposals.record_listed(session, event_id=event.id, data=event.data_as(PortfolioPolicyListed))

    async def synced(session: AsyncSession, event: CloudEvent) -> None:
        await proposals.record_missing(session, event_id=event.id, data=event.data_as(PortfolioSynced))

    return consumer_group(
        "core-crm.proposals",
        {
            JOB_TOPIC: {
                PolicyDocumentParsed.event_type: parsed,
                PortfolioPolicyListed.event_type: listed,
                PortfolioSynced.event_type: synced,
            }
        },
    )


def consumer_specs(rt: Runtime) -> list[ConsumerSpec]:
    """The worker's consumers: the CRM's one table of groups, topics, event types and handlers."""
    specs = [
        automation(rt),
        timeline(rt),
        account_links(rt),
        workflow_triggers(rt),
        engine_pricing(rt),
        integrations(),
        lead_scores(),
        retention(rt),
        fraud_flags(rt),
        policy_proposals(rt),
    ]
    return [_with_trail(spec) for spec in specs]
