"""Sign-in failures and lockouts are counted (auth_login_failures_total, auth_lockouts_total)."""

from __future__ import annotations

from prometheus_client import REGISTRY
from sqlalchemy import text

from .conftest import PASSWORD, Api


def _count(metric: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(metric, labels) or 0.0


async def test_failures_throttling_and_a_lockout_are_counted(api: Api) -> None:
    user = await api.register()
    guesser = {"X-Forwarded-For": "198.51.100.61"}
    wrong, throttled = (
        _count("auth_login_failures_total", reason="invalid_credentials"),
        _count("auth_login_failures_total", reason="throttled"),
    )
    locks = _count("auth_lockouts_total", scope="account_ip")

    for n in range(4):  # the fixture locks an account from one address at the 4th failure
        assert (await api.login(user["email"], f"Wrong-Password-{n}!", **guesser)).status_code == 401
        await api.conn.execute(text("UPDATE auth.login_throttles SET next_allowed_at = NULL"))
    assert (await api.login(user["email"], PASSWORD, **guesser)).status_code == 429

    assert _count("auth_login_failures_total", reason="invalid_credentials") == wrong + 4
    assert _count("auth_login_failures_total", reason="throttled") == throttled + 1
    assert _count("auth_lockouts_total", scope="account_ip") == locks + 1
