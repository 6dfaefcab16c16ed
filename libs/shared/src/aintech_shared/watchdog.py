"""A loop-stall watchdog: says when the event loop stopped running callbacks, where, and how long.

The loop runs a heartbeat callback; a daemon thread checks, just after each beat was due, that it
ran. When it has not run ``threshold`` past its due time, the loop is stalled (a blocking call, a
long computation, a write to a stream that does not drain): the thread logs the loop thread's
stack once (``event_loop_stalled``, from ``sys._current_frames()``), and when the loop runs the
heartbeat again, the heartbeat logs how late it ran (``event_loop_stall_ended``) and counts the
stall in ``event_loop_stalls_seconds`` (a histogram: ``_count`` is the number of stalls).

Where the time went: each line says how the loop thread spent the interval since the beat before
the stall, from the kernel's scheduler statistics (``/proc/self/task/<tid>/schedstat``, Linux):
``on_cpu_ms`` (it ran: a long computation, a collection), ``waiting_for_cpu_ms`` (it was runnable
but other processes had the cores: a loaded machine, not this process's fault), and the rest
(``off_cpu_ms``: it slept or was blocked in a system call — a write that does not drain, a
synchronous DNS lookup, a lock). The stalled line adds the thread's state and kernel wait
channel at the moment it was caught (``R`` runnable; ``S``/``D`` and e.g. ``pipe_write``,
``balance_dirty_pages``: blocked in the kernel).

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
import contextlib
import sys
import threading
import time
import traceback
import weakref

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

# One watchdog per loop: a second one would log and count every stall twice.
_WATCHING: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, LoopWatchdog] = weakref.WeakKeyDictionary()


def _read(path: str) -> str:
    try:
        with open(path) as handle:
            return handle.read()
    except OSError:
        return ""


def _sched_ns(native_id: int) -> tuple[int, int] | None:
    """(ns on a CPU, ns runnable but waiting for one) of a thread of this process, or None."""
    fields = _read(f"/proc/self/task/{native_id}/schedstat").split()
    if len(fields) < 2:
        return None
    with contextlib.suppress(ValueError):
        return int(fields[0]), int(fields[1])
    return None


def _kernel_state(native_id: int) -> tuple[str, str]:
    """(state letter, wait channel) of a thread of this process ("?" when unknown)."""
    stat = _read(f"/proc/self/task/{native_id}/stat")
    state = stat.rsplit(")", 1)[1].split()[0] if ")" in stat else "?"
    return state, _read(f"/proc/self/task/{native_id}/wchan").strip() or "?"


class LoopWatchdog:
    """Start on the loop it watches (:meth:`start`), stop on it (:meth:`stop`)."""

    def __init__(self, threshold_ms: float, *, idle_period: float = IDLE_PERIOD) -> None:
        self.threshold = threshold_ms / 1000
        self.idle_period = max(idle_period, self.threshold)
        self.busy_period = max(self.threshold / 2, 0.01)
        self.caught = 0  # stalls caught in progress (their stack logged)
        self.last_stack = ""  # the loop thread's stack in the last stall caught
        self.stalls = 0  # stalls counted when they ended
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread = 0
        self._loop_native = 0
        self._last_sched: tuple[int, int] | None = None
        self._handle: asyncio.TimerHandle | None = None
        self._seq = 0
        self._due = 0.0  # monotonic time the next beat is due
        self._last_beat = 0.0
        self._last_cpu = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Watch the running loop; a watchdog already watching it (an app whose lifespan never
        ended, sharing the loop with this one) is stopped first."""
        self._loop = asyncio.get_running_loop()
        previous = _WATCHING.get(self._loop)
        if previous is not None and previous is not self:
            previous.stop()
        _WATCHING[self._loop] = self
        self._loop_thread = threading.get_ident()
        self._loop_native = threading.get_native_id()
        self._last_beat, self._last_cpu = time.monotonic(), time.thread_time()
        self._last_sched = _sched_ns(self._loop_native)
        self._schedule(self.idle_period, self._last_beat)
        self._stop.clear()
        self._thread = threading.Thread(target=self._watch, name="loop-watchdog", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._loop is not None and _WATCHING.get(self._loop) is self:
            del _WATCHING[self._loop]
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
        sched = _sched_ns(self._loop_native) if self._loop_native else None
        late = now - self._due
        busy = cpu - self._last_cpu > BUSY_SHARE * max(now - self._last_beat, 1e-3)
        if not self._stop.is_set():
            self._schedule(self.busy_period if busy else self.idle_period, now)
        self._seq += 1  # after the next due time: the thread never pairs this beat with the old one
        if late > self.threshold:
            LOOP_STALLS.observe(late)
            self._ended(late, now - self._last_beat, cpu - self._last_cpu, sched)
            self.stalls += 1
        self._last_beat, self._last_cpu, self._last_sched = now, cpu, sched

    def _ended(self, late: float, interval: float, cpu: float, sched: tuple[int, int] | None) -> None:
        fields: dict[str, float] = {
            "stall_ms": round(late * 1000, 1),
            "interval_ms": round(interval * 1000, 1),
        }
        on_cpu = cpu * 1000
        if sched is not None and self._last_sched is not None:
            on_cpu = (sched[0] - self._last_sched[0]) / 1e6
            fields["waiting_for_cpu_ms"] = round((sched[1] - self._last_sched[1]) / 1e6, 1)
        fields["on_cpu_ms"] = round(on_cpu, 1)
        fields["off_cpu_ms"] = round(
            max(fields["interval_ms"] - on_cpu - fields.get("waiting_for_cpu_ms", 0), 0), 1
        )
        log.warning("event_loop_stall_ended", **fields)

    def _watch(self) -> None:
        while True:
            seq, due = self._seq, self._due
            wait = due + self.threshold - time.monotonic()
            if wait > 0:
                if self._stop.wait(wait):
                    return
                continue  # look again: the beat ran, or the threshold has passed now
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
        state, wchan = _kernel_state(self._loop_native)
        log.warning(
            "event_loop_stalled",
            stalled_ms=round(stalled * 1000, 1),
            thread_state=state,
            wchan=wchan,
            stack=stack,
        )
        self.last_stack = stack
        self.caught += 1
