"""The Configure form's model: one field per recipe setting, read from the schema, turned into `--set` overrides; a
numeric field holding a comma list (`0.05,0.1,0.5`) becomes a sweep's grid item instead."""

from __future__ import annotations

import json
import re
import types
import typing
from dataclasses import dataclass
from typing import Any

from engine.recipe.methods import method_spec

# The settings most runs change, shown first; every other setting sits below under "All settings".
KEY_FIELDS = (
    "model.name", "model.quantization", "lora.r", "lora.target_modules", "train.batch_size", "train.max_length",
    "train.max_steps", "train.learning_rate", "train.gradient_checkpointing", "method.beta", "method.loss_type",
    "distributed.num_processes",
)
SECTIONS = ("model", "lora", "train", "method", "data", "distributed")


def key_fields(method: str | None) -> tuple[str, ...]:
    """The settings shown first in the Configure form for `method`: the common ones, then the method's own (its key
    settings, and what an online method must be told: its reward model and how long its generations are)."""
    spec = method_spec(method)
    own = [f"method.{k}" for k in (*spec.key_settings, *spec.form_settings)] if spec else []
    return tuple(dict.fromkeys((*KEY_FIELDS, *own)))


@dataclass(frozen=True)
class FieldSpec:
    """One setting: dotted key, widget kind (select/switch/text), choices, help text, whether blank means null."""

    key: str
    kind: str
    help: str
    choices: tuple[str, ...] = ()
    optional: bool = False
    text_type: str = "str"  # str | number | list | mapping

    @property
    def section(self) -> str:
        return self.key.split(".")[0]

    @property
    def name(self) -> str:
        return self.key.split(".", 1)[1]


def _literal_choices(annotation: Any) -> tuple[str, ...] | None:
    if typing.get_origin(annotation) is typing.Literal:
        return tuple(str(a) for a in typing.get_args(annotation))
    return None


def field_spec(key: str, field: Any) -> FieldSpec:
    ann = field.annotation
    help_text = " ".join((field.description or "").split())
    choices = _literal_choices(ann)
    if choices:
        return FieldSpec(key, "select", help_text, choices)
    if ann is bool:
        return FieldSpec(key, "switch", help_text)
    args = typing.get_args(ann) if typing.get_origin(ann) in (typing.Union, types.UnionType) else ()
    optional = type(None) in args
    inner = [a for a in args if a is not type(None)] or [ann]
    lists = [a for a in inner if typing.get_origin(a) is list]
    # A list of plain values is typed as a comma list; `data.train`'s mixture (a list of mappings) stays a path.
    if any(_literal_choices(a) for a in inner) or any(typing.get_args(a) in ((str,), ()) for a in lists):
        text_type = "list"
    elif any(typing.get_origin(a) is dict for a in inner):
        text_type = "mapping"
    elif all(a in (int, float) for a in inner):
        text_type = "number"
    else:
        text_type = "str"
    return FieldSpec(key, "text", help_text, optional=optional, text_type=text_type)


def form_fields(recipe: Any) -> list[FieldSpec]:
    """Every editable setting of a validated recipe, key settings first, in schema order within each group."""
    from engine.recipe.schema import LoraSection

    specs: list[FieldSpec] = []
    for section in SECTIONS:
        model = LoraSection if section == "lora" else type(getattr(recipe, section))
        for name, field in model.model_fields.items():
            if section == "method" and name == "name":
                continue  # the recipe picks the method
            specs.append(field_spec(f"{section}.{name}", field))
    key_rank = {k: i for i, k in enumerate(key_fields(recipe.method.name))}
    return sorted(specs, key=lambda s: (0, key_rank[s.key]) if s.key in key_rank else (1, 0))


def display_value(spec: FieldSpec, value: Any) -> Any:
    """The widget's value for a recipe value (select: str, switch: bool, text: str)."""
    if spec.kind == "switch":
        return bool(value)
    if spec.kind == "select":
        return str(value)
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value) if value else ""
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def override_text(spec: FieldSpec, shown: Any) -> str:
    """The `--set KEY=VALUE` value (YAML) for what the widget shows."""
    if spec.kind == "switch":
        return "true" if shown else "false"
    if spec.kind == "select":
        return json.dumps(str(shown))
    text = str(shown).strip()
    if not text:
        if spec.text_type == "mapping":
            return "{}"
        return "null" if spec.optional else '""'
    if spec.text_type == "number":
        return text  # parsed as YAML, typed (and checked) by the schema
    if spec.text_type == "list":
        if text == "all-linear":
            return json.dumps(text)
        return json.dumps([t.strip() for t in text.strip("[]").split(",") if t.strip()])
    if spec.text_type == "mapping":
        return text
    return json.dumps(text)


def value_at(data: dict[str, Any], key: str) -> Any:
    node: Any = data
    for part in key.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def field_for_problem(problem: str, keys: list[str]) -> str | None:
    """Which form field an engine error line (`train.batch_size: must be > 0 (got 0)`) belongs to."""
    head = problem.removeprefix("--set ").split(":", 1)[0].strip()
    while head:
        if head in keys:
            return head
        if "." not in head:
            return None
        head = head.rsplit(".", 1)[0]
    return None


def sweep_text(spec: FieldSpec, shown: Any) -> str | None:
    """The comma list a numeric field sweeps over (`0.05,0.1,0.5`), or None when it holds one value. Only numbers
    sweep here: a list setting's commas separate its items."""
    if spec.kind != "text" or spec.text_type != "number":
        return None
    text = "".join(str(shown).split())
    return text if "," in text else None


def grid_item(spec: FieldSpec, text: str) -> str:
    """The `--grid KEY=V1,V2,…` item of a sweep field (empty values kept: the engine says what is wrong with them)."""
    return f"{spec.key}={text}"


def first_value(text: str) -> str:
    """The first value of a sweep field, which the VRAM panel estimates (every member's is in the sweep line)."""
    return text.split(",", 1)[0]


def sweep_field_for_problem(problem: str, keys: list[str]) -> str | None:
    """Which swept field a sweep error line names (`beta=abc: method.beta: …`, `--grid 'method.beta=0.1,': …`)."""
    for key in keys:
        if re.search(rf"(?<![\w.]){re.escape(key)}(?![\w.])", problem):
            return key
    return None


def sweep_plan_text(members: list[dict[str, Any]]) -> str:
    """`3 runs · 2.06 GiB each` (or `1.20–2.06 GiB each`), and how many identical members were merged."""
    n = len(members)
    merged = sum(len(m.get("merged") or []) for m in members)
    needs = [float(m["need_gib"]) for m in members if isinstance(m.get("need_gib"), (int, float))]
    text = f"{n} run{'s' if n != 1 else ''}"
    if merged:
        text += f" ({merged} identical merged)"
    if needs:
        low, high = min(needs), max(needs)
        text += f" · {low:.2f} GiB each" if high - low < 0.005 else f" · {low:.2f}–{high:.2f} GiB each"
        if len(needs) < n:
            text += f" ({n - len(needs)} not estimated)"
    return text
