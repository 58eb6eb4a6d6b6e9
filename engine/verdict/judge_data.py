"""What a report adds to a stored judge result: whether a judge that is a Reins run (`run:<id>`) was trained on the
same data as the run it judges (then its win rate measures agreement with that data, not general quality), and the
length figures of results judged before they were stored."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.data.mixture import train_sources
from engine.errors import ReinsError
from engine.recipe.model_refs import RUN_PREFIX
from engine.runs.rundir import RunDir
from engine.verdict.healthcheck import recipe_of
from engine.verdict.judge import length_part


def same_data_note(trained: str = "the policy") -> str:
    """What a report says when the judge learned from the judged model's data."""
    return (f"the judge was trained on the same data as {trained}: its win rate measures agreement with that data, "
            "not general quality")


NOTE = same_data_note()


def _data_key(train: str) -> str:
    """A data source as a comparable key: a file or folder here by its resolved path, anything else (a hub id) as
    written."""
    path = Path(train).expanduser()
    return str(path.resolve()) if path.exists() else train


def train_data(run_dir: Path) -> str | None:
    """The training data a run's recipe names (resolved), or None without a readable recipe."""
    recipe = recipe_of(run_dir)
    if recipe is None or not recipe.data.train:
        return None
    sources = train_sources(recipe.data)
    if len(sources) == 1:
        return _data_key(sources[0][0])
    return " + ".join(f"{_data_key(path)}×{weight:g}" for path, weight in sources)  # a mixture: files and weights


def judge_run_dir(judge_model: str | None, runs_root: Path) -> Path | None:
    """The run folder a `run:<id>` judge names in the store `runs_root` (None for any other judge, or none found)."""
    if not judge_model or not judge_model.startswith(RUN_PREFIX):
        return None
    from engine.runs.store import RunStore

    try:
        return RunStore(runs_root).get(judge_model[len(RUN_PREFIX):]).dir.path
    except ReinsError:
        return None


def same_data(judge_model: str | None, run_dir: Path, runs_root: Path | None = None) -> bool:
    """True when the judge is a run whose `data.train` is the judged run's `data.train` (the store defaults to the
    folder the judged run sits in)."""
    judge_dir = judge_run_dir(judge_model, runs_root or Path(run_dir).resolve().parent)
    if judge_dir is None:
        return False
    hashed = [train_hashes(Path(d)) for d in (run_dir, judge_dir)]
    if all(hashed):  # both runs recorded their files' contents: the same bytes, whatever the files are called
        return hashed[0] == hashed[1]
    ours = train_data(Path(run_dir))
    return ours is not None and ours == train_data(judge_dir)


def train_hashes(run_dir: Path) -> list[tuple[str, float]] | None:
    """The content hashes and weights of the training files run.json `data_files` records (None when it has none
    or a file could not be hashed)."""
    files = [f for f in RunDir(run_dir).read().get("data_files") or [] if f.get("role") == "train"]
    if not files or not all(f.get("sha256") for f in files):
        return None
    return sorted((f["sha256"], float(f.get("weight", 1.0))) for f in files)


def complete_judge_result(judge: dict[str, Any] | None, samples: list[dict[str, Any]], run_dir: Path) -> None:
    """What a report adds to a stored judge result when it reads it: the length figures for a result judged before
    they were stored, and `same_data` when the judge learned from the judged run's data."""
    if not judge or not judge.get("n"):
        return
    if "lengths" not in judge and samples:
        judge.update(length_part([s for s in samples if s.get("winner")]))
    if same_data(judge.get("model"), run_dir):
        judge["same_data"] = True
