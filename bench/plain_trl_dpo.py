"""Baseline for the overhead bench: the bundled DPO recipe's settings as a plain TRL script (no Reins).

    python bench/plain_trl_dpo.py MODEL TRAIN STEPS BATCH MAX_LENGTH LR OUT [--dtype bfloat16] [--liger] ...

The options mirror what a Reins recipe can set (bench/gpu_check.py passes the same values to both sides).
"""

from __future__ import annotations

import argparse
import json
import time

import torch
from datasets import Dataset
from peft import LoraConfig
from transformers import AutoModelForCausalLM, AutoTokenizer
from trl import DPOConfig, DPOTrainer

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}


def main(model_dir: str, train_file: str, steps: int, batch: int, max_length: int, lr: float, out_dir: str,
         dtype: str = "float32", liger: bool = False, precompute_ref: bool = False, attn: str | None = None,
         lora_dropout: float = 0.0, gradient_checkpointing: bool = False) -> None:
    rows = [json.loads(line) for line in open(train_file)]
    ds = Dataset.from_list([{k: r[k] for k in ("prompt", "chosen", "rejected")} for r in rows])
    tok = AutoTokenizer.from_pretrained(model_dir)
    extra = {"attn_implementation": attn} if attn else {}
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=DTYPES[dtype], **extra)
    args = DPOConfig(output_dir=out_dir, max_steps=steps, per_device_train_batch_size=batch, learning_rate=lr,
                     lr_scheduler_type="cosine", warmup_steps=0.1, max_length=max_length, logging_steps=1,
                     gradient_checkpointing=gradient_checkpointing, bf16=dtype == "bfloat16", report_to="none",
                     save_strategy="no", disable_tqdm=True, seed=42, data_seed=42, beta=0.1, loss_type=["sigmoid"],
                     use_liger_kernel=liger, precompute_ref_log_probs=precompute_ref)
    peft = LoraConfig(r=16, lora_alpha=32, lora_dropout=lora_dropout, target_modules="all-linear",
                      task_type="CAUSAL_LM")
    trainer = DPOTrainer(model=model, args=args, train_dataset=ds, processing_class=tok, peft_config=peft)
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    out = trainer.train()
    wall = time.perf_counter() - t0
    peaks = {"peak_mem_gb": torch.cuda.max_memory_reserved() / 1024**3,
             "peak_mem_allocated_gb": torch.cuda.max_memory_allocated() / 1024**3} if torch.cuda.is_available() else {}
    print(json.dumps({"train_runtime": out.metrics["train_runtime"], "steps": steps, "wall_s": wall,
                      "s_per_step": out.metrics["train_runtime"] / steps, **peaks}))


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name in ("model_dir", "train_file"):
        ap.add_argument(name)
    ap.add_argument("steps", type=int)
    ap.add_argument("batch", type=int)
    ap.add_argument("max_length", type=int)
    ap.add_argument("lr", type=float)
    ap.add_argument("out_dir")
    ap.add_argument("--dtype", choices=sorted(DTYPES), default="float32")
    ap.add_argument("--liger", action="store_true", help="TRL's use_liger_kernel")
    ap.add_argument("--precompute-ref", action="store_true", help="TRL's precompute_ref_log_probs")
    ap.add_argument("--attn", default=None, help="attn_implementation (default: transformers' choice)")
    ap.add_argument("--lora-dropout", type=float, default=0.0)
    ap.add_argument("--gradient-checkpointing", action="store_true")
    main(**vars(ap.parse_args()))
