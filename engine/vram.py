"""Peak GPU memory estimate, term by term, from a recipe and the model's config.json (pure arithmetic, no torch)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from engine.schema import PREFERENCE_METHODS, Recipe

GIB = 1024**3
OVERHEAD_BYTES = int(1.0 * GIB)  # CUDA context (~0.5 GiB) plus allocator slack
LINEAR_NAMES = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


@dataclass(frozen=True)
class Arch:
    """The numbers of a decoder-only transformer that memory depends on."""

    hidden: int
    intermediate: int
    layers: int
    heads: int
    kv_heads: int
    head_dim: int
    vocab: int
    tied: bool
    attn_bias: bool = False

    @classmethod
    def from_config(cls, cfg: dict[str, Any]) -> Arch:
        text = cfg.get("text_config") or cfg  # multimodal configs nest the language model
        hidden = int(text["hidden_size"])
        heads = int(text["num_attention_heads"])
        return cls(
            hidden=hidden,
            intermediate=int(text.get("intermediate_size") or 4 * hidden),
            layers=int(text["num_hidden_layers"]),
            heads=heads,
            kv_heads=int(text.get("num_key_value_heads") or heads),
            head_dim=int(text.get("head_dim") or hidden // heads),
            vocab=int(text["vocab_size"]),
            tied=bool(cfg.get("tie_word_embeddings", text.get("tie_word_embeddings", False))),
            attn_bias=bool(text.get("attention_bias", text.get("model_type") == "qwen2")),
        )

    def linear_shapes(self) -> dict[str, tuple[int, int]]:
        """(in, out) of each linear layer in one decoder block."""
        q, kv = self.heads * self.head_dim, self.kv_heads * self.head_dim
        h, i = self.hidden, self.intermediate
        return {
            "q_proj": (h, q), "k_proj": (h, kv), "v_proj": (h, kv), "o_proj": (q, h),
            "gate_proj": (h, i), "up_proj": (h, i), "down_proj": (i, h),
        }

    @property
    def linear_params(self) -> int:
        per_layer = sum(a * b for a, b in self.linear_shapes().values())
        if self.attn_bias:
            per_layer += (self.heads + 2 * self.kv_heads) * self.head_dim
        return per_layer * self.layers

    @property
    def embedding_params(self) -> int:
        return self.vocab * self.hidden * (1 if self.tied else 2)

    @property
    def norm_params(self) -> int:
        return self.hidden * (2 * self.layers + 1)

    @property
    def params(self) -> int:
        return self.linear_params + self.embedding_params + self.norm_params

    def lora_params(self, r: int, targets: str | list[str]) -> int:
        """Trainable LoRA parameters: r·(d_in + d_out) for every adapted matrix (PEFT's `all-linear` skips lm_head)."""
        names = LINEAR_NAMES if targets == "all-linear" else [t for t in targets if t in LINEAR_NAMES]
        shapes = self.linear_shapes()
        return sum(r * (shapes[n][0] + shapes[n][1]) for n in names) * self.layers


@dataclass
class Term:
    """One line of the breakdown."""

    name: str
    bytes: int
    formula: str

    @property
    def gib(self) -> float:
        return self.bytes / GIB


@dataclass
class Estimate:
    """The whole estimate: terms, total, and (when a GPU size is known) a verdict with suggested changes."""

    terms: list[Term]
    params: int
    trainable_params: int
    assumptions: dict[str, Any]
    gpu_memory_gib: float | None = None
    suggestions: list[dict[str, Any]] = field(default_factory=list)

    @property
    def total_bytes(self) -> int:
        return sum(t.bytes for t in self.terms)

    @property
    def total_gib(self) -> float:
        return self.total_bytes / GIB

    @property
    def verdict(self) -> str | None:
        if not self.gpu_memory_gib:
            return None
        ratio = self.total_gib / self.gpu_memory_gib
        return "fits" if ratio <= 0.85 else "tight" if ratio <= 1.0 else "won't fit"

    def to_dict(self) -> dict[str, Any]:
        return {
            "total_bytes": self.total_bytes,
            "total_gib": round(self.total_gib, 3),
            "terms": [{**asdict(t), "gib": round(t.gib, 3)} for t in self.terms],
            "params": self.params,
            "trainable_params": self.trainable_params,
            "gpu_memory_gib": self.gpu_memory_gib,
            "verdict": self.verdict,
            "suggestions": self.suggestions,
            "assumptions": self.assumptions,
        }


def _weight_bytes(recipe: Recipe) -> float:
    dtype = recipe.model.dtype
    return 4.0 if dtype == "float32" else 2.0  # auto means bf16 on a GPU


def estimate(recipe: Recipe, config: dict[str, Any], gpu_memory_gib: float | None = None,
             with_suggestions: bool = True) -> Estimate:
    """Peak memory per GPU for training `recipe` on the architecture in `config`."""
    arch = Arch.from_config(config)
    t, m = recipe.train, recipe.method
    wb = _weight_bytes(recipe)
    compute_b = 4.0 if (recipe.train.precision == "fp32" or recipe.model.dtype == "float32") else 2.0
    quant = recipe.model.quantization
    lin_b = {"none": wb, "8bit": 1.0, "4bit": 0.5 + 0.0625}[quant]  # NF4: 4 bits + one fp32 absmax per 64
    sixteen_bit = arch.embedding_params + arch.norm_params  # stay 16-bit under bitsandbytes
    weights = int(arch.linear_params * lin_b + sixteen_bit * wb)

    if recipe.lora is not None:
        trainable = arch.lora_params(recipe.lora.r, recipe.lora.target_modules)
        # PEFT keeps adapters in fp32 even on a 16-bit base: weight 4 + grad 4 + Adam m, v 8.
        weight_b, grad_b = 4.0, 4.0
        adapters_note = f"LoRA r={recipe.lora.r}: r·(d_in+d_out) per adapted matrix"
    else:
        trainable = arch.params
        weight_b, grad_b = 0.0, wb  # the weights themselves are already counted above
        adapters_note = "full fine-tuning: every parameter"
    optim_b = {"adamw_torch": 2 * max(weight_b, wb) if recipe.lora is None else 8.0,
               "paged_adamw_32bit": 8.0, "adamw_8bit": 2.0, "paged_adamw_8bit": 2.0, "sgd": 0.0}[t.optimizer]

    seqs = t.batch_size * (2 if m.name in PREFERENCE_METHODS else 1)  # chosen + rejected in one forward
    s, h = t.max_length, arch.hidden
    scale = compute_b / 2.0
    if t.gradient_checkpointing:
        act = (2 * s * seqs * h * arch.layers + 34 * s * seqs * h) * scale
        act_formula = "2·s·b·h per layer (checkpointed inputs) + 34·s·b·h for the layer being recomputed"
    else:
        act = 34 * s * seqs * h * arch.layers * scale
        act_formula = "34·s·b·h bytes per layer (fused attention, no recomputation)"
    logits = seqs * s * arch.vocab * (compute_b + 4 + 4)

    ref = 0
    ref_formula = "none needed"
    if m.name in PREFERENCE_METHODS:
        if getattr(m, "precompute_ref_log_probs", False):
            ref_formula = "precompute_ref_log_probs: reference log-probs computed before training"
        elif recipe.lora is not None:
            ref_formula = "LoRA: the reference is the base with adapters disabled (no second copy)"
        else:
            ref = weights
            ref_formula = "full fine-tuning: a frozen copy of the weights"

    terms = [
        Term("weights", weights,
             f"{arch.params / 1e6:.1f}M params × {lin_b:g} B (linear) / {wb:g} B (embeddings, norms)"),
        Term("trainable", int(trainable * weight_b),
             f"{trainable / 1e6:.2f}M trainable × {weight_b:g} B ({adapters_note})"),
        Term("gradients", int(trainable * grad_b), f"{trainable / 1e6:.2f}M × {grad_b:g} B"),
        Term("optimizer", int(trainable * optim_b), f"{trainable / 1e6:.2f}M × {optim_b:g} B ({t.optimizer})"),
        Term("activations", int(act), f"{act_formula}; s={s}, b={seqs} sequences, h={h}, ×{scale:g} for precision"),
        Term("logits", int(logits), f"b·s·V·({compute_b:g}+4+4) B; b={seqs}, s={s}, V={arch.vocab}"),
        Term("reference model", int(ref), ref_formula),
        Term("overhead", OVERHEAD_BYTES, "CUDA context and allocator slack (~1 GiB)"),
    ]
    est = Estimate(
        terms=terms,
        params=arch.params,
        trainable_params=trainable,
        gpu_memory_gib=gpu_memory_gib,
        assumptions={"sequences_per_step": seqs, "max_length": s, "weight_bytes": wb, "compute_bytes": compute_b},
    )
    if with_suggestions and gpu_memory_gib and est.verdict != "fits":
        est.suggestions = suggest(recipe, config, est.total_bytes)
    return est


def suggest(recipe: Recipe, config: dict[str, Any], baseline: int, top: int = 2) -> list[dict[str, Any]]:
    """The changes that save the most memory, each as a `--set` override with its saving."""
    candidates: list[tuple[str, dict[str, Any]]] = []
    if not recipe.train.gradient_checkpointing:
        candidates.append(("gradient checkpointing", {"train.gradient_checkpointing": True}))
    if recipe.model.quantization == "none":
        if recipe.lora is None:
            candidates.append(("LoRA instead of full fine-tuning", {"lora": {}}))
        candidates.append(("4-bit base weights (QLoRA)", {"model.quantization": "4bit", "lora": recipe.lora or {}}))
    if recipe.train.batch_size > 1:
        half = recipe.train.batch_size // 2
        candidates.append((f"batch_size {half} with grad_accum ×2",
                           {"train.batch_size": half, "train.grad_accum": recipe.train.grad_accum * 2}))
    if recipe.method.name in PREFERENCE_METHODS and recipe.lora is None:
        candidates.append(("precompute reference log-probs", {"method.precompute_ref_log_probs": True}))
    if recipe.train.optimizer == "adamw_torch":
        candidates.append(("8-bit AdamW", {"train.optimizer": "adamw_8bit"}))

    results = []
    for label, changes in candidates:
        raw = recipe.model_dump()
        for key, value in changes.items():
            node = raw
            *parents, last = key.split(".")
            for p in parents:
                node = node[p]
            node[last] = value
        try:
            changed = Recipe.model_validate(raw)
        except ValueError:
            continue
        saved = baseline - estimate(changed, config, with_suggestions=False).total_bytes
        if saved > 0:
            overrides = [f"{k}={_yaml_value(v)}" for k, v in changes.items() if k != "lora"]
            results.append({"change": label, "saves_gib": round(saved / GIB, 2), "set": overrides})
    results.sort(key=lambda r: -r["saves_gib"])
    return results[:top]


def _yaml_value(v: Any) -> str:
    return str(v).lower() if isinstance(v, bool) else str(v)


def detect_gpu_memory_gib() -> float | None:
    """Total memory of GPU 0 via NVML, or None without an NVIDIA GPU (never imports torch)."""
    try:
        import pynvml
    except ImportError:
        return None
    try:
        pynvml.nvmlInit()
        try:
            handle = pynvml.nvmlDeviceGetHandleByIndex(0)
            return pynvml.nvmlDeviceGetMemoryInfo(handle).total / GIB
        finally:
            pynvml.nvmlShutdown()
    except pynvml.NVMLError:
        return None
