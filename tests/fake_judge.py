"""A fake OpenAI-compatible chat endpoint on loopback: records requests and answers with a scripted rule."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Rule = Callable[[str, str], str]  # (answer A, answer B) -> the judge's reply text


def prefers_longer(a: str, b: str) -> str:
    return "A" if len(a) > len(b) else "B" if len(b) > len(a) else "TIE"


def always_first(_a: str, _b: str) -> str:
    return "A"  # a judge with pure position bias


def answers(prompt_text: str) -> tuple[str, str]:
    m = re.search(r"Answer A:\n(.*)\n\nAnswer B:\n(.*)\n\nWhich answer is better\?", prompt_text, re.S)
    assert m, prompt_text
    return m.group(1), m.group(2)


@contextmanager
def fake_judge(rule: Rule = prefers_longer, status: int = 200) -> Iterator[dict[str, Any]]:
    """Serve `/v1/chat/completions` on 127.0.0.1; yields {"url": base URL, "requests": [(headers, body), ...]}."""
    state: dict[str, Any] = {"requests": []}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            state["requests"].append((dict(self.headers), body))
            if self.path != "/v1/chat/completions" or status != 200:
                self.send_response(status if status != 200 else 404)
                self.end_headers()
                self.wfile.write(b'{"error": "scripted failure"}')
                return
            reply = rule(*answers(body["messages"][-1]["content"]))
            payload = json.dumps({"choices": [{"message": {"role": "assistant", "content": reply}}]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *_args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state["url"] = f"http://127.0.0.1:{server.server_address[1]}/v1"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
