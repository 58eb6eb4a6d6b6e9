"""The data studio's calls: data files (read, inspect, convert, sample, split), annotation sets and synthetic pairs.
`engine.api` re-exports each, so the CLI and the TUI still call them through `engine.api`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.annotation.agreement import Comparison
from engine.annotation.export import Exported
from engine.annotation.overview import SetOverview, overview
from engine.annotation.session import Session
from engine.data import convert as _convert
from engine.data import sample as _sample
from engine.data import split as _split
from engine.data.context import data_context, read_for_tool
from engine.data.reading import DataFile
from engine.paths import runs_dir as _runs_dir
from engine.runs.store import RunView

# ---------- annotation sets ----------

def open_annotation_set(source: str, runs_dir: Path | str | None = None) -> tuple[SetOverview, bool]:
    """The annotation set of a data file (made on first use; the same file reopens it), or an existing set by id,
    prefix, name or `latest`. Returns it and whether it was just made. Raises ReinsError."""
    from engine.annotation.making import from_file
    from engine.annotation.sets import find_set

    root = _runs_dir(runs_dir)
    path = Path(source).expanduser()
    # A file (or what names one) is read; anything else names a set already made.
    named_file = path.exists() or path.suffix in (".jsonl", ".json", ".parquet")
    aset, made = from_file(root, path) if named_file else (find_set(root, source), False)
    return overview(aset), made


def list_annotation_sets(runs_dir: Path | str | None = None) -> list[SetOverview]:
    """Every annotation set in the store, newest first, with each annotator's progress."""
    from engine.annotation.sets import list_sets

    return [overview(s) for s in list_sets(_runs_dir(runs_dir))]


def annotation_session(ref: str, annotator: str, runs_dir: Path | str | None = None) -> Session:
    """One annotator on one set: items in their order, decisions as they stand; choose/edit/note/undo append."""
    from engine.annotation.sets import find_set

    return Session(find_set(_runs_dir(runs_dir), ref), annotator)


def export_annotations(ref: str, out: Path | str, kto: bool = False, annotator: str | None = None,
                       runs_dir: Path | str | None = None) -> Exported:
    """Write a set's decisions as a TRL preference file (or KTO rows), each row with its provenance."""
    from engine.annotation.export import export
    from engine.annotation.sets import find_set

    return export(find_set(_runs_dir(runs_dir), ref), Path(out), kto=kto, annotator=annotator)


def annotation_agreement(ref: str, runs_dir: Path | str | None = None) -> list[Comparison]:
    """Cohen's κ between every two annotators of a set, and of each against the data's label or the judge."""
    from engine.annotation.agreement import set_agreement
    from engine.annotation.sets import find_set

    return set_agreement(find_set(_runs_dir(runs_dir), ref))


# ---------- data files ----------

def read_data(path: str | Path, recipe: str | None = None, overrides: list[str] | tuple[str, ...] = (),
              fmt: str | None = None) -> DataFile:
    """A data file's rows as TRL reads them (any format Reins knows; `recipe` gives its field names and format),
    with every problem found (file, row, field)."""
    return read_for_tool(path, data_context(recipe, list(overrides)), fmt, strict=False)


def inspect_data(path: str | Path, recipe: str | None = None, overrides: list[str] | tuple[str, ...] = (),
                 fmt: str | None = None, category: str | None = None,
                 runs_dir: Path | str | None = None) -> dict[str, Any]:
    """`reins data inspect`: rows, format, lengths with the recipe's tokenizer (p50/p95/max per field, rows over
    max_length), duplicate prompts, near-identical pairs, length bias, empty answers, per-category figures."""
    from engine.data.inspection import inspect_file  # rapidfuzz: loaded only by the command that uses it

    return inspect_file(path, data_context(recipe, list(overrides)), fmt, category, _runs_dir(runs_dir))


def convert_data(path: str | Path, out: str | Path, recipe: str | None = None,
                 overrides: list[str] | tuple[str, ...] = (), fmt: str | None = None,
                 force: bool = False) -> dict[str, Any]:
    """`reins data convert`: write a file of any known format as TRL conversational `.jsonl` rows."""
    return _convert.convert_file(path, out, data_context(recipe, list(overrides)), fmt, force)


def sample_data(path: str | Path, n: int = 50, seed: int = 0, recipe: str | None = None,
                overrides: list[str] | tuple[str, ...] = (), fmt: str | None = None) -> dict[str, Any]:
    """`reins data sample`: `n` random rows (prompt and answers as text) to read side by side."""
    return _sample.sample_file(path, n, seed, data_context(recipe, list(overrides)), fmt)


def split_data(path: str | Path, train_out: str | Path, eval_out: str | Path, eval_fraction: float = 0.1,
               seed: int = 0, category: str | None = None, fmt: str | None = None,
               force: bool = False) -> dict[str, Any]:
    """`reins data split`: write train and eval files (rows as they were in the file) stratified by `category`
    (default: a `category`-like field when every row has one), every copy of a prompt on one side."""
    return _split.split_file(path, train_out, eval_out, eval_fraction, seed, category, fmt, force)


# ---------- synthetic pairs ----------

def start_synth(prompts: str | Path, out: str | Path, recipe: str | None = None, name: str | None = None,
                runs_dir: Path | str | None = None, **options: Any) -> RunView:
    """`reins data synth`: check everything (exit 2 on bad input; a warning when the generator is the model `recipe`
    aligns), then start it as a `generate` run, detached. `options`: see `engine.synth.plan.build_plan`."""
    from engine.synth.launch import submit

    return submit(prompts, out, options, recipe, name, _runs_dir(runs_dir))
