"""The synth run's worker: `python -m engine.worker.synth RUN_DIR` reads synth.json, loads the generator (a local
model, on the GPU when there is one, or an endpoint client) and the judge, and runs the synth loop with progress
events; SIGTERM stops it after the batch in progress, ending `stopped` (resume continues where it left off)."""

from __future__ import annotations

import os
import socket
import sys
import threading
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

# Reins never downloads: make every hub lookup fail fast instead of hanging on a closed network.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")

from engine.errors import ReinsError  # noqa: E402
from engine.recipe.schema import ChatJudge, ModelSection  # noqa: E402
from engine.runs.events import EventWriter  # noqa: E402
from engine.runs.process import process_start_ticks  # noqa: E402
from engine.runs.rundir import RunDir, now_iso  # noqa: E402
from engine.synth.driver import Counts, Generate, JudgeFn, synthesize  # noqa: E402
from engine.synth.endpoint import EndpointClient, RetryingPost  # noqa: E402
from engine.synth.plan import EndpointGenerator, SynthPlan  # noqa: E402
from engine.worker.failure import record_failure  # noqa: E402
from engine.worker.signals import stop_on_signals  # noqa: E402

PHASE = "generate"


def local_generator(plan: SynthPlan, runs_root: Path) -> tuple[Generate, dict[str, Any]]:
    """The batched `generate` of the evaluation code on the plan's model (moved to the GPU when there is one)."""
    import torch

    from engine.worker.loading import load_model
    from engine.worker.measuring import generate

    model, tokenizer, path = load_model(plan.generator.model, runs_root)
    if torch.cuda.is_available() and next(model.parameters()).device.type == "cpu":
        model.to(torch.device("cuda", torch.cuda.current_device()))
    model.eval()
    device = str(next(model.parameters()).device)

    def run(prompts: Sequence[list[dict[str, str]]], seed: int, temperature: float) -> list[str]:
        return generate(model, tokenizer, prompts, plan.max_new_tokens, seed, plan.batch, temperature=temperature)

    return run, {"model_dir": str(path), "device": device}


def endpoint_generator(plan: SynthPlan, post: RetryingPost) -> Generate:
    gen = plan.generator
    assert isinstance(gen, EndpointGenerator)
    client = EndpointClient(gen.url, gen.model, gen.api_key_env, gen.timeout_s, post)

    def run(prompts: Sequence[list[dict[str, str]]], seed: int, temperature: float) -> list[str]:
        return client.generate(prompts, plan.max_new_tokens, temperature, seed)

    return run


def judge_fn(plan: SynthPlan, runs_root: Path, post: RetryingPost) -> JudgeFn | None:
    """The plan's judge as a function setting each sample's winner: the chat endpoint client (both orders, with
    the generator's retries), or a reward model / local chat judge through the evaluation's `judge_with_model`."""
    cfg = plan.judge
    if cfg is None:
        return None
    if isinstance(cfg, ChatJudge):
        from engine.verdict.judge import ChatJudgeClient

        client = ChatJudgeClient(cfg, post=post)

        def ask(samples: list[dict[str, Any]]) -> None:
            for s in samples:
                s["winner"] = client.judge(s["prompt"], s["policy"], s["reference"])

        return ask
    from engine.worker.loading import load_model
    from engine.worker.posteval import judge_with_model

    def load(ref: str, task: str) -> tuple[Any, Any]:
        return load_model(ModelSection(), runs_root, ref=ref, task=task)[:2]  # default dtype: bf16 on a GPU

    judge_model: dict[str, Any] = {}  # loaded once, on the first batch, and kept for the others

    def cached(ref: str, task: str) -> tuple[Any, Any]:
        if ref not in judge_model:
            judge_model[ref] = load(ref, task)
        return judge_model[ref]

    return lambda samples: judge_with_model(cfg, samples, cached)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m engine.worker.synth RUN_DIR", file=sys.stderr)
        return 2
    rd = RunDir(Path(argv[0]))
    stop = stop_on_signals("stopping after this batch")
    writer = EventWriter(rd.events)
    try:
        rd.update(worker_pid=os.getpid(), worker_pid_start=process_start_ticks(os.getpid()), started=now_iso(),
                  host=socket.gethostname(), python=sys.version.split()[0])
        plan = SynthPlan.model_validate_json(rd.synth_plan.read_text())
        return _run(rd, plan, writer, stop)
    except BaseException as exc:  # noqa: BLE001 - the run must end with a status event whatever happened
        traceback.print_exc()
        user = isinstance(exc, ReinsError)  # an endpoint's refusal, a bad prompts file: the user's to fix
        if user:
            rd.update(user_error=True)
        record_failure(rd, writer, str(exc) if user else f"{type(exc).__name__}: {exc}", None)
        return 1
    finally:
        writer.close()


def _run(rd: RunDir, plan: SynthPlan, writer: EventWriter, stop: threading.Event) -> int:
    runs_root = rd.path.parent
    post = RetryingPost(retries=plan.generator.retries if isinstance(plan.generator, EndpointGenerator) else 5)
    if isinstance(plan.generator, EndpointGenerator):
        generate, where = endpoint_generator(plan, post), {"device": "endpoint"}
    else:
        writer.write("phase", step=0, name=PHASE, detail=f"loading {plan.generator.label}")
        generate, where = local_generator(plan, runs_root)
    judge = judge_fn(plan, runs_root, post)
    rd.update(status="running", **where)
    writer.status("running")

    def progress(c: Counts) -> None:
        total = c.prompts - c.done_before
        handled = c.pairs + c.identical + c.empty + c.below_threshold
        skipped = handled - c.pairs
        writer.write("phase", step=0, name=PHASE, detail=f"prompts {handled}/{total}: {c.pairs} pairs"
                     + (f", {skipped} skipped" if skipped else ""), done=handled, total=total, pairs=c.pairs,
                     skipped=skipped)

    counts = synthesize(plan, rd.id, generate, judge, progress, stop.is_set)
    summary = {**counts.to_dict(), "requests": post.requests, "retried": post.retried,
               "output": plan.out}
    status = "stopped" if stop.is_set() and _unfinished(counts) else "completed"
    writer.status(status, summary=summary)
    rd.update(status=status, ended=now_iso(), synth=summary)
    return 0


def _unfinished(c: Counts) -> bool:
    return c.done_before + c.pairs + c.identical + c.empty + c.below_threshold < c.prompts


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
