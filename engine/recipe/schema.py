"""The recipe schema: closed pydantic models, one discriminated union on `method.name`."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Section(BaseModel):
    """Base of every recipe section: unknown keys are errors, docstrings of fields are the help text."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True, validate_assignment=True)


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

    r: int = Field(16, gt=0, le=1024)
    """Adapter rank: trainable parameters grow linearly with it. 8–64 is usual."""
    alpha: float = Field(32, gt=0)
    """Scaling numerator: the adapter update is multiplied by alpha / r. Commonly 2 × r."""
    dropout: float = Field(0.05, ge=0, lt=1)
    """Dropout applied to the adapter input during training."""
    target_modules: Literal["all-linear"] | list[str] = "all-linear"
    """Which linear layers get adapters: `all-linear`, or module names such as `[q_proj, v_proj]`."""


class DataSection(Section):
    """Where the training data comes from and how its columns map to what the method expects."""

    train: str = Field(..., min_length=1)
    """Training data: a `.jsonl`/`.json`/`.parquet` file or a `datasets.save_to_disk` directory (relative paths
    are resolved from the recipe file's folder), or a hub dataset name already in the local cache."""
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


class SFTMethod(Section):
    """Supervised fine-tuning on prompt/completion or chat data."""

    name: Literal["sft"]
    """Training method."""
    completion_only_loss: bool = True
    """Train only on the completion tokens, not the prompt."""
    packing: bool = False
    """Pack several short examples into one sequence of `max_length` (faster, changes attention spans)."""


DPO_LOSS_TYPES = (
    "sigmoid", "hinge", "ipo", "exo_pair", "nca_pair", "robust", "bco_pair", "sppo_hard",
    "aot", "aot_unpaired", "apo_zero", "apo_down", "discopop", "sigmoid_norm",
)


class DPOMethod(Section):
    """Direct Preference Optimisation and its loss variants (IPO, hinge, robust, …) on preference pairs."""

    name: Literal["dpo"]
    """Training method."""
    beta: float = Field(0.1, gt=0)
    """Strength of the pull towards the reference model (τ for IPO). Lower = the policy may move further."""
    loss_type: Literal[DPO_LOSS_TYPES] = "sigmoid"  # type: ignore[valid-type]
    """Preference loss: `sigmoid` (DPO), `ipo`, `hinge`, `robust`, `exo_pair`, `nca_pair`, `bco_pair`,
    `sppo_hard`, `aot`, `aot_unpaired`, `apo_zero`, `apo_down`, `discopop`, `sigmoid_norm`."""
    label_smoothing: float = Field(0.0, ge=0, lt=0.5)
    """Probability a preference label is flipped: used by `robust` (try 0.1) and `exo_pair` (try 1e-3)."""
    discopop_tau: float = Field(0.05, gt=0)
    """Temperature of the DiscoPOP loss (only for `loss_type: discopop`)."""
    precompute_ref_log_probs: bool = False
    """Compute the reference log-probs once before training, so the reference model needs no memory during it."""

    @model_validator(mode="after")
    def _smoothing_only_where_used(self) -> DPOMethod:
        if self.label_smoothing and self.loss_type not in ("robust", "exo_pair"):
            raise ValueError(
                f"label_smoothing is only used by loss_type robust or exo_pair (got loss_type {self.loss_type})"
            )
        return self


class RMMethod(Section):
    """Reward model: a scalar head on the base model trained on preference pairs (stage 2 of classic RLHF)."""

    name: Literal["rm"]
    """Training method."""
    center_rewards_coefficient: float | None = Field(None, ge=0)
    """Push the mean reward towards 0 (try 0.01) so scores stay comparable across prompts."""


class KTOMethod(Section):
    """Kahneman-Tversky Optimisation: learns from unpaired thumbs-up/thumbs-down examples."""

    name: Literal["kto"]
    """Training method."""
    beta: float = Field(0.1, gt=0)
    """Strength of the pull towards the reference model."""
    desirable_weight: float = Field(1.0, gt=0)
    """Loss weight of desirable (thumbs-up) examples; raise it when they are rarer than undesirable ones."""
    undesirable_weight: float = Field(1.0, gt=0)
    """Loss weight of undesirable (thumbs-down) examples."""
    loss_type: Literal["kto", "apo_zero_unpaired"] = "kto"
    """`kto`, or `apo_zero_unpaired` (anchored preference optimisation without the KL term)."""


class ORPOMethod(Section):
    """Odds-Ratio Preference Optimisation: SFT and preference learning in one stage, no reference model."""

    name: Literal["orpo"]
    """Training method."""
    beta: float = Field(0.1, gt=0)
    """λ: weight of the odds-ratio (preference) term relative to the SFT loss."""


class _ContrastiveMethod(Section):
    """Shared settings of CPO and SimPO (trl.experimental.cpo): reference-free preference losses."""

    loss_type: Literal["sigmoid", "hinge", "ipo", "simpo", "alphapo"] = "sigmoid"
    """Preference loss: `simpo` for SimPO; `sigmoid`, `hinge` or `ipo` for CPO; `alphapo` for AlphaPO."""
    beta: float = Field(0.1, gt=0)
    """Reward scale (SimPO's paper uses 2.0–2.5)."""
    simpo_gamma: float = Field(0.5, ge=0)
    """SimPO's target reward margin (γ)."""
    cpo_alpha: float = Field(1.0, ge=0)
    """Weight of the behaviour-cloning (NLL) term; 0 gives pure SimPO."""
    label_smoothing: float = Field(0.0, ge=0, lt=0.5)
    """Probability a preference label is flipped (robust variant)."""


class CPOMethod(_ContrastiveMethod):
    """Contrastive Preference Optimisation: DPO-like loss without a reference model, plus an NLL term."""

    name: Literal["cpo"]
    """Training method."""


class SimPOMethod(_ContrastiveMethod):
    """SimPO: length-normalised, reference-free preference optimisation with a target margin."""

    name: Literal["simpo"]
    """Training method."""
    loss_type: Literal["sigmoid", "hinge", "ipo", "simpo", "alphapo"] = "simpo"
    """Preference loss (`simpo` for SimPO)."""
    beta: float = Field(2.0, gt=0)
    """Reward scale (the SimPO paper uses 2.0–2.5)."""
    cpo_alpha: float = Field(0.0, ge=0)
    """Weight of the NLL term; 0 = pure SimPO."""


class _OnlineMethod(Section):
    """Shared settings of online RL methods that generate completions and score them with a reward model."""

    reward_model: str = Field(..., min_length=1)
    """The reward model: `run:<run_id>` of an `rm` run, or a local folder with a sequence-classification model."""
    temperature: float = Field(0.7, gt=0)
    """Sampling temperature when generating completions."""


class PPOMethod(_OnlineMethod):
    """Proximal Policy Optimisation with policy, frozen reference, reward model and value model (classic RLHF)."""

    name: Literal["ppo"]
    """Training method."""
    value_model: str | None = None
    """Initial value model (`run:<id>` or folder); defaults to the reward model."""
    kl_coef: float = Field(0.05, ge=0)
    """β: weight of the KL penalty that keeps the policy near the reference."""
    kl_estimator: Literal["k1", "k3"] = "k1"
    """KL estimator: `k1` (unbiased, can be negative) or `k3` (lower variance, always positive)."""
    cliprange: float = Field(0.2, gt=0)
    """PPO policy clip range."""
    cliprange_value: float = Field(0.2, gt=0)
    """Clip range of the value function."""
    vf_coef: float = Field(0.1, gt=0)
    """Weight of the value loss."""
    gamma: float = Field(1.0, gt=0, le=1)
    """Discount factor."""
    lam: float = Field(0.95, gt=0, le=1)
    """GAE λ."""
    response_length: int = Field(53, gt=0)
    """Tokens generated per prompt."""
    missing_eos_penalty: float | None = Field(1.0, ge=0)
    """Subtracted from the score of completions that never emit EOS (discourages rambling)."""
    num_ppo_epochs: int = Field(4, gt=0)
    """Optimisation epochs over each batch of rollouts."""
    num_mini_batches: int = Field(1, gt=0)
    """Minibatches per PPO epoch."""
    whiten_rewards: bool = False
    """Normalise rewards per batch."""


class GRPOMethod(_OnlineMethod):
    """Group Relative Policy Optimisation: several completions per prompt, advantages relative to the group."""

    name: Literal["grpo"]
    """Training method."""
    beta: float = Field(0.0, ge=0)
    """KL weight; 0 (TRL's default) loads no reference model."""
    num_generations: int = Field(4, gt=1)
    """Completions sampled per prompt (the group). The batch size must be a multiple of it."""
    max_completion_length: int = Field(64, gt=0)
    """Tokens generated per completion."""
    temperature: float = Field(1.0, gt=0)
    """Sampling temperature."""


class RLOOMethod(GRPOMethod):
    """REINFORCE Leave-One-Out: like GRPO, each completion's baseline is the mean of the others."""

    name: Literal["rloo"]  # type: ignore[assignment]
    """Training method."""
    beta: float = Field(0.05, ge=0)
    """KL weight (TRL's default 0.05 keeps a reference model)."""


Method = Annotated[
    SFTMethod | DPOMethod | RMMethod | KTOMethod | ORPOMethod | CPOMethod | SimPOMethod | PPOMethod | GRPOMethod
    | RLOOMethod,
    Field(discriminator="name"),
]

METHOD_CLASSES: dict[str, type[Section]] = {
    "sft": SFTMethod, "rm": RMMethod, "dpo": DPOMethod, "kto": KTOMethod, "orpo": ORPOMethod, "cpo": CPOMethod,
    "simpo": SimPOMethod, "ppo": PPOMethod, "grpo": GRPOMethod, "rloo": RLOOMethod,
}
METHOD_NAMES: tuple[str, ...] = tuple(METHOD_CLASSES)
# Methods trained on (prompt, chosen, rejected) pairs: one forward holds both sequences.
PREFERENCE_METHODS: frozenset[str] = frozenset({"dpo", "orpo", "cpo", "simpo", "rm"})
# Methods that generate from prompts and score completions with a reward model.
ONLINE_METHODS: frozenset[str] = frozenset({"ppo", "grpo", "rloo"})


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
    overfit_accuracy: float = Field(0.98, gt=0, le=1)
    """DPO family: `rewards/accuracies` above this early in training signals memorising the pairs."""
    overfit_fraction: float = Field(0.1, gt=0, le=1)
    """What counts as early: this fraction of the planned steps."""
    overfit_points: int = Field(3, ge=1)
    """How many consecutive early logged points must all exceed `overfit_accuracy` (batches are small and noisy)."""
    rejected_logps_floor: float = Field(-200.0, lt=0)
    """DPO family: `logps/rejected` below this (summed over a response) counts as collapsed rejection."""
    rejected_logps_floor_tokens: int = Field(128, gt=0)
    """Sequence length the floor is meant for; with longer sequences (known from `num_tokens`) the floor scales down."""
    rejected_logps_min_drop: float = Field(50.0, ge=0)
    """...and it must have fallen at least this many nats from where it started (long responses start low)."""
    chosen_reward_drop: float = Field(0.5, ge=0)
    """DPO family: `rewards/chosen` falling this far below its start, with a falling trend, raises an alert."""
    margin_min_growth: float = Field(0.05, ge=0)
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
    """...and at least this many times the window's median."""
    loss_flat_tolerance: float = Field(1e-4, ge=0)
    """Loss flat: (max − min) / |mean| over the window at or below this (not checked for PPO, GRPO, RLOO)."""
    kl_max: float = Field(10.0, gt=0)
    """PPO/GRPO/RLOO: median KL to the reference over the window above this raises an alert (reward hacking when the
    score rises at the same time)."""
    kl_min: float = Field(-0.1, le=0)
    """PPO/GRPO/RLOO: median KL below this (a true KL is never negative) raises an alert."""
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


Judge = Annotated[RewardModelJudge | ChatJudge, Field(discriminator="kind")]


class ReportSection(Section):
    """What the worker measures after training for the post-training report (`reins report`)."""

    enabled: bool = True
    """Run the post-training evaluation (generations, pair log-probs, perplexity, optional judge)."""
    samples: int = Field(4, ge=0, le=512)
    """Held-out prompts answered by the reference and by the trained policy (greedy), stored as `sample` events."""
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
    """Who decides the win rate of policy vs reference: a reward model or a chat endpoint. Off by default."""


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
