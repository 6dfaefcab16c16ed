"""Reading portal pages, the same for both engines: the HTML is parsed with selectolax (Lexbor).

Offers are read with the adapter's selectors; a missing required element is ``layout_changed``
(the adapter needs a new version), a ban or CAPTCHA page is ``blocked``. Amounts are read in the
Spanish way (``1.234,56 €``) or the English one (``1,234.56``).
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from selectolax.lexbor import LexborHTMLParser, LexborNode

from scraper.carriers.spec import AdapterSpec, FieldSpec, PricesSpec
from scraper.core.errors import ErrorClass, ScrapeError

_AMOUNT = re.compile(r"-?\d[\d.,\s]*")


@dataclass(frozen=True)
class Offer:
    product: str | None
    premium: Decimal
    data: dict[str, Any] = field(default_factory=dict)


def parse_money(text: str) -> Decimal | None:
    """``412,50 €`` -> 412.50; ``1.234,56`` -> 1234.56; ``1,234.56`` -> 1234.56; None when no amount."""
    match = _AMOUNT.search(text.replace("\xa0", " "))
    if match is None:
        return None
    raw = match.group(0).replace(" ", "").rstrip(".,")
    if "," in raw and "." in raw:
        decimal_mark = "," if raw.rfind(",") > raw.rfind(".") else "."
    elif "," in raw:
        decimal_mark = "," if len(raw) - raw.rfind(",") - 1 in (1, 2) else ""
    elif "." in raw:
        decimal_mark = "." if len(raw) - raw.rfind(".") - 1 in (1, 2) else ""
    else:
        decimal_mark = ""
    thousands = {",", "."} - {decimal_mark}
    for mark in thousands:
        raw = raw.replace(mark, "")
    if decimal_mark:
        raw = raw.replace(decimal_mark, ".")
    try:
        value = Decimal(raw).quantize(Decimal("0.01"))
    except InvalidOperation:
        return None
    return value


def fill(template: str, values: dict[str, Any]) -> str:
    """``{risk.plate}`` / ``{username}`` replaced from ``values`` (dotted names walk dicts)."""

    def lookup(name: str) -> str:
        current: Any = values
        for part in name.split("."):
            if not isinstance(current, dict) or part not in current:
                raise ScrapeError(
                    ErrorClass.internal, f"the adapter needs {{{name}}}, which the job does not give"
                )
            current = current[part]
        return str(current)

    out = []
    for literal, name, _, _ in string.Formatter().parse(template):
        out.append(literal)
        if name is not None:
            out.append(lookup(name))
    return "".join(out)


def parse(html: str) -> LexborHTMLParser:
    return LexborHTMLParser(html)


def check_blocked(spec: AdapterSpec, tree: LexborHTMLParser) -> None:
    """Raise ``blocked`` on the carrier's ban or CAPTCHA page."""
    for selector in spec.blocked.selectors:
        if tree.css_first(selector) is not None:
            raise ScrapeError(ErrorClass.blocked, f"the portal answered a ban or CAPTCHA page ({selector})")
    body = (tree.body.text(separator=" ") if tree.body else "").lower()
    for phrase in spec.blocked.texts:
        if phrase.lower() in body:
            raise ScrapeError(ErrorClass.blocked, f"the portal answered a ban or CAPTCHA page ({phrase!r})")


def _value(node: LexborNode, name: str, spec: FieldSpec) -> Any:
    found = node.css_first(spec.selector)
    if found is None:
        if spec.required:
            raise ScrapeError(
                ErrorClass.layout_changed, f"offer field {name!r}: nothing matches {spec.selector!r}"
            )
        return None
    text = (found.attributes.get(spec.attr or "") or "") if spec.type == "attr" else found.text(strip=True)
    if spec.type == "money":
        amount = parse_money(text)
        if amount is None and spec.required:
            raise ScrapeError(
                ErrorClass.layout_changed, f"offer field {name!r}: {text[:60]!r} is not an amount"
            )
        return amount
    if spec.type == "int":
        digits = re.sub(r"\D", "", text)
        return int(digits) if digits else None
    return " ".join(text.split())[:500] or None


def read_offers(spec: AdapterSpec, prices: PricesSpec, html: str) -> list[Offer]:
    """Every offer on a results page; ``layout_changed`` when the page has none of the expected
    structure, ``blocked`` on a ban page."""
    tree = parse(html)
    check_blocked(spec, tree)
    nodes = tree.css(prices.items)
    if not nodes:
        raise ScrapeError(ErrorClass.layout_changed, f"no offers: nothing matches {prices.items!r}")
    offers = []
    for node in nodes:
        values = {name: _value(node, name, field_spec) for name, field_spec in prices.map.items()}
        premium = values.pop("premium")
        product = values.pop("product", None)
        data = {k: (str(v) if isinstance(v, Decimal) else v) for k, v in values.items() if v is not None}
        offers.append(Offer(product=product, premium=premium, data=data))
    return offers
