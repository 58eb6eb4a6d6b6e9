"""A fake OpenAI-compatible `/v1/chat/completions` server on loopback, for synth tests and the synth measurement:
it answers generation requests from the system prompt and the user's words, judges pairwise requests by length
(the longer answer wins), and can answer a scripted sequence of failure statuses first (429, 503, 403, …).

`python -m tests.fakes.chat_server PORT_FILE` serves until killed, writing its base URL to PORT_FILE."""

from __future__ import annotations

import hashlib
import json
import re
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

JUDGE = re.compile(r"Answer A:\n(.*)\n\nAnswer B:\n(.*)\n\nWhich answer is better\?", re.S)


def reply_for(body: dict[str, Any]) -> str:
    """A judge's letter for a pairwise request; otherwise an answer that depends on the system prompt and the user
    message (so good and degraded system prompts give different answers), `temperature` and `seed`."""
    messages = body.get("messages") or []
    last = str(messages[-1].get("content", "")) if messages else ""
    m = JUDGE.search(last)
    if m:
        a, b = m.group(1), m.group(2)
        return "A" if len(a) > len(b) else "B" if len(b) > len(a) else "TIE"
    system = next((str(x["content"]) for x in messages if x.get("role") == "system"), "")
    tag = hashlib.sha256(f"{system}|{body.get('seed')}|{body.get('temperature')}".encode()).hexdigest()[:6]
    words = "very long and careful " * (1 + int(tag, 16) % 4)  # sampled answers differ in length, so N differ
    return f"[{tag}] {words}answer to: {last[:60]}"


@contextmanager
def serve(statuses: list[int] | None = None, always: int | None = None,
          reply: Callable[[dict[str, Any]], str] = reply_for) -> Iterator[dict[str, Any]]:
    """Serve on a free loopback port; yields {"url", "requests": [(headers, body), …]}. `statuses`: HTTP codes
    answered to the first requests, in order, before normal replies; `always`: a code answered to every request;
    `reply`: the assistant's text for a request body."""
    state: dict[str, Any] = {"requests": [], "script": list(statuses or [])}
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with lock:
                state["requests"].append((dict(self.headers), body))
                code = always or (state["script"].pop(0) if state["script"] else 200)
            if self.path != "/v1/chat/completions":
                code = 404
            if code != 200:
                self._send(code, {"error": {"message": f"scripted failure {code}"}}, {"Retry-After": "0"})
                return
            self._send(200, {"choices": [{"message": {"role": "assistant", "content": reply(body)}}]})

        def _send(self, code: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
            data = json.dumps(payload).encode()
            self.send_response(code)
            for k, v in {"Content-Type": "application/json", "Content-Length": str(len(data)),
                         **(headers or {})}.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

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


def main(argv: list[str]) -> int:
    """Serve until killed; the URL goes to PORT_FILE and each request's count to PORT_FILE.requests."""
    port_file = Path(argv[0])
    statuses = [int(s) for s in argv[1:]]
    with serve(statuses) as state:
        port_file.write_text(state["url"])
        try:
            while True:
                threading.Event().wait(1.0)
                Path(f"{port_file}.requests").write_text(str(len(state["requests"])))
        except KeyboardInterrupt:
            return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
