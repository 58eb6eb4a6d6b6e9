"""Turning other tools' training configs (LLaMA-Factory, Axolotl) into Reins recipes, saying what mapped to what."""
