"""Portal accounts: admin only, allow-listed hosts only, credentials encrypted and never returned."""

from __future__ import annotations

import pytest

from aintech_contracts.rbac import Role
from aintech_devtools.api import ServiceApi
from scraper.carriers.spec import load_spec
from scraper.core.hosts import HostPolicy

ACCOUNT = {"base_url": "https://portal.mapfre.es", "username": "corredor01", "password": "s3cr3t-Clave!"}


async def test_an_admin_sets_an_account_whose_credentials_never_come_back(api: ServiceApi) -> None:
    admin = api.person(Role.admin)
    saved = (await api.call("PUT", "/carriers/mapfre/account", as_=admin, json=ACCOUNT, expect=200)).json()
    read = (await api.call("GET", "/carriers/mapfre/account", as_=admin, expect=200)).json()
    for answer in (saved, read):
        assert answer["base_url"] == "https://portal.mapfre.es" and answer["credentials_set"] is True
        assert "s3cr3t" not in str(answer) and "corredor01" not in str(answer)
    stored = await api.row(
        "SELECT username_sealed, password_sealed FROM scraper.portal_accounts WHERE carrier = 'mapfre'"
    )
    assert stored is not None
    assert b"s3cr3t" not in bytes(stored["password_sealed"]) and b"corredor01" not in bytes(
        stored["username_sealed"]
    )


async def test_only_admins_manage_accounts(api: ServiceApi) -> None:
    await api.call(
        "PUT", "/carriers/mapfre/account", as_=api.person(Role.supervisor), json=ACCOUNT, expect=403
    )
    await api.call("GET", "/carriers/mapfre/account", as_=api.person(Role.supervisor), expect=403)
    await api.call("GET", "/carriers/axa/account", as_=api.person(Role.admin), expect=404)


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data",
        "http://127.0.0.1:8002/",
        "https://portal.mapfre.es.evil.example/",
        "https://corredor@evil.example/",
        "https://portal.mapfre.es@evil.example/",
        "file:///etc/passwd",
    ],
)
async def test_an_account_off_the_carriers_hosts_is_refused(api: ServiceApi, url: str) -> None:
    answer = await api.call(
        "PUT",
        "/carriers/mapfre/account",
        as_=api.person(Role.admin),
        json={**ACCOUNT, "base_url": url},
        expect=422,
    )
    assert "base_url" in answer.text


def test_the_host_policy_refuses_look_alikes_user_info_and_other_schemes() -> None:
    policy = HostPolicy(["portal.mapfre.es", "127.0.0.1:8443"])
    assert policy.allows("https://portal.mapfre.es/tarificar?x=1")
    assert policy.allows("https://127.0.0.1:8443/a") and not policy.allows("https://127.0.0.1:8444/a")
    for url in (
        "https://portal.mapfre.es.evil.example/",
        "https://x@portal.mapfre.es/",
        "ftp://portal.mapfre.es/",
        "https://[::1]/",
        "http:///x",
    ):
        assert not policy.allows(url), url


def test_an_adapter_definition_with_a_bad_host_or_no_premium_is_refused() -> None:
    good = """
carrier: zurich
name: Zurich
version: "1.0"
engine: http
hosts: [portal.zurich.es]
prices:
  url: /q
  items: .o
  map: {premium: {selector: .p, type: money}}
"""
    assert load_spec(good).kinds == ["prices"]
    with pytest.raises(ValueError, match="host"):
        load_spec(good.replace("portal.zurich.es", "http://evil/"))
    with pytest.raises(ValueError, match="premium"):
        load_spec(good.replace("premium: {selector: .p, type: money}", "price: {selector: .p}"))
    with pytest.raises(ValueError):
        load_spec(good + "\nscript: rm -rf /\n")
