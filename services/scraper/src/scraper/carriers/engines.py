"""The two engines that run a declarative adapter: ``http`` (plain HTTP + selectolax, for static
portals) and ``browser`` (Playwright driving Debian's Chromium, for JavaScript portals).

Both contact only allow-listed hosts: the HTTP engine follows redirects itself and checks every
hop; the browser aborts every request (navigations, redirects, sub-resources) whose host is not
allowed and refuses a page that ends up elsewhere. Both keep the last page for the failure
artifacts.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import unquote, urljoin, urlsplit

import httpx

from scraper.carriers.reading import Offer, check_blocked, fill, parse, read_offers
from scraper.carriers.spec import AdapterSpec, LoginSpec
from scraper.core.errors import ErrorClass, ScrapeError
from scraper.core.hosts import HostPolicy

MAX_REDIRECTS = 5
MAX_BODY = 20_000_000


@dataclass
class Page:
    url: str | None = None
    html: bytes | None = None
    screenshot: bytes | None = None


class Engine(Protocol):
    last: Page

    async def login(self, username: str, password: str) -> None: ...

    async def prices(self, values: dict[str, Any]) -> list[Offer]: ...

    async def document(self, values: dict[str, Any]) -> bytes: ...

    async def read_page(self, path: str, *, wait_for: str | None = None) -> str: ...

    async def snapshot(self) -> Page: ...

    async def close(self) -> None: ...


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "")
    return float(value) if value.isdigit() else None


def _status_error(response: httpx.Response) -> ScrapeError | None:
    if response.status_code == 429:
        return ScrapeError(
            ErrorClass.rate_limited,
            "the portal answered 429 Too Many Requests",
            retry_after=_retry_after(response),
        )
    if response.status_code >= 500:
        return ScrapeError(ErrorClass.site_down, f"the portal answered {response.status_code}")
    return None


class HttpEngine:
    """Static portals: forms posted with httpx (cookies kept), pages read with selectolax."""

    def __init__(
        self,
        spec: AdapterSpec,
        base_url: str,
        policy: HostPolicy,
        *,
        timeout: float,
        proxy: str | None = None,
    ) -> None:
        self.spec, self.base_url, self.policy = spec, base_url.rstrip("/") + "/", policy
        self.last = Page()
        self.client = httpx.AsyncClient(
            timeout=timeout,
            follow_redirects=False,
            proxy=proxy,
            trust_env=False,
            headers={"User-Agent": "AINTECH-broker-portal-client/1.0", "Accept-Language": "es-ES,es;q=0.9"},
        )

    def _url(self, path: str) -> str:
        return self.policy.check(urljoin(self.base_url, path.lstrip("/")))

    async def _send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        for _ in range(MAX_REDIRECTS + 1):
            try:
                response = await self.client.request(method, self.policy.check(url), **kwargs)
            except httpx.TimeoutException as exc:
                raise ScrapeError(ErrorClass.timeout, f"no answer from {url[:200]} in time") from exc
            except httpx.HTTPError as exc:
                raise ScrapeError(
                    ErrorClass.site_down, f"cannot reach {url[:200]}: {type(exc).__name__}"
                ) from exc
            self.last = Page(url=str(response.url), html=response.content[:MAX_BODY])
            if response.is_redirect:
                url = urljoin(str(response.url), response.headers.get("location", ""))
                method, kwargs = "GET", {}
                continue
            error = _status_error(response)
            if error is not None:
                raise error
            if response.headers.get("content-type", "").startswith("text/html"):
                check_blocked(self.spec, parse(response.text))
            return response
        raise ScrapeError(ErrorClass.site_down, "too many redirects")

    async def login(self, username: str, password: str) -> None:
        login = self._login_spec()
        values = {"username": username, "password": password}
        await self._send("GET", self._url(login.url))
        form = {name: fill(template, values) for name, template in login.fields.items()}
        response = await self._send("POST", self._url(login.action or login.url), data=form)
        _check_login(login, response.text)

    def _login_spec(self) -> LoginSpec:
        if self.spec.login is None:
            raise ScrapeError(ErrorClass.internal, f"the {self.spec.name} adapter has no login steps")
        return self.spec.login

    async def prices(self, values: dict[str, Any]) -> list[Offer]:
        prices = self.spec.prices
        assert prices is not None
        form = {name: fill(template, values) for name, template in prices.fields.items()}
        url = self._url(prices.url)
        if prices.method == "GET":
            response = await self._send("GET", url, params=form)
        else:
            response = await self._send("POST", url, data=form)
        return read_offers(self.spec, prices, response.text)

    async def document(self, values: dict[str, Any]) -> bytes:
        document = self.spec.policy_document
        assert document is not None
        response = await self._send("GET", self._url(fill(document.url, values)))
        return response.content

    async def read_page(self, path: str, *, wait_for: str | None = None) -> str:
        """The HTML of one page of the portal (``wait_for`` is for browsers: a static page is whole)."""
        response = await self._send("GET", self._url(path))
        return response.text

    async def snapshot(self) -> Page:
        return self.last

    async def close(self) -> None:
        await self.client.aclose()


def _check_login(login: LoginSpec, html: str) -> None:
    tree = parse(html)
    if login.failure and tree.css_first(login.failure) is not None:
        raise ScrapeError(ErrorClass.login_refused, "the portal refused the credentials")
    if tree.css_first(login.success) is None:
        raise ScrapeError(
            ErrorClass.layout_changed,
            f"after logging in nothing matches {login.success!r} (and no refusal shown)",
        )


class BrowserEngine:
    """JavaScript portals: Playwright driving the configured Chromium; pages read with selectolax."""

    def __init__(
        self,
        spec: AdapterSpec,
        base_url: str,
        policy: HostPolicy,
        *,
        executable: str,
        timeout: float,
        proxy: str | None = None,
    ) -> None:
        self.spec, self.base_url, self.policy = spec, base_url.rstrip("/") + "/", policy
        self.executable, self.timeout_ms, self.proxy = executable, timeout * 1000, proxy
        self.last = Page()
        self.refused: list[str] = []
        self._pw: Any = None
        self._browser: Any = None
        self._page: Any = None

    async def _open(self) -> Any:
        if self._page is not None:
            return self._page
        from playwright.async_api import async_playwright

        self._pw = await async_playwright().start()
        launch: dict[str, Any] = {
            "executable_path": self.executable,
            "headless": True,
            "args": [
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
            ],
        }
        if self.proxy:
            parts = urlsplit(self.proxy)
            launch["proxy"] = {
                "server": f"{parts.scheme}://{parts.hostname}:{parts.port}",
                "username": unquote(parts.username or ""),
                "password": unquote(parts.password or ""),
            }
        self._browser = await self._pw.chromium.launch(**launch)
        context = await self._browser.new_context(locale="es-ES", service_workers="block")
        await context.route("**/*", self._guard)
        self._page = await context.new_page()
        self._page.set_default_timeout(self.timeout_ms)
        return self._page

    async def _guard(self, route: Any) -> None:
        url = route.request.url
        if url.startswith(("data:", "blob:")) or self.policy.allows(url):
            await route.continue_()
        else:
            self.refused.append(url)
            await route.abort("blockedbyclient")

    async def _goto(self, path: str) -> Any:
        from playwright.async_api import Error as PlaywrightError
        from playwright.async_api import TimeoutError as PlaywrightTimeout

        page = await self._open()
        url = self.policy.check(urljoin(self.base_url, path.lstrip("/")))
        try:
            response = await page.goto(url, wait_until="domcontentloaded")
        except PlaywrightTimeout as exc:
            raise ScrapeError(ErrorClass.timeout, f"no answer from {url[:200]} in time") from exc
        except PlaywrightError as exc:
            if self.refused:
                raise ScrapeError(
                    ErrorClass.unsafe_target,
                    f"the portal sent the browser to {self.refused[-1][:200]!r}, which is not allow-listed",
                ) from exc
            raise ScrapeError(ErrorClass.site_down, f"cannot reach {url[:200]}") from exc
        await self._after_navigation(response)
        return page

    async def _after_navigation(self, response: Any) -> None:
        page = self._page
        self.policy.check(page.url)
        content: str = await page.content()
        self.last = Page(url=page.url, html=content.encode())
        if response is not None:
            if response.status == 429:
                header = response.headers.get("retry-after", "")
                raise ScrapeError(
                    ErrorClass.rate_limited,
                    "the portal answered 429 Too Many Requests",
                    retry_after=float(header) if header.isdigit() else None,
                )
            if response.status >= 500:
                raise ScrapeError(ErrorClass.site_down, f"the portal answered {response.status}")
        check_blocked(self.spec, parse(content))

    async def _fill_and_submit(
        self, fields: dict[str, str], values: dict[str, Any], submit: str | None, wait_for: str | None
    ) -> None:
        from playwright.async_api import TimeoutError as PlaywrightTimeout

        page = self._page
        try:
            for selector, template in fields.items():
                await page.fill(selector, fill(template, values))
            if submit:
                await page.click(submit)
            if wait_for:
                await page.wait_for_selector(wait_for)
            else:
                await page.wait_for_load_state("domcontentloaded")
        except PlaywrightTimeout as exc:
            content: str = await page.content()
            self.last = Page(url=page.url, html=content.encode())
            check_blocked(self.spec, parse(content))
            raise ScrapeError(
                ErrorClass.layout_changed,
                f"the page never showed what the adapter waits for: {exc.message[:200]}",
            ) from exc
        await self._after_navigation(None)

    async def login(self, username: str, password: str) -> None:
        login = self.spec.login
        if login is None:
            raise ScrapeError(ErrorClass.internal, f"the {self.spec.name} adapter has no login steps")
        await self._goto(login.url)
        waiting = f"{login.success}, {login.failure}" if login.failure else login.success
        await self._fill_and_submit(
            login.fields, {"username": username, "password": password}, login.submit, waiting
        )
        assert self.last.html is not None
        _check_login(login, self.last.html.decode())

    async def prices(self, values: dict[str, Any]) -> list[Offer]:
        prices = self.spec.prices
        assert prices is not None
        await self._goto(prices.url)
        await self._fill_and_submit(prices.fields, values, prices.submit, prices.wait_for)
        assert self.last.html is not None
        return read_offers(self.spec, prices, self.last.html.decode())

    async def document(self, values: dict[str, Any]) -> bytes:
        document = self.spec.policy_document
        assert document is not None
        page = await self._open()
        url = self.policy.check(urljoin(self.base_url, fill(document.url, values).lstrip("/")))
        response = await page.context.request.get(url, max_redirects=0)
        if response.status >= 300:
            raise ScrapeError(ErrorClass.site_down, f"the document download answered {response.status}")
        body: bytes = await response.body()
        return body

    async def read_page(self, path: str, *, wait_for: str | None = None) -> str:
        """The page's HTML once its script has rendered ``wait_for`` (never shown: layout_changed)."""
        from playwright.async_api import TimeoutError as PlaywrightTimeout

        page = await self._goto(path)
        if wait_for:
            try:
                await page.wait_for_selector(wait_for)
            except PlaywrightTimeout as exc:
                content: str = await page.content()
                self.last = Page(url=page.url, html=content.encode())
                check_blocked(self.spec, parse(content))
                raise ScrapeError(
                    ErrorClass.layout_changed,
                    f"the page never showed what the adapter waits for: {exc.message[:200]}",
                ) from exc
            await self._after_navigation(None)
        assert self.last.html is not None
        return self.last.html.decode()

    async def snapshot(self) -> Page:
        if self._page is not None:
            with contextlib.suppress(Exception):
                self.last.screenshot = await self._page.screenshot(type="png", full_page=False)
                self.last.html = (await self._page.content()).encode()
                self.last.url = self._page.url
        return self.last

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            if self._browser is not None:
                await self._browser.close()
        with contextlib.suppress(Exception):
            if self._pw is not None:
                await self._pw.stop()
