"""The worker's life: read the run directory, train, stream events, save, and always end with a status event."""

from __future__ import annotations

import json
import os
import socket
import sys
import threading
import time
import traceback
from pathlib import Path

# Reins never downloads: make every hub lookup fail fast instead of hanging on a closed network.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")

from engine.recipe.loading import read_yaml, validate  # noqa: E402
from engine.recipe.methods import METHODS  # noqa: E402
from engine.recipe.trackers import tracker_env  # noqa: E402
from engine.runs.events import EventWriter  # noqa: E402
from engine.runs.process import process_start_ticks  # noqa: E402
from engine.runs.rundir import RunDir, now_iso  # noqa: E402
from engine.worker.failure import DiskReserve, describe_failure, record_failure  # noqa: E402
from engine.worker.signals import stop_on_signals  # noqa: E402


def _versions() -> dict[str, str]:
    import accelerate
    import peft
    import torch
    import transformers
    import trl

    return {m.__name__: m.__version__ for m in (torch, transformers, trl, peft, accelerate)}


def is_main_process() -> bool:
    return int(os.environ.get("RANK", "0")) == 0


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m engine.worker RUN_DIR", file=sys.stderr)
        return 2
    rd = RunDir(Path(argv[0]))
    main_proc = is_main_process()
    writer = EventWriter(rd.events) if main_proc else None
    reserve = DiskReserve(rd.disk_reserve) if main_proc else None
    stop = stop_on_signals("saving a checkpoint and stopping")

    try:
        recipe = validate(read_yaml(rd.recipe), source=rd.recipe)
        if main_proc:
            rd.update(worker_pid=os.getpid(), worker_pid_start=process_start_ticks(os.getpid()),
                      started=now_iso(), host=socket.gethostname(), versions=_versions(), python=sys.version.split()[0])
        return _train(rd, recipe, writer, stop)
    except BaseException as exc:  # the run must end with a status event whatever happened
        message = describe_failure(exc, rd)  # names disk-full and OOM, with the estimate and what to change
        try:
            traceback.print_exc()
        except OSError:
            pass  # stdout.log may sit on the disk that just filled up
        if writer:
            record_failure(rd, writer, message, reserve)
        return 1
    finally:
        if reserve:
            reserve.release()
        if writer:
            try:
                writer.close()
            except OSError:
                pass


def _train(rd: RunDir, recipe, writer: EventWriter | None, stop: threading.Event) -> int:  # noqa: ANN001
    from transformers import set_seed

    from engine.launching.resume import resume_checkpoint
    from engine.worker.callback import EventsCallback, memory_figures
    from engine.worker.datasets import build_datasets
    from engine.worker.faults import injected_faults
    from engine.worker.loading import load_model
    from engine.worker.trainers import BuildContext, builder_for

    set_seed(recipe.train.seed)
    # Trackers read where to write from the environment when the trainer builds their callbacks.
    os.environ.update(tracker_env(recipe.train.report_to, rd.id, rd.tb, rd.trackers, os.environ))
    t_load = time.perf_counter()
    runs_root = rd.path.parent
    method = recipe.method.name
    spec = METHODS[method]
    model, tokenizer, model_dir = load_model(recipe, runs_root, task=spec.task)
    train_ds, eval_ds, counts = build_datasets(recipe, tokenizer)
    # The few held-out rows the post-training evaluation reads (its prompts and pairs), not the whole split.
    wanted = max(recipe.report.samples, recipe.report.pairs)
    held_out = list(eval_ds.select(range(min(len(eval_ds), wanted)))) if eval_ds is not None else []
    if spec.generates:
        eval_ds = None  # online methods are judged by their rollouts' scores, not an offline eval loop
    callback = EventsCallback(writer, stop)
    callback.attach_health(recipe)  # red-flag rules on every metric event (alert events, optional stop)
    callbacks = [callback, *injected_faults(writer)]  # injected_faults: test-only, [] unless REINS_TEST_FAULT
    trainer = builder_for(method)(BuildContext(recipe, model, tokenizer, train_ds, eval_ds, rd.checkpoints, callbacks,
                                            runs_root))
    setup_s = time.perf_counter() - t_load
    if is_main_process():
        acc = getattr(trainer, "accelerator", None)
        launch = {"distributed_type": str(getattr(acc, "distributed_type", "NO")).split(".")[-1],
                  "world_size": int(getattr(acc, "num_processes", 1))}
        rd.update(status="running", model_dir=str(model_dir), setup_s=round(setup_s, 2), distributed=launch, **counts)
    if stop.is_set():
        return _finish(rd, writer, "stopped", {"steps": 0, "note": "stopped before the first step"})

    checkpoint = resume_checkpoint(rd)  # None for a fresh run; set by `reins resume`
    if checkpoint is None:
        trainer.train()
    elif not spec.resumable:  # e.g. TRL 1.12's PPOTrainer: its own loop, no resume_from_checkpoint
        raise RuntimeError("PPO runs cannot be resumed (TRL 1.12's PPOTrainer has no checkpoint resume); "
                           "start a new run from the checkpoint with --set model.name=<checkpoint folder>")
    else:
        trainer.train(resume_from_checkpoint=checkpoint)
    if eval_ds is not None and not stop.is_set() and recipe.train.eval_steps is None:
        trainer.evaluate()  # no periodic evaluation: evaluate once at the end
    if eval_ds is not None and recipe.train.eval_steps and trainer.state.global_step % recipe.train.eval_steps:
        trainer.evaluate()  # the last periodic evaluation fell before the final step
    summary = callback.summary(trainer.state)
    summary["setup_s"] = round(setup_s, 2)
    if stop.is_set():
        summary["artifacts"] = {"checkpoints": str(rd.checkpoints)}
        return _finish(rd, writer, "stopped", summary)
    if is_main_process():
        trainer.save_model(str(rd.final))
        tokenizer.save_pretrained(str(rd.final))
        if writer and _can_evaluate(recipe, trainer):
            _evaluate(recipe, trainer, tokenizer, held_out, writer, runs_root)
    summary["artifacts"] = {"final": str(rd.final), "checkpoints": str(rd.checkpoints)}
    summary.update({k: v for k, v in memory_figures().items() if k.startswith("peak")})
    summary.update(_estimate_figures(rd))
    return _finish(rd, writer, "completed", summary)


def _can_evaluate(recipe, trainer) -> bool:  # noqa: ANN001
    """The post-training evaluation needs the whole policy on this process: not for a reward model, not when
    ZeRO-3 or FSDP shards the weights across ranks."""
    if not recipe.report.enabled or not METHODS[recipe.method.name].post_eval:
        return False
    world = int(getattr(getattr(trainer, "accelerator", None), "num_processes", 1))
    if world > 1 and recipe.distributed.strategy in ("zero3", "fsdp"):
        print("[reins] post-training evaluation skipped: the weights are sharded across ranks", flush=True)
        return False
    return True


def _evaluate(recipe, trainer, tokenizer, held_out: list, writer: EventWriter, runs_root: Path) -> None:  # noqa: ANN001
    try:  # the imports too: the trained model is saved, and nothing in its evaluation may fail the run
        from engine.worker.loading import load_model
        from engine.worker.measuring import Models
        from engine.worker.posteval import evaluate_after_training

        models = Models(trainer, load_reference=lambda: load_model(recipe, runs_root)[0])
        evaluate_after_training(recipe, models, tokenizer, held_out, writer, trainer.state.global_step,
                                lambda ref, task: load_model(recipe, runs_root, ref=ref, task=task)[:2])
    except Exception as exc:  # noqa: BLE001 - the trained model is saved; a failed evaluation must not fail the run
        traceback.print_exc()
        writer.write("evaluation", step=trainer.state.global_step, values={"errors": {"all": f"{exc!r}"}})


def _write_report(rd: RunDir) -> None:
    """report.json + report.md beside the run, so the verdict is there without running `reins report`."""
    try:  # the import too: a completed run must stay completed whatever goes wrong in its report
        from engine.verdict.report import write_report

        write_report(rd.path)
    except Exception as exc:  # noqa: BLE001 - `reins report` can rebuild it; the run itself succeeded
        print(f"[reins] report not written: {exc!r}", flush=True)


def _estimate_figures(rd: RunDir) -> dict:
    """The launch-time estimate, recorded beside the measured peak so every run shows the estimator's accuracy."""
    try:
        est = json.loads(rd.estimate.read_text())
    except (OSError, ValueError):
        return {}
    figures = {"estimate_total_gib": est.get("total_gib")}
    if est.get("allocator_gib") is not None:
        figures["estimate_allocator_gib"] = est["allocator_gib"]  # comparable with peak_mem_gb (max reserved)
    return figures


def _finish(rd: RunDir, writer: EventWriter | None, status: str, summary: dict) -> int:
    if writer:
        reason = {"reason": summary["stop_reason"]} if summary.get("stop_reason") else {}  # e.g. an error alert
        writer.status(status, summary=summary, **reason)
        rd.update(status=status, ended=now_iso(), **reason)
        if status == "completed":
            _write_report(rd)
    return 0
