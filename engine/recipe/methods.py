"""The method registry: what each training method is, in one place (settings, data, models, trainer, what to watch).

Every per-method table in Reins is derived from these specs: the recipe schema's union of method settings, the memory
model, the data checks, the red-flag rules, the key settings and metrics, the TUI's charts, and the worker's trainer.
Adding a method means one `MethodSpec` here, one settings class in `engine.recipe.method_settings` and one builder in
`engine.worker.trainers`. This module imports nothing heavy (no pydantic, no torch): the TUI reads it at start-up.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

# What a method trains on: (prompt, chosen, rejected) pairs; unpaired thumbs-up/down examples (which may also be
# given as pairs); prompts it answers itself; or prompt/completion (chat, plain text) examples.
DataShape = Literal["pairs", "unpaired", "prompts", "completions"]
Chart = tuple[str, tuple[str, ...]]  # (title, metric keys overlaid in it)

# The stages of alignment in the order a practitioner goes through them (the TUI groups recipes by them).
STAGES = ("Supervised fine-tuning", "Reward modelling", "Reinforcement learning", "Preference optimisation")
DEFAULT_METRICS = ("loss", "grad_norm", "learning_rate")
DEFAULT_CHARTS: tuple[Chart, ...] = (("loss", ("loss",)), ("grad_norm", ("grad_norm",)),
                                     ("learning_rate", ("learning_rate",)))
DEFAULT_HEADLINE = ("loss", "grad_norm")


@dataclass(frozen=True)
class MethodSpec:
    """Everything Reins knows about one training method."""

    name: str
    title: str
    settings: str  # the settings class in engine.recipe.method_settings (resolved lazily: `schema`)
    stage: str
    data: DataShape
    builder: str  # "module:function" that builds the TRL trainer inside the worker (only the worker imports it)
    trl_config: str  # "module:Class" of the TRL config the builder fills
    key_metrics: tuple[str, ...]  # in the order a practitioner reads them
    key_settings: tuple[str, ...]  # method.* settings that tell two runs of this method apart
    reference: bool  # holds a frozen reference policy with its default settings
    reference_from_beta: bool = False  # GRPO/RLOO: a reference model only when method.beta > 0
    generates: bool = False  # samples completions online and scores them with a reward model
    task: Literal["causal", "seq-cls"] = "causal"  # the trained model: a causal LM, or a 1-output classifier
    # -- memory
    sequences_per_example: int = 1  # forward sequences per micro-batch example (DPO: chosen + rejected)
    logits: Literal["ce", "logps", "scalar"] = "logps"  # cross-entropy, per-row log-probs, or a scalar head
    precomputes_reference: bool = False  # supports precompute_ref_log_probs (the reference then needs no memory)
    reward_model_in_memory: bool = False  # a frozen reward model of the policy's architecture (PPO)
    value_model: bool = False  # a separately, fully trained value model (PPO)
    # -- the screens
    charts: tuple[Chart, ...] = DEFAULT_CHARTS
    headline: tuple[str, str] = DEFAULT_HEADLINE  # the Runs table's two metric columns
    form_settings: tuple[str, ...] = ()  # further method.* settings the Configure form shows first
    # -- checks and limits
    beta_scale: bool = False  # β means what DPO's β means (pre-flight warns outside [0.05, 1])
    resumable: bool = True  # TRL can continue it from a checkpoint
    post_eval: bool = True  # the policy-vs-reference evaluation after training (not for a reward model)
    unused_train: tuple[str, ...] = ()  # shared `train.*` settings the method's TRL config has no field for
    unused_train_note: str = ""  # what limits the method instead

    @property
    def schema(self) -> type:
        """The pydantic settings class of `method:` (imports pydantic on first use)."""
        return getattr(importlib.import_module("engine.recipe.method_settings"), self.settings)

    @property
    def preference(self) -> bool:
        """Trained on (prompt, chosen, rejected) pairs."""
        return self.data == "pairs"

    @property
    def aligns(self) -> bool:
        """Starts from an instruction-tuned policy it steers (preference or online methods, not SFT or a reward
        model): such a method wants a model with a chat template."""
        return self.data != "completions" and self.task == "causal"

    def needs_reference(self, settings: Any = None) -> bool:
        """Whether a run holds a reference model, given its method settings (GRPO/RLOO: only with β > 0)."""
        if self.reference_from_beta and settings is not None:
            return float(getattr(settings, "beta", 0.0) or 0.0) > 0
        return self.reference

    def required_fields(self, first_row: Mapping[str, Any] | None) -> list[str]:
        """The data columns this method needs, given what the first row looks like."""
        first = first_row or {}
        pairs = self.data == "pairs" or (self.data == "unpaired" and "chosen" in first and "label" not in first)
        if pairs:  # KTO takes pairs too: TRL unpairs them into one thumbs-up and one thumbs-down example
            return ["prompt", "chosen", "rejected"] if "prompt" in first else ["chosen", "rejected"]
        if self.data == "unpaired":
            return ["prompt", "completion", "label"]
        if self.data == "prompts":
            return ["prompt"]
        if "messages" in first:
            return ["messages"]
        if "text" in first and "completion" not in first:
            return ["text"]
        return ["prompt", "completion"]


_PAIR_METRICS = ("loss", "rewards/margins", "rewards/accuracies", "rewards/chosen", "rewards/rejected",
                 "logps/chosen", "logps/rejected", "grad_norm", "learning_rate")
_PAIR_CHARTS: tuple[Chart, ...] = (
    ("loss", ("loss",)),
    ("rewards/margins", ("rewards/margins",)),
    ("rewards/accuracies", ("rewards/accuracies",)),
    ("logps chosen vs rejected", ("logps/chosen", "logps/rejected")),
    ("rewards chosen vs rejected", ("rewards/chosen", "rewards/rejected")),
)
_ODDS_METRICS = ("loss", "nll_loss", "log_odds_ratio", "rewards/margins", "rewards/accuracies", "logps/chosen",
                 "logps/rejected", "grad_norm", "learning_rate")
_CONTRASTIVE_METRICS = tuple(k for k in _ODDS_METRICS if k != "log_odds_ratio")
_GROUP_METRICS = ("reward", "reward_std", "kl", "completions/mean_length", "completions/clipped_ratio", "grad_norm",
                  "learning_rate")
_GROUP_CHARTS: tuple[Chart, ...] = (
    ("reward", ("reward",)),
    ("kl", ("kl",)),
    ("completions/mean_length", ("completions/mean_length",)),
    ("frac_reward_zero_std", ("frac_reward_zero_std",)),
)
_ONLINE_FORM = ("reward_model", "temperature")
# Online methods generate their completions: TRL's configs size them with the method's own setting instead.
_GROUP_LENGTH = dict(unused_train=("max_length",),
                     unused_train_note="completions are at most method.max_completion_length tokens")


def _group(name: str, title: str, builder: str, trl_config: str, reference: bool) -> MethodSpec:
    """GRPO and RLOO: several completions per prompt, scored by a reward model, advantages relative to the group."""
    return MethodSpec(
        name=name, title=title, settings=f"{name.upper()}Method", stage="Reinforcement learning", data="prompts",
        builder=builder, trl_config=trl_config, key_metrics=_GROUP_METRICS, key_settings=("beta", "num_generations"),
        reference=reference, reference_from_beta=True, generates=True, charts=_GROUP_CHARTS,
        headline=("reward", "kl"), form_settings=(*_ONLINE_FORM, "max_completion_length"), **_GROUP_LENGTH)


_SPECS = (
    MethodSpec(
        name="sft", title="Supervised fine-tuning", settings="SFTMethod", stage="Supervised fine-tuning",
        data="completions", builder="engine.worker.trainers:build_sft", trl_config="trl:SFTConfig",
        key_metrics=("loss", "mean_token_accuracy", "entropy", "num_tokens", "grad_norm", "learning_rate"),
        key_settings=("packing",), reference=False, logits="ce",
        charts=(("loss", ("loss",)), ("mean_token_accuracy", ("mean_token_accuracy",)), ("entropy", ("entropy",)),
                ("grad_norm", ("grad_norm",))),
        headline=("loss", "mean_token_accuracy")),
    MethodSpec(
        name="rm", title="Reward model", settings="RMMethod", stage="Reward modelling", data="pairs",
        builder="engine.worker.trainers:build_rm", trl_config="trl:RewardConfig",
        key_metrics=("loss", "accuracy", "margin", "mean_reward", "grad_norm", "learning_rate"),
        key_settings=("center_rewards_coefficient",), reference=False, task="seq-cls", sequences_per_example=2,
        logits="scalar", post_eval=False,
        charts=(("loss", ("loss",)), ("accuracy", ("accuracy",)), ("margin", ("margin",)),
                ("mean_reward", ("mean_reward",))),
        headline=("accuracy", "margin")),
    MethodSpec(
        name="dpo", title="Direct Preference Optimisation (and IPO, hinge, robust, … losses)", settings="DPOMethod",
        stage="Preference optimisation", data="pairs", builder="engine.worker.trainers:build_dpo",
        trl_config="trl:DPOConfig", key_metrics=_PAIR_METRICS, key_settings=("beta", "loss_type"), reference=True,
        sequences_per_example=2, precomputes_reference=True, charts=_PAIR_CHARTS,
        headline=("rewards/margins", "rewards/accuracies"), beta_scale=True),
    MethodSpec(
        name="kto", title="Kahneman-Tversky Optimisation", settings="KTOMethod", stage="Preference optimisation",
        data="unpaired", builder="engine.worker.trainers:build_kto", trl_config="trl:KTOConfig",
        key_metrics=("loss", "rewards/margins", "rewards/chosen", "rewards/rejected", "kl", "logps/chosen",
                     "logps/rejected", "grad_norm", "learning_rate"),
        key_settings=("beta", "desirable_weight", "undesirable_weight"), reference=True,
        sequences_per_example=2,  # each completion and a mismatched one for the KL estimate
        charts=(("loss", ("loss",)), ("rewards/margins", ("rewards/margins",)), ("kl", ("kl",)),
                ("rewards chosen vs rejected", ("rewards/chosen", "rewards/rejected"))),
        headline=("rewards/margins", "kl"), beta_scale=True),
    MethodSpec(
        name="orpo", title="Odds-Ratio Preference Optimisation", settings="ORPOMethod",
        stage="Preference optimisation", data="pairs", builder="engine.worker.trainers:build_orpo",
        trl_config="trl.experimental.orpo:ORPOConfig", key_metrics=_ODDS_METRICS, key_settings=("beta",),
        reference=False, sequences_per_example=2,
        charts=(("loss", ("loss",)), ("nll_loss", ("nll_loss",)), ("log_odds_ratio", ("log_odds_ratio",)),
                ("rewards/margins", ("rewards/margins",))),
        headline=("rewards/margins", "rewards/accuracies")),
    MethodSpec(
        name="cpo", title="Contrastive Preference Optimisation", settings="CPOMethod",
        stage="Preference optimisation", data="pairs", builder="engine.worker.trainers:build_cpo",
        trl_config="trl.experimental.cpo:CPOConfig", key_metrics=_CONTRASTIVE_METRICS,
        key_settings=("beta", "loss_type", "cpo_alpha"), reference=False, sequences_per_example=2,
        charts=_PAIR_CHARTS[:4], headline=("rewards/margins", "rewards/accuracies"), beta_scale=True),
    MethodSpec(
        name="simpo", title="SimPO (length-normalised, reference-free)", settings="SimPOMethod",
        stage="Preference optimisation", data="pairs", builder="engine.worker.trainers:build_cpo",
        trl_config="trl.experimental.cpo:CPOConfig", key_metrics=_CONTRASTIVE_METRICS,
        key_settings=("beta", "simpo_gamma"), reference=False, sequences_per_example=2, charts=_PAIR_CHARTS[:4],
        headline=("rewards/margins", "rewards/accuracies")),
    MethodSpec(
        name="ppo", title="Proximal Policy Optimisation (classic RLHF)", settings="PPOMethod",
        stage="Reinforcement learning", data="prompts", builder="engine.worker.trainers:build_ppo",
        trl_config="trl.experimental.ppo:PPOConfig",
        key_metrics=("objective/scores", "objective/kl", "objective/rlhf_reward", "policy/approxkl_avg",
                     "loss/value_avg", "val/num_eos_tokens", "lr"),
        key_settings=("kl_coef",), reference=True, generates=True, reward_model_in_memory=True, value_model=True,
        charts=(("objective/kl", ("objective/kl",)), ("objective/scores", ("objective/scores",)),
                ("loss/policy_avg", ("loss/policy_avg",)), ("loss/value_avg", ("loss/value_avg",))),
        headline=("objective/scores", "objective/kl"), form_settings=(*_ONLINE_FORM, "response_length"),
        resumable=False,  # TRL 1.12's PPOTrainer has its own loop and no resume_from_checkpoint
        unused_train=("max_length",), unused_train_note="completions are method.response_length tokens"),
    _group("grpo", "Group Relative Policy Optimisation", "engine.worker.trainers:build_grpo", "trl:GRPOConfig",
           reference=False),  # TRL's default beta=0 loads no reference
    _group("rloo", "REINFORCE Leave-One-Out", "engine.worker.trainers:build_rloo", "trl:RLOOConfig",
           reference=True),  # TRL's default beta=0.05 keeps one
)

METHODS: dict[str, MethodSpec] = {spec.name: spec for spec in _SPECS}
METHOD_NAMES: tuple[str, ...] = tuple(METHODS)


def method_spec(name: str | None) -> MethodSpec | None:
    """The spec of a method by name, or None for a name Reins does not know (an old or foreign run)."""
    return METHODS.get(name or "")


def methods_where(**wanted: Any) -> frozenset[str]:
    """Names of the methods whose spec has every attribute equal to the value given, e.g. `generates=True`."""
    return frozenset(s.name for s in _SPECS if all(getattr(s, k) == v for k, v in wanted.items()))


def key_metrics(method: str | None) -> tuple[str, ...]:
    """The metrics that matter for a method, in reading order (loss, grad norm and learning rate if unknown)."""
    spec = method_spec(method)
    return spec.key_metrics if spec else DEFAULT_METRICS


def charts_for(method: str | None) -> tuple[Chart, ...]:
    spec = method_spec(method)
    return spec.charts if spec else DEFAULT_CHARTS


def stage_of(method: str | None) -> str:
    spec = method_spec(method)
    return spec.stage if spec else "Other"
