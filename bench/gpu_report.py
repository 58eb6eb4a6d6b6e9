"""The GPU check's outputs: the results CSV (one row per point) and the markdown summary written from its rows."""

from __future__ import annotations

import csv
import statistics
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from vram_validate import error_table  # noqa: E402
from vram_validate import markdown as error_markdown  # noqa: E402

TERMS = ("weights", "trainable states", "gradients", "optimizer", "activations", "logits", "extra models", "overhead")
FIELDS = ["id", "role", "runner", "method", "mode", "size", "params_b", "batch", "max_length", "checkpointing",
          "liger", "precompute_ref", "attn", "precision", "steps", "status", "expected_s", "wall_s",
          "estimate_total_gib", "estimate_allocator_gib", "measured_reserved_gib", "measured_allocated_gib",
          "error_reserved_pct", "error_allocated_pct", "s_per_step", "tokens_per_s", "mfu", "nvml_peak_used_gib",
          "posteval_s", "expect", "run_id", "note"] + [f"term_{t.replace(' ', '_')}_gib" for t in TERMS]
MEAN_LIMIT_PCT = 10.0  # issue 18: the estimator's mean error on the grid …
UNDER_LIMIT_PCT = -15.0  # … and no under-estimate worse than this


def signed_error(estimate_gib: float, measured_gib: float | None) -> float | None:
    """(estimate − measured) / measured in %: negative is an under-estimate (the dangerous side)."""
    if not measured_gib:
        return None
    return round((estimate_gib - measured_gib) / measured_gib * 100, 1)


def write_csv(rows: list[dict[str, Any]], path: Path) -> None:
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=FIELDS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


def read_csv(path: Path) -> list[dict[str, Any]]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def _num(v: Any) -> float | None:
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def _fmt(v: Any, digits: int = 2) -> str:
    x = _num(v)
    return "–" if x is None else f"{x:.{digits}f}"


def memory_section(rows: list[dict[str, Any]]) -> list[str]:
    measured = [r for r in rows if r.get("runner") == "reins" and _num(r.get("measured_reserved_gib"))]
    lines = ["## Memory: estimate vs measured", "",
             "Estimate = the allocator's share (`allocator_gib`, the total without the CUDA context); measured = "
             "`torch.cuda.max_memory_reserved()` and `max_memory_allocated()` of the run's worker. Error = "
             "(estimate − measured) / measured: negative is an under-estimate.", "",
             "| point | method | mode | size | batch × len | ckpt | est GiB | reserved GiB | err % | allocated GiB "
             "| err % | NVML GiB |", "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in measured:
        lines.append(f"| {r['id']} | {r['method']} | {r['mode']} | {r['size']} | {r['batch']} × {r['max_length']} | "
                     f"{'on' if str(r['checkpointing']) == 'True' else 'off'} | {_fmt(r['estimate_allocator_gib'])} | "
                     f"{_fmt(r['measured_reserved_gib'])} | {_fmt(r['error_reserved_pct'], 1)} | "
                     f"{_fmt(r.get('measured_allocated_gib'))} | {_fmt(r.get('error_allocated_pct'), 1)} | "
                     f"{_fmt(r.get('nvml_peak_used_gib'))} |")
    if not measured:
        lines.append("| (no point measured) |||||||||||| ")
    table = error_table([{"method": r["method"], "error_pct": r["error_reserved_pct"]} for r in measured])
    lines += ["", "Per method, against max_memory_reserved:", "", error_markdown(table).rstrip()]
    overall = next((t for t in table if t["method"] == "all"), None)
    if overall and overall["cases"]:
        ok = overall["mean_abs_pct"] <= MEAN_LIMIT_PCT and overall["worst_under_pct"] >= UNDER_LIMIT_PCT
        lines += ["", f"Target (mean |error| ≤ {MEAN_LIMIT_PCT:g}%, no under-estimate worse than "
                      f"{-UNDER_LIMIT_PCT:g}%): **{'met' if ok else 'not met'}** (mean {overall['mean_abs_pct']}%, "
                      f"worst under {overall['worst_under_pct']}%)."]
    return lines


def _baseline(r: dict[str, Any], speed: list[dict[str, Any]]) -> dict[str, Any] | None:
    """What a speed row is compared with: for Reins, plain TRL at its shape (with its Liger setting when there is
    one), else the plain-settings Reins run at its shape (the batch-2 comparisons of eager attention and fp32); for
    plain TRL with Liger, plain TRL without. Plain TRL without Liger is the baseline itself."""
    same = [x for x in speed if (x["batch"], x["max_length"]) == (r["batch"], r["max_length"]) and x is not r]
    plain = [x for x in same if x["runner"] == "plain"]
    plain_off = next((x for x in plain if str(x["liger"]) == "False"), None)
    if r["runner"] == "plain":
        return plain_off if str(r["liger"]) == "True" else None
    matching = next((x for x in plain if str(x["liger"]) == str(r["liger"])), None)
    return matching or plain_off or next((x for x in same if x["runner"] == "reins" and all(
        str(x[k]) == v for k, v in (("liger", "False"), ("precompute_ref", "False"), ("attn", "auto"),
                                    ("precision", "bf16")))), None)


def speed_section(rows: list[dict[str, Any]]) -> list[str]:
    speed = [r for r in rows if r.get("role") == "speed"]
    lines = ["## Speed: DPO, LoRA", "",
             "s/step = the trainer's train_runtime / steps on both sides; tokens/s = sequences × max_length / "
             "s/step (every synthetic row fills max_length); MFU = model FLOPs (6N per token for full fine-tuning, "
             "4N under LoRA, +2N for the reference forward) / s/step / the GPU's dense bf16 peak. Ratio = s/step "
             "over the baseline's: plain TRL at the same shape, else the plain-settings Reins run.", "",
             "| point | runner | batch | Liger | precompute ref | attention | precision | status | s/step | tokens/s "
             "| MFU | peak reserved GiB | ratio (baseline) |", "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in speed:
        s, base = _num(r.get("s_per_step")), _baseline(r, speed)
        base_s = _num(base.get("s_per_step")) if base else None
        ratio = f"{s / base_s:.3f} ({base['id']})" if s and base_s else "–"
        lines.append(f"| {r['id']} | {r['runner']} | {r['batch']} | {r['liger']} | {r['precompute_ref']} | "
                     f"{r['attn']} | {r['precision']} | {r['status']} | {_fmt(s, 3)} | "
                     f"{_fmt(r.get('tokens_per_s'), 0)} | {_fmt(r.get('mfu'), 3)} | "
                     f"{_fmt(r.get('measured_reserved_gib'))} | {ratio} |")
    return lines


def paths_section(rows: list[dict[str, Any]], env: dict[str, Any]) -> list[str]:
    lines = ["## GPU-only paths", ""]
    for r in rows:
        if r.get("role") == "path":
            extra = f", post-training evaluation {r['posteval_s']} s" if r.get("posteval_s") else ""
            lines.append(f"- **{r['id']}**: {r['status']} (expected {r.get('expect', 'completed')}){extra}. "
                         f"{r.get('note') or ''}".rstrip())
    nvml = env.get("nvml") or []
    if nvml:
        g = nvml[0]
        lines.append(f"- **NVML** (what the TUI's VRAM panel reads): {g.get('name')}, {g.get('total_gib')} GiB total, "
                     f"{g.get('used_gib')} GiB used before the first run.")
    gap = [(_num(r.get("nvml_peak_used_gib")) or 0) - (_num(r.get("measured_reserved_gib")) or 0) for r in rows
           if _num(r.get("nvml_peak_used_gib")) and _num(r.get("measured_reserved_gib"))]
    if gap:
        lines.append(f"- NVML peak used − torch reserved (the CUDA context and the check's own process, which the "
                     f"estimate puts at 0.5 GiB): median {statistics.median(gap):.2f} GiB over {len(gap)} runs.")
    return lines


def summary_markdown(rows: list[dict[str, Any]], env: dict[str, Any], skipped: list[str]) -> str:
    """The whole summary: header, memory, speed, paths, what was left out."""
    head = [f"# GPU check — {env.get('date', '?')} on {env.get('gpu', '?')}", "",
            f"Host {env.get('host', '?')}; torch {env.get('versions', {}).get('torch', '?')}, transformers "
            f"{env.get('versions', {}).get('transformers', '?')}, TRL {env.get('versions', {}).get('trl', '?')}; "
            f"budget {env.get('budget_s', '?')} s, used {env.get('elapsed_s', '?')} s; "
            f"{len(rows)} points run, {len(skipped)} left out.", ""]
    for problem in env.get("problems", []):
        head.append(f"- preflight: {problem}")
    if env.get("missing"):
        head.append(f"- preflight: not installed: {', '.join(env['missing'])}")
    tail = ["", "## Left out", ""] + [f"- {s}" for s in skipped] if skipped else []
    body = memory_section(rows) + [""] + speed_section(rows) + [""] + paths_section(rows, env) + tail
    return "\n".join(head + body) + "\n"
