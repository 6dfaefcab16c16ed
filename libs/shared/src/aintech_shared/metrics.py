"""The fleet's operational metrics beyond HTTP (which :mod:`aintech_shared.observability` counts).

Every label here takes values from a closed set chosen by the code (a consumer group, a topic of
the catalogue, a queue name, a provider operation, an outcome word), never from a request or a
message: series stay bounded whatever callers send. ``bounded_event_type`` folds event types that
are not in the catalogue into ``"unknown"`` for the same reason.

Helpers services call:

- :func:`observe_provider` around each call to Twilio or SendGrid (outcome and latency);
- :func:`set_queue_depth` / :func:`job_finished` for a job queue (scraper jobs, reports, training);
- :func:`login_failed` / :func:`account_locked` from the authenticator's sign-in paths.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Collection
from contextlib import asynccontextmanager
from dataclasses import dataclass

from prometheus_client import Counter, Gauge, Histogram

# --- Kafka consumers, outbox, dead letters -------------------------------------------------------

CONSUMER_LAG = Gauge(
    "consumer_lag_messages",
    "Messages behind the partition's end (summed over the topic's assigned partitions), as of the last fetch",
    ["consumer", "topic"],
)
CONSUMER_RECORDS = Counter(
    "consumer_records_processed_total",
    "Kafka records a consumer finished with (handled, duplicate, ignored or dead-lettered)",
    ["consumer", "topic"],
)
DEAD_LETTERED = Counter(
    "events_dead_lettered_total",
    "Messages a consumer sent to <topic>.dlq",
    ["consumer", "topic"],
)
OUTBOX_OLDEST_AGE = Gauge(
    "outbox_oldest_unsent_age_seconds",
    "Age of the oldest outbox row not yet relayed, as of the relay's last attempt (0 when empty)",
    ["schema"],
)

# --- job queues -----------------------------------------------------------------------------------

JOB_QUEUE_DEPTH = Gauge("job_queue_depth", "Jobs waiting in a service's queue", ["queue"])
JOBS_FINISHED = Counter("jobs_finished_total", "Jobs taken off a queue, by outcome", ["queue", "outcome"])
JOB_OUTCOMES = frozenset({"succeeded", "failed", "retried", "cancelled"})

# --- external providers ---------------------------------------------------------------------------

PROVIDER_CALLS = Counter(
    "provider_requests_total",
    "Calls to an external provider (Twilio, SendGrid) by operation and outcome",
    ["provider", "operation", "outcome"],
)
PROVIDER_LATENCY = Histogram(
    "provider_request_duration_seconds",
    "Latency of calls to an external provider",
    ["provider", "operation"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
# ok: accepted; refused: a 4xx (our request or the account); throttled: a 429; failed: a 5xx;
# unreachable: no answer (connection, timeout).
PROVIDER_OUTCOMES = frozenset({"ok", "refused", "throttled", "failed", "unreachable"})

# --- sign-in --------------------------------------------------------------------------------------

LOGIN_FAILURES = Counter("auth_login_failures_total", "Failed sign-in attempts, by reason", ["reason"])
LOCKOUTS = Counter(
    "auth_lockouts_total",
    "Sign-in lockouts started, by the scope of the locked key (account, account_ip, ip)",
    ["scope"],
)
LOGIN_FAILURE_REASONS = frozenset({"invalid_credentials", "account_disabled", "second_factor", "throttled"})
LOCKOUT_SCOPES = frozenset({"account", "account_ip", "ip"})


def _bounded(value: str, allowed: frozenset[str], fallback: str = "other") -> str:
    return value if value in allowed else fallback


def bounded_event_type(event_type: str, handled: Collection[str] = ()) -> str:
    """``event_type`` when the consumer handles it or the catalogue declares it, else
    ``"unknown"``: a producer's typo or a hostile message must not mint a series per string."""
    from aintech_contracts.events import CATALOGUE

    if event_type in handled or event_type in CATALOGUE or event_type == "malformed":
        return event_type
    return "unknown"


@dataclass
class ProviderCall:
    """One call in flight: set ``outcome`` before leaving the block when it is not "ok"."""

    outcome: str = "ok"

    def from_status(self, status: int | None) -> str:
        """The outcome word for an HTTP status from the provider (None: no answer)."""
        if status is None or status == 0:
            self.outcome = "unreachable"
        elif status == 429:
            self.outcome = "throttled"
        elif status >= 500:
            self.outcome = "failed"
        elif status >= 400:
            self.outcome = "refused"
        else:
            self.outcome = "ok"
        return self.outcome


@asynccontextmanager
async def observe_provider(provider: str, operation: str) -> AsyncIterator[ProviderCall]:
    """Count and time one provider call; an exception the caller did not classify is "failed"."""
    call = ProviderCall()
    start = time.perf_counter()
    try:
        yield call
    except BaseException:
        if call.outcome == "ok":
            call.outcome = "failed"
        raise
    finally:
        PROVIDER_LATENCY.labels(provider, operation).observe(time.perf_counter() - start)
        PROVIDER_CALLS.labels(provider, operation, _bounded(call.outcome, PROVIDER_OUTCOMES)).inc()


def set_queue_depth(queue: str, depth: int) -> None:
    """Report how many jobs wait in ``queue`` (call it where the queue is polled or counted)."""
    JOB_QUEUE_DEPTH.labels(queue).set(depth)


def job_finished(queue: str, outcome: str) -> None:
    """Count a job taken off ``queue`` (succeeded, failed, retried, cancelled)."""
    JOBS_FINISHED.labels(queue, _bounded(outcome, JOB_OUTCOMES)).inc()


def login_failed(reason: str) -> None:
    LOGIN_FAILURES.labels(_bounded(reason, LOGIN_FAILURE_REASONS)).inc()


def account_locked(scope: str) -> None:
    LOCKOUTS.labels(_bounded(scope, LOCKOUT_SCOPES)).inc()
