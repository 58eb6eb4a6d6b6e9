"""The TRL field table `reins validate` reads is the installed TRL's, and every TRL field Reins fills itself is in
the duplicate-field mapping (so `method.trl` can never silently override a Reins setting)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.recipe import trl_settings
from engine.recipe.loading import validate
from engine.recipe.methods import METHODS
from engine.worker.trainers import BuildContext, common_args
from engine.worker.trl_fields import dump, field_table


def test_the_committed_table_matches_the_installed_trl() -> None:
    # A TRL upgrade lands here: run `python -m engine.worker.trl_fields` and review what changed.
    assert trl_settings.FIELD_TABLE.read_text() == dump(field_table()), "regenerate engine/recipe/trl_fields.json"
    assert json.loads(dump(field_table()))["configs"]["trl:DPOConfig"]["use_liger_kernel"] == \
        {"default": False, "kinds": ["bool"], "type": "bool"}


def _recipe(method: str, **trl: object):  # noqa: ANN202
    return validate({"data": {"train": "x.jsonl"}, "train": {"batch_size": 4},
                     "method": {"name": method, "trl": trl,
                                **({"reward_model": "m"} if METHODS[method].generates else {})}})


@pytest.mark.parametrize("method", list(METHODS))
def test_every_shared_argument_reins_passes_is_refused_in_method_trl(method: str, tmp_path: Path) -> None:
    owned = set(trl_settings.SHARED_FIELDS) | set(trl_settings.SET_BY_REINS)
    assert set(common_args(_recipe(method), tmp_path / "checkpoints", has_eval=True)) <= owned


def test_method_trl_reaches_the_trl_config(tmp_path: Path) -> None:
    from trl import DPOConfig

    c = BuildContext(_recipe("dpo", padding_free=True, precompute_ref_batch_size=8), model=None, tokenizer=None,
                     train=None, eval=None, output_dir=tmp_path / "checkpoints", callbacks=[])
    config = c.config(DPOConfig, beta=0.3)
    assert config.padding_free is True and config.precompute_ref_batch_size == 8 and config.beta == 0.3
    assert config.run_name == tmp_path.name  # the run's id (the folder that holds checkpoints/)
    assert config.project == "reins"  # trackio's project unless method.trl names one
    with pytest.raises(TypeError, match="method.trl sets padding_free"):
        c.config(DPOConfig, padding_free=False)  # a builder filling a field method.trl also sets: never silent


def test_report_to_reaches_the_trl_config(tmp_path: Path) -> None:
    raw = {"data": {"train": "x.jsonl"}, "train": {"report_to": ["tensorboard"]}, "method": {"name": "sft"}}
    assert common_args(validate(raw), tmp_path, has_eval=False)["report_to"] == ["tensorboard"]
    assert common_args(_recipe("sft"), tmp_path, has_eval=False)["report_to"] == "none"
