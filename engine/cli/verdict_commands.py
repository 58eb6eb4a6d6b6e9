"""`reins health` and `reins report`: whether a run went well, from what it recorded."""

from __future__ import annotations

from pathlib import Path

import typer

from engine import api
from engine.cli.options import JsonOut, RunsDir
from engine.cli.output import err, out, print_json
from engine.cli.render import probes_line
from engine.cli.render_health import health_view
from engine.cli.render_judge import head_to_head_text
from engine.cli.render_samples import agreement_line, samples_view
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
           judge_local: str | None = typer.Option(None, "--judge-local", help="Judge the stored samples now with a "
                                                  "local chat model (`run:<id>`, a folder, or a model name): it "
                                                  "picks A or B by next-token log-probs, in both orders."),
           against: str | None = typer.Option(None, "--against", metavar="RUN_B", help="Judge this run's stored "
                                              "answers against another finished run's on the prompts both "
                                              "answered (the judge options, else this run's report.judge)."),
           probes: bool = typer.Option(False, "--probes", help="Run the capability probes (and lm-eval, when the "
                                       "recipe sets report.lm_eval) again: base model against the run's final/ "
                                       "output, in a worker process."),
           runs_dir: Path | None = RunsDir, as_json: bool = JsonOut) -> None:
    """Write report.json + report.md in the run directory: held-out accuracy and margin before vs after, samples,
    win rate, perplexity, capability probes, log-prob sanity, red flags."""
    judges = (judge_url, judge_model, judge_key_env, judge_run)
    try:
        if against:
            compared = api.head_to_head(run_ref, against, *judges, judge_local, runs_dir)
        elif judge_url or judge_model or judge_run or judge_local:
            result = api.rejudge_samples(run_ref, *judges, runs_dir, judge_local)
            err.print(f"judged {result['n']} samples with {result['model']}: win rate {result['win_rate']:.3f}",
                      highlight=False)
    except OptionError as exc:
        raise typer.BadParameter(exc.message) from None  # an option mistake: shown with the usage line
    if against:
        written = api.write_report(run_ref, runs_dir)  # its report.md gains the Head to head section
        if as_json:
            print_json(compared)
        else:
            out.print(head_to_head_text(compared), markup=False, highlight=False)
            err.print(f"written: {written.markdown_path}")
        return
    if probes:
        probed = api.rerun_probes(run_ref, runs_dir)
        err.print(probes_line(probed), highlight=False)
    written = api.write_report(run_ref, runs_dir)
    if as_json:
        print_json(written.report.to_dict())
        return
    out.print(written.markdown, markup=False, highlight=False)
    err.print(f"written: {written.json_path} and {written.markdown_path}")



def annotate(run_ref: str = typer.Argument(..., metavar="RUN", help="Run id, id prefix, name, `latest`, or a run "
                                           "directory."),
             number: int | None = typer.Argument(None, metavar="NUMBER", help="The sample to mark, as numbered "
                                                 "in the list, the TUI and report.md (#1 is the first)."),
             winner: str | None = typer.Option(None, "--winner", "-w", metavar="policy|reference|tie|skip",
                                               help="Which answer is better (`skip` withdraws a mark)."),
             note: str | None = typer.Option(None, "--note", help="Why, in a few words (kept with the mark)."),
             list_only: bool = typer.Option(False, "--list", help="List the samples with the judge's and the "
                                            "person's verdicts (the default without NUMBER)."),
             runs_dir: Path | None = RunsDir, as_json: bool = JsonOut) -> None:
    """Mark which answer of a sample is better (policy or reference), where you disagree with the judge: the marks go
    to the run's annotation journal and report.md gains the human agreement with the judge."""
    if number is None or list_only:
        if winner or note:
            raise typer.BadParameter("--winner and --note mark one sample: give its NUMBER, without --list.")
        marks = api.list_samples(run_ref, runs_dir)
    else:
        if winner is None:
            raise typer.BadParameter(f"say which answer of sample #{number} is better: --winner policy, reference, "
                                     "tie or skip.")
        marks = api.annotate_sample(run_ref, number - 1, winner, note, runs_dir)
        row = next(r for r in marks.rows if r.index == number - 1)
        if marks.report_error:
            err.print(f"warning: the mark is saved, but report.md was not rewritten ({marks.report_error}); "
                      "`reins report RUN` writes it again", style="yellow", markup=False, highlight=False)
        if not as_json:
            said = f"marked #{number}: {row.human or 'no decision'}"
            judge = f"; the judge said {row.judge}" + (" (disagreement)" if row.agrees is False else "") \
                if row.judge else "; not judged"
            err.print(said + judge, highlight=False)
            err.print(agreement_line(marks.agreement))
            return
    if as_json:
        print_json(marks.to_dict())
    else:
        out.print(samples_view(marks))
