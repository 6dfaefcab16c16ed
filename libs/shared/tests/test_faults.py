"""Outage or poison: how the consumers classify a failure, and which messages are CloudEvents."""

from __future__ import annotations

import asyncpg
import pytest
from aiokafka.errors import KafkaConnectionError, RequestTimedOutError
from pydantic import ValidationError
from sqlalchemy import exc as sa_exc
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from aintech_contracts.envelope import is_structured_content_type
from aintech_shared.events.consumer import PermanentError
from aintech_shared.events.faults import is_outage


def wrapped(cause: BaseException) -> sa_exc.DBAPIError:
    """What SQLAlchemy raises around a driver error."""
    try:
        raise sa_exc.DBAPIError("SELECT 1", None, cause) from cause
    except sa_exc.DBAPIError as exc:
        return exc


@pytest.mark.parametrize(
    "error",
    [
        ConnectionRefusedError(111, "Connect call failed"),
        TimeoutError(),
        OSError("network is unreachable"),
        KafkaConnectionError("broker gone"),
        RequestTimedOutError(),
        asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
        asyncpg.CannotConnectNowError("the database system is starting up"),
        asyncpg.AdminShutdownError("terminating connection due to administrator command"),
        asyncpg.InterfaceError("connection is closed"),
        wrapped(ConnectionResetError()),
        sa_exc.TimeoutError("QueuePool limit reached, connection timed out"),
        sa_exc.InterfaceError("SELECT 1", None, Exception("connection is closed")),
    ],
    ids=repr,
)
def test_connection_level_failures_are_outages(error: BaseException) -> None:
    assert is_outage(error)


def test_an_outage_under_a_handler_error_is_still_an_outage() -> None:
    try:
        try:
            raise ConnectionResetError("peer reset")
        except ConnectionResetError as cause:
            raise RuntimeError("could not load the policy") from cause
    except RuntimeError as exc:
        assert is_outage(exc)


@pytest.mark.parametrize(
    "error",
    [
        PermanentError("claim already settled"),
        ValueError("premium must be positive"),
        KeyError("policy_id"),
        FileNotFoundError("/srv/templates/renewal.html"),
        asyncpg.UniqueViolationError("duplicate key"),
        wrapped(asyncpg.ForeignKeyViolationError("no such customer")),
    ],
    ids=repr,
)
def test_handler_errors_are_not_outages(error: BaseException) -> None:
    assert not is_outage(error)


def test_validation_errors_are_not_outages() -> None:
    from aintech_contracts.envelope import CloudEvent

    with pytest.raises(ValidationError) as caught:
        CloudEvent.from_bytes(b'{"specversion": "1.0"}')
    assert not is_outage(caught.value)


async def test_a_stopped_database_is_an_outage_as_sqlalchemy_raises_it() -> None:
    engine: AsyncEngine = create_async_engine("postgresql+asyncpg://nobody:x@127.0.0.1:1/none")
    try:
        with pytest.raises(Exception) as caught:
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        assert is_outage(caught.value)
    finally:
        await engine.dispose()


@pytest.mark.parametrize(
    ("header", "structured"),
    [
        (b"application/cloudevents+json; charset=UTF-8", True),
        (b"application/cloudevents+json", True),
        (b"Application/CloudEvents+JSON;charset=utf-8", True),
        (b"application/cloudevents+json; charset=ISO-8859-1", False),
        (b"application/json", False),
        (b"application/cloudevents-batch+json", False),
        (None, False),
    ],
)
def test_only_structured_mode_json_cloudevents_are_accepted(header: bytes | None, structured: bool) -> None:
    assert is_structured_content_type(header) is structured
