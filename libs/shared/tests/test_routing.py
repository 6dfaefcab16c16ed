"""A service's consumer table: topics and handlers of a group come from one mapping."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from aintech_contracts.envelope import CloudEvent
from aintech_shared.events.routing import batched, consumer_group


async def on_customer(session: AsyncSession, event: CloudEvent) -> None:
    return None


async def on_policy(session: AsyncSession, event: CloudEvent) -> None:
    return None


def test_the_table_gives_the_group_its_topics_and_handlers() -> None:
    spec = consumer_group(
        "svc.crm",
        {"crm.customer": {"customer.created": on_customer}, "crm.policy": {"policy.renewed": on_policy}},
        max_attempts=3,
    )
    assert spec.name == "svc.crm" and list(spec.topics) == ["crm.customer", "crm.policy"]
    assert spec.handlers == {"customer.created": on_customer, "policy.renewed": on_policy}
    assert spec.max_attempts == 3


def test_an_event_type_routed_to_two_handlers_is_refused() -> None:
    with pytest.raises(ValueError, match=r"customer\.created is routed to two handlers"):
        consumer_group(
            "svc.crm",
            {"crm.customer": {"customer.created": on_customer}, "crm.other": {"customer.created": on_policy}},
        )


async def on_customers(session: AsyncSession, events: Sequence[CloudEvent]) -> None:
    return None


def test_a_batched_handler_in_the_table_becomes_the_groups_batch_handler() -> None:
    spec = consumer_group(
        "svc.crm",
        {"crm.customer": {"customer.created": batched(on_customers), "customer.deleted": on_customer}},
    )
    assert spec.handlers == {"customer.deleted": on_customer}
    assert spec.batch_handlers == {"customer.created": on_customers}
    assert spec.handles("customer.created") and list(spec.topics) == ["crm.customer"]
