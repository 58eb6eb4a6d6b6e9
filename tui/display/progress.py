"""The Run screen's progress facts: step, ETA and throughput, memory per rank, GPU use."""

from __future__ import annotations

from typing import Any

from engine.estimate.gpus import Gpu


def progress(summary: Any) -> dict[str, Any]:
    """Step, fraction done, seconds per step, tokens per second and ETA, from the event summary only (no clock)."""
    step, total = summary.step, summary.max_steps
    sps = summary.system.get("s_per_step")
    tps = summary.system.get("tokens_per_s")
    frac = min(1.0, step / total) if total else None
    eta = sps * (total - step) if sps and total and step < total else None
    return {"step": step, "total": total, "fraction": frac, "s_per_step": sps, "tokens_per_s": tps, "eta_s": eta}


def rank_peaks(view: Any) -> list[tuple[int, float]]:
    """(rank, peak GiB) for every process of a multi-process run, from its final summary (empty for one process)."""
    ranks = (view.summary.final or {}).get("ranks") or []
    out = []
    for r in ranks:
        peak = r.get("peak_mem_gb", r.get("peak_rss_gb"))
        if isinstance(peak, (int, float)):
            out.append((int(r.get("rank", len(out))), float(peak)))
    return out


def gpu_line(gpus: list[Gpu]) -> str:
    """`GPU0 37% 12.1/79.6 GiB` per GPU (no % where NVML has no utilisation), or '' without one."""
    return " · ".join(f"GPU{g.index}{'' if g.util is None else f' {g.util}%'} {g.used_gib:.1f}/{g.total_gib:.1f} GiB"
                      for g in gpus)
