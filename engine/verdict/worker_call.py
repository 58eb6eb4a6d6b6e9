"""Running a torch worker module on a JSON request and reading its JSON answer, so the asking process (the CLI,
the TUI) never imports torch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from engine.errors import ReinsError


class WorkerProcessError(ReinsError):
    """A worker process failed (it could not load or run a model): not a mistake in the input."""

    exit_code = 1


def call_worker(module: str, request: dict[str, Any], log: Path, failure_prefix: str, what: str) -> Any:
    """Run `python -m module REQUEST_JSON` to its end (its output to `log`) and return what it wrote to the
    request's `output` file. A failure raises WorkerProcessError naming `what` failed and the worker's last word."""
    with tempfile.TemporaryDirectory(prefix="reins-worker-") as tmp:
        request_file, answer = Path(tmp) / "request.json", Path(tmp) / "answer.json"
        request_file.write_text(json.dumps({**request, "output": str(answer)}, ensure_ascii=False))
        from engine.launching.secrets import worker_env

        env = {**worker_env(), "PYTHONUNBUFFERED": "1", "TOKENIZERS_PARALLELISM": "false"}
        with open(log, "wb") as out:
            proc = subprocess.run([sys.executable, "-m", module, str(request_file)], stdin=subprocess.DEVNULL,
                                  stdout=out, stderr=subprocess.STDOUT, env=env, cwd=os.getcwd(), check=False)
        result = _read(answer) if proc.returncode == 0 else None
    if result is None:
        raise WorkerProcessError(f"{what} failed (exit code {proc.returncode}): {failure_line(log, failure_prefix)} "
                                 f"Its full output is in {log}.")
    return result


def _read(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def failure_line(log: Path, prefix: str) -> str:
    """The worker's own account of its failure (its line starting with `prefix`), else the last line it wrote."""
    try:
        lines = [line.strip() for line in log.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return "it left no output."
    said = [line[len(prefix):] for line in lines if line.startswith(prefix)]
    if said:
        return said[-1].rstrip(".") + "."
    return (lines[-1].rstrip(".") + ".") if lines else "it left no output."
