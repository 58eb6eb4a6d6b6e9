"""A TrainerCallback that streams the trainer's logs into `events.jsonl` as metric and system events."""

from __future__ import annotations

import resource
import threading
import time
from typing import Any

import torch
from transformers import TrainerCallback

from engine.runs.events import EventWriter
from engine.worker.tracker_alerts import send_alert

GIB = 1024**3
# Totals the Trainer logs once at the end of train()/evaluate(): they go into the summary, not the curves.
TOTAL_KEYS = {"train_runtime", "train_samples_per_second", "train_steps_per_second", "train_loss", "total_flos",
              "train_tokens_per_second", "runtime", "samples_per_second", "steps_per_second"}


def memory_figures() -> dict[str, float]:
    """Memory now and at peak: CUDA allocator figures on a GPU, process RSS on CPU."""
    if torch.cuda.is_available():
        return {
            "gpu_mem_allocated_gb": torch.cuda.memory_allocated() / GIB,
            "gpu_mem_reserved_gb": torch.cuda.memory_reserved() / GIB,
            "peak_mem_allocated_gb": torch.cuda.max_memory_allocated() / GIB,
            "peak_mem_gb": torch.cuda.max_memory_reserved() / GIB,
        }
    rss_pages = int(open("/proc/self/statm").read().split()[1]) if _has_proc() else 0
    import os

    return {
        "rss_gb": rss_pages * os.sysconf("SC_PAGE_SIZE") / GIB,
        "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / GIB,
    }


def _has_proc() -> bool:
    try:
        open("/proc/self/statm").close()
        return True
    except OSError:
        return False


class EventsCallback(TrainerCallback):
    """Turns `on_log` into `metric` (train/eval split, TRL's own keys) and `system` events; honours stop requests."""

    def __init__(self, writer: EventWriter | None, stop: threading.Event) -> None:
        self.writer = writer  # None on ranks other than 0: only the main process writes
        self.stop = stop
        self.totals: dict[str, float] = {}
        self.last: dict[str, dict[str, float]] = {"train": {}, "eval": {}}
        self._mark: tuple[float, int, float | None] | None = None  # (time, step, num_tokens) at the last log
        self.step_times: list[float] = []
        self.ranks: list[dict[str, Any]] = []
        self.health: Any = None  # engine.verdict.monitor.Monitor when the recipe's alerts are enabled
        self.stop_on_error = False
        self.stop_reason: str | None = None
        self.trackers: list[str] = []  # train.report_to: alerts go to those that have alerts too

    def attach_health(self, recipe: Any) -> None:
        """Evaluate the recipe's red-flag rules on every metric event (see engine.verdict.rules)."""
        from engine.verdict.healthcheck import monitor_for

        self.trackers = list(recipe.train.report_to)
        if recipe.alerts.enabled:
            self.health = monitor_for(recipe)
            self.stop_on_error = recipe.alerts.stop_on_error

    def on_metric(self, event: dict[str, Any], control: Any) -> None:
        """Feed one metric event to the rules: write each new alert once; stop on an error if the recipe asks."""
        if self.health is None:
            return
        # Every rank judges the same (rank-averaged) logs, so all ranks stop together; only rank 0 writes.
        for alert in self.health.update(event):
            if self.writer:
                print(f"[reins] {alert.severity} {alert.rule} at step {alert.step}: {alert.message}", flush=True)
                self.writer.write("alert", **alert.to_event())
                send_alert(self.trackers, alert)
            if alert.severity == "error" and self.stop_on_error and self.stop_reason is None:
                self.stop_reason = f"alert {alert.rule} at step {alert.step} (alerts.stop_on_error): {alert.message}"
                self.stop.set()
                control.should_save = True
                control.should_training_stop = True

    def on_train_begin(self, args, state, control, **kwargs):  # noqa: ANN001 - TrainerCallback signature
        self._mark = (time.perf_counter(), state.global_step, None)
        if self.health is not None and state.max_steps:
            self.health.history.max_steps = state.max_steps
        if self.writer:
            self.writer.status("running", max_steps=state.max_steps, num_train_epochs=args.num_train_epochs,
                               start_step=state.global_step)

    def on_step_end(self, args, state, control, **kwargs):  # noqa: ANN001
        if self.stop.is_set():
            control.should_save = True
            control.should_training_stop = True
        return control

    def on_train_end(self, args, state, control, **kwargs):  # noqa: ANN001
        # Every rank reaches here: gather each one's view (its logged losses, its memory peak) so rank 0 can record
        # per-rank imbalance and show that all ranks trained on the same global values.
        import torch.distributed as dist

        if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
            mine = {"rank": dist.get_rank(), "losses": [h["loss"] for h in state.log_history if "loss" in h],
                    **{k: v for k, v in memory_figures().items() if k.startswith("peak")}}
            gathered: list[Any] = [None] * dist.get_world_size()
            dist.all_gather_object(gathered, mine)
            self.ranks = gathered

    def on_evaluate(self, args, state, control, **kwargs):  # noqa: ANN001
        # Restart the clock so evaluation time does not inflate the next s/step and tokens/s figures.
        if self._mark is not None:
            self._mark = (time.perf_counter(), state.global_step, self._mark[2])

    def on_log(self, args, state, control, logs=None, **kwargs):  # noqa: ANN001
        logs = logs or {}
        train: dict[str, float] = {}
        evals: dict[str, float] = {}
        for key, value in logs.items():
            if key in ("epoch", "step") or not isinstance(value, (int, float)):
                continue
            if key.startswith("eval_"):
                name = key[len("eval_"):]
                (self.totals.__setitem__(key, value) if name in TOTAL_KEYS else evals.__setitem__(name, value))
            elif key in TOTAL_KEYS:
                self.totals[key] = value
            else:
                train[key] = value
        for split, values in (("train", train), ("eval", evals)):
            if not values:
                continue
            self.last[split].update(values)
            if self.writer:
                self.writer.write("metric", step=state.global_step, epoch=state.epoch, split=split, values=values)
            self.on_metric({"kind": "metric", "step": state.global_step, "split": split, "values": values}, control)
        if train:
            self._system(state, train)
        return control

    def _system(self, state, train: dict[str, float]) -> None:  # noqa: ANN001
        now = time.perf_counter()
        values: dict[str, float] = dict(memory_figures())
        tokens = train.get("num_tokens")
        if self._mark is not None:
            t0, step0, tokens0 = self._mark
            steps = state.global_step - step0
            if steps > 0:
                values["s_per_step"] = (now - t0) / steps
                self.step_times.append(values["s_per_step"])
            if tokens is not None and tokens0 is not None and now > t0:
                values["tokens_per_s"] = (tokens - tokens0) / (now - t0)
        self._mark = (now, state.global_step, tokens)
        if self.writer:
            self.writer.write("system", step=state.global_step, values=values)

    def summary(self, state: Any) -> dict[str, Any]:
        """Final figures for the terminal status event."""
        mem = memory_figures()
        return {
            "steps": state.global_step,
            "epoch": state.epoch,
            "final_metrics": self.last["train"],
            "final_eval_metrics": self.last["eval"],
            "train_runtime": self.totals.get("train_runtime"),
            "train_loss": self.totals.get("train_loss"),
            "s_per_step": (self.totals["train_runtime"] / state.global_step)
            if self.totals.get("train_runtime") and state.global_step else None,
            **{k: v for k, v in mem.items() if k.startswith("peak")},
            **({"ranks": self.ranks} if self.ranks else {}),
            **({"stop_reason": self.stop_reason} if self.stop_reason else {}),
            "alerts": len(self.health.alerts) if self.health is not None else None,
        }
