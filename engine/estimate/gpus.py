"""The one NVML reader: the NVIDIA GPUs of this machine, their utilisation and memory, read without torch."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

GIB = 1024**3
T = TypeVar("T")


@dataclass(frozen=True)
class Gpu:
    """One GPU as NVML sees it now."""

    index: int
    name: str
    util: int | None  # % of the last sample period a kernel ran; None where NVML doesn't say (MIG, some vGPUs)
    used_gib: float
    free_gib: float
    total_gib: float
    # (pid, GiB) of each compute process NVML lists on it: the queue tells Reins' runs from other users' jobs by pid.
    processes: tuple[tuple[int, float], ...] = ()


def gpu_count() -> int:
    """How many GPUs NVML sees: 0 without nvidia-ml-py, a driver or a GPU."""
    return _with_nvml(lambda nvml: int(nvml.nvmlDeviceGetCount()), 0)


def read_gpus() -> list[Gpu]:
    """Every GPU, read now; [] without nvidia-ml-py, a driver or a GPU. Never raises."""
    return _with_nvml(_read_all, [])


def _read_all(nvml: Any) -> list[Gpu]:
    out = []
    for i in range(nvml.nvmlDeviceGetCount()):
        handle = nvml.nvmlDeviceGetHandleByIndex(i)
        mem = nvml.nvmlDeviceGetMemoryInfo(handle)
        name = nvml.nvmlDeviceGetName(handle)
        try:
            util: int | None = int(nvml.nvmlDeviceGetUtilizationRates(handle).gpu)
        except nvml.NVMLError:  # not supported on MIG instances: the memory figures still are
            util = None
        out.append(Gpu(index=i, name=name.decode() if isinstance(name, bytes) else str(name), util=util,
                       used_gib=mem.used / GIB, free_gib=mem.free / GIB, total_gib=mem.total / GIB,
                       processes=_processes(nvml, handle)))
    return out


def _processes(nvml: Any, handle: Any) -> tuple[tuple[int, float], ...]:
    """The compute processes on one GPU with their memory (0 where NVML cannot say, e.g. inside a container)."""
    try:
        procs = nvml.nvmlDeviceGetComputeRunningProcesses(handle)
    except (nvml.NVMLError, AttributeError):
        return ()
    return tuple((int(p.pid), (p.usedGpuMemory or 0) / GIB) for p in procs)


def _with_nvml(read: Callable[[Any], T], default: T) -> T:
    """`read(pynvml)` between NVML's init and shutdown; `default` when NVML is missing or fails."""
    try:
        import pynvml
    except ImportError:
        return default
    try:
        pynvml.nvmlInit()
    except Exception:  # noqa: BLE001 - no driver, no library, a broken install: all mean "no GPU to read"
        return default
    try:
        return read(pynvml)
    except pynvml.NVMLError:
        return default
    finally:
        try:
            pynvml.nvmlShutdown()
        except pynvml.NVMLError:
            pass
