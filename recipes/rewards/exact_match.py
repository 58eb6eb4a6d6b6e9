"""GRPO reward: 1.0 when the last number in the completion equals the row's `answer` column, else 0.0 (verifiable)."""

import re

NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def exact_match(prompts, completions, answer, **kwargs):
    """TRL reward signature: one float per completion; `answer` is the dataset column of the same name."""
    rewards = []
    for completion, expected in zip(completions, answer, strict=True):
        # Chat data: each completion is a list of messages; plain data: a string.
        text = completion[-1]["content"] if isinstance(completion, list) else completion
        numbers = NUMBER.findall(text)
        rewards.append(1.0 if numbers and float(numbers[-1]) == float(expected) else 0.0)
    return rewards
