"""Every Kafka consumer telephony runs, as one table: group -> topic -> event type -> handler.

* ``telephony.crm-read-model`` (crm.customer, crm.claim): the local read model of customers and
  their open claims, so the IVR greets and routes a caller without calling the CRM.
* ``telephony.accounts`` (auth.user): agents disabled, enabled or given a role that does (not)
  handle calls.

Handlers parse the event and call a domain service; each runs in the consumer's transaction with
the processed-event row.
"""

from __future__ import annotations

from aintech_contracts.events.auth import USER_TOPIC
from aintech_contracts.events.crm import (
    CLAIM_TOPIC,
    CUSTOMER_TOPIC,
    ClaimApproved,
    ClaimCreated,
    ClaimDenied,
    ClaimPaid,
    ClaimUpdated,
    CustomerCreated,
    CustomerDeleted,
    CustomerUpdated,
)
from aintech_shared.events.consumer import ConsumerSpec
from aintech_shared.events.routing import batched, consumer_group
from telephony.agents.consumers import account_handlers
from telephony.core.runtime import Runtime
from telephony.customers import consumers as read_model

CRM_READ_MODEL = consumer_group(
    "telephony.crm-read-model",
    {
        CUSTOMER_TOPIC: {
            # Runs of creations and updates are one statement each (same rows as one by one).
            CustomerCreated.event_type: batched(read_model.customers_created),
            CustomerUpdated.event_type: batched(read_model.customers_updated),
            CustomerDeleted.event_type: read_model.customer_deleted,
        },
        CLAIM_TOPIC: {
            ClaimCreated.event_type: read_model.claim_created,
            ClaimUpdated.event_type: read_model.claim_updated,
            ClaimApproved.event_type: read_model.claim_approved,
            ClaimDenied.event_type: read_model.claim_finished,
            ClaimPaid.event_type: read_model.claim_finished,
        },
    },
)


def accounts(rt: Runtime) -> ConsumerSpec:
    return consumer_group("telephony.accounts", {USER_TOPIC: account_handlers(rt)})


def consumer_specs(rt: Runtime) -> list[ConsumerSpec]:
    """The worker's consumers."""
    return [CRM_READ_MODEL, accounts(rt)]
