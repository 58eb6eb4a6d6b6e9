"""Each format Reins reads, in its documented shape, becomes TRL's rows; a row that does not fit names its field."""

from __future__ import annotations

import pytest

from engine.data.formats import RowProblem, detect_format, normalise
from engine.data.reading import normalise_rows


def user(text: str) -> dict[str, str]:
    return {"role": "user", "content": text}


def bot(text: str) -> dict[str, str]:
    return {"role": "assistant", "content": text}


def test_trl_rows_pass_through_unchanged() -> None:
    row = {"prompt": [user("q")], "chosen": [bot("a")], "rejected": [bot("b")], "category": "x"}
    assert detect_format(row) == "trl"
    assert normalise(row, "trl") == row


def test_sharegpt_pairs_with_system_turns_and_answer_objects() -> None:
    row = {"conversations": [{"from": "system", "value": "be brief"}, {"from": "human", "value": "hi"}],
           "chosen": {"from": "gpt", "value": "hello"}, "rejected": {"from": "gpt", "value": "go away"},
           "system": "top"}
    assert detect_format(row) == "sharegpt"
    assert normalise(row, "sharegpt") == {
        "prompt": [{"role": "system", "content": "top"}, {"role": "system", "content": "be brief"}, user("hi")],
        "chosen": [bot("hello")], "rejected": [bot("go away")]}


def test_sharegpt_conversation_is_messages_and_its_prompt_for_sft_and_online_methods() -> None:
    row = {"conversations": [{"from": "human", "value": "add"}, {"from": "function_call", "value": "{}"},
                             {"from": "observation", "value": "3"}, {"from": "gpt", "value": "it is 3"}],
           "tools": "[]"}
    out = normalise(row, "sharegpt")
    assert [m["role"] for m in out["messages"]] == ["user", "assistant", "tool", "assistant"]
    assert out["prompt"] == out["messages"][:-1]
    assert "tools" not in out


def test_sharegpt_kto_label_splits_off_the_last_answer() -> None:
    row = {"conversations": [{"from": "human", "value": "q"}, {"from": "gpt", "value": "a"}], "label": False}
    assert normalise(row, "sharegpt") == {"prompt": [user("q")], "completion": [bot("a")], "label": False}


def test_alpaca_instruction_input_system_and_history() -> None:
    row = {"instruction": "Translate", "input": "chat", "output": "cat", "system": "sys",
           "history": [["hello", "hi"]]}
    assert detect_format(row) == "alpaca"
    assert normalise(row, "alpaca") == {
        "prompt": [{"role": "system", "content": "sys"}, user("hello"), bot("hi"), user("Translate\n\nchat")],
        "completion": [bot("cat")]}


def test_alpaca_preference_both_shapes() -> None:
    want = {"prompt": [user("q")], "chosen": [bot("good")], "rejected": [bot("bad")]}
    assert normalise({"instruction": "q", "input": "", "chosen": "good", "rejected": "bad"}, "alpaca") == want
    assert normalise({"instruction": "q", "output": ["good", "bad"]}, "alpaca") == want


def test_openai_messages_last_assistant_turn_is_the_completion_and_label_makes_kto() -> None:
    msgs = [{"role": "system", "content": "s"}, user("q"), bot("a1"), user("more"), bot("a2")]
    assert normalise({"messages": msgs}, "openai") == {"prompt": msgs[:-1], "completion": [bot("a2")]}
    row = {"messages": [user("q"), bot("a")], "label": True}
    assert detect_format(row) == "openai"
    assert normalise(row, "openai") == {"prompt": [user("q")], "completion": [bot("a")], "label": True}


def test_bare_messages_stay_trl_language_modelling_rows() -> None:
    assert detect_format({"messages": [user("q"), bot("a")]}) == "trl"


def test_hh_transcripts_split_into_the_shared_prompt_and_two_answers() -> None:
    row = {"chosen": "\n\nHuman: hi\n\nAssistant: hello\n\nHuman: joke?\n\nAssistant: A pun.\n\n",
           "rejected": "\n\nHuman: hi\n\nAssistant: hello\n\nHuman: joke?\n\nAssistant: No."}
    assert detect_format(row) == "hh"
    assert normalise(row, "hh") == {"prompt": [user("hi"), bot("hello"), user("joke?")],
                                     "chosen": [bot("A pun.")], "rejected": [bot("No.")]}


def test_hh_transcripts_that_differ_before_the_answers_are_a_problem() -> None:
    row = {"chosen": "\n\nHuman: a\n\nAssistant: x", "rejected": "\n\nHuman: b\n\nAssistant: y"}
    with pytest.raises(RowProblem) as exc:
        normalise(row, "hh")
    assert exc.value.field == "rejected" and "shared prompt" in str(exc.value)


@pytest.mark.parametrize(("row", "fmt", "field", "text"), [
    ({"conversations": [{"from": "human"}], "chosen": {"from": "gpt", "value": "a"}}, "sharegpt", "conversations",
     "no text"),
    ({"conversations": [{"from": "robot", "value": "x"}]}, "sharegpt", "conversations", "unknown speaker 'robot'"),
    ({"instruction": "", "output": "x"}, "alpaca", "instruction", "non-empty"),
    ({"messages": [user("q")]}, "openai", "messages", "assistant's answer"),
    ({"conversations": [{"from": "human", "value": "q"}], "chosen": "a"}, "sharegpt", "rejected", "missing field"),
])
def test_rows_that_do_not_fit_name_the_field(row: dict, fmt: str, field: str, text: str) -> None:
    with pytest.raises(RowProblem) as exc:
        normalise(row, fmt)
    assert exc.value.field == field and text in str(exc.value)


def test_a_mixed_file_names_each_row_in_another_format() -> None:
    rows = [{"instruction": "q", "output": "a"}, {"instruction": "q2", "output": "b"},
            {"conversations": [{"from": "human", "value": "x"}]}]
    data = normalise_rows(rows, "auto", "mix.json")
    assert data.format == "alpaca"
    assert data.problems[0] == ("mix.json, row 3: looks like sharegpt while the file is alpaca (from its first "
                                "rows); one file holds one format (or set data.format)")


def test_a_named_format_reports_rows_that_lack_its_fields() -> None:
    data = normalise_rows([{"prompt": "q", "completion": "a"}], "alpaca", "f.jsonl")
    assert data.problems == ["f.jsonl, row 1, field `instruction`: expected the instruction as non-empty text"]
