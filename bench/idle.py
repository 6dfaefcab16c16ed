"""The idle fleet: every service's API and worker running, nothing happening.

Boots the whole fleet as ``make run`` does (``deploy/local/stack.py``'s ``Fleet``: each service's
API and worker, 18 processes), waits until the gateway reports every service ready, lets it
settle, then reads each process's CPU time (utime + stime from ``/proc``) over a window and its
resident memory (``VmRSS``). The figure of issue #15: the whole fleet under 5% of one core.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import sys
import time
from pathlib import Path

from bench.common import LOGS, Checks, cpu_seconds, fleet_offset, heading

IDLE_MAX_CORE_PERCENT = 5.0


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def wakeups(pid: int) -> int:
    """Context switches of every thread of ``pid`` (voluntary + involuntary): each is a wake-up."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            text = (task / "status").read_text()
        except OSError:  # the thread ended between the listing and the read
            continue
        for line in text.splitlines():
            if line.startswith(("voluntary_ctxt_switches:", "nonvoluntary_ctxt_switches:")):
                total += int(line.split()[1])
    return total


async def bench_idle(env: dict[str, str], *, settle: float = 10.0, window: float = 30.0) -> list[str]:
    """``BENCH_IDLE_PROFILE=core-crm-worker,gateway`` also records those processes with py-spy
    over the window (raw stacks in ``.local/bench/logs/idle-<label>.pyspy.txt``)."""
    import stack

    profile_labels = [p for p in os.environ.get("BENCH_IDLE_PROFILE", "").split(",") if p]
    heading(f"idle fleet: every API and worker, nothing happening ({window:g} s after {settle:g} s settling)")
    base = stack.PROFILES["bench"]
    profile = dataclasses.replace(base, port_offset=fleet_offset(base.port_offset))
    LOGS.mkdir(parents=True, exist_ok=True)
    with (LOGS / "idle-fleet.log").open("w") as log:
        fleet = stack.Fleet(profile, env, log=log)
        fleet.start()
        try:
            await asyncio.to_thread(fleet.wait_ready, 240.0)
            await asyncio.sleep(settle)
            pids = {label: proc.pid for label, proc in fleet.procs.items()}
            profilers = [
                await asyncio.create_subprocess_exec(
                    str(Path(sys.executable).parent / "py-spy"),
                    *("record", "-p", str(pids[label]), "-d", str(int(window)), "-r", "50", "-f", "raw"),
                    *("-o", str(LOGS / f"idle-{label}.pyspy.txt")),
                    stdout=asyncio.subprocess.DEVNULL,
                    stderr=asyncio.subprocess.DEVNULL,
                )
                for label in profile_labels
                if label in pids
            ]
            before = {label: cpu_seconds(pid) for label, pid in pids.items()}
            switches_before = {label: wakeups(pid) for label, pid in pids.items()}
            t0 = time.monotonic()
            await asyncio.sleep(window)
            elapsed = time.monotonic() - t0
            for profiler in profilers:
                await profiler.wait()
            after = {label: cpu_seconds(pid) for label, pid in pids.items()}
            switches = {
                label: (wakeups(pid) - switches_before[label]) / elapsed for label, pid in pids.items()
            }
            rss = {label: rss_mib(pid) for label, pid in pids.items()}
        finally:
            await asyncio.to_thread(fleet.stop)
    share = {label: (after[label] - before[label]) / elapsed * 100 for label in pids}
    print(f"  {'process':<24} {'CPU % of a core':>16} {'RSS MiB':>9} {'wake-ups/s':>11}", flush=True)
    for label in sorted(pids, key=lambda name: -share[name]):
        print(f"  {label:<24} {share[label]:>16.2f} {rss[label]:>9.0f} {switches[label]:>11.1f}", flush=True)
    total = sum(share.values())
    print(
        f"  {'fleet (' + str(len(pids)) + ' processes)':<24} {total:>16.2f} {sum(rss.values()):>9.0f}"
        f" {sum(switches.values()):>11.1f}"
        f"   (mean RSS {sum(rss.values()) / len(rss):.0f} MiB per process)",
        flush=True,
    )
    checks = Checks("idle")
    checks.add(
        f"idle fleet CPU, {len(pids)} processes (% of one core)",
        f"{total:.1f}%",
        f"<= {IDLE_MAX_CORE_PERCENT:g}%",
        total <= IDLE_MAX_CORE_PERCENT,
    )
    return checks.report()
