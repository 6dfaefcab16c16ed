"""The proxy pool: admin only, credentials encrypted and never returned, rotation through the least
recently used healthy proxy, a real forward proxy on 127.0.0.1 carrying a job's traffic with the
pool's credentials, cooldown after a ban, health checks."""

from __future__ import annotations

import asyncio
import base64
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import urlsplit

import pytest

from aintech_contracts.rbac import Role
from aintech_devtools.api import ServiceApi
from scraper.core.base import utcnow
from scraper.proxies import service as proxies
from scraper.proxies.schemas import ProxyIn

from .conftest import Scraping

PROXY = {
    "label": "Madrid 1",
    "scheme": "http",
    "host": "proxy1.example.net",
    "port": 3128,
    "username": "aintech",
    "password": "pr0xy-Secret",
}


@dataclass
class ForwardProxy:
    """A minimal HTTP forward proxy that demands Basic credentials and counts what it carried."""

    user: str
    password: str
    carried: list[str] = field(default_factory=list)
    refused: int = 0
    port: int = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(Exception):
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, target, version = lines[0].split(" ")
            headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
            expected = "Basic " + base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
            if headers.get("Proxy-Authorization") != expected:
                self.refused += 1
                writer.write(
                    b"HTTP/1.1 407 Proxy Authentication Required\r\n"
                    b"Content-Length: 0\r\nConnection: close\r\n\r\n"
                )
                await writer.drain()
                return
            body = b""
            if "Content-Length" in headers:
                body = await reader.readexactly(int(headers["Content-Length"]))
            url = urlsplit(target)
            self.carried.append(target)
            up_reader, up_writer = await asyncio.open_connection(url.hostname, url.port)
            forwarded = {
                k: v
                for k, v in headers.items()
                if k.lower() not in ("proxy-authorization", "proxy-connection", "connection")
            }
            path = url.path + (f"?{url.query}" if url.query else "")
            request = f"{method} {path} {version}\r\n" + "".join(
                f"{k}: {v}\r\n" for k, v in forwarded.items()
            )
            up_writer.write(request.encode("latin-1") + b"Connection: close\r\n\r\n" + body)
            await up_writer.drain()
            while chunk := await up_reader.read(65536):
                writer.write(chunk)
            await writer.drain()
            up_writer.close()
        writer.close()


@pytest.fixture
async def forward_proxy() -> AsyncIterator[ForwardProxy]:
    proxy = ForwardProxy(user="aintech", password="pr0xy-Secret")
    server = await asyncio.start_server(proxy.handle, "127.0.0.1", 0)
    proxy.port = server.sockets[0].getsockname()[1]
    try:
        yield proxy
    finally:
        server.close()
        await server.wait_closed()


async def test_an_admin_adds_a_proxy_whose_credentials_never_come_back(api: ServiceApi) -> None:
    admin = api.person(Role.admin)
    added = (await api.call("POST", "/proxies", as_=admin, json=PROXY, expect=201)).json()
    listed = (await api.call("GET", "/proxies", as_=admin, expect=200)).json()
    for answer in (added, *listed):
        assert (
            answer["credentials_set"] is True
            and "pr0xy-Secret" not in str(answer)
            and "aintech" not in str(answer)
        )
    stored = await api.row("SELECT password_sealed FROM scraper.proxies WHERE id = :i", i=added["id"])
    assert stored is not None and b"pr0xy-Secret" not in bytes(stored["password_sealed"])
    await api.call("POST", "/proxies", as_=admin, json=PROXY, expect=409)
    await api.call("POST", "/proxies", as_=api.person(Role.supervisor), json=PROXY, expect=403)
    await api.call("GET", "/proxies", as_=api.person(Role.supervisor), expect=403)
    await api.call("POST", "/proxies", as_=admin, json={**PROXY, "host": "http://x/"}, expect=422)
    await api.call("DELETE", f"/proxies/{added['id']}", as_=admin, expect=204)


async def test_rotation_takes_the_least_recently_used_proxy_and_skips_cooling_ones(
    scraping: Scraping,
) -> None:
    settings = scraping.settings
    async with scraping.db.transaction() as session:
        for n in (1, 2, 3):
            await proxies.add_proxy(
                session,
                settings=settings,
                body=ProxyIn(label=f"p{n}", host=f"proxy{n}.example.net", port=3128),
            )
    now = utcnow()
    used = []
    for step in range(4):
        async with scraping.db.transaction() as session:
            lease = await proxies.take(session, settings=settings, now=now + timedelta(seconds=step))
            assert lease is not None
            used.append(urlsplit(lease.url).hostname)
    assert len(set(used[:3])) == 3 and used[3] == used[0], used
    banned = used[1]
    async with scraping.db.transaction() as session:
        [row] = [p for p in await proxies.list_proxies(session) if p.host == banned]
        await proxies.cool_down(session, settings=settings, proxy_id=row.id, reason="captcha", now=now)
    seen = set()
    for step in range(4, 10):
        async with scraping.db.transaction() as session:
            lease = await proxies.take(session, settings=settings, now=now + timedelta(seconds=step))
            assert lease is not None
            seen.add(urlsplit(lease.url).hostname)
    assert banned not in seen


async def test_a_job_goes_through_the_pools_proxy_with_its_credentials(
    scraping: Scraping, forward_proxy: ForwardProxy
) -> None:
    async with scraping.db.transaction() as session:
        await proxies.add_proxy(
            session,
            settings=scraping.settings,
            body=ProxyIn(
                label="local",
                host="127.0.0.1",
                port=forward_proxy.port,
                username="aintech",
                password="pr0xy-Secret",
            ),
        )
    job_id = await scraping.queue("mapfre")
    assert await scraping.runner.run_once() == "succeeded", (await scraping.job(job_id)).error_detail
    assert any("/mapfre/tarificar" in url for url in forward_proxy.carried) and forward_proxy.refused == 0


async def test_a_ban_through_a_proxy_rests_it(scraping: Scraping, forward_proxy: ForwardProxy) -> None:
    async with scraping.db.transaction() as session:
        await proxies.add_proxy(
            session,
            settings=scraping.settings,
            body=ProxyIn(
                label="local",
                host="127.0.0.1",
                port=forward_proxy.port,
                username="aintech",
                password="pr0xy-Secret",
            ),
        )
    scraping.portal.state.modes["mapfre"] = "captcha"
    await scraping.queue("mapfre")
    assert await scraping.runner.run_once() == "retry"
    async with scraping.db.transaction() as session:
        [row] = await proxies.list_proxies(session)
        assert row.bans == 1 and row.cooldown_until is not None and row.cooldown_until > utcnow()
        assert await proxies.take(session, settings=scraping.settings) is None, (
            "no usable proxy while it rests"
        )


async def test_the_health_check_marks_a_dead_proxy_unhealthy(
    scraping: Scraping, forward_proxy: ForwardProxy
) -> None:
    server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
    dead_port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    async with scraping.db.transaction() as session:
        await proxies.add_proxy(
            session,
            settings=scraping.settings,
            body=ProxyIn(label="alive", host="127.0.0.1", port=forward_proxy.port),
        )
        await proxies.add_proxy(
            session, settings=scraping.settings, body=ProxyIn(label="dead", host="127.0.0.1", port=dead_port)
        )
    async with scraping.db.transaction() as session:
        assert await proxies.check_health(session, settings=scraping.settings) == 1
    async with scraping.db.transaction() as session:
        health = {p.label: p.healthy for p in await proxies.list_proxies(session)}
    assert health == {"alive": True, "dead": False}
