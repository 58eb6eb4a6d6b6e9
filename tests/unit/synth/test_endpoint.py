"""The synth endpoint client against a loopback fake server: retries on 429/5xx, a refusal is a clear exit-2 error."""

from __future__ import annotations

import pytest

from engine.errors import ReinsError
from engine.synth.endpoint import EndpointClient, EndpointError, RetryingPost

MESSAGES = [{"role": "system", "content": "Be kind."}, {"role": "user", "content": "Hello?"}]


def _client(url: str, retries: int = 3, **kwargs: object) -> tuple[EndpointClient, list[float]]:
    slept: list[float] = []
    return EndpointClient(url, "fake", post=RetryingPost(retries, sleep=slept.append), **kwargs), slept


def test_429_is_retried_with_backoff_then_answers(fake_chat) -> None:
    with fake_chat(statuses=[429, 503]) as server:
        client, slept = _client(server["url"])
        answer = client.complete(MESSAGES, max_tokens=8, temperature=0.0, seed=3)
    assert answer.endswith("answer to: Hello?")
    assert len(server["requests"]) == 3 and client.post.requests == 3 and client.post.retried == 2
    assert slept == [0.0, 0.0]  # the server's Retry-After: 0 is honoured
    body = server["requests"][-1][1]
    assert body["model"] == "fake" and body["messages"] == MESSAGES and body["seed"] == 3 and body["max_tokens"] == 8


def test_backoff_doubles_without_retry_after() -> None:
    waits: list[float] = []
    post = RetryingPost(retries=3, base_delay_s=0.5, sleep=waits.append)
    for attempt in range(3):
        post._wait(attempt, None)
    assert waits == [0.5, 1.0, 2.0]


def test_a_refusal_is_a_user_error_without_retries(fake_chat) -> None:
    with fake_chat(always=403) as server:
        client, slept = _client(server["url"])
        with pytest.raises(EndpointError) as caught:
            client.complete(MESSAGES, 8, 0.0, 0)
    assert isinstance(caught.value, ReinsError) and caught.value.exit_code == 2
    assert "HTTP 403" in str(caught.value) and "refused" in str(caught.value)
    assert len(server["requests"]) == 1 and slept == []


def test_retries_run_out_with_a_message_naming_the_tries(fake_chat) -> None:
    with fake_chat(always=503) as server:
        client, _ = _client(server["url"], retries=2)
        with pytest.raises(EndpointError, match="after 3 tries: HTTP 503"):
            client.complete(MESSAGES, 8, 0.0, 0)
    assert len(server["requests"]) == 3


def test_the_key_comes_from_the_named_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SYNTH_TEST_KEY", raising=False)
    with pytest.raises(EndpointError, match=r"\$SYNTH_TEST_KEY, which is not set"):
        EndpointClient("http://127.0.0.1:9/v1", "m", api_key_env="SYNTH_TEST_KEY")
    monkeypatch.setenv("SYNTH_TEST_KEY", "sk-test")
    client = EndpointClient("http://127.0.0.1:9/v1", "m", api_key_env="SYNTH_TEST_KEY")
    assert client.headers["Authorization"] == "Bearer sk-test"


def test_an_unreachable_endpoint_is_named() -> None:
    client, slept = _client("http://127.0.0.1:9/v1", retries=1)
    with pytest.raises(EndpointError, match="could not be reached after 2 tries"):
        client.complete(MESSAGES, 8, 0.0, 0)
    assert len(slept) == 1
