"""Synth plans: options checked before anything is written, prompts read with row-level messages, system prompts
overridden by file or flag, the judge spec, and the warning when the generator is the model being aligned."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.errors import DataError, ReinsError
from engine.synth.launch import check_plan
from engine.synth.plan import SynthPlan, build_plan, generator_warnings, parse_judge, read_prompts
from engine.synth.system_prompts import BUNDLED_SYSTEM_PROMPTS, GENERAL, read_pairs, system_pairs

BUNDLED_CATEGORIES = {"hallucination_vs_calibrated", "first_step_vs_everything", "emotional_register",
                      "verbose_vs_concise"}


@pytest.fixture
def prompts(tmp_path: Path, write_jsonl) -> Path:
    conversation = [{"role": "system", "content": "old"}, {"role": "user", "content": "q"},
                    {"role": "assistant", "content": "a"}]
    return write_jsonl(tmp_path / "p.jsonl", [{"prompt": "hi"}, {"messages": conversation}])


def test_the_bundled_pairs_cover_the_bundled_data_categories() -> None:
    assert set(read_pairs(BUNDLED_SYSTEM_PROMPTS)) == BUNDLED_CATEGORIES | {GENERAL}


def test_prompts_drop_system_turns_and_final_answers(prompts: Path) -> None:
    got = [msgs for _, msgs in read_prompts(str(prompts))]
    assert got == [[{"role": "user", "content": "hi"}], [{"role": "user", "content": "q"}]]


def test_bad_prompt_rows_are_named(tmp_path: Path, write_jsonl) -> None:
    bad = write_jsonl(tmp_path / "bad.jsonl", [{"prompt": "ok"}, {"question": "x"}, {"prompt": "  "},
                                               {"prompt": {"role": "user"}}])
    with pytest.raises(DataError) as caught:
        read_prompts(str(bad))
    text = str(caught.value)
    assert "row 2: missing field `prompt`" in text and "row 3: the prompt is empty" in text
    assert "row 4: field `prompt` must be text or a list" in text
    with pytest.raises(DataError, match="does not exist"):
        read_prompts(str(tmp_path / "missing.jsonl"))


def test_system_prompts_are_replaced_by_file_and_by_flag(tmp_path: Path) -> None:
    custom = tmp_path / "sys.yaml"
    custom.write_text("verbose_vs_concise:\n  good: Be brief.\n  degraded: Ramble.\nnew_cat:\n  good: g\n"
                      "  degraded: d\n")
    pairs = system_pairs(custom)
    assert pairs["verbose_vs_concise"].good == "Be brief." and pairs["new_cat"].degraded == "d"
    assert pairs["emotional_register"] == read_pairs(BUNDLED_SYSTEM_PROMPTS)["emotional_register"]
    flagged = system_pairs(degraded="Be wrong.")
    assert {p.degraded for p in flagged.values()} == {"Be wrong."}
    custom.write_text("general:\n  good: only one side\n")
    with pytest.raises(ReinsError, match="general.degraded: Field required"):
        system_pairs(custom)
    with pytest.raises(ReinsError, match="--good is empty"):
        system_pairs(good=" ")


def test_options_that_contradict_are_refused(prompts: Path, tmp_path: Path) -> None:
    out = tmp_path / "o.jsonl"
    with pytest.raises(ReinsError, match="--mode 'pairs'"):
        build_plan(prompts, out, mode="pairs")
    with pytest.raises(ReinsError, match="needs --endpoint-model"):
        build_plan(prompts, out, endpoint="http://127.0.0.1:1/v1")
    with pytest.raises(ReinsError, match="--model and --endpoint both"):
        build_plan(prompts, out, model="m", endpoint="http://x/v1", endpoint_model="e")
    with pytest.raises(ReinsError, match="best-of-n needs a judge"):
        build_plan(prompts, out, mode="best-of-n")
    with pytest.raises(ReinsError, match="n: Input should be greater than or equal to 2"):
        build_plan(prompts, out, mode="best-of-n", judge="local:m", n=1)
    with pytest.raises(ReinsError, match="generator.endpoint.url"):
        build_plan(prompts, out, endpoint="ftp://x", endpoint_model="e")


def test_judge_specs() -> None:
    assert parse_judge("run:abc").kind == "reward_model"
    assert parse_judge("rm:/models/rm").model == "/models/rm"
    assert parse_judge("local:smollm2-135m-instruct").kind == "local"
    chat = parse_judge("http://127.0.0.1:8000/v1", "judge-model", "KEY")
    assert (chat.kind, chat.model, chat.api_key_env) == ("openai", "judge-model", "KEY")
    with pytest.raises(ReinsError, match="--judge-model"):
        parse_judge("http://127.0.0.1:8000/v1")
    with pytest.raises(ReinsError, match="use run:ID"):
        parse_judge("gpt")


def test_the_plan_round_trips_through_synth_json(prompts: Path, tmp_path: Path) -> None:
    plan = build_plan(prompts, tmp_path / "o.jsonl", endpoint="http://127.0.0.1:1/v1", endpoint_model="e",
                      api_key_env="K", seed=5)
    again = SynthPlan.model_validate_json(plan.model_dump_json())
    assert again == plan and again.generator.label == "e @ http://127.0.0.1:1/v1"
    assert again.sampling_temperature == 0.0 and Path(again.prompts).is_absolute()


def test_check_plan_refuses_a_used_output_and_a_missing_key(prompts: Path, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    used = tmp_path / "used.jsonl"
    used.write_text("{}\n")
    with pytest.raises(ReinsError, match="already exists and is not empty"):
        check_plan(build_plan(prompts, used, endpoint="http://127.0.0.1:1/v1", endpoint_model="e"), tmp_path)
    with pytest.raises(ReinsError, match="does not exist"):
        check_plan(build_plan(prompts, tmp_path / "no" / "o.jsonl", endpoint="http://h/v1", endpoint_model="e"),
                   tmp_path)
    monkeypatch.delenv("NO_SUCH_KEY_VAR", raising=False)
    with pytest.raises(ReinsError, match=r"\$NO_SUCH_KEY_VAR"):
        check_plan(build_plan(prompts, tmp_path / "o.jsonl", endpoint="http://h/v1", endpoint_model="e",
                              api_key_env="NO_SUCH_KEY_VAR"), tmp_path)
    with pytest.raises(ReinsError, match="Model path"):
        check_plan(build_plan(prompts, tmp_path / "o.jsonl", model=str(tmp_path / "nowhere")), tmp_path)


def test_a_warning_when_the_generator_is_the_aligned_model(prompts: Path, tmp_path: Path) -> None:
    plan = build_plan(prompts, tmp_path / "o.jsonl", model="/models/a")
    assert "is the model the recipe aligns" in generator_warnings(plan, "/models/a", None, None)[0]
    assert generator_warnings(plan, "run:x", "/models/a", "/models/a")  # the same folder by another name
    assert generator_warnings(plan, "/models/b", "/models/b", "/models/a") == []
    endpoint = build_plan(prompts, tmp_path / "o.jsonl", endpoint="http://h/v1", endpoint_model="e")
    assert generator_warnings(endpoint, "/models/a", None, None) == []


def test_prompts_in_other_formats_are_read(tmp_path: Path, write_jsonl) -> None:
    sharegpt = write_jsonl(tmp_path / "sg.jsonl", [{"conversations": [{"from": "human", "value": "Hi there"},
                                                                      {"from": "gpt", "value": "Hello"}]}])
    alpaca = write_jsonl(tmp_path / "alpaca.jsonl", [{"instruction": "Name a colour.", "input": "", "output": "Red"}])
    assert read_prompts(str(sharegpt))[0][1] == [{"role": "user", "content": "Hi there"}]
    assert read_prompts(str(alpaca))[0][1][0]["content"].startswith("Name a colour.")
