"""The worker's life: read the run directory, train, stream events, save, and always end with a status event."""

from __future__ import annotations

import os
import signal
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

from engine.events import EventWriter  # noqa: E402
from engine.recipes import read_yaml, validate  # noqa: E402
from engine.rundir import RunDir, now_iso, process_start_ticks  # noqa: E402


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
    stop = threading.Event()

    def request_stop(signum: int, _frame: object) -> None:
        print(f"[reins] {signal.Signals(signum).name} received: saving a checkpoint and stopping", flush=True)
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)

    try:
        recipe = validate(read_yaml(rd.recipe), source=rd.recipe)
        if main_proc:
            rd.update(worker_pid=os.getpid(), worker_pid_start=process_start_ticks(os.getpid()),
                      started=now_iso(), host=socket.gethostname(), versions=_versions(), python=sys.version.split()[0])
        return _train(rd, recipe, writer, stop)
    except BaseException as exc:  # the run must end with a status event whatever happened
        message = f"{type(exc).__name__}: {exc}"
        traceback.print_exc()
        if writer:
            writer.status("failed", error=message)
            rd.update(status="failed", ended=now_iso(), error=message)
        return 1
    finally:
        if writer:
            writer.close()


def _train(rd: RunDir, recipe, writer: EventWriter | None, stop: threading.Event) -> int:  # noqa: ANN001
    from transformers import set_seed

    from engine.worker.callback import EventsCallback, memory_figures
    from engine.worker.datasets import build_datasets
    from engine.worker.loading import load_model
    from engine.worker.trainers import BUILDERS

    set_seed(recipe.train.seed)
    t_load = time.perf_counter()
    model, tokenizer, model_dir = load_model(recipe)
    train_ds, eval_ds, counts = build_datasets(recipe, tokenizer)
    callback = EventsCallback(writer, stop)
    callback.attach_health(recipe)  # red-flag rules on every metric event (alert events, optional stop)
    trainer = BUILDERS[recipe.method.name](recipe, model, tokenizer, train_ds, eval_ds, rd.checkpoints, [callback])
    setup_s = time.perf_counter() - t_load
    if is_main_process():
        rd.update(status="running", model_dir=str(model_dir), setup_s=round(setup_s, 2), **counts)
    if stop.is_set():
        return _finish(rd, writer, "stopped", {"steps": 0, "note": "stopped before the first step"})

    trainer.train()
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
    summary["artifacts"] = {"final": str(rd.final), "checkpoints": str(rd.checkpoints)}
    summary.update({k: v for k, v in memory_figures().items() if k.startswith("peak")})
    return _finish(rd, writer, "completed", summary)


def _finish(rd: RunDir, writer: EventWriter | None, status: str, summary: dict) -> int:
    if writer:
        reason = {"reason": summary["stop_reason"]} if summary.get("stop_reason") else {}  # e.g. an error alert
        writer.status(status, summary=summary, **reason)
        rd.update(status=status, ended=now_iso(), **reason)
    return 0
