"""How a worker ends when training fails: a clear reason (disk full, out of memory) recorded even on a full disk."""

from __future__ import annotations

import errno
import json
import sys
from pathlib import Path
from typing import Any

from engine.errors import RewardFunctionError
from engine.runs.events import EventWriter, summarize
from engine.runs.rundir import RunDir, now_iso

RESERVE_BYTES = 256 * 1024  # enough for the `failed` event and run.json once the disk has filled up


class DiskReserve:
    """A small ballast file in the run folder, deleted when the disk fills so the failure can still be recorded."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        try:
            with open(self.path, "wb") as fh:
                fh.write(b"\0" * RESERVE_BYTES)
        except OSError:
            self.release()  # already no room: nothing to keep

    def release(self) -> None:
        try:
            self.path.unlink()
        except OSError:
            pass


def is_disk_full(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)


def is_out_of_memory(exc: BaseException) -> bool:
    name = type(exc).__name__
    return name == "OutOfMemoryError" or (isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower())


def describe_failure(exc: BaseException, rd: RunDir) -> str:
    """One paragraph that says what went wrong and what to change."""
    plain = f"{type(exc).__name__}: {exc}"
    step = summarize(rd.events).step
    if is_disk_full(exc):
        where = exc.filename or rd.path
        return (f"Disk full (OSError ENOSPC: {exc.strerror}) while writing {where} after step {step}. Events and "
                f"checkpoints written before this point are intact. Free space on the file system that holds "
                f"{rd.path.parent}, then `reins resume {rd.id}` if it has a checkpoint.")
    if is_out_of_memory(exc):
        return _oom_message(exc, rd, step)
    if isinstance(exc, RewardFunctionError):
        return f"{exc} (at step {step}; fix the function, then run again)"
    return plain


def _oom_message(exc: BaseException, rd: RunDir, step: int) -> str:
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    parts = [f"Out of memory (OOM: {type(exc).__name__}: {first}) after step {step}."]
    est = _read_json(rd.estimate)
    if est:
        gpu = f" against a {est['gpu_memory_gib']:.1f} GiB GPU" if est.get("gpu_memory_gib") else ""
        verdict = f" (verdict: {est['verdict']})" if est.get("verdict") else ""
        parts.append(f"It was launched with an estimated peak of {est.get('total_gib', 0):.2f} GiB per GPU{gpu}"
                     f"{verdict}; see {rd.estimate.name}.")
    suggestions = _suggestions(rd, est)
    if suggestions:
        parts.append("The estimator suggests: " + "; ".join(
            f"{s['change']} (saves {s['saves_gib']:.2f} GiB: " + " ".join(f"--set {o}" for o in s["set"]) + ")"
            for s in suggestions) + ".")
    else:
        parts.append("Try a smaller batch_size or max_length, or gradient checkpointing.")
    return " ".join(parts)


def _suggestions(rd: RunDir, est: dict[str, Any] | None) -> list[dict[str, Any]]:
    if est and est.get("suggestions"):
        return est["suggestions"]
    try:  # the launch-time estimate fitted, so it kept no suggestions: ask the estimator now
        from engine.estimate.fit import estimate, suggest_for_recipe
        from engine.recipe.loading import read_yaml, validate
        from engine.recipe.model_refs import resolve_model

        recipe = validate(read_yaml(rd.recipe), source=rd.recipe)
        config = resolve_model(recipe.model.name).config()
        baseline = est.get("total_bytes") if est else estimate(recipe, config).total_bytes
        return suggest_for_recipe(recipe, config, int(baseline))
    except Exception:  # noqa: BLE001 - advice is optional; the failure itself must still be recorded
        return []


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None


def record_failure(rd: RunDir, writer: EventWriter | None, message: str, reserve: DiskReserve | None) -> None:
    """Write the `failed` event and run.json status; on a full disk, free the reserve and use a fresh file handle
    (the old one may hold a half-written line). Never raises: the reason also goes to stderr."""
    if reserve is not None:
        reserve.release()
    for attempt in ("old writer", "new writer"):
        try:
            if attempt == "old writer":
                if writer is None:
                    break
                writer.status("failed", error=message)
            else:
                with EventWriter(rd.events) as fresh:
                    fresh.status("failed", error=message)
            break
        except OSError:
            _close_quietly(writer)
            writer = None
            if attempt == "new writer":
                _say(f"[reins] could not record the failure in {rd.events}")
    try:
        rd.update(status="failed", ended=now_iso(), error=message)
    except OSError as exc:
        _say(f"[reins] could not update {rd.run_json}: {exc}")
    _say(f"[reins] run failed: {message}")


def _close_quietly(writer: EventWriter | None) -> None:
    if writer is None:
        return
    try:
        writer.close()
    except OSError:
        pass


def _say(line: str) -> None:
    try:
        print(line, file=sys.stderr, flush=True)
    except OSError:
        pass
