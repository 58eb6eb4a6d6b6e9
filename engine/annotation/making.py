"""Making (or reopening) a set from a data file or from a finished run's held-out generations."""

from __future__ import annotations

from pathlib import Path

from engine.annotation.items import file_items, run_items
from engine.annotation.sets import AnnotationSet, create_set
from engine.data.reading import load_records, read_data
from engine.runs.events import read_all
from engine.runs.rundir import RunDir
from engine.verdict.report import newest_samples


def from_file(runs_dir: Path, path: Path) -> tuple[AnnotationSet, bool]:
    """The set of a pairs file, a file of prompts with two or more answers, or of single answers to rate."""
    data = read_data(str(path))
    # Other tools' formats (ShareGPT, Alpaca, HH…) become TRL rows first; TRL-shaped files stay as written so fields
    # such as `answers` or `label` reach the item builder.
    rows = data.rows if data.format != "trl" else load_records(str(path))
    return create_set(runs_dir, Path(path).stem, file_items(rows, str(path)),
                      {"kind": "file", "source": str(Path(path).resolve())})


def from_run(runs_dir: Path, rd: RunDir) -> tuple[AnnotationSet, bool]:
    """The set of a run's newest held-out generations: reference vs policy per prompt."""
    items = run_items(rd.id, newest_samples(read_all(rd.events)))
    return create_set(runs_dir, rd.id, items, {"kind": "run", "source": rd.id})
