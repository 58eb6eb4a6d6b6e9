"""The Run screen's progress facts: memory per rank from the final summary, and the GPU line read through NVML."""

from __future__ import annotations

import sys
from types import SimpleNamespace

import pytest

from engine.estimate.gpus import Gpu, gpu_count, read_gpus
from engine.runs.events import Summary
from tui.display.progress import gpu_line, rank_peaks

GIB = 1024**3


def view_with(final: dict | None) -> SimpleNamespace:
    return SimpleNamespace(summary=Summary(final=final))


def test_rank_peaks_from_gpu_or_cpu_figures() -> None:
    final = {"ranks": [{"rank": 0, "losses": [], "peak_mem_gb": 10.5}, {"rank": 1, "losses": [], "peak_mem_gb": 12.0}]}
    assert rank_peaks(view_with(final)) == [(0, 10.5), (1, 12.0)]
    cpu = {"ranks": [{"rank": 0, "peak_rss_gb": 0.8}, {"rank": 1, "peak_rss_gb": 0.9}]}
    assert rank_peaks(view_with(cpu)) == [(0, 0.8), (1, 0.9)]


def test_single_process_runs_have_no_rank_line() -> None:
    assert rank_peaks(view_with({"steps": 4})) == []
    assert rank_peaks(view_with(None)) == []


class FakeNvml:
    """pynvml as NVML answers on a machine with these GPUs; `util=None` is a GPU without utilisation (MIG)."""

    class NVMLError(Exception):
        pass

    def __init__(self, gpus: list[dict], fail_init: bool = False) -> None:
        self.gpus, self.fail_init, self.open = gpus, fail_init, 0

    def nvmlInit(self) -> None:  # noqa: N802 - pynvml's names
        if self.fail_init:
            raise self.NVMLError("driver not loaded")
        self.open += 1

    def nvmlShutdown(self) -> None:  # noqa: N802
        self.open -= 1

    def nvmlDeviceGetCount(self) -> int:  # noqa: N802
        return len(self.gpus)

    def nvmlDeviceGetHandleByIndex(self, i: int) -> dict:  # noqa: N802
        return self.gpus[i]

    def nvmlDeviceGetName(self, h: dict) -> bytes:  # noqa: N802
        return h["name"].encode()

    def nvmlDeviceGetMemoryInfo(self, h: dict) -> SimpleNamespace:  # noqa: N802
        return SimpleNamespace(used=h["used"] * GIB, free=(h["total"] - h["used"]) * GIB, total=h["total"] * GIB)

    def nvmlDeviceGetUtilizationRates(self, h: dict) -> SimpleNamespace:  # noqa: N802
        if h["util"] is None:
            raise self.NVMLError("not supported")
        return SimpleNamespace(gpu=h["util"])


def test_gpus_are_read_through_nvml_and_shown_on_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    nvml = FakeNvml([{"name": "H100", "util": 37, "used": 12.1, "total": 79.6},
                     {"name": "H100 MIG 1g.10gb", "util": None, "used": 1.0, "total": 9.75}])
    monkeypatch.setitem(sys.modules, "pynvml", nvml)
    gpus = read_gpus()
    assert [(g.index, g.name, g.util) for g in gpus] == [(0, "H100", 37), (1, "H100 MIG 1g.10gb", None)]
    assert gpus[0].free_gib == pytest.approx(79.6 - 12.1)
    assert gpu_count() == 2 and nvml.open == 0  # every read shuts NVML down again
    assert gpu_line(gpus) == "GPU0 37% 12.1/79.6 GiB · GPU1 1.0/9.8 GiB"

    from engine.estimate.memory import detect_gpu_memory_gib
    from engine.launching.distributed import visible_gpus

    assert detect_gpu_memory_gib() == pytest.approx(79.6) and visible_gpus() == 2


@pytest.mark.parametrize("nvml", [None, FakeNvml([], fail_init=True), FakeNvml([])])
def test_no_nvml_driver_or_gpu_reads_as_no_gpu(monkeypatch: pytest.MonkeyPatch, nvml: FakeNvml | None) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", nvml)  # None: `import pynvml` raises ImportError
    assert read_gpus() == [] and gpu_count() == 0
    assert gpu_line(read_gpus()) == ""


def test_a_gpu_line_per_reading() -> None:
    assert gpu_line([Gpu(0, "A100", 5, 1.0, 39.0, 40.0)]) == "GPU0 5% 1.0/40.0 GiB"
