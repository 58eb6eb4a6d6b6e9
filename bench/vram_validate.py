"""Check the VRAM estimate against measured peaks: a grid of short real trainings, estimated vs max_memory_reserved.

    .venv/bin/python bench/vram_validate.py                    # on a CUDA machine: trains every case (minutes)
    .venv/bin/python bench/vram_validate.py --dry-run          # anywhere: builds the grid and the estimates only
    .venv/bin/python bench/vram_validate.py --sizes smollm2-135m --methods dpo --steps 3 --append   # in chunks

Grid: SFT/DPO × full/LoRA/QLoRA × gradient checkpointing off/on × model sizes (catalogue architectures with
random-initialised weights, the embedded SmolLM2 tokenizer, synthetic rows long enough that every sequence reaches
max_length). Each case is a real Reins run (`engine.api.launch`, the real worker and TRL trainer), so the measured
figure is the worker's `peak_mem_gb` = torch.cuda.max_memory_reserved() on rank 0. The estimate compared with it is
`allocator_gib` (the total without the CUDA context, which the allocator never sees). Writes a CSV with one row per
case and a Markdown error table (mean and max absolute % error, worst under-estimate, per method) beside it.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.estimate.catalogue import lookup  # noqa: E402
from engine.estimate.fit import estimate  # noqa: E402
from engine.estimate.memory import GIB  # noqa: E402
from engine.recipe.schema import Recipe  # noqa: E402

METHODS = ("sft", "dpo")
MODES = ("full", "lora", "qlora")
SIZES = ("smollm2-135m", "smollm2-360m", "llama-3.2-1b")
FIELDS = ["case", "method", "mode", "checkpointing", "size", "params", "batch_size", "max_length",
          "estimate_total_gib", "estimate_allocator_gib", "measured_gib", "error_pct", "status"]


@dataclass(frozen=True)
class Case:
    """One training in the grid."""

    method: str
    mode: str
    checkpointing: bool
    size: str

    @property
    def id(self) -> str:
        return f"{self.method}-{self.mode}-{'ckpt' if self.checkpointing else 'nockpt'}-{self.size}"


def grid(methods=METHODS, modes=MODES, sizes=SIZES) -> list[Case]:
    return [Case(m, mo, ck, sz) for sz in sizes for m in methods for mo in modes for ck in (False, True)]


def recipe_dict(case: Case, model_dir: Path, data: Path, steps: int, batch: int, max_length: int) -> dict[str, Any]:
    """The recipe of one case (validated by the real schema before use)."""
    method: dict[str, Any] = {"name": case.method}
    if case.method == "sft":
        method["completion_only_loss"] = True
    return {
        "description": f"vram_validate {case.id}",
        "model": {"name": str(model_dir), "dtype": "bfloat16",
                  "quantization": "4bit" if case.mode == "qlora" else "none"},
        "lora": None if case.mode == "full" else {"r": 16, "alpha": 32, "dropout": 0.05,
                                                  "target_modules": "all-linear"},
        "data": {"train": str(data)},
        "train": {"max_steps": steps, "batch_size": batch, "max_length": max_length, "learning_rate": 1e-5,
                  "gradient_checkpointing": case.checkpointing, "precision": "bf16", "eval_on_start": False,
                  "logging_steps": 1, "save_steps": None},
        "method": method,
    }


def synthetic_rows(method: str, max_length: int, n: int = 64, seed: int = 0) -> list[dict[str, str]]:
    """Rows whose prompt + response exceed max_length tokens, so every sequence is truncated to max_length."""
    rng = random.Random(seed)
    words = "alpha beta gamma delta river stone cloud paper signal garden vector orbit lantern quartz".split()

    def text(k: int) -> str:
        return " ".join(rng.choice(words) for _ in range(k))

    rows = []
    for _ in range(n):
        prompt = text(max_length // 4)
        if method == "sft":
            rows.append({"prompt": prompt, "completion": text(2 * max_length)})
        else:
            rows.append({"prompt": prompt, "chosen": text(2 * max_length), "rejected": text(2 * max_length)})
    return rows


def build_random_model(size: str, target: Path, seed: int = 0, tokenizer: Path | None = None,
                       config: dict[str, Any] | None = None, device: str = "cpu") -> Path:
    """A catalogue architecture (or `config`) with random weights, saved in bf16 with SmolLM2's tokenizer (the
    embedded model's, or the files in `tokenizer`). `device="cuda"` initialises on the GPU: seconds, not minutes,
    for 7B-class models."""
    if (target / "config.json").is_file():
        return target
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    from engine.worker.loading import embedded_tokenizer

    tok = AutoTokenizer.from_pretrained(tokenizer) if tokenizer else embedded_tokenizer()
    cfg = dict(config or lookup(size).config)
    model_type = cfg.pop("model_type")
    cfg["vocab_size"] = max(cfg["vocab_size"], len(tok))
    config_obj = AutoConfig.for_model(model_type, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                                      pad_token_id=tok.pad_token_id, **cfg)
    torch.manual_seed(seed)
    with torch.device(device):
        model = AutoModelForCausalLM.from_config(config_obj, dtype=torch.bfloat16)
    model.save_pretrained(target)
    tok.save_pretrained(target)
    del model
    if device == "cuda":
        torch.cuda.empty_cache()  # the runs measure their own peaks in their own processes; free the card for them
    return target


def measure(recipe_path: Path, runs: Path) -> tuple[float | None, str]:
    """Run one case through the real launcher and worker; return its measured peak (GiB) and final status."""
    from engine import api

    view = api.launch(str(recipe_path), [], name=recipe_path.stem, runs_dir=runs)
    final = api.wait_for(view.id, runs)
    summary = final.summary.final or {}
    peak = summary.get("peak_mem_gb")
    return (float(peak) if peak else None), final.status


def error_table(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per method (and overall): cases measured, mean absolute and mean signed % error, max absolute % error, worst
    under-estimate (rows: `method` and a signed `error_pct`, estimate − measured over measured)."""
    out = []
    groups = {m: [r for r in rows if r["method"] == m] for m in sorted({r["method"] for r in rows})}
    groups["all"] = rows
    for name, group in groups.items():
        errs = [float(r["error_pct"]) for r in group if r.get("error_pct") not in (None, "")]
        if not errs:
            out.append({"method": name, "cases": 0, "mean_abs_pct": None, "mean_signed_pct": None,
                        "max_abs_pct": None, "worst_under_pct": None})
            continue
        out.append({"method": name, "cases": len(errs), "mean_abs_pct": round(statistics.fmean(map(abs, errs)), 1),
                    "mean_signed_pct": round(statistics.fmean(errs), 1),
                    "max_abs_pct": round(max(map(abs, errs)), 1), "worst_under_pct": round(min(0.0, *errs), 1)})
    return out


def markdown(table: list[dict[str, Any]]) -> str:
    lines = ["| method | cases | mean abs % error | mean signed % error | max abs % error | worst under-estimate % |",
             "|---|---|---|---|---|---|"]
    for t in table:
        lines.append(f"| {t['method']} | {t['cases']} | {t['mean_abs_pct']} | {t['mean_signed_pct']} | "
                     f"{t['max_abs_pct']} | {t['worst_under_pct']} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dry-run", action="store_true", help="Build the grid and the estimates; train nothing.")
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "vram_validate.csv")
    p.add_argument("--work", type=Path, default=None, help="Folder for models, data and runs (default: beside --out).")
    p.add_argument("--methods", default=",".join(METHODS))
    p.add_argument("--modes", default=",".join(MODES))
    p.add_argument("--sizes", default=",".join(SIZES))
    p.add_argument("--append", action="store_true",
                   help="Keep the rows of an existing --out CSV (replacing cases run again): run the grid in chunks.")
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--max-length", type=int, default=512)
    p.add_argument("--sft-batch", type=int, default=4)
    p.add_argument("--dpo-batch", type=int, default=2)
    args = p.parse_args(argv)

    cases = grid(args.methods.split(","), args.modes.split(","), args.sizes.split(","))
    work = args.work or args.out.parent / "vram_validate_work"
    for sub in ("models", "data", "recipes", "runs"):
        (work / sub).mkdir(parents=True, exist_ok=True)
    if not args.dry_run:
        import torch

        if not torch.cuda.is_available():
            print("no CUDA device: use --dry-run (the measured peaks need a GPU)", file=sys.stderr)
            return 2
        gpu_gib = torch.cuda.get_device_properties(0).total_memory / GIB
    else:
        gpu_gib = None

    rows = []
    for case in cases:
        data = work / "data" / f"{case.method}-{args.max_length}.jsonl"
        if not data.exists():
            data.write_text("".join(json.dumps(r) + "\n" for r in synthetic_rows(case.method, args.max_length)))
        model_dir = work / "models" / case.size
        batch = args.sft_batch if case.method == "sft" else args.dpo_batch
        raw = recipe_dict(case, model_dir, data, args.steps, batch, args.max_length)
        recipe = Recipe.model_validate(raw)
        recipe_path = work / "recipes" / f"{case.id}.yaml"
        recipe_path.write_text(json.dumps(raw, indent=1))  # JSON is YAML
        config = dict(lookup(case.size).config)
        config["vocab_size"] = max(config["vocab_size"], 49152)
        est = estimate(recipe, config, gpu_gib, with_suggestions=False)
        row = {"case": case.id, "method": case.method, "mode": case.mode, "checkpointing": case.checkpointing,
               "size": case.size, "params": est.params, "batch_size": batch, "max_length": args.max_length,
               "estimate_total_gib": round(est.total_gib, 3),
               "estimate_allocator_gib": round(est.allocator_bytes / GIB, 3),
               "measured_gib": "", "error_pct": "", "status": "dry-run" if args.dry_run else ""}
        if not args.dry_run:
            build_random_model(case.size, model_dir)
            peak, status = measure(recipe_path, work / "runs")
            row["status"] = status
            if peak:
                row["measured_gib"] = round(peak, 3)
                row["error_pct"] = round((est.allocator_bytes / GIB - peak) / peak * 100, 1)
        rows.append(row)
        print(f"{case.id:40s} est {row['estimate_allocator_gib']:7.2f} GiB  measured {row['measured_gib'] or '-':>7}"
              f"  err {row['error_pct'] or '-':>6}%  {row['status']}", flush=True)

    args.out.parent.mkdir(parents=True, exist_ok=True)
    if args.append and args.out.exists():
        done = {r["case"] for r in rows}
        with open(args.out, newline="") as fh:
            rows = [r for r in csv.DictReader(fh) if r["case"] not in done] + rows
    with open(args.out, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    table = markdown(error_table(rows))
    args.out.with_suffix(".md").write_text(table)
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
