"""Tables of the `crm` schema (imported here so Alembic sees the whole metadata)."""

from core_crm.accounts.models import Account
from core_crm.claims.models import Claim, ClaimDocument, ClaimHistory, ClaimNote
from core_crm.core.base import MESSAGING, Base
from core_crm.customers.models import Customer, CustomerAudit
from core_crm.fraud.models import ClaimFraudScore
from core_crm.intake.models import UnmatchedInteraction
from core_crm.integrations.models import WebhookDelivery, WebhookSubscription
from core_crm.interactions.models import Interaction
from core_crm.leads.models import Lead
from core_crm.policies.models import Policy, PolicyTerm
from core_crm.proposals.models import PolicyProposal
from core_crm.quotes.models import Quote
from core_crm.renewals.models import RenewalConfirmation
from core_crm.tasks.models import Task
from core_crm.trail.models import ChangeRecord
from core_crm.workflows.models import Workflow, WorkflowExecution, WorkflowStepRun, WorkflowVersion

__all__ = [
    "MESSAGING",
    "Account",
    "Base",
    "ChangeRecord",
    "Claim",
    "ClaimDocument",
    "ClaimFraudScore",
    "ClaimHistory",
    "ClaimNote",
    "Customer",
    "CustomerAudit",
    "Interaction",
    "Lead",
    "Policy",
    "PolicyProposal",
    "PolicyTerm",
    "Quote",
    "RenewalConfirmation",
    "Task",
    "UnmatchedInteraction",
    "WebhookDelivery",
    "WebhookSubscription",
    "Workflow",
    "WorkflowExecution",
    "WorkflowStepRun",
    "WorkflowVersion",
]
