"""The real adapters, engines (httpx + selectolax, Playwright + Chromium) and runner against fake
carrier portals on 127.0.0.1: what arrives, and how each bad day of a portal is classified."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from scraper.core.base import utcnow
from scraper.demo.portal import PRODUCTS, premium

from .conftest import RISK, Scraping


def expected(carrier: str) -> dict[str, Decimal]:
    return {
        name: premium(carrier, f, RISK["postal_code"], RISK["driver_birth_date"])
        for name, f in PRODUCTS[carrier]
    }


async def prices_of(scraping: Scraping, job_id: object) -> dict[str, Decimal]:
    rows = await scraping.rows("SELECT product, premium FROM scraper.results WHERE job_id = :j", j=job_id)
    return {r["product"]: r["premium"] for r in rows}


async def test_mapfre_static_portal_prices_arrive_as_results_and_events(scraping: Scraping) -> None:
    job_id = await scraping.queue("mapfre")
    assert await scraping.runner.run_once() == "succeeded"
    job = await scraping.job(job_id)
    assert job.status == "succeeded" and job.progress == 100 and job.attempts == 1
    assert await prices_of(scraping, job_id) == expected("mapfre")
    events = await scraping.rows(
        "SELECT key, payload FROM scraper.outbox WHERE event_type = 'carrier.price_observed' ORDER BY seq"
    )
    assert {e["key"] for e in events} == {"mapfre"}
    data = [e["payload"]["data"] for e in events]
    assert {d["product"]: Decimal(d["premium"]) for d in data} == expected("mapfre")
    assert all(d["risk"]["plate"] == "1234BCD" and d["job_id"] == str(job_id) for d in data)


async def test_allianz_posted_form_prices_arrive(scraping: Scraping) -> None:
    job_id = await scraping.queue("allianz")
    assert await scraping.runner.run_once() == "succeeded"
    assert await prices_of(scraping, job_id) == expected("allianz")


async def test_axa_javascript_portal_is_read_through_chromium(scraping: Scraping) -> None:
    job_id = await scraping.queue("axa")
    assert await scraping.runner.run_once() == "succeeded", (await scraping.job(job_id)).error_detail
    assert await prices_of(scraping, job_id) == expected("axa")


async def test_refused_credentials_fail_the_job_as_login_refused_without_retry(scraping: Scraping) -> None:
    scraping.portal.state.password = "changed-by-the-carrier"
    job_id = await scraping.queue("mapfre")
    assert await scraping.runner.run_once() == "failed"
    job = await scraping.job(job_id)
    assert job.error_class == "login_refused" and job.attempts == 1
    kept = await scraping.artifacts(job_id)
    assert [k["kind"] for k in kept] == ["html"] and b"error-login" in kept[0]["content"]


async def test_a_429_is_retried_not_before_its_retry_after(scraping: Scraping) -> None:
    scraping.portal.state.modes["mapfre"] = "rate_limited"
    job_id = await scraping.queue("mapfre")
    before = utcnow()
    assert await scraping.runner.run_once() == "retry"
    job = await scraping.job(job_id)
    assert job.status == "queued" and job.error_class == "rate_limited"
    assert job.next_attempt_at >= before + timedelta(seconds=7), "the portal's Retry-After is a floor"


async def test_a_captcha_page_is_blocked_and_retried_later(scraping: Scraping) -> None:
    scraping.portal.state.modes["allianz"] = "captcha"
    job_id = await scraping.queue("allianz")
    assert await scraping.runner.run_once() == "retry"
    assert (await scraping.job(job_id)).error_class == "blocked"


async def test_a_portal_that_is_down_is_site_down(scraping: Scraping) -> None:
    scraping.portal.state.modes["mapfre"] = "down"
    job_id = await scraping.queue("mapfre")
    assert await scraping.runner.run_once() == "retry"
    assert (await scraping.job(job_id)).error_class == "site_down"


async def test_a_changed_layout_fails_as_layout_changed(scraping: Scraping) -> None:
    scraping.portal.state.modes["mapfre"] = "changed_layout"
    job_id = await scraping.queue("mapfre")
    assert await scraping.runner.run_once() == "failed"
    job = await scraping.job(job_id)
    assert job.error_class == "layout_changed" and ".oferta" in (job.error_detail or "")
    kept = [k for k in await scraping.artifacts(job_id) if k["kind"] == "html"]
    assert b"oferta-v2" in kept[0]["content"]


async def test_a_changed_javascript_layout_keeps_a_screenshot(scraping: Scraping) -> None:
    scraping.portal.state.modes["axa"] = "changed_layout"
    job_id = await scraping.queue("axa")
    assert await scraping.runner.run_once() == "failed"
    job = await scraping.job(job_id)
    assert job.error_class == "layout_changed"
    kept = await scraping.artifacts(job_id)
    assert [k["kind"] for k in kept] == ["html", "screenshot"]
    assert kept[1]["content"].startswith(b"\x89PNG") and b"offer-card" in kept[0]["content"]


async def test_a_redirect_off_the_allow_list_is_never_followed(scraping: Scraping) -> None:
    scraping.portal.state.modes["mapfre"] = "redirect_out"
    job_id = await scraping.queue("mapfre")
    assert await scraping.runner.run_once() == "failed"
    job = await scraping.job(job_id)
    assert job.error_class == "unsafe_target" and "169.254.169.254" in (job.error_detail or "")


async def test_a_javascript_redirect_off_the_allow_list_is_refused_by_the_browser(scraping: Scraping) -> None:
    scraping.portal.state.modes["axa"] = "redirect_out"
    job_id = await scraping.queue("axa")
    assert await scraping.runner.run_once() == "failed"
    assert (await scraping.job(job_id)).error_class == "unsafe_target"
