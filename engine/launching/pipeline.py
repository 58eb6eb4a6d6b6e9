"""Pipelines: recipes run in order (e.g. sft → rm → ppo), each a normal run linked to the stages before it.

A pipeline file lists stages; a stage's `set` overrides may name an earlier stage's run as `{stage_name}`, e.g.
`model.name=run:{sft}`. The driver runs detached (like a run), records its progress in
`runs/pipelines/<id>.json`, and stops at the first stage that does not complete.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, model_validator

from engine.errors import RecipeError, ReinsError
from engine.launching.launcher import launch, make_run_id, prepare
from engine.paths import BUNDLED_RECIPES
from engine.recipe.loading import format_error, read_yaml
from engine.recipe.section import Section
from engine.runs.events import TERMINAL_STATUSES
from engine.runs.follow import follow_run
from engine.runs.process import pid_alive
from engine.runs.rundir import now_iso, write_json_atomic

STAGE_REF = re.compile(r"\{([a-z0-9_-]+)\}")
SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")  # a pipeline id never leaves runs/pipelines/


class Stage(Section):
    """One step of a pipeline: a recipe and its overrides."""

    name: str = Field(..., pattern=r"^[a-z0-9_-]+$")
    """Stage name; later stages refer to its run as `{name}` inside their overrides."""
    recipe: str
    """Bundled recipe name or a path (relative to the pipeline file)."""
    set: list[str] = Field(default_factory=list)
    """Overrides as `dotted.key=value`; `{stage}` is replaced by that earlier stage's run id."""


class Pipeline(Section):
    """A pipeline file."""

    description: str = ""
    """One line on what the pipeline does."""
    stages: list[Stage] = Field(..., min_length=1)
    """Stages, run in order."""

    @model_validator(mode="after")
    def _references_point_backwards(self) -> Pipeline:
        seen: set[str] = set()
        for stage in self.stages:
            if stage.name in seen:
                raise ValueError(f"stage name {stage.name!r} is used twice")
            for item in stage.set:
                for ref in STAGE_REF.findall(item):
                    if ref not in seen:
                        raise ValueError(f"stage {stage.name!r} refers to {{{ref}}}, which is not an earlier stage")
            seen.add(stage.name)
        return self


@dataclass(frozen=True)
class PipelineInfo:
    """A bundled pipeline as `reins recipes` lists it: the name to type, its file, one line, its stage names."""

    name: str
    path: Path
    description: str
    stages: list[str]


@dataclass(frozen=True)
class StartedPipeline:
    """A pipeline whose driver has started: its record (as first written) and the file that record lives in."""

    record: dict[str, Any]
    record_path: Path


def is_pipeline(path: Path) -> bool:
    try:
        return path.is_file() and "stages" in (read_yaml(path) or {})
    except RecipeError:
        return False


def bundled_pipelines() -> list[tuple[str, Path, Pipeline]]:
    """The bundled pipelines as (name to type, file, parsed pipeline)."""
    found = []
    for path in sorted((BUNDLED_RECIPES / "pipelines").glob("*.yaml")):
        try:
            found.append((f"pipelines/{path.stem}", path, load_pipeline(path)))
        except RecipeError:
            continue
    return found


def pipeline_infos() -> list[PipelineInfo]:
    """The bundled pipelines as `reins recipes` lists them (a file that does not load is left out)."""
    return [PipelineInfo(name, path, pipe.description, [s.name for s in pipe.stages])
            for name, path, pipe in bundled_pipelines()]


def load_pipeline(path: Path) -> Pipeline:
    try:
        return Pipeline.model_validate(read_yaml(path))
    except ValidationError as exc:
        raise RecipeError(f"Pipeline {path} is invalid:", problems=[format_error(e) for e in exc.errors()]) from None


def find_pipeline(ref: str) -> Path | None:
    """A pipeline file given as a path or as `pipelines/<name>` among the bundled recipes (a bare name is always
    a recipe: `dpo` is the DPO recipe, `pipelines/dpo` the SFT → DPO pipeline)."""
    for candidate in (Path(ref), BUNDLED_RECIPES / ref, BUNDLED_RECIPES / f"{ref}.yaml"):
        if candidate.suffix in (".yaml", ".yml") and is_pipeline(candidate):
            return candidate.resolve()
    return None


def _recipe_ref(stage: Stage, base: Path) -> str:
    local = base / stage.recipe
    return str(local) if local.is_file() else stage.recipe


def pipelines_dir(runs_root: Path) -> Path:
    return runs_root / "pipelines"


def record_path(runs_root: Path, pipeline_id: str) -> Path:
    """Where the record of pipeline `pipeline_id` lives. Raises RecipeError for an id that names no pipeline."""
    path = pipelines_dir(runs_root) / f"{pipeline_id}.json"
    if not SAFE_ID.fullmatch(pipeline_id) or not path.is_file():
        raise RecipeError(f"No pipeline {pipeline_id!r} in {pipelines_dir(runs_root)}.")
    return path


def start(path: Path, runs_root: Path, name: str | None = None) -> StartedPipeline:
    """Validate the pipeline and its first stage, then start the driver detached."""
    pipe = load_pipeline(path)
    first = pipe.stages[0]
    prepare(_recipe_ref(first, path.parent), first.set, runs_root)  # fail fast on a broken first stage
    pid_dir = pipelines_dir(runs_root)
    pid_dir.mkdir(parents=True, exist_ok=True)
    pipe_id = make_run_id(name or path.stem)
    record_path = pid_dir / f"{pipe_id}.json"
    record = {"id": pipe_id, "name": name or path.stem, "file": str(path), "status": "starting",
              "created": now_iso(),
              "stages": [{"name": s.name, "run_id": None, "status": "pending"} for s in pipe.stages]}
    write_json_atomic(record_path, record)
    log = open(pid_dir / f"{pipe_id}.log", "ab")  # noqa: SIM115 - handed to the child
    driver = [sys.executable, "-m", "engine.launching.pipeline", str(path), str(record_path), str(runs_root)]
    proc = subprocess.Popen(driver, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    log.close()
    record["pid"] = proc.pid
    write_json_atomic(record_path, record)
    return StartedPipeline(record, record_path)


def read_record(record_path: Path) -> dict[str, Any]:
    return json.loads(record_path.read_text())


def drive(path: Path, record_path: Path, runs_root: Path) -> int:
    """Run every stage in order (inside the detached driver process); 0 if all completed."""
    pipe = load_pipeline(path)
    record = read_record(record_path)
    record.update(status="running", driver_pid=os.getpid())
    write_json_atomic(record_path, record)
    ids: dict[str, str] = {}
    previous: str | None = None
    for i, stage in enumerate(pipe.stages):
        overrides = [STAGE_REF.sub(lambda m: ids[m.group(1)], item) for item in stage.set]
        try:
            link = {"id": record["id"], "stage": stage.name, "after": previous}
            view = launch(_recipe_ref(stage, path.parent), overrides,
                          name=f"{record.get('name', 'pipeline')}-{stage.name}", runs_dir=runs_root, pipeline=link)
        except ReinsError as exc:
            record["stages"][i].update(status="failed", error=str(exc))
            record.update(status="failed", error=f"stage {stage.name!r} could not start: {exc}", ended=now_iso())
            write_json_atomic(record_path, record)
            return 1
        ids[stage.name] = view.id
        record["stages"][i].update(run_id=view.id, status="running")
        write_json_atomic(record_path, record)
        final = follow_run(view.dir, poll_s=1.0)
        record["stages"][i]["status"] = final.status
        if final.status != "completed":
            record.update(status="failed", ended=now_iso(),
                          error=f"stage {stage.name!r} ended {final.status}; later stages were not started "
                                f"(see `reins show {view.id}`)")
            write_json_atomic(record_path, record)
            return 1
        write_json_atomic(record_path, record)
        previous = view.id
    record.update(status="completed", ended=now_iso())
    write_json_atomic(record_path, record)
    return 0


def wait(record_path: Path, poll_s: float = 1.0, on_change: Any = None) -> dict[str, Any]:
    """Follow a pipeline record until it ends (or its driver dies without finishing: `crashed`)."""
    last = None
    while True:
        record = read_record(record_path)
        snapshot = json.dumps(record["stages"]) + record["status"]
        if on_change and snapshot != last:
            on_change(record)
        last = snapshot
        if record["status"] in TERMINAL_STATUSES:
            return record
        if record.get("pid") and not pid_alive(record["pid"]) and not pid_alive(record.get("driver_pid")):
            time.sleep(poll_s)
            record = read_record(record_path)
            if record["status"] not in TERMINAL_STATUSES:
                record["status"] = "crashed"
                return record
        time.sleep(poll_s)


if __name__ == "__main__":
    sys.exit(drive(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])))
