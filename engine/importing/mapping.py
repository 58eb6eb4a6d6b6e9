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

# The importers by tool name (imported only when that tool is asked for). Each module has `method(mapper) -> name`
# (refusing what Reins cannot train), `SECTIONS` (functions filling model, lora, data, train), `method_settings(mapper,
# name)` and `REASONS` (its own keys with no Reins equivalent, and why).
TOOLS = {"llamafactory": "engine.importing.llamafactory", "axolotl": "engine.importing.axolotl"}
TOOL_TITLES = {"llamafactory": "LLaMA-Factory", "axolotl": "Axolotl"}
# Values shared by both tools' trainers (transformers' TrainingArguments) that Reins' train section accepts.
LR_SCHEDULERS = ("linear", "cosine", "constant", "constant_with_warmup", "cosine_with_min_lr")
OPTIMIZERS = {"adamw_torch": "adamw_torch", "adamw_8bit": "adamw_8bit", "adamw_bnb_8bit": "adamw_8bit",
              "paged_adamw_8bit": "paged_adamw_8bit", "paged_adamw_32bit": "paged_adamw_32bit", "sgd": "sgd"}


# Keys both tools have (transformers' TrainingArguments and shared habits) that Reins has no setting for, and why.
COMMON_REASONS = {
    "output_dir": "Reins writes each run to its own folder (runs/<id>/)",
    "resume_from_checkpoint": "`reins resume RUN` continues a run from its newest checkpoint",
    "warmup_steps": "Reins sets warm-up as a fraction of the steps (train.warmup_ratio)",
    "deepspeed": "Reins writes its own DeepSpeed config: set distributed.strategy (zero2, zero3)",
    "dpo_label_smoothing": "Reins' label_smoothing belongs to loss_type robust/exo_pair, not sigmoid (cDPO)",
}
# TrainingArguments both tools pass on under the same name, with the Reins setting each becomes.
SHARED_TRAIN = {"gradient_accumulation_steps": "train.grad_accum", "learning_rate": "train.learning_rate",
                "max_steps": "train.max_steps", "warmup_ratio": "train.warmup_ratio",
                "weight_decay": "train.weight_decay", "max_grad_norm": "train.max_grad_norm", "seed": "train.seed",
                "logging_steps": "train.logging_steps", "save_steps": "train.save_steps",
                "save_total_limit": "train.save_total_limit", "eval_steps": "train.eval_steps"}


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


def choice(table: dict[Any, Any], setting: str) -> Callable[[Any], Any]:
    """A converter through `table` (source value → Reins value); other values have no equivalent."""

    def convert(value: Any) -> Any:
        if value not in table:
            raise Unsupported(f"Reins' {setting} has no {value!r} (it takes {', '.join(map(str, table.values()))})")
        return table[value]

    return convert


def take_all(m: Mapper, table: dict[str, tuple[str, Callable[[Any], Any]]]) -> None:
    """Map every key of `table` (source key → Reins setting, converter)."""
    for key, (target, convert) in table.items():
        m.take(key, target, convert)


def shared_training_arguments(m: Mapper, names: dict[str, tuple[str, Callable[[Any], Any]]]) -> None:
    """The TrainingArguments both tools spell alike, then `names`: the tool's own spellings of the rest."""
    floats = ("train.learning_rate", "train.warmup_ratio", "train.weight_decay", "train.max_grad_norm")
    shared = {key: (target, number if target in floats else positive_whole if key == "max_steps" else whole)
              for key, target in SHARED_TRAIN.items()}
    take_all(m, {**shared, **names})


lr_scheduler = choice({s: s for s in LR_SCHEDULERS}, "train.lr_scheduler")
optimizer = choice(OPTIMIZERS, "train.optimizer")


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
    importer = importlib.import_module(TOOLS[tool])
    name = importer.method(mapper)
    for section in importer.SECTIONS:
        section(mapper)
    importer.method_settings(mapper, name)
    for key, why in {**COMMON_REASONS, **importer.REASONS}.items():
        mapper.drop(key, why)
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
