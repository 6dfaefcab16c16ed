"""A loop-stall watchdog: says when the event loop stopped running callbacks, where, and how long.

The loop runs a heartbeat callback; a daemon thread checks, just after each beat was due, that it
ran. When it has not run ``threshold`` past its due time, the loop is stalled (a blocking call, a
long computation, a write to a stream that does not drain): the thread logs the loop thread's
stack once (``event_loop_stalled``, from ``sys._current_frames()``), and when the loop runs the
heartbeat again, the heartbeat logs how late it ran (``event_loop_stall_ended``) and counts the
stall in ``event_loop_stalls_seconds`` (a histogram: ``_count`` is the number of stalls).

Cost when idle: the beat comes every ``idle_period`` (2 s) while the loop thread used less than
2% of a core since the last beat, and every ``threshold / 2`` while it is busier; the thread wakes
once per beat. Idle, that is one wake-up a second in all (half on the loop, half in the thread).
What the idle pace costs: on an idle loop, a stall shorter than about ``idle_period`` may fall
between two checks; it is still counted and its length logged when the late heartbeat runs, only
without a stack. Under load (where stalls hurt) every stall over 1.5 × ``threshold`` is caught in
progress, with its stack.
"""

from __future__ import annotations

import asyncio
import sys
import threading
import time
import traceback

import structlog
from prometheus_client import Histogram

log = structlog.get_logger("aintech.watchdog")

LOOP_STALLS = Histogram(
    "event_loop_stalls_seconds",
    "Event-loop stalls longer than the watchdog's threshold, by how late the heartbeat ran",
    buckets=(0.25, 0.5, 1, 2, 4, 8, 16, 60),
)
IDLE_PERIOD = 2.0
BUSY_SHARE = 0.02  # of a core, on the loop thread since the last beat: above it, beat fast


class LoopWatchdog:
    """Start on the loop it watches (:meth:`start`), stop on it (:meth:`stop`)."""

    def __init__(self, threshold_ms: float, *, idle_period: float = IDLE_PERIOD) -> None:
        self.threshold = threshold_ms / 1000
        self.idle_period = max(idle_period, self.threshold)
        self.busy_period = max(self.threshold / 2, 0.01)
        self.caught = 0  # stalls caught in progress (their stack logged)
        self.stalls = 0  # stalls counted when they ended
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread = 0
        self._handle: asyncio.TimerHandle | None = None
        self._seq = 0
        self._due = 0.0  # monotonic time the next beat is due
        self._last_beat = 0.0
        self._last_cpu = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self._last_beat, self._last_cpu = time.monotonic(), time.thread_time()
        self._schedule(self.idle_period, self._last_beat)
        self._stop.clear()
        self._thread = threading.Thread(target=self._watch, name="loop-watchdog", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        if self._thread is not None:
            self._thread.join(timeout=1)
            self._thread = None

    def _schedule(self, period: float, now: float) -> None:
        assert self._loop is not None
        self._due = now + period
        self._handle = self._loop.call_later(period, self._beat)

    def _beat(self) -> None:
        now, cpu = time.monotonic(), time.thread_time()
        late = now - self._due
        self._seq += 1
        if late > self.threshold:
            self.stalls += 1
            LOOP_STALLS.observe(late)
            log.warning("event_loop_stall_ended", stall_ms=round(late * 1000, 1))
        busy = cpu - self._last_cpu > BUSY_SHARE * max(now - self._last_beat, 1e-3)
        self._last_beat, self._last_cpu = now, cpu
        if not self._stop.is_set():
            self._schedule(self.busy_period if busy else self.idle_period, now)

    def _watch(self) -> None:
        while True:
            seq, due = self._seq, self._due
            wait = due + self.threshold - time.monotonic()
            if wait > 0:
                if self._stop.wait(wait):
                    return
                if self._seq != seq:
                    continue
            # The beat due at ``due`` has not run ``threshold`` later: the loop is stalled.
            self._report(time.monotonic() - due)
            while self._seq == seq:  # until it runs (the beat logs the end and the length)
                if self._stop.wait(self.threshold):
                    return

    def _report(self, stalled: float) -> None:
        frame = sys._current_frames().get(self._loop_thread)
        stack = "".join(traceback.format_stack(frame)) if frame is not None else "(loop thread gone)"
        self.caught += 1
        log.warning("event_loop_stalled", stalled_ms=round(stalled * 1000, 1), stack=stack)
