"""Framing: only an answer whose service names the origins that may frame it (the chat widget) can
be framed, by exactly those origins; WebSockets from a page the platform served are same-origin."""

from __future__ import annotations

import json

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from gateway.browser import framing_policy

from .conftest import Gateway

SITE = "https://www.aintech.example"
APP = "https://app.aintech.example"  # in GATEWAY_CORS_ORIGINS of the test gateway


def own_policy(gateway: Gateway, csp: str) -> httpx.Response:
    response = httpx.get(
        f"{gateway.url}/api/omnichannel/own-policy",
        params={"csp": csp},
        headers=gateway.auth(gateway.token()),
    )
    assert response.status_code == 200, response.text
    return response


def test_a_service_names_the_origins_that_may_frame_its_answer(gateway: Gateway) -> None:
    widget = own_policy(gateway, f"default-src 'none'; frame-ancestors 'self' {SITE}")
    assert widget.headers["content-security-policy"] == f"default-src 'none'; frame-ancestors 'self' {SITE}"
    assert "x-frame-options" not in widget.headers, "DENY would forbid the allowed origins"
    assert widget.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(
    "wide",
    ["*", "https:", "https://*.example.com", f"{SITE} *", "data:", f"{SITE}/path"],
)
def test_a_wildcard_frame_ancestors_becomes_none(gateway: Gateway, wide: str) -> None:
    answer = own_policy(gateway, f"default-src 'self'; frame-ancestors {wide}")
    assert answer.headers["content-security-policy"] == "default-src 'self'; frame-ancestors 'none'"
    assert answer.headers["x-frame-options"] == "DENY"


def test_a_service_policy_without_frame_ancestors_still_forbids_framing(gateway: Gateway) -> None:
    answer = own_policy(gateway, "default-src 'self'; img-src data:")
    assert (
        answer.headers["content-security-policy"]
        == "default-src 'self'; img-src data:; frame-ancestors 'none'"
    )
    assert answer.headers["x-frame-options"] == "DENY"
    explicit_none = own_policy(gateway, "frame-ancestors 'none'")
    assert explicit_none.headers["x-frame-options"] == "DENY"


def test_answers_without_a_service_policy_are_never_framed(gateway: Gateway) -> None:
    answer = httpx.get(f"{gateway.url}/api/crm/customers", headers=gateway.auth(gateway.token()))
    assert answer.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
    assert answer.headers["x-frame-options"] == "DENY"


def test_framing_policy_parses_directives_case_insensitively() -> None:
    assert framing_policy(f"Frame-Ancestors {SITE.upper()}") == (f"Frame-Ancestors {SITE.upper()}", True)
    assert framing_policy("frame-ancestors 'none'") == ("frame-ancestors 'none'", False)
    assert framing_policy("frame-ancestors") == ("frame-ancestors 'none'", False)
    assert framing_policy("script-src 'self';;") == ("script-src 'self'; frame-ancestors 'none'", False)


async def test_websockets_from_the_platforms_own_pages_and_allowed_origins_only(gateway: Gateway) -> None:
    url = gateway.url.replace("http://", "ws://") + "/ws/omnichannel/chat/framed"
    token = gateway.token()
    for origin in (gateway.url, APP):
        async with connect(url, subprotocols=["bearer", token], origin=origin) as ws:  # type: ignore[list-item,arg-type]
            assert json.loads(await ws.recv())["room"] == "framed"
    port = int(gateway.url.rsplit(":", 1)[1])
    for origin in (SITE, f"http://127.0.0.1:{port + 1}", "https://127.0.0.1:" + str(port), "null"):
        with pytest.raises(InvalidStatus) as refused:
            async with connect(url, subprotocols=["bearer", token], origin=origin):  # type: ignore[list-item,arg-type]
                pass
        assert refused.value.response.status_code == 403, origin
