"""The worker end of `engine.verdict.worker_call`: read the JSON request a module was started with, answer it into
the request's `output` file, and end any failure with one line the caller shows (`failure_prefix` + the error)."""

from __future__ import annotations

import json
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from engine.runs.rundir import write_json_atomic


def serve_request(argv: list[str], module: str, answer: Callable[[dict[str, Any]], Any], failure_prefix: str) -> int:
    """`python -m module REQUEST_JSON`: 0 with the answer written, 1 on any failure, 2 on a wrong command line."""
    if len(argv) != 1:
        print(f"usage: python -m {module} REQUEST_JSON", file=sys.stderr)
        return 2
    try:
        request = json.loads(Path(argv[0]).read_text())
        write_json_atomic(Path(request["output"]), answer(request))
    except BaseException as exc:  # noqa: BLE001 - whatever happened, say it in one line the caller can show
        traceback.print_exc()
        print(f"{failure_prefix}{type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
        return 1
    return 0
