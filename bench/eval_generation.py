"""What batching buys the post-training evaluation: greedy answers to the bundled held-out prompts on the embedded
model, one prompt at a time vs batched; prints new tokens per second for each and the speed-up.

    .venv/bin/python bench/eval_generation.py --prompts 32 --single 8 --batch 16 --max-new-tokens 96

The one-at-a-time figure uses the first `--single` prompts only (it is the slow path); both count the tokens the
answers actually have (to EOS or the limit), in the model's own tokenizer.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.data.reading import load_records  # noqa: E402
from engine.recipe.loading import load_recipe  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--prompts", type=int, default=32)
    ap.add_argument("--single", type=int, default=8, help="prompts timed one at a time")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--max-new-tokens", type=int, default=96)
    args = ap.parse_args()


    from engine.data.text import prompts_of
    from engine.worker.loading import load_model
    from engine.worker.measuring import answer_tokens, generate

    recipe = load_recipe("dpo").recipe
    model, tok, _ = load_model(recipe)
    model.eval()
    prompts = prompts_of(load_records(recipe.data.eval, "eval"))[: args.prompts]

    def timed(batch: int, chosen: list) -> tuple[float, int]:
        t0 = time.perf_counter()
        answers = generate(model, tok, chosen, args.max_new_tokens, seed=0, batch=batch)
        return time.perf_counter() - t0, sum(answer_tokens(tok, answers))

    single_s, single_tokens = timed(1, prompts[: args.single])
    batch_s, batch_tokens = timed(args.batch, prompts)
    one, many = single_tokens / single_s, batch_tokens / batch_s
    print(f"one at a time: {args.single} prompts, {single_tokens} tokens in {single_s:.1f} s = {one:.1f} tokens/s")
    print(f"batched ({args.batch}): {len(prompts)} prompts, {batch_tokens} tokens in {batch_s:.1f} s = "
          f"{many:.1f} tokens/s")
    print(f"speed-up: {many / one:.2f}×; {len(prompts)} prompts one at a time would take ~"
          f"{len(prompts) * single_s / args.single:.0f} s per model, batched {batch_s:.0f} s")


if __name__ == "__main__":
    main()
