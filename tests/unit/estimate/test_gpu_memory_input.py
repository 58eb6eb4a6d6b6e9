"""A GPU size is a positive number of GiB: zero, negative or non-finite sizes are refused by the API itself."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine import api
from engine.errors import ReinsError


@pytest.mark.parametrize("gib", [-5.0, 0.0, float("nan"), float("inf")])
def test_the_estimate_refuses_a_gpu_no_gpu_is(gib: float) -> None:
    with pytest.raises(ReinsError, match="GPU memory must be a positive number of GiB"):
        api.estimate_recipe("dpo", gpu_memory_gib=gib)


def test_a_positive_size_gets_a_verdict_against_it() -> None:
    est = api.estimate_recipe("dpo", gpu_memory_gib=0.5)
    assert est.gpu_memory_gib == 0.5 and est.verdict == "won't fit"


def test_launch_refuses_it_before_writing_anything(tmp_path: Path) -> None:
    with pytest.raises(ReinsError, match="positive number of GiB"):
        api.launch("dpo", runs_dir=tmp_path / "runs", gpu_memory_gib=-1)
    assert not (tmp_path / "runs").exists()
