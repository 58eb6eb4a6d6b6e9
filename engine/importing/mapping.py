"""What every config import shares: the mapping report (what mapped to what, what has no Reins equivalent), the
helper a tool's module fills the recipe with, and `import_config`, which validates and writes the result."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from engine.errors import ReinsError
from engine.recipe.loading import read_yaml, validate

# The importers by tool name: "module:function" taking a Mapper (imported only when that tool is asked for).
TOOLS = {"llamafactory": "engine.importing.llamafactory:convert", "axolotl": "engine.importing.axolotl:convert"}
TOOL_TITLES = {"llamafactory": "LLaMA-Factory", "axolotl": "Axolotl"}
# Values shared by both tools' trainers (transformers' TrainingArguments) that Reins' train section accepts.
LR_SCHEDULERS = ("linear", "cosine", "constant", "constant_with_warmup", "cosine_with_min_lr")
OPTIMIZERS = {"adamw_torch": "adamw_torch", "adamw_8bit": "adamw_8bit", "adamw_bnb_8bit": "adamw_8bit",
              "paged_adamw_8bit": "paged_adamw_8bit", "paged_adamw_32bit": "paged_adamw_32bit", "sgd": "sgd"}


class ConfigImportError(ReinsError):
    """The config cannot become a Reins recipe: unreadable, a stage Reins has no method for, or an invalid result."""


class Unsupported(Exception):  # noqa: N818 - a value a converter cannot map: recorded as unmapped, with why
    """Raised by a converter for a value it cannot map; the key is then listed as having no Reins equivalent."""


@dataclass(frozen=True)
class Mapped:
    """One source key and the Reins setting it became."""

    source: str
    value: Any
    target: str
    written: Any
    note: str = ""


@dataclass(frozen=True)
class Unmapped:
    """One source key with no Reins equivalent, and why."""

    source: str
    value: Any
    why: str


@dataclass
class ImportedConfig:
    """The recipe written from another tool's config, and the mapping report."""

    tool: str
    source: Path
    recipe: dict[str, Any]
    text: str
    mapped: list[Mapped] = field(default_factory=list)
    unmapped: list[Unmapped] = field(default_factory=list)
    empty: list[str] = field(default_factory=list)  # keys set to null or left blank: nothing to map
    output: Path | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"tool": self.tool, "source": str(self.source), "output": str(self.output) if self.output else None,
                "recipe": self.recipe, "mapped": [asdict(m) for m in self.mapped],
                "unmapped": [asdict(u) for u in self.unmapped], "empty": self.empty}


class Mapper:
    """Builds a recipe from a flat source config, recording every key it uses; whatever no rule took is listed
    as unmapped at the end, so nothing is dropped silently."""

    def __init__(self, source: dict[str, Any], title: str) -> None:
        self.source = source
        self.title = title
        self.recipe: dict[str, Any] = {}
        self.mapped: list[Mapped] = []
        self.unmapped: list[Unmapped] = []
        self.used: set[str] = set()

    def has(self, key: str) -> bool:
        return self.source.get(key) not in (None, "")

    def get(self, key: str, default: Any = None) -> Any:
        return self.source[key] if self.has(key) else default

    def put(self, target: str, value: Any) -> None:
        """Set a dotted recipe key (sections created on the way; `None` writes a null section)."""
        node = self.recipe
        *parents, last = target.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value

    def take(self, key: str, target: str, convert: Callable[[Any], Any] | None = None, note: str = "") -> bool:
        """Map `key` onto `target` through `convert` (which may raise Unsupported); False when the key is unset."""
        self.used.add(key)
        if not self.has(key):
            return False
        value = self.source[key]
        try:
            written = convert(value) if convert else value
        except Unsupported as exc:
            self.unmapped.append(Unmapped(key, value, str(exc)))
            return False
        self.put(target, written)
        self.mapped.append(Mapped(key, value, target, written, note))
        return True

    def record(self, key: str, target: str, written: Any, note: str = "") -> None:
        """Record that `key` (read by the caller) decided `target`."""
        self.used.add(key)
        self.mapped.append(Mapped(key, self.source.get(key), target, written, note))

    def reject(self, key: str, why: str) -> None:
        """List `key` as not (wholly) imported, even when a rule used part of it."""
        self.used.add(key)
        self.unmapped.append(Unmapped(key, self.source.get(key), why))

    def flag(self, key: str, target: str, when_true: Any) -> bool:
        """A boolean switch: true writes `when_true` to `target`; false is recorded as leaving it alone."""
        self.used.add(key)
        value = self.source.get(key)
        if value is True:
            self.put(target, when_true)
            self.record(key, target, when_true)
        elif value is False:
            self.record(key, target, "(unchanged)", "false: this switch is off")
        return value is True

    def default(self, target: str, value: Any, why: str) -> None:
        """Write a setting the source left unset because the source tool's own default differs from Reins'."""
        self.put(target, value)
        self.mapped.append(Mapped("(unset)", None, target, value, why))

    def drop(self, key: str, why: str) -> None:
        """A key with no Reins equivalent, with the reason (listed only when the source sets it)."""
        self.used.add(key)
        if self.has(key):
            self.unmapped.append(Unmapped(key, self.source[key], why))

    def refuse(self, message: str) -> None:
        raise ConfigImportError(f"{self.title} config: {message}")

    def finish(self) -> list[str]:
        """List every key no rule used as unmapped; return the keys that were empty."""
        for key, value in self.source.items():
            if key not in self.used and value not in (None, ""):
                self.unmapped.append(Unmapped(key, value, "no Reins equivalent"))
        return [k for k, v in self.source.items() if v in (None, "")]


# ---------- converters both tools use ----------

def number(value: Any) -> float:
    """YAML 1.1 reads `1e-4` as a string; both tools accept it as a number."""
    try:
        return float(value)
    except (TypeError, ValueError):
        raise Unsupported(f"not a number: {value!r}") from None


def whole(value: Any) -> int:
    result = number(value)
    if result != int(result):
        raise Unsupported(f"not a whole number: {value!r}")
    return int(result)


def positive_whole(value: Any) -> int:
    result = whole(value)
    if result <= 0:
        raise Unsupported(f"{result} means unset (the other settings decide)")
    return result


def lr_scheduler(value: Any) -> str:
    if value not in LR_SCHEDULERS:
        raise Unsupported(f"Reins' train.lr_scheduler is one of {', '.join(LR_SCHEDULERS)}")
    return str(value)


def optimizer(value: Any) -> str:
    if value not in OPTIMIZERS:
        raise Unsupported(f"Reins' train.optimizer is one of {', '.join(sorted(set(OPTIMIZERS.values())))}")
    return OPTIMIZERS[value]


def fraction(value: Any) -> float:
    result = number(value)
    if not 0 <= result < 1:
        raise Unsupported("a count of held-out rows: Reins holds out a fraction (data.eval_fraction) or a file")
    return result


def first_dataset(value: Any) -> str:
    """A comma-separated list of dataset names: Reins trains on one source (the rest are listed by the caller)."""
    names = [n.strip() for n in str(value).split(",") if n.strip()]
    if not names:
        raise Unsupported("no dataset named")
    return names[0]


def import_config(tool: str, path: Path, output: Path | None = None) -> ImportedConfig:
    """Convert `path` with the importer of `tool`, validate the recipe with the schema `reins validate` uses (the
    data and model are not looked up: they name the other tool's datasets and models), write it to `output`."""
    if tool not in TOOLS:
        raise ConfigImportError(f"Unknown tool {tool!r}: Reins imports {', '.join(TOOLS)} configs.")
    if not path.is_file():
        raise ConfigImportError(f"{path} is not a file.")
    if output is not None and output.exists():
        raise ConfigImportError(f"{output} already exists: choose a new file name (nothing was overwritten).")
    mapper = Mapper(read_yaml(path), TOOL_TITLES[tool])
    module, _, function = TOOLS[tool].partition(":")
    getattr(importlib.import_module(module), function)(mapper)
    empty = mapper.finish()
    mapper.recipe.setdefault("description", f"Imported from the {TOOL_TITLES[tool]} config {path.name}.")
    try:
        validate(mapper.recipe, source=path)
    except ReinsError as exc:
        raise ConfigImportError(f"The recipe imported from {path} does not validate:", exc.problems) from None
    ordered = {k: mapper.recipe[k] for k in ("description", "model", "lora", "data", "train", "method")
               if k in mapper.recipe}
    text = (f"# Imported by `reins import {tool}` from {path.resolve()}: check the data section, then "
            "`reins validate` this file.\n" + yaml.safe_dump(ordered, sort_keys=False, allow_unicode=True))
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
    return ImportedConfig(tool, path, ordered, text, mapper.mapped, mapper.unmapped, empty, output)
