"""Portfolio sync against the fake carrier portals: every page walked (static Mapfre through httpx,
JavaScript AXA through Chromium), each row validated and stored, one `policy.portfolio_listed` per
policy and one `portfolio.synced` at the end; a malformed row is flagged, not fatal; a portal whose
layout changes half-way fails the job as `layout_changed` and publishes nothing."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from scraper.carriers.portfolio import parse_date, read_page, validate_row
from scraper.carriers.registry import adapter
from scraper.demo.portal import PORTFOLIO_PAGE_SIZE, demo_portfolio

from .conftest import Scraping


async def _events(scraping: Scraping, event_type: str) -> list[dict[str, Any]]:
    rows = await scraping.rows(
        "SELECT key, payload FROM scraper.outbox WHERE event_type = :t ORDER BY seq", t=event_type
    )
    assert {r["key"] for r in rows} <= {"mapfre", "axa"}
    return [r["payload"]["data"] for r in rows]


async def _results(scraping: Scraping, job_id: object) -> list[dict[str, Any]]:
    return await scraping.rows(
        "SELECT kind, product, premium, data FROM scraper.results WHERE job_id = :j ORDER BY data->>'page', "
        "data->>'policy_number'",
        j=job_id,
    )


async def test_mapfre_static_portfolio_walks_every_page_and_publishes_each_policy(scraping: Scraping) -> None:
    listed = demo_portfolio()["mapfre"]
    pages = -(-len(listed) // PORTFOLIO_PAGE_SIZE)
    assert pages >= 3, "the demo portfolio must span several pages for this test to mean anything"
    job_id = await scraping.queue("mapfre", kind="portfolio_sync")
    assert await scraping.runner.run_once() == "succeeded", (await scraping.job(job_id)).error_detail
    job = await scraping.job(job_id)
    assert job.progress == 100 and f"{len(listed)} policies on {pages} pages, 0 flagged" in job.progress_note

    results = await _results(scraping, job_id)
    assert {r["data"]["policy_number"] for r in results} == {p["number"] for p in listed}
    assert all(r["kind"] == "portfolio_policy" and not r["data"]["flagged"] for r in results)
    first = next(r for r in results if r["data"]["policy_number"] == listed[0]["number"])
    assert first["premium"] == Decimal("380.50") and first["product"] == listed[0]["product"]
    assert first["data"]["fields"]["start_date"]["value"] == "2026-03-01"
    assert first["data"]["fields"]["holder_id"] == {
        "value": listed[0]["holder_id"],
        "confidence": 0.99,
        "check_letter_valid": True,
    }

    events = await _events(scraping, "policy.portfolio_listed")
    assert sorted(e["policy_number"] for e in events) == sorted(p["number"] for p in listed)
    assert {e["page"] for e in events} == set(range(1, pages + 1))
    (synced,) = await _events(scraping, "portfolio.synced")
    assert synced["pages"] == pages and synced["rows"] == len(listed) and synced["flagged"] == 0
    assert synced["policy_numbers"] == sorted(p["number"] for p in listed)


async def test_axa_javascript_portfolio_is_read_through_chromium(scraping: Scraping) -> None:
    listed = demo_portfolio()["axa"]
    job_id = await scraping.queue("axa", kind="portfolio_sync")
    assert await scraping.runner.run_once() == "succeeded", (await scraping.job(job_id)).error_detail
    results = await _results(scraping, job_id)
    assert {r["data"]["policy_number"] for r in results} == {p["number"] for p in listed}
    assert {r["data"]["page"] for r in results} == {1, 2}
    row = next(r for r in results if r["data"]["policy_number"] == "AXA-DEMO-0002")
    assert row["premium"] == Decimal("331.00") and row["data"]["fields"]["end_date"]["value"] == "2027-02-15"
    (synced,) = await _events(scraping, "portfolio.synced")
    assert synced["carrier"] == "axa" and synced["pages"] == 2


async def test_a_malformed_row_is_flagged_and_the_sync_goes_on(scraping: Scraping) -> None:
    rows = scraping.portal.state.portfolio["mapfre"]
    rows[1]["holder_id"] = rows[1]["holder_id"][:-1] + ("A" if rows[1]["holder_id"][-1] != "A" else "B")
    rows[3]["end"] = "31/02/2027"  # no such day
    rows[4]["premium"] = "consultar"
    rows[5]["number"] = "¿?"
    job_id = await scraping.queue("mapfre", kind="portfolio_sync")
    assert await scraping.runner.run_once() == "succeeded", (await scraping.job(job_id)).error_detail

    results = await _results(scraping, job_id)
    assert len(results) == len(rows), "every row is stored, flagged ones included"
    flagged = [r["data"] for r in results if r["data"]["flagged"]]
    assert len(flagged) == 4
    by_number = {r["data"]["policy_number"]: r["data"] for r in results}
    assert by_number[rows[1]["number"]]["fields"]["holder_id"]["check_letter_valid"] is False
    assert by_number[rows[3]["number"]]["unreadable"] == ["end_date"]
    assert by_number[rows[4]["number"]]["unreadable"] == ["premium_total"]
    assert by_number[None]["unreadable"] == ["policy_number"]

    events = await _events(scraping, "policy.portfolio_listed")
    assert rows[5]["number"] not in {e["policy_number"] for e in events}
    assert len(events) == len(rows) - 1, "a row without a readable number cannot be published"
    bad_dni = next(e for e in events if e["policy_number"] == rows[1]["number"])
    assert bad_dni["fields"]["holder_id"]["confidence"] < 0.8 and bad_dni["problems"]
    (synced,) = await _events(scraping, "portfolio.synced")
    assert synced["flagged"] == 4 and synced["rows"] == len(rows) and synced["unnumbered"] == 1


async def test_a_portal_that_changes_layout_mid_way_fails_as_layout_changed_and_publishes_nothing(
    scraping: Scraping,
) -> None:
    scraping.portal.state.modes["mapfre"] = "changed_layout"
    job_id = await scraping.queue("mapfre", kind="portfolio_sync")
    assert await scraping.runner.run_once() == "failed"
    job = await scraping.job(job_id)
    assert job.error_class == "layout_changed" and "page 2" in (job.error_detail or "")
    assert await _results(scraping, job_id) == []
    assert await _events(scraping, "policy.portfolio_listed") == []
    assert await _events(scraping, "portfolio.synced") == []


async def test_a_javascript_portfolio_that_changes_layout_mid_way_is_layout_changed(
    scraping: Scraping,
) -> None:
    scraping.portal.state.modes["axa"] = "changed_layout"
    job_id = await scraping.queue("axa", kind="portfolio_sync")
    assert await scraping.runner.run_once() == "failed"
    job = await scraping.job(job_id)
    assert job.error_class == "layout_changed" and "page 2" in (job.error_detail or "")
    assert await _events(scraping, "portfolio.synced") == []


async def test_an_empty_portfolio_syncs_to_nothing_listed(scraping: Scraping) -> None:
    scraping.portal.state.portfolio["mapfre"] = []
    job_id = await scraping.queue("mapfre", kind="portfolio_sync")
    assert await scraping.runner.run_once() == "succeeded", (await scraping.job(job_id)).error_detail
    (synced,) = await _events(scraping, "portfolio.synced")
    assert synced["policy_numbers"] == [] and synced["pages"] == 1


# --- the reader on its own ---------------------------------------------------------------------

MAPFRE = adapter("mapfre")


def _table(*numbers: str, next_page: bool) -> str:
    rows = "".join(
        f"<tr class='poliza'><td class='numero'>{n}</td><td class='tomador'>Ana</td>"
        "<td class='nif'>12345678Z</td><td class='prima'>1.234,56 €</td>"
        "<td class='efecto'>01/01/2026</td><td class='vencimiento'>01/01/2027</td></tr>"
        for n in numbers
    )
    pager = "<a class='siguiente' href='?pagina=2'>»</a>" if next_page else ""
    return f"<table class='cartera'><tbody>{rows}</tbody></table>{pager}"


def test_a_page_with_a_next_link_asks_for_the_next_page_and_the_last_does_not() -> None:
    assert MAPFRE is not None and MAPFRE.portfolio is not None
    first = read_page(MAPFRE, MAPFRE.portfolio, _table("A-1", "A-2", next_page=True), page=1)
    last = read_page(MAPFRE, MAPFRE.portfolio, _table("A-3", next_page=False), page=2)
    assert first.has_next and not last.has_next
    assert [r.policy_number for r in first.rows + last.rows] == ["A-1", "A-2", "A-3"]
    assert first.rows[0].premium == Decimal("1234.56") and not first.rows[0].flagged


def test_a_row_is_validated_field_by_field() -> None:
    good = validate_row(
        {
            "policy_number": "P-1",
            "holder": "Ana",
            "holder_id": "X1234567L",
            "premium": "99,90 €",
            "start_date": "2026-01-31",
            "end_date": "31/01/2027",
        },
        page=1,
    )
    assert not good.flagged and good.fields["holder_id"]["check_letter_valid"] is True
    backwards = validate_row(
        {
            "policy_number": "P-2",
            "holder": "Ana",
            "holder_id": "12345678A",
            "premium": "0,00",
            "start_date": "01/02/2027",
            "end_date": "01/02/2026",
        },
        page=1,
    )
    assert backwards.fields["holder_id"]["check_letter_valid"] is False
    assert "premium_total" in backwards.unreadable
    assert backwards.fields["end_date"]["confidence"] < 0.8
    assert parse_date("29/02/2027") is None and parse_date("2028-02-29") is not None
