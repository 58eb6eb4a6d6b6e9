"""Defaults the schema shares with code that must not import it (the TUI's key settings, memory suggestions)."""

LORA_RANK = 16  # adapter rank when a recipe's `lora:` section does not say (absent means LoRA at this rank)
LORA_ALPHA = 32
LORA_DROPOUT = 0.05
# The bundled capability probe suites (recipes/data/probes/<name>.jsonl), in the order the report lists them.
PROBE_SUITES = ("arithmetic", "knowledge", "format", "refusal")
