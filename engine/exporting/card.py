"""The model card (`README.md`) of an exported model: how it was made (recipe, base, data), its key metrics and the
report's verdict, read from the run folder; nothing is measured here."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from engine.formatting import fmt
from engine.recipe.methods import method_spec
from engine.runs.store import RunView
from engine.verdict import decision
from engine.verdict.report import Report, build_report, evaluation_summary


def model_card(run: RunView, merged: bool, dtype: str | None) -> str:
    """The card's Markdown: Hugging Face front matter, then what the model is, the verdict, metrics, recipe, data."""
    record, rd = run.record, run.dir
    recipe = _recipe_text(rd.recipe)
    raw = yaml.safe_load(recipe) if recipe else {}
    raw = raw if isinstance(raw, dict) else {}
    method = str(record.get("method") or (raw.get("method") or {}).get("name") or "?")
    spec = method_spec(method)
    base = str(record.get("model") or (raw.get("model") or {}).get("name") or "?")
    lora = raw.get("lora", {})  # absent: the schema's default adapter; null: full fine-tuning
    adapter = lora is not None and not merged and (rd.final / "adapter_config.json").is_file()
    quantization = (raw.get("model") or {}).get("quantization")
    quantization = quantization if quantization not in (None, "none") else None
    report = build_report(rd.path) if rd.events.is_file() else None
    lines = _front_matter(base, method, adapter)
    lines += [f"# {record.get('name') or run.id}", "",
              f"{spec.title if spec else method} of `{base}`, trained with Reins (run `{run.id}`, "
              f"{record.get('created', '?')}). " + _what_it_is(lora, adapter, dtype, quantization), ""]
    lines += _verdict(report)
    lines += _metrics(run, spec.key_metrics if spec else ())
    lines += _data(raw, record)
    lines += ["## Recipe", "", "The resolved recipe as launched (`recipe.yaml` of the run):", "", "```yaml",
              recipe.rstrip() or "# (missing)", "```", ""]
    return "\n".join(lines) + "\n"


def _recipe_text(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def _front_matter(base: str, method: str, adapter: bool) -> list[str]:
    meta: dict[str, Any] = {"library_name": "peft" if adapter else "transformers", "tags": ["reins", method]}
    if "/" in base and not Path(base).expanduser().exists():  # a hub id, not a local folder
        meta["base_model"] = base
    return ["---", yaml.safe_dump(meta, sort_keys=False).rstrip(), "---", ""]


def _what_it_is(lora: Any, adapter: bool, dtype: str | None, quantization: str | None) -> str:
    if adapter:
        return ("This folder holds the LoRA adapter only: load it on the base model with PEFT "
                "(`AutoPeftModelForCausalLM.from_pretrained`).")
    if lora is None:
        return "Full fine-tuning: the folder is the whole model" + (f", saved in {dtype}." if dtype else ".")
    note = (f" The run trained on a {quantization}-quantized base (QLoRA); the merge used the full-precision base, "
            "so the exported model is not the quantized one it was trained against.") if quantization else ""
    return (f"The LoRA adapter is merged into the unquantised base weights in {dtype}: the folder loads with plain "
            f"`transformers`, no PEFT needed.{note}")


def _verdict(report: Report | None) -> list[str]:
    if report is None or not report.decision:
        return ["## Verdict", "", "No post-training evaluation was recorded: the run has no verdict.", ""]
    dec = decision.Decision(report.decision["verdict"],
                            [decision.RuleResult(**r) for r in report.decision["rules"]])
    lines = decision.markdown(dec)
    lines += [f"Held-out evaluation: {report.verdict}.", "",
              f"Post-training figures: {evaluation_summary(report.evaluation)}.", ""]
    return lines


def _metrics(run: RunView, keys: tuple[str, ...]) -> list[str]:
    """The method's key metrics at the last logged step, train and held-out."""
    last = run.summary.last
    train, held = last.get("train", {}), last.get("eval", {})
    shown = [k for k in keys if k in train or k in held]
    if not shown:
        return []
    lines = [f"## Key metrics (step {run.summary.step})", "", "| metric | train | held-out |", "|---|---|---|"]
    lines += [f"| {k} | {fmt(train.get(k, '—'))} | {fmt(held.get(k, '—'))} |" for k in shown]
    return lines + [""]


def _data(raw: dict[str, Any], record: dict[str, Any]) -> list[str]:
    """The data files the run read, with the content hashes run.json recorded (`data_files`); a run from before
    hashes were recorded lists the recipe's sources."""
    data = raw.get("data") or {}
    files = record.get("data_files") or [
        {"path": data[role], "role": role} for role in ("train", "eval") if isinstance(data.get(role), str)]
    lines = ["## Data", ""]
    for item in files:
        weight = f", weight {item['weight']}" if item.get("weight") is not None else ""
        digest = f" (sha256 `{item['sha256']}`)" if item.get("sha256") else ""
        lines.append(f"- {item['role']}: `{item['path']}`{weight}{digest}")
    if data.get("max_rows"):
        lines.append(f"- at most {data['max_rows']} training rows")
    return lines + [""] if len(lines) > 2 else []
