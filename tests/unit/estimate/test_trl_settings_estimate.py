"""The estimate reads what `method.trl` switches on through the same terms as its own options: Liger kernels,
a precomputed reference (KTO has no Reins setting for it), padding-free batches."""

from __future__ import annotations

from engine.estimate.fit import estimate, suggest
from engine.estimate.memory import Arch, setup_from_recipe
from engine.recipe.loading import load_recipe
from engine.recipe.model_refs import EMBEDDED_CONFIG


def _terms(method: str, *overrides: str, **options: object) -> dict[str, int]:
    est = estimate(load_recipe(method, list(overrides)).recipe, EMBEDDED_CONFIG, **options)
    return {t.name: t.bytes for t in est.terms}


def test_use_liger_kernel_in_method_trl_is_the_liger_estimate() -> None:
    from_trl = _terms("dpo", "method.trl.use_liger_kernel=true")
    assert from_trl == _terms("dpo", liger=True)
    assert from_trl["logits"] < _terms("dpo")["logits"] / 10


def test_kto_precompute_ref_log_probs_in_method_trl_drops_the_reference() -> None:
    full = _terms("kto", "lora=null")
    assert full["extra models"] > 0
    assert _terms("kto", "lora=null", "method.trl.precompute_ref_log_probs=true")["extra models"] == 0


def test_padding_free_is_recorded_and_stays_an_upper_bound() -> None:
    r = load_recipe("dpo", ["method.trl.padding_free=true"]).recipe
    assert setup_from_recipe(r).padding_free
    assert _terms("dpo", "method.trl.padding_free=true") == _terms("dpo")


def test_suggestions_name_the_setting_that_switches_it() -> None:
    r = load_recipe("kto", ["lora=null"]).recipe
    arch, setup = Arch.from_config(EMBEDDED_CONFIG), setup_from_recipe(r)
    sets = {s["change"]: s["set"] for s in suggest(arch, setup, baseline=10**12, top=20)}
    assert sets["Liger kernels"] == ["method.trl.use_liger_kernel=true"]
    assert sets["precompute reference log-probs"] == ["method.trl.precompute_ref_log_probs=true"]
