"""Keeping secrets out of runs: which environment variables are secret, the worker's clean env, and redaction."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

# Names that hold credentials by convention (HF_TOKEN, WANDB_API_KEY, OPENAI_API_KEY, AWS_SECRET_ACCESS_KEY, …).
SECRET_NAME = re.compile(r"TOKEN|KEY|SECRET|PASSWORD|PASSWD|CREDENTIAL", re.IGNORECASE)
# Variables that match the pattern but hold no secret and that tools need (keyboard layout, ssh agent socket path).
NOT_SECRET = frozenset({"XKB_DEFAULT_KEYMAP", "KEYTIMEOUT", "SSH_AUTH_SOCK", "TOKENIZERS_PARALLELISM"})
REDACTED = "[redacted]"
_MIN_VALUE_LEN = 6  # shorter values ("1", "yes") would redact ordinary text


def is_secret_name(name: str) -> bool:
    """Whether an environment variable's name says it holds a credential."""
    return name.upper() not in NOT_SECRET and bool(SECRET_NAME.search(name))


def secret_values(environ: Mapping[str, str] | None = None) -> list[str]:
    """The values of the secret variables in `environ` (default: this process), longest first."""
    env = os.environ if environ is None else environ
    values = {v for k, v in env.items() if is_secret_name(k) and len(v) >= _MIN_VALUE_LEN}
    return sorted(values, key=len, reverse=True)


def worker_env(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment a worker starts with: everything but secrets. The worker never downloads and its trackers
    log offline unless configured (online W&B reads `wandb login`'s ~/.netrc), so it needs no credential; what it
    does not hold it cannot print into `stdout.log`."""
    env = os.environ if environ is None else environ
    return {k: v for k, v in env.items() if not is_secret_name(k)}


def redact(text: str, environ: Mapping[str, str] | None = None) -> str:
    """`text` with every secret value from the environment replaced by `[redacted]`."""
    for value in secret_values(environ):
        text = text.replace(value, REDACTED)
    return text


def launch_warnings(recipe: object) -> list[str]:
    """Security warnings to show before a run starts (today: the recipe lets the model run its own code)."""
    model = getattr(recipe, "model", None)
    if getattr(model, "trust_remote_code", False):
        return [f"model.trust_remote_code is on: Python code shipped with {model.name} will run on this machine "
                "with your permissions. Only keep it on for a model whose author you trust."]
    return []
