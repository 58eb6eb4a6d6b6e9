"""The judge: win/tie/loss tally and its interval, position-bias handling (chat and scoring judges), the rubric, and the
chat client on a loopback fake."""

from __future__ import annotations

import pytest

from engine.recipe.schema import ChatJudge
from engine.verdict.judge import (
    SYSTEM,
    ChatJudgeClient,
    JudgeError,
    Tally,
    by_score,
    combine,
    decide_by_gaps,
    pairwise_messages,
    tally,
)


def test_tally_counts_ties_half_and_leaves_unjudged_out() -> None:
    t = tally(["policy", "policy", "tie", "reference", None])
    assert (t.wins, t.ties, t.losses, t.n) == (2, 1, 1, 4)
    assert t.win_rate == pytest.approx(2.5 / 4)


def test_wilson_interval_holds_the_rate_and_narrows_with_more_prompts() -> None:
    small, large = Tally(3, 0, 1), Tally(300, 0, 100)
    lo, hi = small.interval()
    assert lo < 0.75 < hi and 0 <= lo and hi <= 1
    lo2, hi2 = large.interval()
    assert lo2 < 0.75 < hi2 and (hi2 - lo2) < (hi - lo) / 5
    # all wins: the interval still admits doubt at n=4, and never leaves [0, 1]
    lo3, hi3 = Tally(4, 0, 0).interval()
    assert hi3 == 1.0 and 0.4 < lo3 < 0.6
    assert Tally(0, 0, 0).interval() is None and Tally(0, 0, 0).to_dict()["win_rate"] is None


def test_score_verdicts_and_tie_margin() -> None:
    assert by_score(1.0, 0.5) == "policy" and by_score(0.5, 1.0) == "reference"
    assert by_score(1.0, 0.95, tie_margin=0.1) == "tie"


def test_a_win_must_survive_swapping_the_answers() -> None:
    assert combine("A", "B") == "policy"  # policy was A, then B: picked both times
    assert combine("B", "A") == "reference"
    assert combine("A", "A") == "tie"  # always the first answer: position bias, not a preference
    assert combine(None, "B") == "tie" and combine("TIE", "TIE") == "tie"


def _cfg(url: str, **kw) -> ChatJudge:
    return ChatJudge(kind="openai", url=url, model="judge-1", **kw)


def test_chat_judge_asks_both_orders_and_reads_the_verdict(fake_judge, prefers_longer) -> None:
    with fake_judge(prefers_longer) as fake:
        client = ChatJudgeClient(_cfg(fake["url"]))
        assert client.judge("q", policy="a long helpful answer", reference="short") == "policy"
        assert client.judge("q", policy="meh", reference="a much longer answer") == "reference"
        assert client.judge("q", policy="same", reference="same") == "tie"  # identical: not even asked
    bodies = [body for _, body in fake["requests"]]
    assert len(bodies) == 4 and all(b["model"] == "judge-1" and b["temperature"] == 0 for b in bodies)
    first, second = bodies[0]["messages"][-1]["content"], bodies[1]["messages"][-1]["content"]
    assert "Answer A:\na long helpful answer" in first and "Answer A:\nshort" in second


def test_position_biased_judge_gives_ties_not_wins(always_first, fake_judge) -> None:
    with fake_judge(always_first) as fake:
        client = ChatJudgeClient(_cfg(fake["url"]))
        assert [client.judge("q", "x" * n, "y") for n in (1, 5, 9)] == ["tie"] * 3


def test_api_key_comes_from_the_named_environment_variable(monkeypatch: pytest.MonkeyPatch, fake_judge) -> None:
    monkeypatch.setenv("REINS_TEST_JUDGE_KEY", "sk-test-123")
    with fake_judge() as fake:
        ChatJudgeClient(_cfg(fake["url"], api_key_env="REINS_TEST_JUDGE_KEY")).judge("q", "aa", "a")
    headers = fake["requests"][0][0]
    assert headers.get("Authorization") == "Bearer sk-test-123"
    monkeypatch.delenv("REINS_TEST_JUDGE_KEY")
    with pytest.raises(JudgeError, match=r"\$REINS_TEST_JUDGE_KEY, which is not set"):
        ChatJudgeClient(_cfg("http://127.0.0.1:9/v1", api_key_env="REINS_TEST_JUDGE_KEY"))


def test_unreachable_and_failing_judges_are_named_errors(fake_judge) -> None:
    with fake_judge() as fake:
        url = fake["url"]
    with pytest.raises(JudgeError, match=r"could not be reached"):  # the server is gone: connection refused
        ChatJudgeClient(_cfg(url, timeout_s=5)).judge("q", "aa", "a")
    with fake_judge(status=500) as fake, pytest.raises(JudgeError, match=r"answered HTTP 500"):
        ChatJudgeClient(_cfg(fake["url"])).judge("q", "aa", "a")


def _samples() -> list[dict]:
    return [{"prompt": f"q{i}", "policy": f"policy answer {i}", "reference": f"reference {i}"} for i in range(3)]


def test_a_scorer_that_prefers_the_first_answer_yields_ties() -> None:
    samples = _samples()
    asked: list[tuple[str, str, str]] = []

    def first_wins(pairs):
        asked.extend(pairs)
        return [2.0] * len(pairs)  # log p(A) − log p(B) > 0 whatever A is

    decide_by_gaps(samples, first_wins)
    assert [s["winner"] for s in samples] == ["tie"] * 3
    assert samples[0]["scores"] == {"policy_as_a": 2.0, "policy_as_b": -2.0}
    # both orders were asked: the policy as A, then as B
    assert asked[0] == ("q0", "policy answer 0", "reference 0") and asked[3] == ("q0", "reference 0", "policy answer 0")


def test_a_scorer_that_prefers_the_policy_in_both_orders_yields_wins() -> None:
    samples = _samples() + [{"prompt": "q", "policy": "same", "reference": "same ", "scores": {"policy": 1.0}}]

    def prefers_policy(pairs):
        return [1.5 if a.startswith("policy") else -0.5 for _, a, _b in pairs]

    decide_by_gaps(samples, prefers_policy)
    assert [s["winner"] for s in samples] == ["policy", "policy", "policy", "tie"]  # identical answers: not asked
    assert samples[1]["scores"] == {"policy_as_a": 1.5, "policy_as_b": 0.5} and "scores" not in samples[3]
    assert tally([s["winner"] for s in samples]).wins == 3


def test_one_rubric_for_every_pairwise_judge() -> None:
    system, user = pairwise_messages("hi", "first", "second")
    assert system == {"role": "system", "content": SYSTEM}
    assert user["content"] == "User message:\nhi\n\nAnswer A:\nfirst\n\nAnswer B:\nsecond\n\nWhich answer is better?"


def test_a_reward_model_is_refused_as_a_local_judge(tmp_path) -> None:
    import json

    from engine.errors import ReinsError
    from engine.recipe.schema import LocalJudge
    from engine.verdict.reward_scoring import check_local_model

    (tmp_path / "config.json").write_text(json.dumps({"architectures": ["LlamaForSequenceClassification"]}))
    with pytest.raises(ReinsError, match=r"a reward model: judge with it through --judge-run"):
        check_local_model(LocalJudge(kind="local", model=str(tmp_path)), None)
    (tmp_path / "config.json").write_text(json.dumps({"architectures": ["LlamaForCausalLM"]}))
    assert check_local_model(LocalJudge(kind="local", model=str(tmp_path)), None) == str(tmp_path)
