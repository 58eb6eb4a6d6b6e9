"""Decoder-only architecture numbers from a config.json dict: parameter counts, linear shapes, LoRA counts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.errors import ReinsError

# Families whose blocks differ from the plain Llama layout, by config `model_type`.
FUSED_FAMILIES = frozenset({"phi3"})  # qkv_proj and gate_up_proj are single matrices
QKV_BIAS_FAMILIES = frozenset({"qwen2"})  # q/k/v projections carry a bias whatever the config says
QK_NORM_FAMILIES = frozenset({"qwen3", "olmo2"})  # RMSNorm on q and k per head
FOUR_NORM_FAMILIES = frozenset({"gemma2", "gemma3"})  # pre- and post-norms around attention and MLP
REQUIRED = ("hidden_size", "num_hidden_layers", "num_attention_heads", "vocab_size")


class ArchitectureError(ReinsError):
    """A config.json that does not describe a decoder-only transformer Reins can estimate."""


@dataclass(frozen=True)
class Linear:
    """One linear layer of a decoder block."""

    d_in: int
    d_out: int
    bias: bool = False

    @property
    def params(self) -> int:
        return self.d_in * self.d_out + (self.d_out if self.bias else 0)


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
    model_type: str = "llama"
    attn_bias: bool = False

    @classmethod
    def from_config(cls, cfg: dict[str, Any]) -> Arch:
        """Read the numbers from a config.json dict (multimodal configs nest the language model in text_config)."""
        text = cfg.get("text_config") or cfg
        missing = [k for k in REQUIRED if not text.get(k)]
        if missing:
            raise ArchitectureError(
                f"The model config lacks {', '.join(missing)}: Reins estimates decoder-only transformers whose "
                "config.json has hidden_size, num_hidden_layers, num_attention_heads and vocab_size."
            )
        experts = text.get("num_local_experts") or text.get("num_experts") or text.get("n_routed_experts")
        if experts and int(experts) > 1:
            raise ArchitectureError(
                f"The model is a mixture of experts ({experts} experts): Reins' estimate models dense decoders only, "
                "so it would be wrong by the expert count; estimate a dense model of similar size instead."
            )
        hidden = int(text["hidden_size"])
        heads = int(text["num_attention_heads"])
        model_type = str(text.get("model_type") or cfg.get("model_type") or "llama")
        values = dict(
            hidden=hidden,
            intermediate=int(text.get("intermediate_size") or 4 * hidden),
            layers=int(text["num_hidden_layers"]),
            heads=heads,
            kv_heads=int(text.get("num_key_value_heads") or heads),
            head_dim=int(text.get("head_dim") or hidden // heads),
            vocab=int(text["vocab_size"]),
            tied=bool(cfg.get("tie_word_embeddings", text.get("tie_word_embeddings", False))),
            model_type=model_type,
            attn_bias=bool(text.get("attention_bias", False)) or model_type in QKV_BIAS_FAMILIES,
        )
        bad = [k for k, v in values.items() if isinstance(v, int) and not isinstance(v, bool) and v <= 0]
        if bad:
            raise ArchitectureError(f"The model config has non-positive {', '.join(bad)}: not a usable architecture.")
        return cls(**values)

    @property
    def q_dim(self) -> int:
        return self.heads * self.head_dim

    @property
    def kv_dim(self) -> int:
        return self.kv_heads * self.head_dim

    def linears(self) -> dict[str, Linear]:
        """Every linear layer of one decoder block, by the module name PEFT matches."""
        h, i, q, kv = self.hidden, self.intermediate, self.q_dim, self.kv_dim
        if self.model_type in FUSED_FAMILIES:
            return {"qkv_proj": Linear(h, q + 2 * kv, self.attn_bias), "o_proj": Linear(q, h),
                    "gate_up_proj": Linear(h, 2 * i), "down_proj": Linear(i, h)}
        o_bias = self.attn_bias and self.model_type not in QKV_BIAS_FAMILIES
        return {
            "q_proj": Linear(h, q, self.attn_bias), "k_proj": Linear(h, kv, self.attn_bias),
            "v_proj": Linear(h, kv, self.attn_bias), "o_proj": Linear(q, h, o_bias),
            "gate_proj": Linear(h, i), "up_proj": Linear(h, i), "down_proj": Linear(i, h),
        }

    def linear_shapes(self) -> dict[str, tuple[int, int]]:
        """(in, out) of each linear layer in one decoder block."""
        return {n: (lin.d_in, lin.d_out) for n, lin in self.linears().items()}

    @property
    def linear_params(self) -> int:
        """Parameters of the block linears (weights and biases): the part bitsandbytes quantizes."""
        return sum(lin.params for lin in self.linears().values()) * self.layers

    @property
    def embedding_params(self) -> int:
        """Input embedding plus an untied lm_head."""
        return self.vocab * self.hidden * (1 if self.tied else 2)

    @property
    def norm_params(self) -> int:
        per_layer = (4 if self.model_type in FOUR_NORM_FAMILIES else 2) * self.hidden
        if self.model_type in QK_NORM_FAMILIES:
            per_layer += 2 * self.head_dim
        return per_layer * self.layers + self.hidden

    @property
    def params(self) -> int:
        return self.linear_params + self.embedding_params + self.norm_params

    @property
    def layer_params(self) -> int:
        """Parameters of one decoder block (what ZeRO-3/FSDP gathers at a time)."""
        return (self.linear_params + self.norm_params - self.hidden) // self.layers

    def lora_targets(self, targets: str | list[str] | tuple[str, ...]) -> list[str]:
        """Module names that LoRA adapts, as PEFT resolves them (an error only when no name matches, as in PEFT)."""
        known = self.linears()
        if targets == "all-linear":
            return list(known)  # PEFT's all-linear: every linear except the output layer
        if isinstance(targets, str):
            targets = [targets]
        extra = {"lm_head", "embed_tokens"}
        matched = [t for t in targets if t in known or t in extra]
        if not matched:  # like PEFT, which fails only when no target matches at all
            raise ArchitectureError(
                f"lora.target_modules names {', '.join(map(repr, targets))}, which a {self.model_type} block does not "
                f"have (it has {', '.join(known)}; also lm_head, embed_tokens, or all-linear)."
            )
        return list(dict.fromkeys(matched))

    def lora_params(self, r: int, targets: str | list[str] | tuple[str, ...]) -> int:
        """Trainable LoRA parameters: r·(d_in + d_out) for every adapted matrix (the same count as PEFT's)."""
        known = self.linears()
        total = 0
        for name in self.lora_targets(targets):
            if name in known:
                total += r * (known[name].d_in + known[name].d_out) * self.layers
            else:  # lm_head (Linear h→V) and embed_tokens (Embedding: A is r×V, B is h×r)
                total += r * (self.hidden + self.vocab)
        return total
