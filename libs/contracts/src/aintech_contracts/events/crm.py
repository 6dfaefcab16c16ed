"""Events of the core CRM (customers, policies, claims, quotes, interactions, tasks, workflows).

Event models are added here as the context publishes them; producers and consumers import
the same model."""

from __future__ import annotations

from aintech_contracts.events.base import declare_topic

CUSTOMER_TOPIC = declare_topic("crm.customer", 6)
POLICY_TOPIC = declare_topic("crm.policy", 6)
CLAIM_TOPIC = declare_topic("crm.claim", 6)
