"""Multi-process launch settings: the accelerate config (and DeepSpeed JSON / FSDP settings) a run is started with.

Reins drives the engines users already trust — `accelerate launch` with DDP, DeepSpeed ZeRO or FSDP — and writes the
exact config into the run directory, so a run can be reproduced by hand with plain `accelerate launch`.
"""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path
from typing import Any

import yaml

from engine.recipe.schema import Recipe
from engine.runs.rundir import RunDir

ZERO_STAGES = {"zero1": 1, "zero2": 2, "zero3": 3}


def visible_gpus() -> int:
    """GPUs on this machine via NVML (0 without an NVIDIA GPU); never imports torch."""
    try:
        import pynvml
    except ImportError:
        return 0
    try:
        pynvml.nvmlInit()
        try:
            return int(pynvml.nvmlDeviceGetCount())
        finally:
            pynvml.nvmlShutdown()
    except pynvml.NVMLError:
        return 0


def resolve_num_processes(recipe: Recipe) -> int:
    """`auto` means one process per visible GPU (1 on a CPU-only machine)."""
    n = recipe.distributed.num_processes
    return max(1, visible_gpus()) if n == "auto" else int(n)


def free_port() -> int:
    # Two single-node runs on one machine must not fight over torchrun's default port 29500.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def deepspeed_config(recipe: Recipe) -> dict[str, Any]:
    """DeepSpeed JSON for a ZeRO strategy; `auto` values are filled in by the HF Trainer integration."""
    d = recipe.distributed
    zero: dict[str, Any] = {"stage": ZERO_STAGES[d.strategy], "overlap_comm": True, "contiguous_gradients": True}
    if d.offload in ("optimizer", "params"):
        zero["offload_optimizer"] = {"device": "cpu", "pin_memory": True}
    if d.offload == "params":
        zero["offload_param"] = {"device": "cpu", "pin_memory": True}
    if zero["stage"] == 3:
        zero["stage3_gather_16bit_weights_on_model_save"] = True
    return {
        "train_micro_batch_size_per_gpu": "auto", "gradient_accumulation_steps": "auto",
        "gradient_clipping": "auto", "train_batch_size": "auto",
        "bf16": {"enabled": "auto"}, "fp16": {"enabled": "auto"},
        "zero_optimization": zero,
    }


def accelerate_config(recipe: Recipe, num_processes: int, port: int | None = None,
                      deepspeed_file: Path | None = None) -> dict[str, Any]:
    """The accelerate config file contents for this recipe (what `accelerate config` would have written)."""
    d = recipe.distributed
    world = num_processes * d.num_machines
    cfg: dict[str, Any] = {
        "compute_environment": "LOCAL_MACHINE",
        "num_processes": world,
        "num_machines": d.num_machines,
        "machine_rank": d.machine_rank,
        "main_process_ip": d.main_process_ip or "127.0.0.1",
        "main_process_port": d.main_process_port or port or 29500,
        "mixed_precision": d.mixed_precision,
        "use_cpu": False,
        "rdzv_backend": "static",
        "same_network": True,
        "main_training_function": "main",
        "debug": False,
    }
    if world == 1 and d.strategy == "ddp":
        cfg["distributed_type"] = "NO"
    elif d.strategy == "ddp":
        cfg["distributed_type"] = "MULTI_GPU"
    elif d.strategy in ZERO_STAGES:
        cfg["distributed_type"] = "DEEPSPEED"
        if deepspeed_file is None:
            raise ValueError(f"strategy {d.strategy} needs the path of its DeepSpeed JSON")
        cfg["deepspeed_config"] = {"deepspeed_config_file": str(deepspeed_file),
                                   "zero3_init_flag": d.strategy == "zero3"}
        cfg.pop("mixed_precision")  # DeepSpeed takes precision from its JSON ("auto" → the Trainer's flags)
    else:  # fsdp
        cfg["distributed_type"] = "FSDP"
        cfg["fsdp_config"] = {
            "fsdp_version": 2,
            "fsdp_auto_wrap_policy": "TRANSFORMER_BASED_WRAP",
            "fsdp_cpu_ram_efficient_loading": True,
            "fsdp_offload_params": d.offload != "none",
            "fsdp_reshard_after_forward": True,
            "fsdp_state_dict_type": "SHARDED_STATE_DICT",
            "fsdp_activation_checkpointing": recipe.train.gradient_checkpointing,
        }
    return cfg


def write_launch_files(recipe: Recipe, rd: RunDir, config: Path | None = None) -> Path:
    """Write the accelerate config (to `config`, by default the run's own) and, for ZeRO, the DeepSpeed JSON into
    the run directory; return the config path."""
    n = resolve_num_processes(recipe)
    ds_path = None
    if recipe.distributed.strategy in ZERO_STAGES:
        import json

        ds_path = rd.deepspeed_config
        ds_path.write_text(json.dumps(deepspeed_config(recipe), indent=2))
    port = free_port() if recipe.distributed.num_machines == 1 and not recipe.distributed.main_process_port else None
    cfg = accelerate_config(recipe, n, port, ds_path)
    path = config or rd.accelerate_config
    path.write_text("# Generated by Reins: reproduce this run with\n"
                    f"#   accelerate launch --config_file {path} -m engine.worker {rd.path}\n"
                    + yaml.safe_dump(cfg, sort_keys=False))
    return path


def cpu_threads_per_process(cmd: list[str]) -> int:
    """CPU threads each local process of `cmd` should use: the cores divided by the processes per machine that
    its accelerate config starts."""
    local = 1
    if "--config_file" in cmd:
        try:
            cfg = yaml.safe_load(Path(cmd[cmd.index("--config_file") + 1]).read_text()) or {}
            local = max(1, int(cfg.get("num_processes", 1)) // max(1, int(cfg.get("num_machines", 1))))
        except (OSError, ValueError, yaml.YAMLError):
            local = 1
    return max(1, (os.cpu_count() or 1) // local)


def worker_command(run_dir: Path, config_file: Path) -> list[str]:
    """`accelerate launch --config_file … -m engine.worker RUN_DIR` with this interpreter (an argv list).

    Test seam: `REINS_TEST_WORKER_MODULE=some.module` runs `python -m some.module RUN_DIR` instead, so tests of the
    launcher and the run store can start many cheap workers through this same code path."""
    test_module = os.environ.get("REINS_TEST_WORKER_MODULE")
    if test_module:
        return [sys.executable, "-m", test_module, str(run_dir)]
    return [sys.executable, "-m", "accelerate.commands.launch", "--config_file", str(config_file), "--quiet",
            "-m", "engine.worker", str(run_dir)]
