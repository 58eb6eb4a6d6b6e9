"""The data formats Reins reads, detected from a row's fields or named with `data.format`, each normalised to TRL's
own rows (`prompt`/`chosen`/`rejected`/`completion`/`label`/`messages`) so the rest of Reins sees one shape."""

from __future__ import annotations

import re
from typing import Any

FORMATS = ("trl", "sharegpt", "alpaca", "openai", "hh")
FORMAT_NAMES = {
    "trl": "TRL standard/conversational",
    "sharegpt": "ShareGPT / LLaMA-Factory",
    "alpaca": "Alpaca",
    "openai": "OpenAI messages",
    "hh": "Anthropic-HH plain text",
}
# ShareGPT speakers (LLaMA-Factory's tags) → chat roles; tool calls are the assistant's turns, their results the tool's.
SHAREGPT_ROLES = {"human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant", "system": "system",
                  "function_call": "assistant", "observation": "tool", "tool": "tool"}
HH_TURN = re.compile(r"(?:^|\n\n)(Human|Assistant):[ \t]?")
HH_ROLES = {"Human": "user", "Assistant": "assistant"}


class RowProblem(ValueError):
    """A row that does not fit its format: `field` names the field at fault (None: the row as a whole)."""

    def __init__(self, field: str | None, message: str) -> None:
        super().__init__(message)
        self.field = field


def detect_format(row: dict[str, Any]) -> str | None:
    """The format a row's fields say it is in, or None when no format fits."""
    if "conversations" in row:
        return "sharegpt"
    if "instruction" in row:
        return "alpaca"
    if "messages" in row and ("label" in row or "chosen" in row):
        return "openai"  # a bare `messages` row is TRL's conversational language-modelling row (the same shape)
    if "prompt" not in row and _is_hh_text(row.get("chosen")) and _is_hh_text(row.get("rejected")):
        return "hh"
    if {"prompt", "chosen", "completion", "text", "messages"} & set(row):
        return "trl"
    return None


def _is_hh_text(value: Any) -> bool:
    return isinstance(value, str) and value.lstrip().startswith("Human:") and "\n\nAssistant:" in value


def normalise(row: dict[str, Any], fmt: str) -> dict[str, Any]:
    """The row as TRL reads it; raises RowProblem naming the field when it does not fit `fmt`. Fields the
    conversion does not use (a `category`, an `id`) are kept."""
    if fmt == "trl":
        return dict(row)
    extra = {k: v for k, v in row.items() if k not in _CONSUMED[fmt]}
    return {**extra, **_NORMALISERS[fmt](row)}


def _message(turn: Any, field: str, where: str) -> dict[str, str]:
    """One ShareGPT turn ({from, value}) or chat message ({role, content}) as a chat message."""
    if not isinstance(turn, dict):
        raise RowProblem(field, f"{where} must be an object with `from`/`value` (or `role`/`content`), "
                                f"got {type(turn).__name__}")
    speaker = turn.get("from", turn.get("role"))
    text = turn.get("value", turn.get("content"))
    if speaker not in SHAREGPT_ROLES:
        raise RowProblem(field, f"{where} has unknown speaker {speaker!r} "
                                f"(known: {', '.join(SHAREGPT_ROLES)})")
    if not isinstance(text, str):
        raise RowProblem(field, f"{where} has no text (`value` or `content`)")
    return {"role": SHAREGPT_ROLES[speaker], "content": text}


def _answer(value: Any, field: str) -> list[dict[str, str]]:
    """A ShareGPT `chosen`/`rejected`: one turn object, a list of turns, or plain text."""
    if isinstance(value, str):
        return [{"role": "assistant", "content": value}]
    if isinstance(value, list):
        return [_message(t, field, f"turn {i}") for i, t in enumerate(value)]
    if value is None:
        raise RowProblem(field, f"missing field `{field}`")
    return [_message(value, field, "the answer")]


def _system(row: dict[str, Any]) -> list[dict[str, str]]:
    system = row.get("system")
    return [{"role": "system", "content": system}] if isinstance(system, str) and system.strip() else []


def _split_last_answer(messages: list[dict[str, str]], field: str) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """(the conversation before the last turn, [the last turn]); the last turn must be the assistant's."""
    if not messages or messages[-1]["role"] != "assistant":
        raise RowProblem(field, "the last turn must be the assistant's answer")
    if len(messages) < 2:
        raise RowProblem(field, "needs a prompt before the answer")
    return messages[:-1], messages[-1:]


def _sharegpt(row: dict[str, Any]) -> dict[str, Any]:
    turns = row.get("conversations")
    if not isinstance(turns, list) or not turns:
        raise RowProblem("conversations", "expected a list of turns with `from` and `value`")
    conv = _system(row) + [_message(t, "conversations", f"turn {i}") for i, t in enumerate(turns)]
    if "chosen" in row or "rejected" in row:
        return {"prompt": conv, "chosen": _answer(row.get("chosen"), "chosen"),
                "rejected": _answer(row.get("rejected"), "rejected")}
    label = row.get("label", row.get("kto_tag"))
    if label is not None:
        prompt, completion = _split_last_answer(conv, "conversations")
        return {"prompt": prompt, "completion": completion, "label": label}
    out: dict[str, Any] = {"messages": conv}
    # A prompt for online methods (GRPO, RLOO, PPO): the conversation before its last answer.
    out["prompt"] = conv[:-1] if conv[-1]["role"] == "assistant" and len(conv) > 1 else conv
    return out


def _alpaca(row: dict[str, Any]) -> dict[str, Any]:
    instruction = row.get("instruction")
    if not isinstance(instruction, str) or not instruction.strip():
        raise RowProblem("instruction", "expected the instruction as non-empty text")
    text = instruction if not row.get("input") else f"{instruction}\n\n{row['input']}"
    history = []
    for i, pair in enumerate(row.get("history") or []):
        if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(p, str) for p in pair)):
            raise RowProblem("history", f"item {i} must be [question, answer]")
        history += [{"role": "user", "content": pair[0]}, {"role": "assistant", "content": pair[1]}]
    prompt = _system(row) + history + [{"role": "user", "content": text}]
    output = row.get("output")
    if isinstance(output, list) and len(output) == 2 and "chosen" not in row:
        output, row = None, {**row, "chosen": output[0], "rejected": output[1]}  # older ranked Alpaca: [better, worse]
    if "chosen" in row or "rejected" in row:
        return {"prompt": prompt, "chosen": _text_answer(row.get("chosen"), "chosen"),
                "rejected": _text_answer(row.get("rejected"), "rejected")}
    out: dict[str, Any] = {"prompt": prompt}
    if output is not None:
        out["completion"] = _text_answer(output, "output")
    label = row.get("label", row.get("kto_tag"))
    if label is not None:
        out["label"] = label
    return out


def _text_answer(value: Any, field: str) -> list[dict[str, str]]:
    if not isinstance(value, str):
        raise RowProblem(field, f"missing field `{field}`" if value is None
                         else f"expected text, got {type(value).__name__}")
    return [{"role": "assistant", "content": value}]


def _openai(row: dict[str, Any]) -> dict[str, Any]:
    messages = row.get("messages")
    if not isinstance(messages, list) or not messages:
        raise RowProblem("messages", "expected a list of messages with `role` and `content`")
    conv = [_message(m, "messages", f"message {i}") for i, m in enumerate(messages)]
    if "chosen" in row or "rejected" in row:
        return {"prompt": conv, "chosen": _answer(row.get("chosen"), "chosen"),
                "rejected": _answer(row.get("rejected"), "rejected")}
    prompt, completion = _split_last_answer(conv, "messages")  # the last assistant turn is what is learnt
    out: dict[str, Any] = {"prompt": prompt, "completion": completion}
    if "label" in row:
        out["label"] = row["label"]
    return out


def hh_turns(text: Any, field: str) -> list[dict[str, str]]:
    """An Anthropic-HH transcript (`\\n\\nHuman: …\\n\\nAssistant: …`) as chat messages."""
    if not isinstance(text, str):
        raise RowProblem(field, f"missing field `{field}`" if text is None
                         else f"expected a Human/Assistant transcript, got {type(text).__name__}")
    parts = HH_TURN.split(text.strip("\n"))
    if len(parts) < 3 or parts[0].strip():
        raise RowProblem(field, "expected a transcript starting with `Human:` and alternating with `Assistant:`")
    turns = zip(parts[1::2], parts[2::2], strict=True)
    return [{"role": HH_ROLES[who], "content": said.strip()} for who, said in turns]


def _hh(row: dict[str, Any]) -> dict[str, Any]:
    chosen, rejected = hh_turns(row.get("chosen"), "chosen"), hh_turns(row.get("rejected"), "rejected")
    prompt, chosen_answer = _split_last_answer(chosen, "chosen")
    other, rejected_answer = _split_last_answer(rejected, "rejected")
    if prompt != other:
        raise RowProblem("rejected", "the two transcripts differ before their last answers (no shared prompt)")
    return {"prompt": prompt, "chosen": chosen_answer, "rejected": rejected_answer}


_NORMALISERS = {"sharegpt": _sharegpt, "alpaca": _alpaca, "openai": _openai, "hh": _hh}
_CONSUMED = {
    "sharegpt": {"conversations", "system", "chosen", "rejected", "label", "kto_tag", "tools"},
    "alpaca": {"instruction", "input", "output", "system", "history", "chosen", "rejected", "label", "kto_tag"},
    "openai": {"messages", "chosen", "rejected", "label"},
    "hh": {"chosen", "rejected"},
}
