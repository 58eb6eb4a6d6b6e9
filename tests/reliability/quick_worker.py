"""Test-only stand-in for `engine.worker`, started through the real launcher via REINS_TEST_WORKER_MODULE.

It lives a run's lifecycle (running → metric events → completed) in milliseconds without torch, so tests of the
launcher, run store and index can start many runs at once. Never used outside tests."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from engine.runs.events import EventWriter
from engine.runs.process import process_start_ticks
from engine.runs.rundir import RunDir, now_iso


def main(argv: list[str]) -> int:
    rd = RunDir(Path(argv[0]))
    steps = int(os.environ.get("QUICK_WORKER_STEPS", "3"))
    step_s = float(os.environ.get("QUICK_WORKER_STEP_S", "0"))  # a run that lasts a while (queue tests)
    # What a GPU worker would see: the queue's placement reaches it through CUDA_VISIBLE_DEVICES.
    rd.update(worker_pid=os.getpid(), worker_pid_start=process_start_ticks(os.getpid()), started=now_iso(),
              test_worker_saw_cuda_visible_devices=os.environ.get("CUDA_VISIBLE_DEVICES"))
    with EventWriter(rd.events) as w:
        w.status("running", max_steps=steps, start_step=0)
        rd.update(status="running")
        for step in range(1, steps + 1):
            time.sleep(step_s)
            w.write("metric", step=step, epoch=step / steps, split="train",
                    values={"loss": 1.0 / step, "rewards/margins": 0.1 * step})
        w.status("completed", summary={"steps": steps})
        rd.update(status="completed", ended=now_iso())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
