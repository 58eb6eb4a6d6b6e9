"""The Run screen's progress facts: memory per rank from the final summary, and the GPU line read through NVML."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from engine.estimate.gpus import Gpu, gpu_count, read_gpus
from engine.runs.events import Summary
from tui.display.progress import gpu_line, rank_peaks


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


def test_gpus_are_read_through_nvml_and_shown_on_one_line(fake_nvml) -> None:
    nvml = fake_nvml([{"name": "H100", "util": 37, "used": 12.1, "total": 79.6, "processes": [(4242, 11.5)]},
                      {"name": "H100 MIG 1g.10gb", "util": None, "used": 1.0, "total": 9.75}])
    gpus = read_gpus()
    assert gpus[0].processes == ((4242, pytest.approx(11.5)),) and gpus[1].processes == ()
    assert [(g.index, g.name, g.util) for g in gpus] == [(0, "H100", 37), (1, "H100 MIG 1g.10gb", None)]
    assert gpus[0].free_gib == pytest.approx(79.6 - 12.1)
    assert gpu_count() == 2 and nvml.open_count == 0  # every read shuts NVML down again
    assert gpu_line(gpus) == "GPU0 37% 12.1/79.6 GiB · GPU1 1.0/9.8 GiB"

    from engine.estimate.memory import detect_gpu_memory_gib
    from engine.launching.distributed import visible_gpus

    assert detect_gpu_memory_gib() == pytest.approx(79.6) and visible_gpus() == 2


@pytest.mark.parametrize(("gpus", "fail_init"), [(None, False), ([], True), ([], False)])
def test_no_nvml_driver_or_gpu_reads_as_no_gpu(fake_nvml, gpus: list | None, fail_init: bool) -> None:
    fake_nvml(gpus, fail_init)  # None: no pynvml; fail_init: no driver; []: no GPU
    assert read_gpus() == [] and gpu_count() == 0
    assert gpu_line(read_gpus()) == ""


def test_a_gpu_line_per_reading() -> None:
    assert gpu_line([Gpu(0, "A100", 5, 1.0, 39.0, 40.0)]) == "GPU0 5% 1.0/40.0 GiB"
