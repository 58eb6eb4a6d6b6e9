"""The GPU check's plan: every point (memory grid, speed, GPU-only paths), its estimate, expected seconds and order.

Points are ordered most informative first: each next point is the one that adds the most not-yet-covered facts
(a method, a mode, a size, checkpointing, a batch size, a length, a speed comparison, a GPU-only path) per expected
second, so whatever the time budget cuts off is the least informative tail. The expected seconds come from a small
cost model (process start, loading, steps from FLOPs at an assumed utilisation, generation, saving) whose constants
are guesses for one H200 until the first run replaces them with measured ones (`gpu_check.py` prints both).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from vram_validate import Case  # noqa: E402
from vram_validate import recipe_dict as base_recipe_dict  # noqa: E402

from engine.estimate.catalogue import lookup  # noqa: E402
from engine.estimate.fit import estimate  # noqa: E402
from engine.estimate.memory import GIB, Estimate  # noqa: E402
from engine.recipe.schema import Recipe  # noqa: E402

SIZES = ("qwen2.5-0.5b", "qwen2.5-1.5b", "qwen2.5-3b", "llama-3.1-8b")
METHODS = ("sft", "dpo", "orpo", "grpo")
MODES = ("lora", "qlora", "full")
BATCHES = (4, 8)
LENGTHS = (512, 1024)
TOKENIZER_VOCAB = 49152  # SmolLM2's: a random model's vocabulary is at least this (the catalogue's is larger)
H200_GIB = 139.8
FIT_SHARE = 0.85  # grid points must be estimated below this share of the card (the OOM path is the exception)
SMOKE_SIZE = "tiny"
SMOKE_CONFIG = {"model_type": "llama", "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
                "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": TOKENIZER_VOCAB,
                "tie_word_embeddings": True, "max_position_embeddings": 2048}

# Cost model (one H200; replaced by measured figures after the first run).
PROCESS_START_S = 20.0  # accelerate launch, imports, tokenizer, dataset preparation, trainer build
PLAIN_START_S = 14.0  # the plain TRL script: no accelerate launch, no run folder
PREFLIGHT_S = 8.0  # versions, NVML, CUDA init in the check's own process
LOAD_GB_S = 2.0  # bf16 weights from the page cache onto the GPU
QUANTIZE_S_PER_B = 1.5  # bitsandbytes NF4 quantization while loading, per billion parameters
WRITE_GB_S = 1.0  # saving a random model or a fully fine-tuned one
ASSUMED_MFU = 0.25
PEAK_BF16_FLOPS = 790e12  # measured here on an H200 (KINDS.md), the ceiling the cost model scales
STEP_FLOOR_S = 0.15  # kernel-launch bound small steps
DECODE_TOKEN_S = 0.03  # one generated token's step (batched), HF generate
POSTEVAL_S = 45.0  # post-training evaluation at the posteval point's size (generation of both models, probes)
OOM_EXTRA_S = 6.0


@dataclass(frozen=True)
class Point:
    """One job of the check: a Reins run (or the plain TRL script) with the settings that matter to memory/speed."""

    id: str
    role: str  # grid | speed | path
    method: str
    mode: str  # full | lora | qlora
    size: str
    batch: int
    max_length: int
    checkpointing: bool = False
    runner: str = "reins"  # reins | plain
    liger: bool = False
    precompute_ref: bool = False
    attn: str = "auto"
    precision: str = "bf16"  # bf16 | fp32
    steps: int = 4
    report: bool = False  # the post-training evaluation runs
    expect: str = "completed"
    tags: dict[str, float] = field(default_factory=dict, compare=False, hash=False)


@dataclass
class Planned:
    """A point with its estimate, its expected seconds and whether it fits the budget."""

    point: Point
    estimate: Estimate
    seconds: float
    start_s: float = 0.0
    in_budget: bool = True
    note: str = ""


@dataclass
class Plan:
    items: list[Planned]
    builds: dict[str, float]  # model size → expected seconds to build it (once, before its first point)
    budget_s: float
    gpu_gib: float

    @property
    def kept(self) -> list[Planned]:
        return [p for p in self.items if p.in_budget]

    @property
    def expected_s(self) -> float:
        return PREFLIGHT_S + sum(p.seconds for p in self.kept) + sum(
            self.builds[s] for s in {p.point.size for p in self.kept})


def model_config(size: str) -> dict[str, Any]:
    """The architecture numbers of a size, with the vocabulary widened to the tokenizer's (as the built model)."""
    cfg = dict(SMOKE_CONFIG if size == SMOKE_SIZE else lookup(size).config)
    cfg["vocab_size"] = max(cfg["vocab_size"], TOKENIZER_VOCAB)
    return cfg


def params_b(size: str) -> float:
    from engine.estimate.arch import Arch

    return Arch.from_config(model_config(size)).params / 1e9


def recipe_dict(p: Point, model_dir: Path, data: Path, eval_data: Path | None = None) -> dict[str, Any]:
    """The point's Reins recipe (vram_validate's, plus the method, speed and report settings of this check)."""
    raw = base_recipe_dict(Case(p.method, p.mode, p.checkpointing, p.size), model_dir, data, p.steps, p.batch,
                           p.max_length)
    raw["description"] = f"gpu_check {p.id}"
    raw["report"] = {"enabled": p.report}
    if p.report:
        raw["report"].update(samples=32, pairs=32, probe_items=8)
        raw["data"]["eval"] = str(eval_data or data)
    if p.method == "grpo":  # the estimator assumes a policy-sized reward model: the same random model, scored
        raw["method"].update(reward_model=str(model_dir), num_generations=4, max_completion_length=p.max_length // 2)
    if p.precompute_ref:
        raw["method"]["precompute_ref_log_probs"] = True
    if p.liger:  # TRL's own switch, through the recipe's TRL passthrough (method.trl)
        raw["method"]["trl"] = {"use_liger_kernel": True}
    if p.attn != "auto":
        raw["model"]["attn_implementation"] = p.attn
    if p.precision == "fp32":
        raw["model"]["dtype"] = "float32"
        raw["train"]["precision"] = "fp32"
    return raw


def unavailable(p: Point) -> str | None:
    """Why this Reins cannot run the point (a setting its recipe schema lacks), or None."""
    if p.runner != "reins":
        return None
    try:
        Recipe.model_validate(recipe_dict(p, Path("/m"), Path("/d.jsonl")))
    except Exception as exc:  # noqa: BLE001 - pydantic's ValidationError: any refusal means "cannot run here"
        first = str(exc).splitlines()[1:3]
        return "recipe refused: " + " ".join(s.strip() for s in first)
    return None


def estimate_point(p: Point, gpu_gib: float | None) -> Estimate:
    recipe = Recipe.model_validate(recipe_dict(replace(p, liger=False), Path("/m"), Path("/d.jsonl")))
    return estimate(recipe, model_config(p.size), gpu_gib, with_suggestions=False, liger=p.liger or None)


def train_flops_per_token(p: Point, n_params: float) -> float:
    """Model FLOPs per trained token: forward 2N, backward 4N (2N without weight gradients under LoRA), +2N for a
    checkpointed forward again, +2N for a reference forward each step (DPO without precomputed log-probs)."""
    per = 6.0 if p.mode == "full" else 4.0
    if p.checkpointing:
        per += 2.0
    if p.method == "dpo" and not p.precompute_ref:
        per += 2.0
    return per * n_params


def tokens_per_step(p: Point) -> int:
    """Sequences × length: the synthetic rows fill max_length, chosen and rejected are two sequences."""
    seqs = p.batch * (2 if p.method in ("dpo", "orpo") else 1)
    return seqs * p.max_length


def expected_seconds(p: Point) -> float:
    """The cost model's seconds for one point (its model already built)."""
    n = params_b(p.size) * 1e9
    bytes_per = 4 if p.precision == "fp32" else 2
    start = PLAIN_START_S if p.runner == "plain" else PROCESS_START_S
    load = n * bytes_per / 1e9 / LOAD_GB_S + (QUANTIZE_S_PER_B * n / 1e9 if p.mode == "qlora" else 0.0)
    slow = 2.0 if p.precision == "fp32" else (1.4 if p.mode == "qlora" else 1.0)
    step = max(STEP_FLOOR_S, train_flops_per_token(p, n) * tokens_per_step(p) / (ASSUMED_MFU * PEAK_BF16_FLOPS))
    step *= slow
    if p.method == "grpo":
        step += (p.max_length // 2) * DECODE_TOKEN_S
    if p.precompute_ref:
        step += 0.5 * step / max(1, p.steps)  # one reference pass over the few rows it needs, amortised
    if p.expect == "failed":
        return start + load + OOM_EXTRA_S
    save = n * bytes_per / 1e9 / WRITE_GB_S if p.mode == "full" else 0.5
    return start + load + p.steps * step + save + (POSTEVAL_S if p.report else 0.0)


def build_seconds(size: str) -> float:
    return 3.0 + params_b(size) * 2 / WRITE_GB_S


def grid_points() -> list[Point]:
    """Every candidate of the memory grid, each tagged with the facts it measures."""
    out = []
    for size in SIZES:
        for method in METHODS:
            for mode in MODES:
                for batch in BATCHES:
                    for length in LENGTHS:
                        for ckpt in (False, True):
                            if method == "grpo" and (length > 512 or size == "llama-3.1-8b"):
                                continue  # generation dominates its time; 512 already measures its KV cache
                            pid = f"{method}-{mode}-{size}-b{batch}-l{length}-{'ckpt' if ckpt else 'nockpt'}"
                            # An unmeasured method or model size weighs like a speed point: the issue asks for each.
                            tags = {f"method:{method}": 30, f"mode:{mode}": 4, f"size:{size}": 30,
                                    f"ckpt:{ckpt}": 2, f"batch:{batch}": 1, f"len:{length}": 1,
                                    f"{method}x{mode}": 1.5, f"{size}x{mode}": 1.5, f"{method}x{ckpt}": 0.5}
                            out.append(Point(pid, "grid", method, mode, size, batch, length, ckpt, tags=tags))
    return out


def special_points() -> list[Point]:
    """Speed comparisons (DPO, LoRA, 1.5B-class, batch 8, length 1024) and the GPU-only paths, once each."""
    base = dict(method="dpo", mode="lora", size="qwen2.5-1.5b", batch=8, max_length=1024, steps=8)
    small = {**base, "batch": 2}
    grid_tags = {"method:dpo": 4, "mode:lora": 4, "size:qwen2.5-1.5b": 4, "batch:8": 1, "len:1024": 1}
    return [
        Point("speed-reins", "speed", **base, tags={"speed:reins": 100, **grid_tags}),
        Point("speed-plain", "speed", **base, runner="plain", tags={"speed:plain": 100}),
        Point("path-qlora-dpo", "path", **{**base, "mode": "qlora", "steps": 4},
              tags={"path:qlora-dpo": 100, "mode:qlora": 4, "dpoxqlora": 1.5}),
        Point("path-oom", "path", "sft", "full", "qwen2.5-1.5b", 64, 4096, steps=3, expect="failed",
              tags={"path:oom": 100}),
        Point("speed-reins-liger", "speed", **base, liger=True, tags={"speed:reins-liger": 50}),
        Point("speed-plain-liger", "speed", **base, runner="plain", liger=True, tags={"speed:plain-liger": 50}),
        Point("speed-reins-precompute", "speed", **base, precompute_ref=True, tags={"speed:precompute": 40}),
        Point("path-posteval-bf16", "path", "dpo", "lora", "qwen2.5-0.5b", 8, 512, steps=4, report=True,
              tags={"path:posteval": 100}),
        # Eager attention and fp32 need more memory than batch 8 leaves: compared at batch 2 with their own baseline.
        Point("speed-reins-b2", "speed", **small, tags={"speed:b2": 25, "batch:2": 1}),
        Point("speed-reins-b2-eager", "speed", **small, attn="eager", tags={"speed:eager": 10}),
        Point("speed-reins-b2-fp32", "speed", **small, precision="fp32", tags={"speed:fp32": 10}),
    ]


def order(points: list[Planned]) -> list[Planned]:
    """Greedy: next is the point adding the most uncovered tag weight per expected second (ties: cheaper, id)."""
    left, covered, out = list(points), set(), []

    def gain(pl: Planned) -> float:
        return sum(w for t, w in pl.point.tags.items() if t not in covered)

    while left:
        best = min(left, key=lambda pl: (-gain(pl) / (pl.seconds + 20.0), pl.seconds, pl.point.id))
        if gain(best) <= 0:
            break  # the rest measure nothing new
        left.remove(best)
        covered |= set(best.point.tags)
        out.append(best)
    return out


def make_plan(budget_s: float = 480.0, gpu_gib: float = H200_GIB) -> Plan:
    """All points estimated, ordered, and cut at the budget (a point that would overrun it is left out, cheaper
    later ones still go in)."""
    planned, dropped = [], []
    for p in special_points() + grid_points():
        why = unavailable(p)
        est = estimate_point(p, gpu_gib)
        pl = Planned(p, est, expected_seconds(p))
        if why:
            pl.in_budget, pl.note = False, why
            dropped.append(pl)
        elif p.expect == "completed" and est.total_gib > FIT_SHARE * gpu_gib:
            continue  # would not fit: not a grid point
        else:
            planned.append(pl)
    items = order(planned)
    builds = {s: build_seconds(s) for s in SIZES}
    t, built = PREFLIGHT_S, set()
    for pl in items:
        cost = pl.seconds + (0.0 if pl.point.size in built else builds[pl.point.size])
        if t + cost > budget_s:
            pl.in_budget, pl.note = False, "over the time budget"
            continue
        pl.start_s = t
        t += cost
        built.add(pl.point.size)
    return Plan(items + dropped, builds, budget_s, gpu_gib)


def smoke_plan() -> Plan:
    """Two tiny points on CPU through the same code: a Reins SFT run (the memory grid's path) and the plain TRL DPO
    script (the speed comparison's path)."""
    tags = {"smoke": 1.0}
    pts = [Point("smoke-sft", "grid", "sft", "lora", SMOKE_SIZE, 2, 64, steps=2, precision="fp32", tags=tags),
           Point("smoke-plain-dpo", "speed", "dpo", "lora", SMOKE_SIZE, 2, 64, steps=2, runner="plain",
                 precision="fp32", tags=tags)]
    items = [Planned(p, estimate_point(p, None), 30.0) for p in pts]
    return Plan(items, {SMOKE_SIZE: 1.0}, budget_s=600.0, gpu_gib=0.0)


def describe(plan: Plan) -> str:
    """The plan as the dry run prints it."""
    lines = [f"{'#':>3} {'start':>6} {'exp s':>6} {'est GiB':>8}  point", "-" * 72]
    for i, pl in enumerate(plan.kept, 1):
        lines.append(f"{i:3d} {pl.start_s:6.0f} {pl.seconds:6.0f} {pl.estimate.total_gib:8.1f}  {pl.point.id}"
                     f" [{pl.point.role}{', ' + pl.point.runner if pl.point.runner != 'reins' else ''}]")
    left = [pl for pl in plan.items if not pl.in_budget]
    builds = sum(plan.builds[s] for s in {pl.point.size for pl in plan.kept})
    lines.append("-" * 72)
    lines.append(f"{len(plan.kept)} points, expected {plan.expected_s:.0f} s of the {plan.budget_s:.0f} s budget "
                 f"(preflight {PREFLIGHT_S:.0f} s, model builds {builds:.0f} s); {len(left)} candidates left out")
    for pl in left:
        if pl.note != "over the time budget":
            lines.append(f"  left out {pl.point.id}: {pl.note}")
    return "\n".join(lines)


def allocator_gib(est: Estimate) -> float:
    return est.allocator_bytes / GIB
