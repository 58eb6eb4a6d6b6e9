"""GRPO reward for the answer's format (a regex): 1.0 for a bare number, 0.5 for text that contains one, 0.0 else."""

import re

BARE = re.compile(r"^\s*-?\d+(?:\.\d+)?\s*\.?\s*$")
ANY = re.compile(r"\d")


def number_format(prompts, completions, **kwargs):
    """Rewards "Reply with only the number" being obeyed, whether or not the number is right."""
    texts = [c[-1]["content"] if isinstance(c, list) else c for c in completions]
    return [1.0 if BARE.match(t) else 0.5 if ANY.search(t) else 0.0 for t in texts]
