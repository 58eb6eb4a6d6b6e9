"""Synthetic preference pairs (`reins data synth`): plans, system prompts, the endpoint client, rows and the loop."""
