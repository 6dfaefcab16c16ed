"""The carriers this deployment knows: the adapters' YAML definitions, loaded and validated once."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from scraper.carriers.spec import AdapterSpec, load_directory

DEFINITIONS = Path(__file__).with_name("definitions")


@lru_cache(maxsize=1)
def adapters() -> dict[str, AdapterSpec]:
    """Every carrier's adapter, by slug."""
    return load_directory(DEFINITIONS)


def adapter(carrier: str) -> AdapterSpec | None:
    return adapters().get(carrier)
