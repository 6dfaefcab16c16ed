"""Serving: the heap built at startup is kept out of the garbage collector's full collections."""

from __future__ import annotations

import gc
import time
from collections.abc import Iterator

import pytest

from aintech_shared.serve import settle_heap


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()


def _full_collection_ms() -> float:
    started = time.perf_counter()
    gc.collect(2)
    return (time.perf_counter() - started) * 1000


def test_a_settled_heap_is_not_walked_by_full_collections(unfrozen: None) -> None:
    startup = [{"route": n, "fields": [str(n)] * 3} for n in range(300_000)]  # a large startup heap
    before = min(_full_collection_ms() for _ in range(3))
    frozen = settle_heap()
    after = min(_full_collection_ms() for _ in range(3))
    assert frozen >= 300_000 and gc.get_freeze_count() == frozen
    assert after < before / 3, f"full collection {before:.1f} ms before, {after:.1f} ms after"
    assert len(startup) == 300_000  # still alive: freezing frees nothing
