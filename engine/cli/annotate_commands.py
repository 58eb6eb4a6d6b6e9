"""`reins data annotate`, `reins data from-run` and `reins data annotations ls|export|agreement`: people decide
between answers in the terminal, and their decisions become training data."""

from __future__ import annotations

from pathlib import Path

import typer

from engine import api
from engine.cli.options import JsonOut, RunsDir
from engine.cli.output import err, out, print_json
from engine.cli.render_annotation import agreement_table, progress_text, sets_table

annotations_app = typer.Typer(help="Annotation sets: list them, export decisions as training data, agreement.",
                              no_args_is_help=True)

Annotator = typer.Option(None, "--annotator", "-a", metavar="NAME",
                         help="Who is annotating (default: your login name); each person's decisions are kept apart.")
SetRef = typer.Argument(..., metavar="SET", help="Annotation set id, id prefix, name, or `latest`.")


def annotate(source: str = typer.Argument(..., metavar="FILE_OR_SET", help="A pairs file (prompt, chosen, "
                                          "rejected), a file of prompts with 2+ answers (answers: [...]) or single "
                                          "answers to rate, or an existing set."),
             annotator: str | None = Annotator, runs_dir: Path | None = RunsDir,
             as_json: bool = typer.Option(False, "--json", help="Make or find the set and print it as JSON, "
                                          "without opening the TUI (for scripts).")) -> None:
    """Annotate in the terminal: the prompt and two answers side by side; a/b better, t tie, s skip, u undo, e write a
    better answer, n note. Reopening the same file resumes where you left off."""
    found, made = api.open_annotation_set(source, runs_dir)
    if as_json:
        print_json({**found.to_dict(), "made": made})
        return
    from tui.app import main as tui_main

    tui_main(runs_dir=runs_dir, start="data", annotate=(found.id, annotator or api.default_annotator()))


def from_run(run_ref: str = typer.Argument(..., metavar="RUN", help="Run id, id prefix, name, `latest`, or a run "
                                           "directory."),
             runs_dir: Path | None = RunsDir, as_json: bool = JsonOut) -> None:
    """Turn a finished run's held-out generations (reference vs policy) into an annotation set: start from the
    current model's failures."""
    found, made = api.annotation_set_from_run(run_ref, runs_dir)
    if as_json:
        print_json({**found.to_dict(), "made": made})
        return
    said = "made" if made else "already there"
    err.print(f"annotation set {found.id} ({said}): {found.items} items, {progress_text(found)}", highlight=False)
    err.print(f"annotate it with: reins data annotate {found.id}", highlight=False)


@annotations_app.command("ls")
def ls(runs_dir: Path | None = RunsDir, as_json: bool = JsonOut) -> None:
    """Every annotation set with each annotator's progress."""
    sets = api.list_annotation_sets(runs_dir)
    if as_json:
        print_json([s.to_dict() for s in sets])
    elif not sets:
        err.print("no annotation sets yet: `reins data annotate FILE` or `reins data from-run RUN` makes one")
    else:
        out.print(sets_table(sets))


@annotations_app.command("export")
def export(set_ref: str = SetRef,
           output: str = typer.Argument(..., metavar="OUT", help="The JSON-lines file to write."),
           kto: bool = typer.Option(False, "--kto", help="Write KTO rows (prompt, completion, label) instead of "
                                    "pairs: single answers rated up/down, and each side of a decided pair."),
           annotator: str | None = typer.Option(None, "--annotator", "-a", metavar="NAME",
                                                help="Only this person's decisions (default: everyone's)."),
           runs_dir: Path | None = RunsDir, as_json: bool = JsonOut) -> None:
    """Write a set's decisions as a TRL preference file (prompt, chosen, rejected), each row with its provenance;
    items two annotators decided differently are left out and listed."""
    done = api.export_annotations(set_ref, output, kto, annotator, runs_dir)
    if as_json:
        print_json(done.to_dict())
        return
    err.print(f"wrote {done.rows} {'KTO' if kto else 'preference'} rows to {done.path} from {done.decided} of "
              f"{done.items} items handled", highlight=False)
    if done.conflicts:
        err.print(f"left out {len(done.conflicts)} items annotators disagree on: {', '.join(done.conflicts[:10])}",
                  style="yellow", highlight=False)


@annotations_app.command("agreement")
def agreement(set_ref: str = SetRef, runs_dir: Path | None = RunsDir, as_json: bool = JsonOut) -> None:
    """Cohen's κ between every two annotators of a set, and of each against the data's label or the judge."""
    found = api.annotation_agreement(set_ref, runs_dir)
    if as_json:
        print_json([c.to_dict() for c in found])
    elif not found:
        err.print("nothing to compare yet: two annotators (or a label or judge) must decide the same items")
    else:
        out.print(agreement_table(found))


def register(data_app: typer.Typer) -> None:
    """Add the annotation commands to `reins data`."""
    data_app.command("annotate")(annotate)
    data_app.command("from-run")(from_run)
    data_app.add_typer(annotations_app, name="annotations")
