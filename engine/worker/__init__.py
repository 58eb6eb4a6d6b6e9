"""The training worker: the only code in Reins that imports torch, transformers, TRL, PEFT or bitsandbytes.

It runs inside the detached child process that `engine.launch` starts (`accelerate launch -m engine.worker RUN_DIR`).
"""
