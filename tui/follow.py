"""Following a run: its log's last lines, then a thread tailing `events.jsonl` that posts coalesced messages."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from textual.message import Message
from textual.message_pump import MessagePump

from engine.runs.logs import tail_lines
from engine.runs.rundir import RunDir


@dataclass
class Batch:
    """Everything that arrived since the UI last looked."""

    events: list[dict[str, Any]] = field(default_factory=list)
    log_lines: list[str] = field(default_factory=list)
    record: dict[str, Any] | None = None


class RunUpdated(Message):
    """New events for one run are waiting in its follower's buffer. Replaces an unhandled one for the same run."""

    def __init__(self, run_id: str) -> None:
        super().__init__()
        self.run_id = run_id

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, RunUpdated) and message.run_id == self.run_id


class Follower:
    """Tails one run directory from `offset` in a daemon thread; the UI drains `take()` when told to."""

    def __init__(self, target: MessagePump, run_dir: Path, offset: int = 0, log_offset: int | None = None,
                 poll_s: float = 0.5) -> None:
        self.target = target
        self.run_dir = Path(run_dir)
        self.offset = offset
        self.log_offset = log_offset
        self.poll_s = poll_s
        self._pending = Batch()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True, name=f"follow-{self.run_dir.name}")

    def start(self) -> Follower:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def take(self) -> Batch:
        with self._lock:
            batch, self._pending = self._pending, Batch()
        return batch

    def poll_once(self) -> bool:
        """Read what was appended since the last poll; True if anything new was queued."""
        from engine.runs.events import read_from

        chunk = read_from(RunDir(self.run_dir).events, self.offset, max_bytes=8 * 1024 * 1024)
        self.offset = chunk.offset
        lines = self._read_log()
        if not chunk.events and not lines:
            return False
        record = None
        if any(e.get("kind") == "status" for e in chunk.events):
            record = RunDir(self.run_dir).read()
        with self._lock:
            self._pending.events.extend(chunk.events)
            self._pending.log_lines.extend(lines)
            if record is not None:
                self._pending.record = record
        return True

    def _read_log(self) -> list[str]:
        path = RunDir(self.run_dir).stdout
        try:
            size = path.stat().st_size
        except OSError:
            return []
        if self.log_offset is None or size < self.log_offset:
            self.log_offset = size
            return []
        if size == self.log_offset:
            return []
        with open(path, "rb") as fh:
            fh.seek(self.log_offset)
            data = fh.read(1024 * 1024)
        end = data.rfind(b"\n")
        if end < 0:
            return []
        self.log_offset += end + 1
        return data[: end + 1].decode("utf-8", "replace").replace("\r", "\n").splitlines()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                got = self.poll_once()
            except OSError:
                got = False
            if got:
                self.target.post_message(RunUpdated(self.run_dir.name))
            # A burst (the file grew by a full chunk) is read again at once; otherwise wait for the next poll.
            if not got or self._stop.wait(0.05):
                self._stop.wait(self.poll_s)


def log_tail(path: Path, lines: int = 200) -> list[str]:
    """The last lines of a log for the Log tab, reading only its end; carriage returns (progress bars redrawing a
    line) start new lines, as a terminal would show them."""
    tail = tail_lines(path, lines).lines
    return [piece for line in tail for piece in line.replace("\r", "\n").splitlines()][-lines:]
