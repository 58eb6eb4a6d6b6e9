"""Test-only stand-in for a run that is stopped while its worker still loads, started through the real launcher via
REINS_TEST_WORKER_MODULE=slow_stop_worker.

The launched process plays `accelerate launch`: it starts the worker as its child and dies at once on SIGTERM. The
child plays a worker that has not recorded its pid yet (it is still importing its libraries): on SIGTERM it takes a
moment, then ends `stopped`. Between the two exits only the process group says the run is alive. Never used
outside tests."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from engine.runs.events import EventWriter
from engine.runs.rundir import RunDir, now_iso

SAVE_S = 2.0  # how long the "worker" takes to stop after SIGTERM: the window in which the launcher is already gone


def worker(rd: RunDir) -> int:
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with EventWriter(rd.events) as w:
        w.write("phase", name="loading", detail="the test worker is ready for SIGTERM")
        if not stop.wait(timeout=120):
            w.status("failed", error="slow_stop_worker was never stopped")
            rd.update(status="failed", ended=now_iso())
            return 1
        time.sleep(SAVE_S)
        w.status("stopped", summary={"steps": 0, "note": "stopped before the first step"})
        rd.update(status="stopped", ended=now_iso())
    return 0


def main(argv: list[str]) -> int:
    if argv[0] == "--worker":
        return worker(RunDir(Path(argv[1])))
    child = subprocess.Popen([sys.executable, "-m", "slow_stop_worker", "--worker", argv[0]])
    return child.wait()  # SIGTERM's default action ends this process at once, before its child


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
