"""Reading the broker's portfolio from a carrier's portal: every page walked, every row validated.

A row is read with the adapter's selectors (a page without the expected rows is
``layout_changed``: the adapter needs a new version); each value is then checked on its own — the
DNI/NIE's check letter with python-stdnum, the premium as a Decimal, the dates as dates. A value
that fails is flagged on its row (``problems``; a low confidence, or listed as unreadable), never
guessed, and never fails the job: one bad row must not hide a carrier's whole portfolio.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from selectolax.lexbor import LexborNode
from stdnum.es import dni, nie

from scraper.carriers.engines import Engine
from scraper.carriers.reading import check_blocked, fill, parse, parse_money
from scraper.carriers.spec import AdapterSpec, FieldSpec, PortfolioSpec
from scraper.core.errors import ErrorClass, ScrapeError

NUMBER = re.compile(r"^[A-Za-z0-9\-/]{1,40}$")
_DMY = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})$")
_YMD = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
CLEAN = 0.99  # a value read from its own table cell and valid

Progress = Callable[[int, str], Awaitable[None]]


@dataclass
class PortfolioRow:
    """One policy as the portal lists it: the fields read (value + confidence, the same shape as a
    parsed policy document's), what could not be read, and what is wrong with it."""

    page: int
    policy_number: str | None
    fields: dict[str, dict[str, Any]] = field(default_factory=dict)
    unreadable: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def flagged(self) -> bool:
        return bool(self.problems)

    @property
    def premium(self) -> Decimal | None:
        value = self.fields.get("premium_total", {}).get("value")
        return Decimal(value) if value is not None else None

    @property
    def product(self) -> str | None:
        value = self.fields.get("product", {}).get("value")
        return str(value) if value is not None else None

    def as_data(self) -> dict[str, Any]:
        return {
            "policy_number": self.policy_number,
            "page": self.page,
            "fields": self.fields,
            "unreadable": self.unreadable,
            "problems": self.problems,
            "flagged": self.flagged,
        }


@dataclass
class PortfolioPage:
    rows: list[PortfolioRow]
    has_next: bool


def parse_date(text: str) -> date | None:
    """``31/01/2026``, ``31-01-2026``, ``31.01.2026`` or ``2026-01-31``; None otherwise."""
    text = text.strip()
    try:
        if match := _DMY.match(text):
            return date(int(match.group(3)), int(match.group(2)), int(match.group(1)))
        if match := _YMD.match(text):
            return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        return None
    return None


def _cell(node: LexborNode, name: str, spec: FieldSpec) -> str | None:
    found = node.css_first(spec.selector)
    if found is None:
        if spec.required:
            raise ScrapeError(
                ErrorClass.layout_changed, f"portfolio field {name!r}: nothing matches {spec.selector!r}"
            )
        return None
    text = (found.attributes.get(spec.attr or "") or "") if spec.type == "attr" else found.text(strip=True)
    return " ".join(text.split())[:500] or None


def validate_row(raw: dict[str, str | None], *, page: int) -> PortfolioRow:
    """One row's values checked one by one; what is wrong is flagged on the row, never fatal."""
    number = (raw.get("policy_number") or "").strip()
    row = PortfolioRow(page=page, policy_number=number if NUMBER.match(number) else None)
    fields, problems = row.fields, row.problems

    def unreadable(name: str, why: str) -> None:
        row.unreadable.append(name)
        problems.append(f"{name}: {why}")

    if row.policy_number is None:
        unreadable("policy_number", f"{number[:60]!r} is not a policy number")
    else:
        fields["policy_number"] = {"value": row.policy_number, "confidence": CLEAN}

    holder = raw.get("holder")
    if holder:
        fields["holder"] = {"value": holder[:200], "confidence": CLEAN}
    else:
        unreadable("holder", "empty")

    holder_id = (raw.get("holder_id") or "").replace(" ", "").replace("-", "").upper()
    if holder_id:
        valid = dni.is_valid(holder_id) or nie.is_valid(holder_id)
        fields["holder_id"] = {
            "value": holder_id[:20],
            "confidence": CLEAN if valid else 0.3,
            "check_letter_valid": valid,
        }
        if not valid:
            problems.append(f"holder_id: {holder_id[:20]!r} is not a valid DNI/NIE")
    else:
        unreadable("holder_id", "empty")

    amount = parse_money(raw.get("premium") or "")
    if amount is not None and amount > 0:
        fields["premium_total"] = {"value": str(amount), "confidence": CLEAN, "currency": "EUR"}
    else:
        unreadable("premium_total", f"{(raw.get('premium') or '')[:40]!r} is not an amount")

    days: dict[str, date] = {}
    for name in ("start_date", "end_date"):
        text = raw.get(name) or ""
        day = parse_date(text)
        if day is None:
            unreadable(name, f"{text[:40]!r} is not a date")
        else:
            days[name] = day
            fields[name] = {"value": day.isoformat(), "confidence": CLEAN}
    if len(days) == 2 and days["end_date"] <= days["start_date"]:
        fields["end_date"]["confidence"] = 0.5
        problems.append("end_date: not after start_date")

    for name in ("product", "status"):
        if raw.get(name):
            fields[name] = {"value": str(raw[name])[:200], "confidence": CLEAN}
    return row


def read_page(spec: AdapterSpec, portfolio: PortfolioSpec, html: str, *, page: int) -> PortfolioPage:
    """The rows of one portfolio page and whether another follows; ``layout_changed`` when the page
    has neither rows nor the portal's "no policies" message (or lost a column), ``blocked`` on a ban."""
    tree = parse(html)
    check_blocked(spec, tree)
    nodes = tree.css(portfolio.items)
    if not nodes:
        if page == 1 and portfolio.empty and tree.css_first(portfolio.empty) is not None:
            return PortfolioPage(rows=[], has_next=False)
        raise ScrapeError(
            ErrorClass.layout_changed,
            f"portfolio page {page}: no policies, nothing matches {portfolio.items!r}",
        )
    rows = [
        validate_row({name: _cell(node, name, cell) for name, cell in portfolio.map.items()}, page=page)
        for node in nodes
    ]
    return PortfolioPage(rows=rows, has_next=tree.css_first(portfolio.next) is not None)


async def walk(engine: Engine, spec: AdapterSpec, progress: Progress) -> tuple[list[PortfolioRow], int]:
    """Every page of the portfolio, in order, reporting progress after each; the rows and the page
    count. Progress runs from 40 (logged in) towards 90 without knowing the number of pages."""
    portfolio = spec.portfolio
    assert portfolio is not None
    rows: list[PortfolioRow] = []
    page = 1
    while True:
        html = await engine.read_page(fill(portfolio.url, {"page": page}), wait_for=portfolio.wait_for)
        found = read_page(spec, portfolio, html, page=page)
        rows.extend(found.rows)
        await progress(min(90, 40 + 50 * page // (page + 3)), f"portfolio page {page}: {len(rows)} policies")
        if not found.has_next:
            return rows, page
        if page >= portfolio.max_pages:
            raise ScrapeError(
                ErrorClass.layout_changed,
                f"the portfolio still shows a next page after {portfolio.max_pages} pages",
            )
        page += 1
