"""GRPO reward: a small penalty per generated token beyond a few (reads `completion_ids`, TRL's token ids)."""

FREE_TOKENS = 4
PER_TOKEN = 0.05


def length_penalty(prompts, completions, completion_ids, **kwargs):
    """0 for up to FREE_TOKENS tokens, then −PER_TOKEN per token: short answers win ties on correctness."""
    return [-PER_TOKEN * max(0, len(ids) - FREE_TOKENS) for ids in completion_ids]
