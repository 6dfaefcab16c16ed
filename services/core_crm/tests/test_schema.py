"""The migrations build exactly the tables the models declare (a model change without a migration,
or a migration the models do not know about, fails here), and the status columns take exactly the
vocabularies of the contracts."""

from __future__ import annotations

from enum import StrEnum

import pytest

from aintech_contracts.statuses import (
    FINAL_CLAIM_STATUSES,
    ClaimStatus,
    CustomerSegment,
    CustomerStatus,
    PolicyStatus,
    QuoteStatus,
    TaskPriority,
    TaskStatus,
)
from aintech_devtools.schema import check_constraint_values, migration_drift
from core_crm.claims.models import TRANSITIONS as CLAIM_TRANSITIONS
from core_crm.models import Base
from core_crm.quotes.models import QUOTE_TRANSITIONS


async def test_migrations_match_the_models(admin_database_url: str) -> None:
    differences = await migration_drift(admin_database_url, Base.metadata)
    assert differences == [], "\n".join(map(str, differences))


@pytest.mark.parametrize(
    ("table", "constraint", "vocabulary"),
    [
        ("claims", "status", ClaimStatus),
        ("policies", "status", PolicyStatus),
        ("quotes", "status", QuoteStatus),
        ("tasks", "status", TaskStatus),
        ("tasks", "priority", TaskPriority),
        ("customers", "status", CustomerStatus),
        ("customers", "segment", CustomerSegment),
    ],
)
async def test_the_database_allows_exactly_the_contracts_vocabulary(
    admin_database_url: str, table: str, constraint: str, vocabulary: type[StrEnum]
) -> None:
    allowed = await check_constraint_values(admin_database_url, schema="crm", table=table, name=constraint)
    assert allowed == {v.value for v in vocabulary}, f"crm.{table}.{constraint} and {vocabulary.__name__}"


def test_the_state_machines_cover_the_contracts_vocabulary() -> None:
    assert set(CLAIM_TRANSITIONS) == set(ClaimStatus)
    assert {s for s, moves in CLAIM_TRANSITIONS.items() if not moves} == FINAL_CLAIM_STATUSES
    assert set(QUOTE_TRANSITIONS) == set(QuoteStatus)
    for moves in (*CLAIM_TRANSITIONS.values(), *QUOTE_TRANSITIONS.values()):
        assert all(isinstance(target, StrEnum) for target in moves)
