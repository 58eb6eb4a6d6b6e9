"""`reins health` and `reins report`: whether a run went well, from what it recorded."""

from __future__ import annotations

from pathlib import Path

import typer

from engine import api
from engine.cli.options import JsonOut, RunsDir
from engine.cli.output import err, out, print_json
from engine.cli.render import probes_line
from engine.cli.render_health import health_view
from engine.errors import OptionError


def health(target: str = typer.Argument(..., metavar="RUN_OR_FILE", help="Run id/prefix/name, a run directory, an "
                                        "events.jsonl, or a TRL trainer_state.json (or a list of its log_history)."),
           method: str | None = typer.Option(None, "--method", help="For a log made without Reins: the method "
                                             "that wrote it (dpo, orpo, kto, grpo, ppo, sft, …); default: inferred "
                                             "from its keys."),
           beta: float | None = typer.Option(None, "--beta", help="For a log made without Reins: its β (default: "
                                             "TRL's 0.1 for the DPO family and KTO)."),
           runs_dir: Path | None = RunsDir, as_json: bool = JsonOut) -> None:
    """Re-evaluate the red-flag rules over a run's metrics (the alerts the worker would raise, at the same steps); exit
    1 if any error-severity alert, 0 otherwise."""
    result = api.check_health(target, runs_dir, method, beta)
    if as_json:
        print_json(result.to_dict())
    else:
        out.print(health_view(result))
    raise typer.Exit(result.exit_code)


def report(run_ref: str = typer.Argument(..., metavar="RUN", help="Run id, id prefix, name, `latest`, or a run "
                                         "directory."),
           judge_url: str | None = typer.Option(None, "--judge-url", help="Judge the run's stored samples now "
                                                "with this OpenAI-compatible endpoint, e.g. http://127.0.0.1:8000/v1."),
           judge_model: str | None = typer.Option(None, "--judge-model", help="Model name the judge endpoint serves."),
           judge_key_env: str | None = typer.Option(None, "--judge-key-env", help="Environment variable holding the "
                                                    "judge's API key."),
           judge_run: str | None = typer.Option(None, "--judge-run", help="Judge the stored samples now with a "
                                                "reward model: `run:<id>` of an rm run, or a local folder."),
           probes: bool = typer.Option(False, "--probes", help="Run the capability probes (and lm-eval, when the "
                                       "recipe sets report.lm_eval) again: base model against the run's final/ "
                                       "output, in a worker process."),
           runs_dir: Path | None = RunsDir, as_json: bool = JsonOut) -> None:
    """Write report.json + report.md in the run directory: held-out accuracy and margin before vs after, samples,
    win rate, perplexity, capability probes, log-prob sanity, red flags."""
    if judge_url or judge_model or judge_run:
        try:
            result = api.rejudge_samples(run_ref, judge_url, judge_model, judge_key_env, judge_run, runs_dir)
        except OptionError as exc:
            raise typer.BadParameter(exc.message) from None  # an option mistake: shown with the usage line
        err.print(f"judged {result['n']} samples with {result['model']}: win rate {result['win_rate']:.3f}",
                  highlight=False)
    if probes:
        probed = api.rerun_probes(run_ref, runs_dir)
        err.print(probes_line(probed), highlight=False)
    written = api.write_report(run_ref, runs_dir)
    if as_json:
        print_json(written.report.to_dict())
        return
    out.print(written.markdown, markup=False, highlight=False)
    err.print(f"written: {written.json_path} and {written.markdown_path}")

