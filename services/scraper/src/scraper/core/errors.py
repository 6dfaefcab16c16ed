"""The classes a failed attempt is sorted into, and whether each is worth another attempt."""

from __future__ import annotations

from enum import StrEnum


class ErrorClass(StrEnum):
    login_refused = "login_refused"  # the portal refused the credentials: a person must fix them
    layout_changed = "layout_changed"  # an expected element is missing: the adapter needs a new version
    blocked = "blocked"  # a ban or CAPTCHA page: retried later, through another proxy
    rate_limited = "rate_limited"  # 429 from the portal: retried later
    timeout = "timeout"  # the page did not answer in time
    site_down = "site_down"  # connection refused, 5xx
    invalid_document = "invalid_document"  # an encrypted, corrupt or oversized PDF
    unsafe_target = "unsafe_target"  # a host outside the allow-list (job parameter, redirect, YAML)
    worker_lost = "worker_lost"  # the worker died with the job and its lease expired too often
    internal = "internal"  # a bug on our side


RETRYABLE = frozenset(
    {
        ErrorClass.blocked,
        ErrorClass.rate_limited,
        ErrorClass.timeout,
        ErrorClass.site_down,
        ErrorClass.internal,
    }
)


class ScrapeError(Exception):
    """A failed attempt with its class; ``detail`` is safe to show (no credentials, no secrets)."""

    def __init__(self, error_class: ErrorClass, detail: str, *, retry_after: float | None = None) -> None:
        super().__init__(f"{error_class}: {detail}")
        self.error_class = error_class
        self.detail = detail[:1000]
        self.retry_after = retry_after

    @property
    def retryable(self) -> bool:
        return self.error_class in RETRYABLE
