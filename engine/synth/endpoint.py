"""An OpenAI-compatible chat endpoint as a generator: retries with backoff on 408/409/429/5xx and lost connections,
a clear error (exit 2) on any other refusal."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from typing import Any

from engine.errors import ReinsError

RETRY_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504})
MAX_BACKOFF_S = 30.0


class EndpointError(ReinsError):
    """The endpoint refused a request (a 4xx other than 408/409/429), or kept failing after every retry."""


Sleep = Callable[[float], None]


def api_key(env_name: str | None) -> dict[str, str]:
    """The Authorization header from the variable `env_name` names (the key itself is never stored)."""
    if not env_name:
        return {}
    key = os.environ.get(env_name)
    if not key:
        raise EndpointError(f"--api-key-env names ${env_name}, which is not set in this environment.")
    return {"Authorization": f"Bearer {key}"}


class RetryingPost:
    """POST JSON and return the parsed reply; transient failures are retried with exponential backoff (honouring
    Retry-After). Its call signature is the judge client's `post`, so a chat judge gets the same retries."""

    def __init__(self, retries: int = 5, base_delay_s: float = 1.0, sleep: Sleep = time.sleep) -> None:
        self.retries = retries
        self.base_delay_s = base_delay_s
        self.sleep = sleep
        self.requests = 0  # every HTTP request sent, retries included
        self.retried = 0

    def __call__(self, url: str, body: dict[str, Any], headers: dict[str, str], timeout: float) -> dict[str, Any]:
        import requests

        for attempt in range(self.retries + 1):
            self.requests += 1
            last = attempt == self.retries
            try:
                resp = requests.post(url, json=body, headers=headers, timeout=timeout)
            except requests.RequestException as exc:
                if last:
                    raise EndpointError(f"The endpoint {url} could not be reached after {attempt + 1} tries: "
                                        f"{exc.__class__.__name__}: {exc}") from None
                self._wait(attempt, None)
                continue
            if resp.status_code == 200:
                try:
                    return resp.json()
                except ValueError:
                    raise EndpointError(f"The endpoint {url} did not answer JSON: {resp.text[:300]}") from None
            if resp.status_code in RETRY_STATUSES and not last:
                self._wait(attempt, resp.headers.get("Retry-After"))
                continue
            tries = f" after {attempt + 1} tries" if resp.status_code in RETRY_STATUSES else ""
            raise EndpointError(f"The endpoint {url} refused the request{tries}: HTTP {resp.status_code}: "
                                f"{resp.text[:300]}")
        raise AssertionError("unreachable")

    def _wait(self, attempt: int, retry_after: str | None) -> None:
        self.retried += 1
        try:
            delay = float(retry_after) if retry_after else self.base_delay_s * 2 ** attempt
        except ValueError:
            delay = self.base_delay_s * 2 ** attempt  # an HTTP-date Retry-After: fall back to the backoff
        self.sleep(min(MAX_BACKOFF_S, max(0.0, delay)))


class EndpointClient:
    """Chat completions from one endpoint and model, one request per answer (not every server supports `n`)."""

    def __init__(self, url: str, model: str, api_key_env: str | None = None, timeout_s: float = 60.0,
                 post: RetryingPost | None = None) -> None:
        self.url = url.rstrip("/") + "/chat/completions"
        self.model = model
        self.timeout_s = timeout_s
        self.headers = {"Content-Type": "application/json", **api_key(api_key_env)}
        self.post = post or RetryingPost()

    def complete(self, messages: list[dict[str, str]], max_tokens: int, temperature: float, seed: int) -> str:
        body = {"model": self.model, "messages": messages, "max_tokens": max_tokens, "temperature": temperature,
                "seed": seed}
        reply = self.post(self.url, body, self.headers, self.timeout_s)
        try:
            return str(reply["choices"][0]["message"]["content"] or "").strip()
        except (KeyError, IndexError, TypeError):
            raise EndpointError(f"The endpoint {self.url} answered without choices[0].message.content: "
                                f"{str(reply)[:300]}") from None

    def generate(self, prompts: Sequence[list[dict[str, str]]], max_tokens: int, temperature: float,
                 seed: int) -> list[str]:
        """One answer per prompt, in order (the seed is sent; servers that honour it are reproducible)."""
        return [self.complete(p, max_tokens, temperature, seed) for p in prompts]
