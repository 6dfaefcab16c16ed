"""Stopping the fleet leaves no service or worker process behind (runs last in this folder)."""

from __future__ import annotations

import json
import os
import signal

from .conftest import Fleet


def test_zz_stopping_the_fleet_leaves_no_process(fleet: Fleet) -> None:
    children = json.loads(fleet.pid_file.read_text())["children"]
    assert len(children) == 18  # nine APIs and nine workers
    fleet.process.send_signal(signal.SIGTERM)
    assert fleet.process.wait(60) == 0
    alive = []
    for label, pid in children.items():
        try:
            os.kill(pid, 0)
            alive.append(label)
        except ProcessLookupError:
            pass
    assert alive == []
    assert not fleet.pid_file.exists()
