"""Every Kafka consumer omnichannel runs, as one table: group -> topic -> event type -> handler.

The handlers live in ``delivery.consumers`` (what each event means for the customer and the
agents, see its docstring); each runs in the consumer's transaction with the processed-event row.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from aintech_contracts.envelope import CloudEvent
from aintech_contracts.events import auth, crm, fraud, telephony
from aintech_shared.events.consumer import ConsumerSpec
from aintech_shared.events.routing import consumer_group
from omnichannel.agents import service as agents
from omnichannel.core.runtime import Runtime
from omnichannel.delivery import consumers as on


def consumer_specs(rt: Runtime) -> list[ConsumerSpec]:
    """The worker's consumers."""

    async def on_agent_skills(session: AsyncSession, event: CloudEvent) -> None:
        """Telephony's supervisors set an agent's skills: conversations are routed by them too."""
        data = event.data_as(telephony.AgentSkillsChanged)
        await agents.apply_skills(
            session,
            user_id=data.agent_id,
            skills={str(k): v for k, v in data.skills.items()},
            changed_at=data.changed_at,
            capacity=rt.settings.default_agent_capacity,
        )

    return [
        consumer_group(
            "omnichannel.accounts",
            {
                auth.SECURITY_TOPIC: {
                    auth.EmailVerificationRequested.event_type: on.on_email_verification,
                    auth.PasswordResetRequested.event_type: on.on_password_reset,
                    auth.PasswordChanged.event_type: on.on_password_changed,
                    auth.SuspiciousLogin.event_type: on.on_suspicious_login,
                    auth.AccountExistsNotice.event_type: on.on_account_exists,
                    auth.EmailChangeRequested.event_type: on.on_email_change_requested,
                },
                auth.USER_TOPIC: {
                    auth.UserEmailChanged.event_type: on.on_email_changed,
                    auth.UserRegistered.event_type: on.on_user_registered,
                    auth.UserRoleChanged.event_type: on.on_user_role_changed,
                },
            },
        ),
        consumer_group(
            "omnichannel.crm",
            {
                crm.CUSTOMER_TOPIC: {
                    crm.CustomerCreated.event_type: on.on_customer,
                    crm.CustomerUpdated.event_type: on.on_customer,
                    crm.CustomerDeleted.event_type: on.on_customer_deleted,
                },
                crm.QUOTE_TOPIC: {
                    crm.QuoteCreated.event_type: on.on_quote_created,
                    crm.QuoteConverted.event_type: on.on_quote_converted,
                },
                crm.POLICY_TOPIC: {crm.PolicyExpiringSoon.event_type: on.on_policy_expiring},
                crm.CLAIM_TOPIC: {
                    crm.ClaimCreated.event_type: on.on_claim,
                    crm.ClaimUpdated.event_type: on.on_claim,
                    crm.ClaimApproved.event_type: on.on_claim,
                    crm.ClaimDenied.event_type: on.on_claim,
                    crm.ClaimPaid.event_type: on.on_claim,
                },
                crm.TASK_TOPIC: {crm.TaskCreated.event_type: on.on_task_created},
                crm.NOTIFICATION_TOPIC: {
                    crm.EmailRequested.event_type: on.on_email_requested,
                    crm.ContactCodeRequested.event_type: on.on_contact_code_requested,
                },
            },
        ),
        consumer_group(
            "omnichannel.telephony",
            {telephony.AGENT_TOPIC: {telephony.AgentSkillsChanged.event_type: on_agent_skills}},
        ),
        consumer_group(
            "omnichannel.fraud", {fraud.SCORE_TOPIC: {fraud.FraudAlert.event_type: on.on_fraud_alert}}
        ),
    ]
