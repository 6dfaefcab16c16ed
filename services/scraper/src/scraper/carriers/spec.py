"""The declarative adapter format (one YAML file per carrier), validated by pydantic at load time.

A new carrier is a new file in ``definitions/``: its hosts (the allow-list), its engine (``http``:
plain HTTP and selectolax; ``browser``: Playwright driving Chromium, for JavaScript portals), the
login steps, the price form and the selectors that read the offers, the document download. See
docs/scraper.md for the format.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator

from scraper.core.hosts import valid_host

Kind = Literal["prices", "policy_document", "portfolio_sync"]
SLUG = re.compile(r"^[a-z][a-z0-9_]{1,39}$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FieldSpec(_Strict):
    selector: str = Field(min_length=1, max_length=300)
    type: Literal["text", "money", "int", "attr"] = "text"
    attr: str | None = Field(default=None, max_length=60, description="Attribute read when type is attr.")
    required: bool = True


class LoginSpec(_Strict):
    url: str = Field(description="Path of the login page, relative to the portal's base URL.")
    fields: dict[str, str] = Field(
        description="Form field (http engine: its name; browser: a CSS selector) -> value template "
        "({username}, {password})."
    )
    submit: str | None = Field(default=None, description="Browser: the selector clicked to log in.")
    action: str | None = Field(default=None, description="Http: the path the form posts to (default: url).")
    success: str = Field(description="Selector present once logged in.")
    failure: str | None = Field(
        default=None, description="Selector of the portal's 'wrong credentials' message."
    )


class PricesSpec(_Strict):
    url: str = Field(description="Path of the quote form or results, relative to the base URL.")
    method: Literal["GET", "POST"] = "GET"
    fields: dict[str, str] = Field(
        default_factory=dict,
        description="Form field (http: name; browser: selector) -> value template ({risk.<name>}).",
    )
    submit: str | None = Field(default=None, description="Browser: the selector clicked to quote.")
    wait_for: str | None = Field(default=None, description="Browser: a selector to wait for before reading.")
    items: str = Field(description="Selector of each offer.")
    map: dict[str, FieldSpec] = Field(description="Result field -> how it is read inside an offer.")

    @field_validator("map")
    @classmethod
    def _needs_premium(cls, value: dict[str, FieldSpec]) -> dict[str, FieldSpec]:
        if "premium" not in value or value["premium"].type != "money":
            raise ValueError("an offer must map `premium` with type money")
        return value


class DocumentSpec(_Strict):
    url: str = Field(description="Path of a policy's PDF ({params.policy_number}).")


PORTFOLIO_FIELDS = ("policy_number", "holder", "holder_id", "premium", "start_date", "end_date")


class PortfolioSpec(_Strict):
    """The broker's policies with the carrier, a table split over pages."""

    url: str = Field(description="Path of one page of the portfolio ({page} = 1, 2, ...).")
    wait_for: str | None = Field(default=None, description="Browser: a selector to wait for before reading.")
    items: str = Field(description="Selector of each policy row.")
    empty: str | None = Field(default=None, description="Selector shown when the broker has no policies.")
    next: str = Field(description="Selector present while there is a next page.")
    max_pages: int = Field(default=200, ge=1, le=1000, description="A portal that never ends is refused.")
    map: dict[str, FieldSpec] = Field(
        description="Row field -> how it is read (as text; validated by the portfolio reader): "
        "policy_number, holder, holder_id, premium, start_date, end_date; optional product, status."
    )

    @field_validator("url")
    @classmethod
    def _paged(cls, value: str) -> str:
        if "{page}" not in value:
            raise ValueError("the portfolio url must contain {page}")
        return value

    @field_validator("map")
    @classmethod
    def _needs_fields(cls, value: dict[str, FieldSpec]) -> dict[str, FieldSpec]:
        missing = [name for name in PORTFOLIO_FIELDS if name not in value]
        if missing:
            raise ValueError(f"a portfolio row must map {', '.join(missing)}")
        return value


class BlockedSpec(_Strict):
    selectors: list[str] = Field(default_factory=list, description="Selectors of a ban or CAPTCHA page.")
    texts: list[str] = Field(default_factory=list, description="Phrases of a ban or CAPTCHA page.")


class AdapterSpec(_Strict):
    carrier: str = Field(description="Slug used in jobs (lowercase).")
    name: str
    version: str = Field(pattern=r"^[0-9][0-9A-Za-z.\-]{0,39}$")
    engine: Literal["http", "browser"]
    hosts: list[str] = Field(min_length=1, description="Hosts this adapter may contact (the allow-list).")
    login: LoginSpec | None = None
    prices: PricesSpec | None = None
    policy_document: DocumentSpec | None = None
    portfolio: PortfolioSpec | None = None
    blocked: BlockedSpec = BlockedSpec()

    @field_validator("carrier")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not SLUG.match(value):
            raise ValueError("carrier must be a lowercase slug")
        return value

    @field_validator("hosts")
    @classmethod
    def _hosts(cls, value: list[str]) -> list[str]:
        return [valid_host(h) for h in value]

    @property
    def kinds(self) -> list[str]:
        kinds = []
        if self.prices is not None:
            kinds.append("prices")
        if self.policy_document is not None:
            kinds.append("policy_document")
        if self.portfolio is not None:
            kinds.append("portfolio_sync")
        return kinds


def load_spec(text: str) -> AdapterSpec:
    """Parse one adapter definition (safe YAML; pydantic validation errors name the field)."""
    data = yaml.safe_load(text)
    if not isinstance(data, dict):
        raise ValueError("an adapter definition is a YAML mapping")
    return AdapterSpec.model_validate(data)


def load_directory(path: Path) -> dict[str, AdapterSpec]:
    specs: dict[str, AdapterSpec] = {}
    for file in sorted(path.glob("*.yaml")):
        spec = load_spec(file.read_text(encoding="utf-8"))
        if spec.carrier in specs:
            raise ValueError(f"carrier {spec.carrier!r} is defined twice")
        specs[spec.carrier] = spec
    return specs
