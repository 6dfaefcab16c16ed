"""The migrations build exactly the tables the models declare (a model change without a migration,
or a migration the models do not know about, fails here), and the status columns take exactly the
vocabularies of the contracts."""

from __future__ import annotations

from enum import StrEnum

import pytest

from aintech_contracts.statuses import FINAL_CALL_STATUSES, AgentState, CallStatus
from aintech_devtools.schema import check_constraint_values, migration_drift
from telephony.calls.models import LIVE, STATUS_RANK, TERMINAL
from telephony.models import Base


async def test_migrations_match_the_models(admin_database_url: str) -> None:
    differences = await migration_drift(admin_database_url, Base.metadata)
    assert differences == [], "\n".join(map(str, differences))


@pytest.mark.parametrize(
    ("table", "constraint", "vocabulary"),
    [
        ("calls", "status", CallStatus),
        ("agent_status", "status", AgentState),
        ("agent_status_changes", "status", AgentState),
    ],
)
async def test_the_database_allows_exactly_the_contracts_vocabulary(
    admin_database_url: str, table: str, constraint: str, vocabulary: type[StrEnum]
) -> None:
    allowed = await check_constraint_values(
        admin_database_url, schema="telephony", table=table, name=constraint
    )
    assert allowed == {v.value for v in vocabulary}, f"telephony.{table}.{constraint}"


def test_every_call_status_has_a_rank_and_the_final_ones_are_the_contracts() -> None:
    assert set(STATUS_RANK) == set(CallStatus)
    assert TERMINAL == FINAL_CALL_STATUSES and set(CallStatus) - FINAL_CALL_STATUSES == LIVE
