"""What a report says: the figures, read through the same KPI service the API answers with.

Kinds and periods:

* ``weekly_executive`` — an ISO week, ``2026-W03`` (Monday to Sunday): every KPI with its change
  against the previous week and the same week a year before, written premium and loss ratio by
  carrier, the agents' table and the channel volumes.
* ``monthly_carrier`` — a calendar month, ``2026-01``: per carrier written and earned premium,
  policies in force, claims, loss ratio and quote-to-bind, each against the previous month.

A period is *empty* when nothing happened in it: no new or renewed term, claim, quote or call.
The report is still produced and says so on its first page.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Literal

from aintech_shared.errors import UnprocessableEntity
from analytics.kpis import service
from analytics.kpis.service import Period
from analytics.store.port import Store

Kind = Literal["weekly_executive", "monthly_carrier"]
KINDS: tuple[str, ...] = ("weekly_executive", "monthly_carrier")
TITLES = {"weekly_executive": "Weekly executive report", "monthly_carrier": "Monthly carrier report"}
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def parse_period(kind: str, text: str) -> Period:
    """``2026-W03`` for a weekly report, ``2026-01`` for a monthly one; anything else is a 422."""
    if kind == "weekly_executive":
        m = _WEEK.match(text)
        if not m:
            raise UnprocessableEntity(f"A weekly report's period is an ISO week like 2026-W03, not {text!r}.")
        try:
            start = date.fromisocalendar(int(m.group(1)), int(m.group(2)), 1)
        except ValueError:
            raise UnprocessableEntity(f"{text!r} is not a week of its year.") from None
        return Period(start, start + timedelta(days=6))
    if kind == "monthly_carrier":
        m = _MONTH.match(text)
        month = int(m.group(2)) if m else 0
        if not m or not 1 <= month <= 12 or int(m.group(1)) < 1:
            raise UnprocessableEntity(f"A monthly report's period is a month like 2026-01, not {text!r}.")
        start = date(int(m.group(1)), month, 1)
        following = date(start.year + (month == 12), month % 12 + 1, 1)
        return Period(start, following - timedelta(days=1))
    raise UnprocessableEntity(f"Unknown report type {kind!r}: one of {', '.join(KINDS)}.")


def period_of(kind: str, day: date) -> str:
    """The period label of the last complete week or month before ``day`` (what a schedule sends)."""
    if kind == "weekly_executive":
        year, week, _ = (day - timedelta(days=7)).isocalendar()
        return f"{year}-W{week:02d}"
    last = day.replace(day=1) - timedelta(days=1)
    return f"{last.year}-{last.month:02d}"


@dataclass
class ReportContent:
    kind: str
    label: str
    period: Period
    totals: dict[str, Any]  # KPI name -> {value, previous, change_vs_previous, ...}
    by_carrier: list[dict[str, Any]] = field(default_factory=list)  # {key, kpis}
    agents: list[dict[str, Any]] = field(default_factory=list)
    channels: list[dict[str, Any]] = field(default_factory=list)
    months: list[dict[str, Any]] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        def value(name: str) -> Any:
            return (self.totals.get(name) or {}).get("value")

        return (
            not value("written_premium")
            and not value("claims")
            and not value("quotes_issued")
            and not any(a["calls"] for a in self.agents)
        )


async def gather(store: Store, *, kind: str, label: str) -> ReportContent:
    """The figures of one report (the KPI service's, so the PDF says what the API says)."""
    period = parse_period(kind, label)
    totals = await service.kpis(store, period=period, filters={})
    carriers = await service.kpis(store, period=period, filters={}, by="carrier")
    agents = await service.agents(store, period=period, filters={})
    content = ReportContent(
        kind=kind,
        label=label,
        period=period,
        totals=totals["groups"][0]["kpis"],
        by_carrier=[g for g in carriers["groups"] if g["key"]],
        agents=agents,
    )
    if kind == "weekly_executive":
        content.channels = await service.channels(store, period=period)
    return content
