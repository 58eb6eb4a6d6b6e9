"""The Run screen's per-rank memory line reads the ranks a multi-process run gathered into its final summary."""

from __future__ import annotations

from types import SimpleNamespace

from engine.runs.events import Summary
from tui.display.progress import rank_peaks


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
