"""A service's consumer table: topics and handlers of a group come from one mapping."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from aintech_contracts.envelope import CloudEvent
from aintech_shared.events.routing import consumer_group


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
