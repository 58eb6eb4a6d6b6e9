"""Writes the hand-written traces (PPO/GRPO: no RL trainer in the engine yet, so no real run can make them).

Run from the repository root: `python tests/traces/handwritten.py`. The shapes follow what TRL 1.12's PPOTrainer and
GRPOTrainer log (keys from /work/shared/TRL-NOTES.md); the numbers are made up, with seeded noise.
"""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

HERE = Path(__file__).parent


def write(name: str, note: str, max_steps: int, rows: list[tuple[int, dict]]) -> None:
    lines = [{"kind": "note", "text": note, "origin": "hand-written"},
             {"kind": "status", "status": "running", "max_steps": max_steps}]
    lines += [{"kind": "metric", "step": step, "split": "train", "values": {k: round(v, 4) for k, v in values.items()}}
              for step, values in rows]
    (HERE / f"{name}.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))


def ppo(hacking: bool, seed: int) -> list[tuple[int, dict]]:
    rng = random.Random(seed)
    rows = []
    for step in range(1, 41):
        if hacking:  # from step 15 the policy finds the reward model's blind spot: score up, KL explodes
            kl = 0.5 + 0.1 * step + (0.0 if step < 15 else 1.8 * math.exp(0.16 * (step - 15)) - 1.8)
            score = 0.2 + 0.03 * step + (0.0 if step < 15 else 0.25 * (step - 15))
            entropy = max(0.3, 2.5 - (0.0 if step < 15 else 0.08 * (step - 15)))
        else:
            kl = 0.5 + 3.5 * (1 - math.exp(-step / 15))
            score = 0.2 + 1.2 * (1 - math.exp(-step / 12))
            entropy = 2.5 - 0.01 * step
        kl *= 1 + rng.uniform(-0.15, 0.15)
        score += rng.uniform(-0.15, 0.15)
        value_loss = 0.4 * math.exp(-step / 20) + 0.05 + rng.uniform(0, 0.03)
        rows.append((step, {"objective/kl": kl, "objective/scores": score, "objective/rlhf_reward": score - 0.05 * kl,
                            "objective/non_score_reward": -0.05 * kl, "objective/entropy": entropy,
                            "loss/policy_avg": rng.uniform(-0.05, 0.05), "loss/value_avg": value_loss,
                            "policy/approxkl_avg": 0.01 + rng.uniform(0, 0.01), "lr": 1e-5, "eps": 3}))
    return rows


def ppo_broken(seed: int) -> list[tuple[int, dict]]:
    """Value head diverging (value loss climbs ~10x) and a KL estimate that goes negative (sampling mismatch)."""
    rng = random.Random(seed)
    rows = []
    for step in range(1, 41):
        kl = 0.3 - 0.03 * step + rng.uniform(-0.1, 0.1)
        value_loss = 0.2 * math.exp(step / 14) + rng.uniform(0, 0.05)
        score = 0.2 + rng.uniform(-0.2, 0.2)
        rows.append((step, {"objective/kl": kl, "objective/scores": score, "objective/rlhf_reward": score - 0.05 * kl,
                            "objective/entropy": 2.4 + rng.uniform(-0.1, 0.1),
                            "loss/policy_avg": rng.uniform(-0.05, 0.05), "loss/value_avg": value_loss, "lr": 1e-5,
                            "eps": 3}))
    return rows


def grpo(collapse: bool, seed: int) -> list[tuple[int, dict]]:
    rng = random.Random(seed)
    rows = []
    for step in range(1, 41):
        length = max(0.0, 120 - 9 * step) if collapse else 110 + 20 * math.sin(step / 5) + rng.uniform(-10, 10)
        rows.append((step, {"loss": rng.uniform(-1e-4, 1e-4) if not collapse else 0.0, "grad_norm": 0.5
                            + rng.uniform(0, 0.3), "reward": 0.3 + 0.01 * step + rng.uniform(-0.1, 0.1),
                            "reward_std": 0.2 + rng.uniform(0, 0.05), "completions/mean_length": length,
                            "completions/clipped_ratio": 0.05 + rng.uniform(0, 0.05), "learning_rate": 1e-6}))
    return rows


if __name__ == "__main__":
    write("ppo-healthy", "Hand-written: a PPO run whose score rises while KL settles near 4 (no PPO in the engine "
          "yet, so no real run can make this).", 40, ppo(False, 1))
    write("ppo-reward-hacking", "Hand-written: PPO reward hacking; from step 15 the score keeps climbing while KL "
          "to the reference explodes past 10 (no PPO in the engine yet).", 40, ppo(True, 2))
    write("ppo-value-divergence-negative-kl", "Hand-written: PPO whose value loss climbs ~10x while the KL estimate "
          "drifts below zero (policy and reference scored with different sampling settings; no PPO in the engine "
          "yet).", 40, ppo_broken(5))
    write("grpo-healthy", "Hand-written: a GRPO run; its loss is ~0 by design, which must not read as 'loss flat' "
          "(no GRPO in the engine yet).", 40, grpo(False, 3))
    write("grpo-length-collapse", "Hand-written: GRPO whose completions shrink to 0 tokens (the policy learned that "
          "saying nothing scores best; no GRPO in the engine yet).", 40, grpo(True, 4))
