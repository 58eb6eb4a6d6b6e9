"""Peak GPU memory estimate, term by term, from a training setup and an architecture (pure arithmetic, no torch)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from engine.errors import ReinsError
from engine.estimate.arch import Arch
from engine.recipe.methods import METHODS
from engine.recipe.schema import Recipe

__all__ = ["Arch", "Setup", "Term", "Estimate", "estimate_setup", "setup_from_recipe", "detect_gpu_memory_gib",
           "STRATEGIES", "TERM_HELP", "EstimateError"]

GIB = 1024**3
CUDA_CONTEXT_BYTES = int(0.5 * GIB)  # CUDA context, kernels and cuBLAS workspace: outside torch's allocator
FRAGMENTATION = 0.10  # allocator slack on the short-lived tensors (activations, logits)
STRATEGIES = ("ddp", "zero1", "zero2", "zero3", "fsdp")
OPTIMIZERS = ("adamw_torch", "adamw_torch_fused", "adamw_8bit", "paged_adamw_8bit", "paged_adamw_32bit", "sgd")


TERM_HELP: dict[str, str] = {
    "weights": "Base weights on each GPU: block linears × (2 B bf16 | 1 B + row scales int8 | 0.5 B + quant "
               "constants NF4), embeddings, lm_head and norms stay 16-bit under bitsandbytes; ÷ GPUs under "
               "ZeRO-3/FSDP plus two gathered layers.",
    "trainable states": "Separate trainable weights: LoRA adapters r·(d_in+d_out) per adapted matrix (fp32 on a "
                        "16-bit base, bf16 under QLoRA); zero for full fine-tuning (the weights are the trainables).",
    "gradients": "One gradient per trainable parameter, in the trainable dtype; ÷ GPUs under ZeRO-2/3/FSDP; "
                 "DDP on several GPUs adds bucket copies of the same size.",
    "optimizer": "AdamW keeps m and v in the parameter's dtype (2 × bytes); 8-bit AdamW ≈ 2 B; paged variants "
                 "can spill to CPU under pressure but count fully here; SGD 0; ÷ GPUs under ZeRO-1/2/3/FSDP.",
    "activations": "Saved tensors per token per layer ≈ 16h + 6q + 6kv + 8i bytes at 16-bit (norm inputs, q/k/v, "
                   "attention output, SwiGLU gate/up/act/product; Liger: 8h + 6q + 6kv + 6i) × layers; with "
                   "gradient checkpointing: 2h per layer + two layers' working set; eager attention adds "
                   "2 × heads × s² × 2 B per sequence per layer; generation methods take the larger of this "
                   "and the KV cache.",
    "logits": "Tokens × vocab × (16-bit logits + fp32 upcast + fp32 log-softmax) for cross-entropy, or "
              "× 4 × 16-bit for per-row log-probs (DPO family); Liger's fused linear cross-entropy only "
              "materialises one chunk of rows.",
    "extra models": "Frozen reference policy (full fine-tuning without precompute_ref_log_probs), PPO's frozen "
                    "reward model and its fully trained value model (weights + gradients + optimiser).",
    "overhead": "CUDA context ≈ 0.5 GiB (outside torch's allocator) + 10% allocator slack on activations and "
                "logits + autocast's 16-bit copies of fp32 weights.",
}


class EstimateError(ReinsError):
    """Inputs the estimate cannot work with (negative sizes, unknown method, optimiser or strategy)."""


def check_gpu_memory(gib: float | None) -> None:
    """Raise EstimateError for a GPU size no GPU has (zero, negative or not finite); None means "detect it"."""
    if gib is not None and not (math.isfinite(gib) and gib > 0):
        raise EstimateError(f"GPU memory must be a positive number of GiB (got {gib:g}): give the size of the GPU "
                            "to judge against, e.g. --gpu-memory 24, or leave it out to use the detected GPU.")


@dataclass(frozen=True)
class Setup:
    """Everything about a training job that decides its memory (a recipe plus options it has no field for yet)."""

    method: str = "sft"
    micro_batch: int = 1
    max_length: int = 512
    prompt_length: int | None = None  # generation methods: prompt tokens (default: half of max_length)
    response_length: int | None = None  # generation methods: sampled tokens (default: the rest)
    lora_r: int | None = None  # None: full fine-tuning
    lora_targets: str | tuple[str, ...] = "all-linear"
    lora_dropout: float = 0.05
    quantization: str = "none"  # none | 8bit | 4bit (NF4)
    double_quant: bool = True
    weight_bytes: int = 2  # 2: bf16/fp16 load, 4: fp32 load
    compute_bytes: int = 2  # 2: bf16/fp16 autocast, 4: fp32
    optimizer: str = "adamw_torch"
    gradient_checkpointing: bool = False
    precompute_ref_log_probs: bool = False
    reference: bool | None = None  # force a reference model on/off (e.g. GRPO with beta > 0); None: method default
    liger: bool = False
    padding_free: bool = False  # counted as padded anyway: every sequence at max_length is the worst case of both
    gpus: int = 1
    strategy: str = "ddp"
    offload: str = "none"  # "optimizer" | "params": states (and weights) live in host memory
    attention: str = "sdpa"  # sdpa | flash_attention_2 | eager

    def check(self) -> None:
        """Raise EstimateError on inputs no training run could have."""
        problems = []
        if self.method not in METHODS:
            problems.append(f"method: unknown {self.method!r} (known: {', '.join(METHODS)})")
        for name in ("micro_batch", "max_length", "gpus"):
            if getattr(self, name) <= 0:
                problems.append(f"{name}: must be positive (got {getattr(self, name)})")
        for name in ("prompt_length", "response_length"):
            v = getattr(self, name)
            if v is not None and v <= 0:
                problems.append(f"{name}: must be positive (got {v})")
        if self.lora_r is not None and self.lora_r <= 0:
            problems.append(f"lora_r: must be positive (got {self.lora_r})")
        if self.quantization not in ("none", "8bit", "4bit"):
            problems.append(f"quantization: one of none, 8bit, 4bit (got {self.quantization!r})")
        elif self.quantization != "none" and self.lora_r is None:
            problems.append("quantization: quantized weights cannot be trained directly; use LoRA (QLoRA)")
        if self.optimizer not in OPTIMIZERS:
            problems.append(f"optimizer: one of {', '.join(OPTIMIZERS)} (got {self.optimizer!r})")
        if self.strategy not in STRATEGIES:
            problems.append(f"strategy: one of {', '.join(STRATEGIES)} (got {self.strategy!r})")
        if self.weight_bytes not in (2, 4) or self.compute_bytes not in (2, 4):
            problems.append("weight_bytes and compute_bytes: 2 or 4")
        if problems:
            raise EstimateError("Cannot estimate memory for these settings:", problems)


def setup_from_recipe(recipe: Recipe, **options: Any) -> Setup:
    """The Setup a recipe describes; `options` set what the schema has no field for (liger, gpus, strategy, …)."""
    t, m = recipe.train, recipe.method
    weight_b = 4 if recipe.model.dtype == "float32" else 2  # auto means bf16 on a GPU
    compute_b = 4 if (t.precision == "fp32" or (recipe.model.dtype == "float32" and t.precision == "auto")) else 2
    targets = recipe.lora.target_modules if recipe.lora else "all-linear"
    from engine.launching.distributed import resolve_num_processes

    base = Setup(
        method=m.name,
        micro_batch=t.batch_size,
        max_length=t.max_length,
        lora_r=recipe.lora.r if recipe.lora else None,
        lora_targets=targets if isinstance(targets, str) else tuple(targets),
        lora_dropout=recipe.lora.dropout if recipe.lora else 0.0,
        quantization=recipe.model.quantization,
        weight_bytes=weight_b,
        compute_bytes=compute_b,
        optimizer=t.optimizer,
        gradient_checkpointing=t.gradient_checkpointing,
        # what a method has no Reins setting for, method.trl may switch on (KTO's precompute_ref_log_probs)
        precompute_ref_log_probs=bool(getattr(m, "precompute_ref_log_probs", False)
                                      or m.trl.get("precompute_ref_log_probs")),
        liger=bool(m.trl.get("use_liger_kernel")),
        padding_free=bool(m.trl.get("padding_free")),
        reference=METHODS[m.name].needs_reference(m),
        gpus=resolve_num_processes(recipe) * recipe.distributed.num_machines,
        strategy=recipe.distributed.strategy,
        offload=recipe.distributed.offload,
        attention="eager" if recipe.model.attn_implementation == "eager" else "sdpa",
    )
    options = {k: v for k, v in options.items() if v is not None}
    unknown = set(options) - set(Setup.__dataclass_fields__)
    if unknown:
        raise EstimateError(f"Unknown estimate options: {', '.join(sorted(unknown))}.")
    return replace(base, **options)


@dataclass
class Term:
    """One line of the breakdown: its bytes, the formula with this job's numbers, and the general rule."""

    name: str
    bytes: int
    formula: str
    help: str = ""

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
    def allocator_bytes(self) -> int:
        """What torch.cuda.max_memory_reserved() should show: the total without the CUDA context."""
        return self.total_bytes - int(self.assumptions.get("cuda_context_bytes", 0))

    def term(self, name: str) -> Term:
        return next(t for t in self.terms if t.name == name)

    @property
    def verdict(self) -> str | None:
        if not self.gpu_memory_gib:
            return None
        return verdict_for(self.total_gib, self.gpu_memory_gib)

    def to_dict(self) -> dict[str, Any]:
        return {
            "total_bytes": self.total_bytes,
            "total_gib": round(self.total_gib, 3),
            "allocator_gib": round(self.allocator_bytes / GIB, 3),
            "terms": [{**asdict(t), "gib": round(t.gib, 3)} for t in self.terms],
            "params": self.params,
            "trainable_params": self.trainable_params,
            "gpu_memory_gib": self.gpu_memory_gib,
            "verdict": self.verdict,
            "suggestions": self.suggestions,
            "assumptions": self.assumptions,
        }


def verdict_for(total_gib: float, gpu_gib: float) -> str:
    """fits (≤ 85% of the GPU), tight (≤ 100%), won't fit."""
    ratio = total_gib / gpu_gib
    return "fits" if ratio <= 0.85 else "tight" if ratio <= 1.0 else "won't fit"


def _linear_weight_bytes(arch: Arch, quant: str, double_quant: bool, wb: int) -> tuple[float, str]:
    """Bytes of the block linears, and a formula for them."""
    lin = arch.linears()
    n = sum(x.d_in * x.d_out for x in lin.values()) * arch.layers
    bias = sum(x.d_out for x in lin.values() if x.bias) * arch.layers
    if quant == "4bit":
        # NF4 packs two weights per byte; one absmax per 64 weights: fp32, or int8 + an fp32 per 256 blocks.
        const = (1 / 64 + 4 / (64 * 256)) if double_quant else 4 / 64
        rule = "double quant" if double_quant else "fp32 absmax/64"
        return n * (0.5 + const) + bias * wb, f"NF4 {0.5 + const:.4f} B ({rule})"
    if quant == "8bit":
        rows = sum(x.d_out for x in lin.values()) * arch.layers
        return n + rows * 4 + bias * wb, "int8 1 B + fp32 scale per row"
    return float((n + bias) * wb), f"{wb} B"


def estimate_setup(arch: Arch, s: Setup, gpu_memory_gib: float | None = None) -> Estimate:
    """Peak memory per GPU for training `s` on `arch`, term by term."""
    s.check()
    spec = METHODS[s.method]
    lora = s.lora_r is not None
    wb, cb, n_gpu = s.weight_bytes, s.compute_bytes, s.gpus
    shard_w = n_gpu if s.strategy in ("zero3", "fsdp") else 1
    shard_g = n_gpu if s.strategy in ("zero2", "zero3", "fsdp") else 1
    shard_o = n_gpu if s.strategy != "ddp" else 1

    # -- weights
    lin_bytes, lin_rule = _linear_weight_bytes(arch, s.quantization, s.double_quant, wb)
    other = arch.embedding_params + arch.norm_params  # bitsandbytes leaves these 16-bit
    base_weights = lin_bytes + other * wb
    gathered = 2 * arch.layer_params * wb if shard_w > 1 else 0  # ZeRO-3/FSDP gathers a layer, prefetches the next
    weights = base_weights / shard_w + gathered
    if s.offload == "params" and shard_w > 1:
        weights = gathered  # ZeRO-3/FSDP param offload: only the gathered layers are on the GPU
    w_formula = f"{arch.params / 1e6:,.1f}M params: block linears × {lin_rule}, embeddings/norms × {wb} B"
    if shard_w > 1:
        w_formula += f", ÷ {n_gpu} GPUs + 2 gathered layers"

    # -- trainable parameters and their dtype
    if lora:
        trainable = arch.lora_params(s.lora_r, s.lora_targets)
        pb = 2 if s.quantization != "none" else 4  # TRL casts QLoRA adapters to bf16; PEFT upcasts LoRA to fp32
        states = trainable * pb / shard_w
        st_formula = f"LoRA r={s.lora_r}: {trainable / 1e6:,.2f}M adapter params × {pb} B"
    else:
        trainable = arch.params
        pb = wb
        states = 0
        st_formula = "full fine-tuning: the trainable weights are the weights above"
    grads = trainable * pb / shard_g
    g_formula = f"{trainable / 1e6:,.2f}M × {pb} B" + (f" ÷ {n_gpu} GPUs" if shard_g > 1 else "")
    if n_gpu > 1 and s.strategy == "ddp":
        grads += trainable * pb  # DDP's reducer keeps gradient buckets the size of all gradients
        g_formula += " + the same again in DDP buckets"
    optim_b = {"sgd": 0.0, "adamw_8bit": 2.0, "paged_adamw_8bit": 2.0, "paged_adamw_32bit": 8.0}.get(
        s.optimizer, 2.0 * pb)
    optim = trainable * optim_b / shard_o
    o_formula = f"{trainable / 1e6:,.2f}M × {optim_b:g} B ({s.optimizer})" + (
        f" ÷ {n_gpu} GPUs" if shard_o > 1 else "")
    if s.offload != "none":
        # Offloaded states sit in host RAM (reported in the formula), not on the GPU.
        o_formula += f" — offloaded to host RAM ({optim / 1024**3:.2f} GiB there)"
        optim = 0

    # -- activations
    seqs = s.micro_batch * spec.sequences_per_example
    length = response = s.max_length
    if spec.generates:
        prompt = s.prompt_length or s.max_length // 2
        response = s.response_length or max(1, s.max_length - prompt)
        length = prompt + response
    tokens = seqs * length
    h, i, q, kv = arch.hidden, arch.intermediate, arch.q_dim, arch.kv_dim
    per_tok = (8 * h + 6 * q + 6 * kv + 6 * i) if s.liger else (16 * h + 6 * q + 6 * kv + 8 * i)
    if lora and s.lora_dropout > 0:
        lin = arch.linears()
        # PEFT's dropout on each adapted module's input keeps its output and a 1-byte mask.
        per_tok += sum((cb + 1) * lin[n].d_in for n in arch.lora_targets(s.lora_targets) if n in lin)
    per_tok = per_tok * cb / 2
    attn_eager = 2 * 2 * arch.heads * length * length * seqs * cb / 2 if s.attention == "eager" else 0
    layer_act = tokens * per_tok + attn_eager
    if s.gradient_checkpointing:
        act = arch.layers * tokens * h * cb + 2 * layer_act
        a_formula = f"checkpointed: {arch.layers} layers × tokens × h × {cb} B + 2 layers' working set"
    else:
        act = arch.layers * layer_act + 2 * tokens * h * cb
        a_formula = f"{arch.layers} layers × tokens × {per_tok:,.0f} B/token" + (" (Liger)" if s.liger else "")
    if s.quantization != "none":
        biggest = max(x.d_in * x.d_out for x in arch.linears().values())
        act += 2 * biggest * cb  # bitsandbytes dequantizes one weight (and its backward twin) at a time
    a_formula += f"; tokens = {seqs} seqs × {length}"
    if s.padding_free:  # batches then hold real tokens only: each at max_length stays the upper bound
        a_formula += " (padding-free: at most this)"
    if attn_eager:
        a_formula += " + eager attention scores"
    if spec.generates:
        kv_cache = 2 * arch.layers * kv * cb * tokens
        if kv_cache > act:
            a_formula = f"generation KV cache 2·L·kv·{cb} B × {tokens} tokens (larger than training activations)"
        act = max(act, kv_cache)

    # -- logits
    logit_tokens = seqs * response  # generation methods score the sampled tokens only
    if spec.logits == "scalar":
        logits = seqs * length * 4 * 3  # a scalar head per token
        l_formula = "scalar reward head: negligible"
    elif s.liger:
        # Liger's fused linear cross-entropy: one chunk of rows at a time, plus an fp32 gradient of the hidden states.
        chunk = 2 ** math.ceil(math.log2(max(1, math.ceil(logit_tokens / math.ceil(arch.vocab / h)))))
        logits = chunk * arch.vocab * (4 + cb) + logit_tokens * h * 4
        l_formula = f"Liger fused linear cross-entropy: chunk of {chunk} rows × V={arch.vocab:,} × {4 + cb} B"
    else:
        per = (cb + 4 + 4) if spec.logits == "ce" else 4 * cb
        logits = logit_tokens * arch.vocab * per
        what = "16-bit logits + fp32 upcast + fp32 log-softmax" if spec.logits == "ce" \
            else "logits, per-row log-softmax and their gradients"
        l_formula = f"{logit_tokens:,} tokens × V={arch.vocab:,} × {per} B ({what})"

    # -- extra models
    extra = 0.0
    notes = []
    needs_ref = spec.reference if s.reference is None else s.reference
    if needs_ref:
        if s.precompute_ref_log_probs:
            notes.append("reference: log-probs precomputed before training (no model held)")
        elif lora:
            notes.append("reference: the base with adapters disabled (no second copy)")
        else:
            extra += base_weights / shard_w
            notes.append(f"frozen reference {base_weights / shard_w / GIB:.2f} GiB")
    if spec.reward_model_in_memory:
        rm = (arch.params - (0 if arch.tied else arch.vocab * h)) * cb / shard_w
        extra += rm
        notes.append(f"frozen reward model {rm / GIB:.2f} GiB")
    if spec.value_model:
        vp = arch.params - (0 if arch.tied else arch.vocab * h)
        value = vp * cb / shard_w + vp * cb / shard_g + vp * 2 * cb / shard_o
        extra += value
        notes.append(f"value model trained fully {value / GIB:.2f} GiB (weights + grads + AdamW)")
    e_formula = "; ".join(notes) or "none needed"

    # -- overhead
    slack = FRAGMENTATION * (act + logits)
    autocast = arch.linear_params * cb / shard_w if (wb == 4 and cb == 2 and s.quantization == "none") else 0
    overhead = CUDA_CONTEXT_BYTES + slack + autocast
    ov_formula = f"CUDA context 0.5 GiB + 10% slack on activations/logits {slack / GIB:.2f} GiB"
    if autocast:
        ov_formula += f" + autocast 16-bit weight copies {autocast / GIB:.2f} GiB"

    values = [("weights", weights, w_formula), ("trainable states", states, st_formula),
              ("gradients", grads, g_formula), ("optimizer", optim, o_formula), ("activations", act, a_formula),
              ("logits", logits, l_formula), ("extra models", extra, e_formula), ("overhead", overhead, ov_formula)]
    terms = [Term(name, int(b), f, TERM_HELP[name]) for name, b, f in values]
    return Estimate(
        terms=terms, params=arch.params, trainable_params=trainable, gpu_memory_gib=gpu_memory_gib,
        assumptions={**asdict(s), "sequences_per_step": seqs, "tokens_per_sequence": length,
                     "cuda_context_bytes": CUDA_CONTEXT_BYTES,
                     "note": "every sequence padded to max_length; all terms held at once (an upper bound)"},
    )


def detect_gpu_memory_gib() -> float | None:
    """Total memory of GPU 0 via NVML, or None without an NVIDIA GPU (never imports torch)."""
    from engine.estimate.gpus import read_gpus

    gpus = read_gpus()
    return gpus[0].total_gib if gpus else None
