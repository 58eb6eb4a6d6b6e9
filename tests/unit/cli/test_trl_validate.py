"""`reins validate` checks `method.trl` and `train.report_to` without loading a training library: exit 0 with a
warning for a missing package, exit 2 with the problem for a misspelt or duplicated field."""

from __future__ import annotations

from pathlib import Path


def test_validate_checks_method_trl_without_torch(tmp_path: Path, reins_imports) -> None:  # noqa: ANN001
    res, heavy = reins_imports("validate", "dpo", "--set", "method.trl.padding_free=true", "--set",
                               "train.report_to=[tensorboard]", runs=tmp_path)
    assert res.returncode == 0 and heavy == [], res.stderr[-2000:]
    res, heavy = reins_imports("validate", "dpo", "--set", "method.trl.use_ligr_kernel=true", runs=tmp_path)
    assert res.returncode == 2 and heavy == []
    assert "`use_ligr_kernel` is not a field of TRL" in res.stderr and "`use_liger_kernel`?" in res.stderr
    assert "Traceback" not in res.stderr
    res, _ = reins_imports("validate", "dpo", "--set", "method.trl.beta=0.2", runs=tmp_path)
    assert res.returncode == 2 and "set `method.beta` instead" in res.stderr
