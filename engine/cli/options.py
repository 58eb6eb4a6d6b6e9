"""Options several `reins` commands share: the run store, `--json` and `--set` overrides."""

from __future__ import annotations

import typer

RunsDir = typer.Option(None, "--runs-dir", envvar="REINS_RUNS_DIR", help="Run store folder (default ./runs).")
JsonOut = typer.Option(False, "--json", help="Print machine-readable JSON on stdout.")
SetOpt = typer.Option(None, "--set", "-s", metavar="KEY=VALUE",
                      help="Override a recipe setting by dotted key, e.g. train.learning_rate=1e-5 (repeatable).")
RunRef = typer.Argument(..., metavar="RUN", help="Run id, id prefix, name, or `latest`.")
