"""Twilio webhook signatures (X-Twilio-Signature), checked with the SDK's RequestValidator."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import parse_qsl

from twilio.request_validator import RequestValidator

SIGNATURE_HEADER = "x-twilio-signature"


class FormParams(dict[str, str]):
    """A webhook's form fields: the last value per name, with every value kept for signing."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        super().__init__(pairs)
        self._all: dict[str, list[str]] = {}
        for name, value in pairs:
            self._all.setdefault(name, []).append(value)

    def getlist(self, name: str) -> list[str]:
        return self._all.get(name, [])

    def without_nul(self) -> FormParams:
        """The same fields with NUL characters removed (Postgres text cannot hold them)."""
        return FormParams(
            [(k.replace("\x00", ""), v.replace("\x00", "")) for k, vs in self._all.items() for v in vs]
        )


def parse_form(body: bytes) -> FormParams:
    """Parse an application/x-www-form-urlencoded body (what Twilio posts)."""
    return FormParams(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))


def sign(token: str, url: str, params: Mapping[str, str]) -> str:
    """The signature Twilio puts on a request to ``url`` with these form fields."""
    return str(RequestValidator(token).compute_signature(url, dict(params)))


def is_valid(token: str, url: str, params: FormParams, signature: str) -> bool:
    """Whether ``signature`` is Twilio's for ``url`` and ``params`` under ``token``."""
    if not signature or len(signature) > 200:
        return False
    return bool(RequestValidator(token).validate(url, params, signature))
