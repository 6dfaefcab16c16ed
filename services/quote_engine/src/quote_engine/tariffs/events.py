"""Payloads of the events about tariff versions."""

from __future__ import annotations

from aintech_contracts.events.quotes import TariffActivated, TariffRetired
from quote_engine.tariffs.models import CarrierProduct, TariffVersion


def _fields(version: TariffVersion, product: CarrierProduct) -> dict[str, object]:
    return {
        "tariff_version_id": version.id,
        "product_code": product.code,
        "carrier": product.carrier,
        "line": product.line,
        "version": version.version,
        "effective_from": version.effective_from,
        "effective_to": version.effective_to,
        "digest": version.digest,
    }


def activated(version: TariffVersion, product: CarrierProduct) -> TariffActivated:
    assert version.activated_at is not None
    return TariffActivated.model_validate({**_fields(version, product), "activated_at": version.activated_at})


def retired(version: TariffVersion, product: CarrierProduct) -> TariffRetired:
    assert version.retired_at is not None
    return TariffRetired.model_validate({**_fields(version, product), "retired_at": version.retired_at})
