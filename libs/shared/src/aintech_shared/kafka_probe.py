"""A cheap, cached "is Kafka reachable" check for readiness probes."""

from __future__ import annotations

import asyncio
import time

from aiokafka import AIOKafkaClient
from aiokafka.errors import KafkaError


class KafkaProbe:
    """Bootstraps a metadata connection to Kafka; caches the answer for ``ttl`` seconds."""

    def __init__(self, bootstrap: str, *, ttl: float = 5.0, timeout: float = 3.0) -> None:
        self.bootstrap = bootstrap
        self.ttl = ttl
        self.timeout = timeout
        self._checked_at = 0.0
        self._ok = False
        self._error = "not checked"
        self._lock = asyncio.Lock()

    async def check(self) -> tuple[bool, str]:
        async with self._lock:
            if time.monotonic() - self._checked_at < self.ttl:
                return self._ok, self._error
            client = AIOKafkaClient(
                bootstrap_servers=self.bootstrap, request_timeout_ms=int(self.timeout * 1000)
            )
            try:
                await asyncio.wait_for(client.bootstrap(), timeout=self.timeout)
                self._ok, self._error = True, ""
            except (KafkaError, OSError, TimeoutError) as exc:
                self._ok, self._error = False, f"{type(exc).__name__}: {exc}"
            finally:
                await client.close()
                self._checked_at = time.monotonic()
            return self._ok, self._error
