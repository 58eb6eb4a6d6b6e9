"""Test-only stand-in for `pynvml`: the GPUs of a made-up machine, read from the JSON file $REINS_FAKE_NVML.

The file holds {"gpus": [{"name", "used", "total" (GiB), "util" (null: none, e.g. MIG), "processes": [[pid, GiB]]}],
"fail_init": bool}. Tests put this folder first on PYTHONPATH (subprocesses: the scheduler) or insert the module
into sys.modules (in-process), so Reins' NVML reader runs unchanged against it. Never used outside tests."""

from __future__ import annotations

import json
import os
from types import SimpleNamespace
from typing import Any

GIB = 1024**3
open_count = 0  # nvmlInit minus nvmlShutdown: every read must shut NVML down again


class NVMLError(Exception):
    pass


def _machine() -> dict[str, Any]:
    return json.loads(open(os.environ["REINS_FAKE_NVML"]).read())


def nvmlInit() -> None:  # noqa: N802 - pynvml's names
    global open_count
    if _machine().get("fail_init"):
        raise NVMLError("driver not loaded")
    open_count += 1


def nvmlShutdown() -> None:  # noqa: N802
    global open_count
    open_count -= 1


def nvmlDeviceGetCount() -> int:  # noqa: N802
    return len(_machine()["gpus"])


def nvmlDeviceGetHandleByIndex(i: int) -> dict[str, Any]:  # noqa: N802
    return _machine()["gpus"][i]


def nvmlDeviceGetName(h: dict[str, Any]) -> bytes:  # noqa: N802
    return h["name"].encode()


def nvmlDeviceGetMemoryInfo(h: dict[str, Any]) -> SimpleNamespace:  # noqa: N802
    return SimpleNamespace(used=h["used"] * GIB, free=(h["total"] - h["used"]) * GIB, total=h["total"] * GIB)


def nvmlDeviceGetUtilizationRates(h: dict[str, Any]) -> SimpleNamespace:  # noqa: N802
    if h.get("util") is None:
        raise NVMLError("not supported")
    return SimpleNamespace(gpu=h["util"])


def nvmlDeviceGetComputeRunningProcesses(h: dict[str, Any]) -> list[SimpleNamespace]:  # noqa: N802
    return [SimpleNamespace(pid=pid, usedGpuMemory=int(gib * GIB)) for pid, gib in h.get("processes", [])]
