"""Reading files: the real public fixtures validate with no problem for their method; unreadable files and
missing fields get clear messages and exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.data.checks import check_data
from engine.data.reading import load_records, read_data
from engine.errors import DataError
from engine.recipe.loading import load_recipe

FORMATS = Path(__file__).resolve().parents[2] / "fixtures" / "formats"


@pytest.mark.parametrize(("name", "method", "fmt", "rows"), [
    ("dpo_en_demo.json", "dpo", "sharegpt", 30),
    ("kto_en_demo.json", "kto", "openai", 30),
    ("alpaca_en_demo.json", "sft", "alpaca", 30),
    ("glaive_toolcall_en_demo.json", "sft", "sharegpt", 30),
    ("hh_rlhf_seed.jsonl", "dpo", "hh", 20),
])
def test_real_public_files_validate_with_no_problem(name: str, method: str, fmt: str, rows: int) -> None:
    data = read_data(str(FORMATS / name))
    assert (data.format, len(data.rows), data.problems) == (fmt, rows, [])
    recipe = load_recipe(method, [f"data.train={FORMATS / name}", "data.eval=null"]).recipe
    assert check_data(recipe) == {"train": rows}


def test_a_mixture_validates_every_file() -> None:
    pairs, hh = FORMATS / "dpo_en_demo.json", FORMATS / "hh_rlhf_seed.jsonl"
    mixture = f"data.train=[{{path: {pairs}, weight: 2}}, {{path: {hh}}}]"
    recipe = load_recipe("dpo", [mixture, "data.eval=null"]).recipe
    assert [(Path(s.path).name, s.weight) for s in recipe.data.train] == [("dpo_en_demo.json", 2.0),
                                                                          ("hh_rlhf_seed.jsonl", 1.0)]
    assert check_data(recipe) == {"train": 50}


def test_a_file_that_is_not_text_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "bin.jsonl"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(DataError, match="is not UTF-8 text"):
        load_records(str(path))


def test_missing_prompt_field_exits_2_with_file_row_and_field(tmp_path: Path, reins, write_jsonl) -> None:
    bad = write_jsonl(tmp_path / "bad.jsonl", [{"prompt": "q", "completion": "a"}, {"completion": "b"}])
    res = reins("data", "convert", str(bad), str(tmp_path / "out.jsonl"))
    assert res.returncode == 2
    assert "bad.jsonl, row 2: missing field `prompt`" in res.stderr and "Traceback" not in res.stderr
    res = reins("validate", "sft", "--set", f"data.train={bad}", "--set", "data.eval=null")
    assert res.returncode == 2 and "bad.jsonl (train), row 2: missing field `prompt`" in res.stderr


def test_an_unreadable_file_exits_2(tmp_path: Path, reins) -> None:
    res = reins("data", "inspect", str(tmp_path / "absent.jsonl"))
    assert res.returncode == 2 and "does not exist" in res.stderr and "Traceback" not in res.stderr
