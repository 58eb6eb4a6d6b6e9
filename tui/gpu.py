"""GPU memory and utilisation through NVML (nvidia-ml-py), without torch; None where there is no NVIDIA GPU."""

from __future__ import annotations

from typing import Any


def gpu_stats() -> list[dict[str, Any]] | None:
    """Per GPU: index, name, utilisation %, used and total GiB. None without NVML or a GPU."""
    try:
        import pynvml
    except ImportError:
        return None
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError:
        return None
    try:
        out = []
        for i in range(pynvml.nvmlDeviceGetCount()):
            h = pynvml.nvmlDeviceGetHandleByIndex(i)
            mem = pynvml.nvmlDeviceGetMemoryInfo(h)
            util = pynvml.nvmlDeviceGetUtilizationRates(h)
            name = pynvml.nvmlDeviceGetName(h)
            out.append({"index": i, "name": name.decode() if isinstance(name, bytes) else str(name),
                        "util": int(util.gpu), "used_gib": mem.used / 1024**3, "total_gib": mem.total / 1024**3})
        return out or None
    except pynvml.NVMLError:
        return None
    finally:
        try:
            pynvml.nvmlShutdown()
        except pynvml.NVMLError:
            pass


def gpu_line(stats: list[dict[str, Any]] | None) -> str:
    """`GPU0 37% 12.1/79.6 GiB` per GPU, or '' without one."""
    if not stats:
        return ""
    return " · ".join(f"GPU{s['index']} {s['util']}% {s['used_gib']:.1f}/{s['total_gib']:.1f} GiB" for s in stats)
