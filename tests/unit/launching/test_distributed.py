"""Multi-process runs: generated accelerate/DeepSpeed/FSDP configs, and two real ranks training on the CPU."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.errors import RecipeError
from engine.launching.distributed import write_launch_files
from engine.recipe.loading import load_recipe
from engine.runs.rundir import RunDir

STRATEGIES = {"ddp": "MULTI_GPU", "zero1": "DEEPSPEED", "zero2": "DEEPSPEED", "zero3": "DEEPSPEED", "fsdp": "FSDP"}


@pytest.mark.parametrize("strategy", sorted(STRATEGIES))
def test_generated_config_is_read_back_by_accelerate(strategy: str, tmp_path: Path) -> None:
    from accelerate.commands.config.config_args import load_config_from_file

    offload = "optimizer" if strategy in ("zero2", "zero3", "fsdp") else "none"
    r = load_recipe("dpo", [f"distributed.strategy={strategy}", "distributed.num_processes=4",
                            f"distributed.offload={offload}"]).recipe
    rd = RunDir(tmp_path)
    path = write_launch_files(r, rd)
    assert path == rd.accelerate_config
    cfg = load_config_from_file(str(path))
    assert cfg.distributed_type.value == STRATEGIES[strategy]
    assert cfg.num_processes == 4 and cfg.num_machines == 1 and cfg.main_process_port > 0
    if strategy.startswith("zero"):
        ds = json.loads(rd.deepspeed_config.read_text())
        assert ds["zero_optimization"]["stage"] == int(strategy[-1])
        assert cfg.deepspeed_config["deepspeed_config_file"] == str(rd.deepspeed_config)
        assert ("offload_optimizer" in ds["zero_optimization"]) == (offload == "optimizer")
    if strategy == "fsdp":
        assert cfg.fsdp_config["fsdp_offload_params"] is True and cfg.fsdp_config["fsdp_version"] == 2


def test_multi_node_settings_reach_the_config(tmp_path: Path) -> None:
    from accelerate.commands.config.config_args import load_config_from_file

    r = load_recipe("dpo", ["distributed.num_machines=2", "distributed.machine_rank=1",
                            "distributed.main_process_ip=10.0.0.5", "distributed.main_process_port=29555",
                            "distributed.num_processes=8"]).recipe
    cfg = load_config_from_file(str(write_launch_files(r, RunDir(tmp_path))))
    assert (cfg.num_processes, cfg.num_machines, cfg.machine_rank) == (16, 2, 1)
    assert (cfg.main_process_ip, cfg.main_process_port) == ("10.0.0.5", 29555)


@pytest.mark.parametrize(("overrides", "message"), [
    (["distributed.num_machines=2"], "main_process_ip"),
    (["distributed.machine_rank=1"], "must be below num_machines"),
    (["distributed.offload=optimizer"], "needs strategy zero2, zero3 or fsdp"),
])
def test_inconsistent_distributed_settings_are_refused(overrides: list[str], message: str) -> None:
    with pytest.raises(RecipeError, match=message):
        load_recipe("dpo", overrides)



def test_each_local_process_gets_its_share_of_the_cores(tmp_path: Path) -> None:
    import os

    from engine.launching.distributed import cpu_threads_per_process, worker_command

    cores = os.cpu_count() or 1
    one = write_launch_files(load_recipe("dpo").recipe, RunDir(tmp_path))
    assert cpu_threads_per_process(worker_command(tmp_path, one)) == cores
    two = load_recipe("dpo", ["distributed.num_processes=2"]).recipe
    cfg = write_launch_files(two, RunDir(tmp_path), config=tmp_path / "two.yaml")
    assert cpu_threads_per_process(worker_command(tmp_path, cfg)) == max(1, cores // 2)
