"""Baseline for the overhead bench: the bundled DPO recipe's settings as a plain TRL script (no Reins)."""

from __future__ import annotations

import json
import sys
import time

import torch
from datasets import Dataset
from peft import LoraConfig
from transformers import AutoModelForCausalLM, AutoTokenizer
from trl import DPOConfig, DPOTrainer


def main(model_dir: str, train_file: str, steps: int, batch: int, max_length: int, lr: float, out_dir: str) -> None:
    rows = [json.loads(line) for line in open(train_file)]
    ds = Dataset.from_list([{k: r[k] for k in ("prompt", "chosen", "rejected")} for r in rows])
    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    args = DPOConfig(output_dir=out_dir, max_steps=steps, per_device_train_batch_size=batch, learning_rate=lr,
                     lr_scheduler_type="cosine", warmup_steps=0.1, max_length=max_length, logging_steps=1,
                     gradient_checkpointing=False, bf16=False, report_to="none", save_strategy="no",
                     disable_tqdm=True, seed=42, data_seed=42, beta=0.1, loss_type=["sigmoid"])
    peft = LoraConfig(r=16, lora_alpha=32, lora_dropout=0.0, target_modules="all-linear", task_type="CAUSAL_LM")
    trainer = DPOTrainer(model=model, args=args, train_dataset=ds, processing_class=tok, peft_config=peft)
    t0 = time.perf_counter()
    out = trainer.train()
    wall = time.perf_counter() - t0
    print(json.dumps({"train_runtime": out.metrics["train_runtime"], "steps": steps, "wall_s": wall,
                      "s_per_step": out.metrics["train_runtime"] / steps}))


if __name__ == "__main__":
    a = sys.argv[1:]
    main(a[0], a[1], int(a[2]), int(a[3]), int(a[4]), float(a[5]), a[6])
