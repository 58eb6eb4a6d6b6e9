"""bench/fit_from_results.py on a synthetic results CSV: known factors are recovered, the error drops to ~0."""

from __future__ import annotations

import json
import random
from pathlib import Path
from types import ModuleType

import pytest


def synthetic_csv(ff: ModuleType, gr: ModuleType, path: Path, factors: dict[str, float], n: int = 12) -> Path:
    rng = random.Random(0)
    rows = []
    for i in range(n):
        terms = {t: rng.uniform(0.5, 20.0) for t in gr.TERMS}
        terms["extra models"] = 0.0 if i % 2 else terms["extra models"]
        estimate = sum(terms.values()) - ff.CONTEXT_GIB
        measured = sum(factors.get(t, 1.0) * v for t, v in terms.items()) - ff.CONTEXT_GIB
        rows.append({"id": f"p{i}", "runner": "reins", "status": "completed", "method": ("sft", "dpo")[i % 2],
                     "estimate_allocator_gib": estimate, "measured_reserved_gib": measured,
                     **{ff.column(t): v for t, v in terms.items()}})
    rows.append({"id": "plain", "runner": "plain", "status": "completed", "method": "dpo",
                 "measured_reserved_gib": 99.0})  # plain TRL rows have no estimate terms: ignored
    gr.write_csv(rows, path)
    return path


def test_fit_recovers_the_factors_of_the_free_terms(ff: ModuleType, gr: ModuleType, tmp_path: Path) -> None:
    path = synthetic_csv(ff, gr, tmp_path / "r.csv", {"activations": 1.3, "logits": 0.8, "extra models": 1.1})
    rows = gr.read_csv(path)
    factors = ff.fit(rows)
    assert factors["activations"] == pytest.approx(1.3, abs=1e-3)
    assert factors["logits"] == pytest.approx(0.8, abs=1e-3)
    assert factors["extra models"] == pytest.approx(1.1, abs=1e-3)
    assert factors["weights"] == 1.0  # not free: kept
    after = ff.errors(rows, factors, ff.TARGETS["reserved"])
    assert len(after) == 12 and max(abs(e["error_pct"]) for e in after) < 0.2
    before = ff.errors(rows, {}, ff.TARGETS["reserved"])
    assert max(abs(e["error_pct"]) for e in before) > 1.0


def test_cli_prints_json_and_refuses_unknown_terms(ff: ModuleType, gr: ModuleType, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    path = synthetic_csv(ff, gr, tmp_path / "r.csv", {"activations": 2.0})
    assert ff.main([str(path), "--free", "activations", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["factors"]["activations"] == pytest.approx(2.0, abs=1e-3)
    assert out["after"][-1]["method"] == "all" and out["after"][-1]["mean_abs_pct"] < 0.2
    assert ff.main([str(path), "--free", "activationz"]) == 2
    assert "unknown terms: activationz" in capsys.readouterr().err
    assert ff.main([str(tmp_path / "missing.csv")]) == 2
