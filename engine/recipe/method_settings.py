"""The `method:` section of a recipe: one closed settings class per training method (see engine.recipe.methods)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from engine.recipe.methods import METHODS
from engine.recipe.reward_funcs import parse_ref
from engine.recipe.section import Section
from engine.recipe.trl_settings import trl_problems


class MethodSection(Section):
    """Base of every method's settings: `trl` passes any other field of the method's TRL config."""

    trl: dict[str, Any] = Field(default_factory=dict)
    """Any other field of the method's TRL config, passed as is, e.g. `{use_liger_kernel: true, padding_free: true}`.
    Checked against the installed TRL's fields; a field Reins sets from its own settings must be set there."""

    @field_validator("trl")
    @classmethod
    def _real_trl_fields(cls, value: dict[str, Any]) -> dict[str, Any]:
        method = next(s.name for s in METHODS.values() if s.settings == cls.__name__)
        problems = trl_problems(method, value)
        if problems:
            raise ValueError("; ".join(problems))
        return value


class SFTMethod(MethodSection):
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


class DPOMethod(MethodSection):
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
    sft_weight: float = Field(0.0, ge=0)
    """Weight of an SFT loss (negative log-likelihood of the chosen answer) added to the preference loss, as in RPO
    (TRL: `loss_type: [<loss>, sft]`). Keeps the chosen answers' log-probs from falling with the rejected ones, so
    the policy learns to *write* the preferred answers, not only to rank them; try 0.2–1.0. 0 = off."""

    @model_validator(mode="after")
    def _smoothing_only_where_used(self) -> DPOMethod:
        if self.label_smoothing and self.loss_type not in ("robust", "exo_pair"):
            raise ValueError(
                f"label_smoothing is only used by loss_type robust or exo_pair (got loss_type {self.loss_type})"
            )
        return self


class RMMethod(MethodSection):
    """Reward model: a scalar head on the base model trained on preference pairs (stage 2 of classic RLHF)."""

    name: Literal["rm"]
    """Training method."""
    center_rewards_coefficient: float | None = Field(None, ge=0)
    """Push the mean reward towards 0 (try 0.01) so scores stay comparable across prompts."""


class KTOMethod(MethodSection):
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


class ORPOMethod(MethodSection):
    """Odds-Ratio Preference Optimisation: SFT and preference learning in one stage, no reference model."""

    name: Literal["orpo"]
    """Training method."""
    beta: float = Field(0.1, gt=0)
    """λ: weight of the odds-ratio (preference) term relative to the SFT loss."""


class _ContrastiveMethod(MethodSection):
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


class _OnlineMethod(MethodSection):
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
    reward_model: str | None = Field(None, min_length=1)  # type: ignore[assignment]
    """The reward model (`run:<run_id>` of an `rm` run, or a local sequence-classification folder); optional when
    `reward_funcs` are given."""
    reward_funcs: list[str] = Field(default_factory=list)
    """Python reward functions, each `path/to/file.py:function` (relative to the recipe), with TRL's signature
    `f(prompts, completions, completion_ids, **kwargs) -> list[float | None]`; the data's other columns arrive as
    keyword arguments (e.g. `answer`)."""
    reward_weights: list[float] | None = None
    """Weight of each reward in the sum: the reward model first (when given), then `reward_funcs` in order.
    Default: 1 each."""
    beta: float = Field(0.0, ge=0)
    """KL weight; 0 (TRL's default) loads no reference model."""
    num_generations: int = Field(4, gt=1)
    """Completions sampled per prompt (the group). The batch size must be a multiple of it."""
    max_completion_length: int = Field(64, gt=0)
    """Tokens generated per completion."""
    temperature: float = Field(1.0, gt=0)
    """Sampling temperature."""

    @field_validator("reward_funcs")
    @classmethod
    def _func_refs(cls, refs: list[str]) -> list[str]:
        names = [parse_ref(ref).function for ref in refs]  # ValueError names the malformed one
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:  # TRL logs each function's rewards under its name: two of one name would share a metric
            raise ValueError(f"two reward functions are named {', '.join(twice)}: give each a distinct name")
        return refs

    @model_validator(mode="after")
    def _some_reward(self) -> GRPOMethod:
        if not self.reward_model and not self.reward_funcs:
            raise ValueError("give a reward: reward_model, reward_funcs, or both")
        n = len(self.reward_funcs) + bool(self.reward_model)
        if self.reward_weights is not None and len(self.reward_weights) != n:
            w = len(self.reward_weights)
            raise ValueError(f"reward_weights has {w} weight{'s' * (w != 1)} for {n} reward{'s' * (n != 1)}: one per "
                             "reward, the reward model first (when given), then each of reward_funcs")
        return self


class RLOOMethod(GRPOMethod):
    """REINFORCE Leave-One-Out: like GRPO, each completion's baseline is the mean of the others."""

    name: Literal["rloo"]  # type: ignore[assignment]
    """Training method."""
    beta: float = Field(0.05, ge=0)
    """KL weight (TRL's default 0.05 keeps a reference model)."""
