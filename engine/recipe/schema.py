"""The recipe schema: closed pydantic models, one discriminated union on `method.name`."""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import Field, field_validator, model_validator

from engine.data.formats import FORMATS
from engine.recipe.defaults import LORA_ALPHA, LORA_DROPOUT, LORA_RANK, PROBE_SUITES
from engine.recipe.method_settings import GRPOMethod
from engine.recipe.methods import METHODS
from engine.recipe.section import Section


class ModelSection(Section):
    """Which base model to train and how to load it."""

    name: str = "smollm2-135m-instruct"
    """Model to start from: the alias `smollm2-135m-instruct` (embedded, no download), a local directory with a
    `config.json`, or a hub id already in the local Hugging Face cache (Reins never downloads)."""
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"
    """Precision the weights are loaded in. `auto`: bfloat16 on a GPU that supports it, float32 on CPU."""
    quantization: Literal["none", "8bit", "4bit"] = "none"
    """Load the frozen base weights quantized with bitsandbytes (`4bit` = NF4, i.e. QLoRA). Needs a CUDA GPU."""
    attn_implementation: Literal["auto", "eager", "sdpa", "flash_attention_2"] = "auto"
    """Attention kernel. `auto` lets transformers pick (SDPA where available)."""
    trust_remote_code: bool = False
    """Run Python code shipped inside the model repository. Off unless you trust the model's author."""


class LoraSection(Section):
    """Low-rank adapters (PEFT). Set the whole section to `null` for full fine-tuning."""

    r: int = Field(LORA_RANK, gt=0, le=1024)
    """Adapter rank: trainable parameters grow linearly with it. 8–64 is usual."""
    alpha: float = Field(LORA_ALPHA, gt=0)
    """Scaling numerator: the adapter update is multiplied by alpha / r. Commonly 2 × r."""
    dropout: float = Field(LORA_DROPOUT, ge=0, lt=1)
    """Dropout applied to the adapter input during training."""
    target_modules: Literal["all-linear"] | list[str] = "all-linear"
    """Which linear layers get adapters: `all-linear`, or module names such as `[q_proj, v_proj]`."""


class DataSource(Section):
    """One file of a training mixture and its weight."""

    path: str = Field(..., min_length=1)
    """A data file or folder, as `data.train` names one."""
    weight: float = Field(1.0, gt=0)
    """Its share of the mixed training rows, relative to the other files' weights."""


class DataSection(Section):
    """Where the training data comes from and how its columns map to what the method expects."""

    train: Annotated[str, Field(min_length=1)] | Annotated[list[DataSource], Field(min_length=1)]
    """Training data: a `.jsonl`/`.json`/`.parquet` file or a `datasets.save_to_disk` directory (relative paths
    are resolved from the recipe file's folder), or a hub dataset name already in the local cache; or a mixture, a
    list of `{path, weight}` whose rows are mixed in proportion to the weights."""
    format: Literal[("auto", *FORMATS)] = "auto"  # type: ignore[valid-type]
    """The files' format: `auto` detects it from the rows; `trl` (prompt/chosen/rejected, completion, messages),
    `sharegpt` (LLaMA-Factory `conversations`), `alpaca` (instruction/input/output), `openai` (`messages`; the last
    assistant turn is the answer) or `hh` (Anthropic-HH Human/Assistant transcripts)."""
    eval: str | None = None
    """Held-out evaluation data, same forms as `train`. If unset, `eval_fraction` of `train` is held out."""
    eval_fraction: float = Field(0.0, ge=0, lt=1)
    """Fraction of `train` held out for evaluation when `eval` is not given (0 = no evaluation)."""
    split: str = "train"
    """Split to read from a hub dataset or a `save_to_disk` DatasetDict."""
    fields: dict[str, str] = Field(default_factory=dict)
    """Rename columns to the names the method expects, e.g. `{prompt: question, chosen: good, rejected: bad}`."""
    max_rows: int | None = Field(None, gt=0)
    """Use at most this many training rows (handy for smoke tests)."""


class TrainSection(Section):
    """Optimisation settings shared by every method (they map onto transformers' TrainingArguments)."""

    epochs: float = Field(1.0, gt=0)
    """Passes over the training data. Ignored when `max_steps` is set."""
    max_steps: int | None = Field(None, gt=0)
    """Stop after this many optimiser steps (overrides `epochs`)."""
    batch_size: int = Field(4, gt=0)
    """Examples per device per micro-step (for preference methods: pairs, so 2× sequences)."""
    grad_accum: int = Field(1, gt=0)
    """Micro-steps accumulated per optimiser step; effective batch = batch_size × grad_accum × processes."""
    learning_rate: float = Field(5e-5, gt=0, lt=1)
    """Peak learning rate. LoRA tolerates ~1e-4; full fine-tuning DPO wants ~5e-7 to 1e-6."""
    lr_scheduler: Literal["linear", "cosine", "constant", "constant_with_warmup", "cosine_with_min_lr"] = "cosine"
    """Learning-rate schedule after warm-up."""
    warmup_ratio: float = Field(0.1, ge=0, lt=1)
    """Fraction of the steps spent warming the learning rate up from 0."""
    weight_decay: float = Field(0.0, ge=0)
    """AdamW weight decay."""
    optimizer: Literal["adamw_torch", "adamw_8bit", "paged_adamw_8bit", "paged_adamw_32bit", "sgd"] = "adamw_torch"
    """Optimiser. The 8-bit and paged variants (bitsandbytes) save memory on a GPU."""
    max_grad_norm: float = Field(1.0, gt=0)
    """Gradient clipping threshold."""
    max_length: int = Field(512, gt=8)
    """Maximum tokens per sequence (prompt + response); longer sequences are truncated."""
    max_prompt_length: int | None = Field(None, gt=0)
    """Skip rows whose prompt alone is longer than this many tokens (TRL 1.12 only truncates whole sequences)."""
    gradient_checkpointing: bool = False
    """Recompute activations in the backward pass: much less memory, ~30% slower."""
    precision: Literal["auto", "fp32", "bf16", "fp16"] = "auto"
    """Mixed precision for compute. `auto`: bf16 on a GPU that supports it, fp32 on CPU."""
    seed: int = 42
    """Seed for data order, initialisation of adapters and dropout."""
    logging_steps: int = Field(1, gt=0)
    """Write a metric event every this many optimiser steps."""
    eval_steps: int | None = Field(None, gt=0)
    """Evaluate every this many steps (needs eval data). Unset: evaluate once at the end."""
    eval_on_start: bool = True
    """Evaluate once before the first step, so every eval curve has a baseline."""
    eval_batch_size: int | None = Field(None, gt=0)
    """Batch size for evaluation; defaults to `batch_size`."""
    save_steps: int | None = Field(None, gt=0)
    """Write a checkpoint every this many steps (unset: only at the end and on stop)."""
    save_total_limit: int = Field(2, gt=0)
    """Keep at most this many checkpoints."""


class DistributedSection(Section):
    """How many processes train together, and how the model is split across them (accelerate + DeepSpeed/FSDP)."""

    num_processes: int | Literal["auto"] = 1
    """Processes per machine started by `accelerate launch` (one per GPU); `auto` = every visible GPU."""
    strategy: Literal["ddp", "zero1", "zero2", "zero3", "fsdp"] = "ddp"
    """`ddp` replicates the model; `zero1`/`zero2` shard optimiser states (and gradients); `zero3` and `fsdp` shard
    the weights too."""
    offload: Literal["none", "optimizer", "params"] = "none"
    """Move optimiser states (or also parameters) to host memory: fits bigger models, needs host RAM, slower."""
    num_machines: int = Field(1, gt=0)
    """Machines (nodes) in the job."""
    machine_rank: int = Field(0, ge=0)
    """This machine's rank, 0 … num_machines − 1 (run `reins run` on each node with its own rank)."""
    main_process_ip: str | None = None
    """Address of the rank-0 machine (required with several machines)."""
    main_process_port: int | None = Field(None, gt=0, lt=65536)
    """Rendezvous port on the rank-0 machine (single machine: a free port is picked)."""
    mixed_precision: Literal["no", "bf16", "fp16"] = "no"
    """accelerate's mixed precision; training precision itself is `train.precision`."""

    @model_validator(mode="after")
    def _consistent(self) -> DistributedSection:
        if self.machine_rank >= self.num_machines:
            raise ValueError(f"machine_rank {self.machine_rank} must be below num_machines {self.num_machines}")
        if self.num_machines > 1 and not self.main_process_ip:
            raise ValueError("several machines need main_process_ip (the rank-0 machine's address)")
        if self.offload != "none" and self.strategy in ("ddp", "zero1"):
            raise ValueError(f"offload={self.offload} needs strategy zero2, zero3 or fsdp")
        return self


# One discriminated union of every registered method's settings, picked by `method.name`.
Method = Annotated[Union[tuple(spec.schema for spec in METHODS.values())], Field(discriminator="name")]  # noqa: UP007


class AlertsSection(Section):
    """Red-flag rules checked while training and by `reins health`: their thresholds, and whether errors stop the run.
    Trends are judged over a window of logged points, never on one noisy value."""

    enabled: bool = True
    """Evaluate the rules while training and write `alert` events."""
    stop_on_error: bool = False
    """Stop the run (checkpoint saved, status `stopped`) on the first error-severity alert, e.g. a NaN loss."""
    window: int = Field(8, ge=3, le=1000)
    """Logged points a trend is judged over; an alert re-arms after this many quiet points."""
    trend_tau: float = Field(0.6, gt=0, le=1)
    """How consistent a trend must be to count: |Kendall tau| of the window's values against their order."""
    overfit_accuracy: float = Field(0.95, gt=0, le=1)
    """DPO family: preference accuracy averaged over `overfit_points` logged points at or above this early in training
    signals memorising the pairs (averaged: with a few pairs per batch one step reads 0.75 or 1.0)."""
    overfit_fraction: float = Field(0.1, gt=0, le=1)
    """What counts as early: this fraction of the planned steps, and at least the first 2 × `overfit_points` logged
    points (a 20-step run's first 10% is two steps, before the policy has moved at all)."""
    overfit_points: int = Field(3, ge=1)
    """How many consecutive logged accuracies are averaged (per-step accuracy of small batches is noisy)."""
    rejected_logps_floor: float = Field(-200.0, lt=0)
    """DPO family: `logps/rejected` below this (summed over a response) counts as collapsed rejection."""
    rejected_logps_floor_tokens: int = Field(128, gt=0)
    """Sequence length the floor is meant for; with longer sequences (known from `num_tokens`) the floor scales down."""
    rejected_logps_min_drop: float = Field(50.0, ge=0)
    """...and it must have fallen at least this many nats from where it started (long responses start low)."""
    rejected_logps_collapse_ratio: float = Field(2.0, gt=1)
    """Above the floor, rejection also counts as collapsed once its log-prob is this many times where it started
    (and it fell at least `rejected_logps_min_drop` nats): the policy is pushing the rejected text down, fast."""
    chosen_reward_drop: float = Field(0.5, ge=0)
    """DPO family: `rewards/chosen` falling this far below its start, with a falling trend, raises an alert."""
    margin_min_growth: float = Field(0.01, ge=0)
    """DPO family: the mean `rewards/margins` must grow at least this much from one window to the next..."""
    margin_learned: float = Field(0.5, ge=0)
    """...unless it is already at least this large (a plateau after learning is fine)."""
    both_falling_min_drop: float = Field(25.0, ge=0)
    """DPO family: chosen and rejected log-probs both falling counts once chosen fell this many nats."""
    eval_gap: float = Field(0.5, ge=0)
    """DPO family: train margin minus eval margin at least this large (and `eval_gap_ratio` of the train margin)."""
    eval_gap_ratio: float = Field(0.5, ge=0)
    """The gap must also be at least this fraction of the train margin."""
    grad_spike_z: float = Field(6.0, gt=0)
    """Gradient-norm spike: robust z-score (median/MAD over the window) at or above this..."""
    grad_spike_ratio: float = Field(3.0, gt=1)
    """...and at least this many times the window's median..."""
    grad_spike_history_ratio: float = Field(5.0, gt=1)
    """...and at least this many times the largest gradient norm of the last 4 windows: RL grad norms are bimodal
    (~0 on batches whose groups all scored alike, normal on the others), so a jump back to normal is no spike."""
    loss_flat_tolerance: float = Field(1e-4, ge=0)
    """Loss flat: (max − min) / |mean| over the window at or below this (not checked for PPO, GRPO, RLOO)."""
    kl_max: float = Field(10.0, gt=0)
    """PPO/GRPO/RLOO: median KL to the reference over the window above this raises an alert (reward hacking when the
    score rises at the same time)."""
    kl_min: float = Field(-0.1, le=0)
    """PPO/GRPO/RLOO: median KL below this (a true KL is never negative) raises an alert."""
    kl_start_max: float = Field(0.1, gt=0)
    """GRPO/RLOO: median KL of the first logged points above this means the reference is not the policy training
    started from (before any update, the two are the same model and the KL is 0)."""
    zero_std_fraction: float = Field(0.8, gt=0, le=1)
    """GRPO/RLOO: a median `frac_reward_zero_std` over the window at or above this (every completion of a group scored
    alike, so its advantages are 0) means most batches carry no learning signal."""
    flat_gain: float = Field(0.25, ge=0)
    """A series counts as flat over a long stretch when its last quarter's mean has moved (up for a PPO/GRPO/RLOO
    reward, down for a loss) by less than this many standard deviations of all its values from its first quarter's;
    judged from half of the planned steps (or 2 epochs) on, since both are often flat before they move."""
    value_loss_growth: float = Field(3.0, gt=1)
    """PPO: value loss trending up to this many times its starting level counts as diverging."""
    min_response_tokens: float = Field(1.0, ge=0)
    """GRPO/RLOO: mean completion length below this over the whole window counts as collapsed."""
    max_clipped_ratio: float = Field(0.9, gt=0, le=1)
    """GRPO/RLOO: this fraction of completions cut at the maximum length over the whole window counts as pinned."""


class RewardModelJudge(Section):
    """Judge generations with a reward model: the higher-scored response wins."""

    kind: Literal["reward_model"]
    model: str = Field(..., min_length=1)
    """The reward model: `run:<id>` of a finished `rm` run, or a local sequence-classifier folder."""
    tie_margin: float = Field(0.0, ge=0)
    """Score differences at or below this count as a tie."""


class ChatJudge(Section):
    """Judge generations with any OpenAI-compatible chat endpoint (vLLM, llama.cpp server, a hosted API)."""

    kind: Literal["openai"]
    url: str = Field(..., pattern=r"^https?://")
    """Base URL of the API, e.g. `http://127.0.0.1:8000/v1` (Reins posts to `<url>/chat/completions`)."""
    model: str = Field(..., min_length=1)
    """Model name the endpoint serves."""
    api_key_env: str | None = None
    """Name of the environment variable holding the API key (the key itself never goes into a recipe)."""
    timeout_s: float = Field(60.0, gt=0)
    """Seconds to wait for each answer."""


class LocalJudge(Section):
    """Judge generations with a local chat model: it reads both answers and Reins compares the log-probs of its
    first token being "A" or "B" (deterministic, no sampling), in both orders."""

    kind: Literal["local"]
    model: str = Field(..., min_length=1)
    """Any chat model Reins can load: `smollm2-135m-instruct`, a local folder, a cached hub id, or `run:<id>`."""
    max_length: int = Field(2048, ge=256)
    """Token budget of one judging prompt; longer answers are shortened (each to an equal share) to fit."""


Judge = Annotated[RewardModelJudge | ChatJudge | LocalJudge, Field(discriminator="kind")]


class VerdictSection(Section):
    """When a run is worth keeping: the thresholds of the report's keep / don't keep / inconclusive rules."""

    min_win_rate_lower: float = Field(0.5, ge=0, le=1)
    """Keep only when the lower end of the win rate's 95% interval is above this (0.5: better than the reference,
    beyond the judge's noise). An interval that straddles it is inconclusive; one wholly below it is don't keep."""
    max_extra_looping: int = Field(0, ge=0)
    """How many more looping answers the policy may give than the reference (0: any increase is don't keep)."""
    max_probe_drops: int = Field(0, ge=0)
    """How many capability probe suites may drop (their paired 95% interval wholly below 0)."""
    error_alerts: bool = True
    """An error-severity red flag raised during training (NaN loss, collapse …) means don't keep."""


class LmEvalSection(Section):
    """lm-evaluation-harness (`pip install lm-eval`) on reference and policy; it reads only the local datasets cache."""

    tasks: list[str] = Field(..., min_length=1)
    """Harness task names, e.g. `[arc_easy, hellaswag]`: their data must already be in the local cache."""
    limit: int | None = Field(None, gt=0)
    """Score at most this many documents per task (unset: all)."""


class ReportSection(Section):
    """What the worker measures after training for the post-training report (`reins report`)."""

    enabled: bool = True
    """Run the post-training evaluation (generations, pair log-probs, perplexity, optional judge)."""
    samples: int = Field(256, ge=0, le=4096)
    """Held-out prompts answered by the reference and by the trained policy (greedy), stored as `sample` events and
    judged when `judge` is set: every eval prompt up to this many (a win rate over a handful of prompts decides
    nothing)."""
    batch_size: int | None = Field(None, gt=0)
    """Prompts per batched `generate` call. Unset: 64 on a GPU, 16 on a CPU."""
    max_new_tokens: int = Field(96, gt=0, le=4096)
    """Length limit of each sample generation, in tokens."""
    pairs: int = Field(64, ge=0)
    """Held-out preference pairs scored by reference and policy log-probs (a real 'before' accuracy)."""
    perplexity_data: str | None = None
    """Held-out plain text (`.jsonl` with a `text` field) for the capability check. Unset: the bundled set."""
    perplexity_texts: int = Field(24, ge=0)
    """How many texts of `perplexity_data` to score (0 = skip the perplexity check)."""
    max_perplexity_increase: float = Field(10.0, ge=0)
    """Flag a capability regression when the policy's perplexity exceeds the reference's by more than this (%)."""
    judge: Judge | None = None
    """Who decides the win rate of policy vs reference: a reward model, a chat endpoint or a local chat model. Off by
    default."""
    checkpoints: bool = False
    """Evaluate each saved checkpoint on the held-out pairs too, so the report says which step was best (needs
    `train.save_steps`; only the last `train.save_total_limit` checkpoints are still there to compare)."""
    verdict: VerdictSection = Field(default_factory=VerdictSection)
    """The rules that turn the report's figures into keep / don't keep / inconclusive (perplexity's limit is
    `max_perplexity_increase`)."""
    probes: list[str] = Field(default_factory=lambda: list(PROBE_SUITES))
    """Bundled capability probes scored on reference and policy (`arithmetic`, `knowledge`, `format`, `refusal`);
    `[]` turns them off."""
    probe_items: int = Field(40, gt=0)
    """Items per probe suite at most (each suite has 24–40)."""
    probes_max_new_tokens: int = Field(64, gt=0, le=4096)
    """Length limit of each probe answer, in tokens (the knowledge suite generates nothing: it scores options)."""
    lm_eval: LmEvalSection | None = None
    """lm-evaluation-harness tasks run on reference and policy from the local datasets cache. Off by default."""

    @field_validator("probes")
    @classmethod
    def _known_suites(cls, value: list[str]) -> list[str]:
        unknown = [s for s in value if s not in PROBE_SUITES]
        if unknown:
            raise ValueError(f"unknown probe suite(s) {', '.join(map(repr, unknown))}: choose from "
                             f"{', '.join(PROBE_SUITES)} (or [] for none)")
        return list(dict.fromkeys(value))  # a suite named twice runs once


class Recipe(Section):
    """A complete, validated training recipe."""

    description: str = ""
    """One line on what the recipe does and when to use it (shown by `reins recipes`)."""
    model: ModelSection = Field(default_factory=ModelSection)
    """The base model."""
    lora: LoraSection | None = Field(default_factory=LoraSection)
    """LoRA adapters, or `null` for full fine-tuning."""
    data: DataSection
    """Training and evaluation data."""
    train: TrainSection = Field(default_factory=TrainSection)
    """Optimisation settings."""
    method: Method
    """The training method and its own settings; `name` picks it."""
    distributed: DistributedSection = Field(default_factory=DistributedSection)
    """Multi-process settings."""
    alerts: AlertsSection = Field(default_factory=AlertsSection)
    """Red-flag rules evaluated while training (thresholds, and whether an error stops the run)."""
    report: ReportSection = Field(default_factory=ReportSection)
    """The post-training evaluation behind `reins report`."""

    @model_validator(mode="after")
    def _quantization_needs_lora(self) -> Recipe:
        if self.model.quantization != "none" and self.lora is None:
            raise ValueError("quantized weights cannot be trained directly: set a `lora` section (QLoRA)")
        return self

    @model_validator(mode="after")
    def _groups_fit_the_batch(self) -> Recipe:
        m = self.method
        if isinstance(m, GRPOMethod):
            procs = self.distributed.num_processes if isinstance(self.distributed.num_processes, int) else 1
            per_step = self.train.batch_size * self.train.grad_accum * procs
            if per_step % m.num_generations:
                raise ValueError(
                    f"{m.name}: train.batch_size × grad_accum × processes ({per_step}) must be a multiple of "
                    f"method.num_generations ({m.num_generations}), since each prompt's completions form a group"
                )
        return self
