"""A run's text log (stdout.log): its last lines, read from the end of the file, and whatever is appended after."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

BLOCK = 64 * 1024


@dataclass(frozen=True)
class LogTail:
    """The last lines of a log and the byte offset they end at (where following it continues)."""

    path: Path
    exists: bool
    lines: list[str]
    end: int


def tail_lines(path: Path, n: int, block: int = BLOCK) -> LogTail:
    """The last `n` lines of `path`, reading backwards block by block (never the whole file of a long run)."""
    try:
        fh = open(path, "rb")  # noqa: SIM115 - closed below; opened first so size and bytes agree
    except FileNotFoundError:
        return LogTail(Path(path), False, [], 0)
    with fh:
        fh.seek(0, 2)
        size = fh.tell()
        pos, buf = size, b""
        while pos > 0 and n > 0:
            step = min(block, pos)
            pos -= step
            fh.seek(pos)
            buf = fh.read(step) + buf
            if len(buf.splitlines()) > n:  # n whole lines plus the one the block boundary may have cut
                break
    lines = buf.splitlines()
    if pos > 0:
        lines = lines[1:]  # the first line may start mid-line (or mid-character)
    shown = lines[-n:] if n > 0 else []
    return LogTail(Path(path), True, [line.decode("utf-8", "replace") for line in shown], size)


def read_new(path: Path, offset: int) -> tuple[str, int]:
    """The text appended to `path` since byte `offset`, and the offset to continue from."""
    try:
        with open(path, "rb") as fh:
            fh.seek(offset)
            data = fh.read()
    except FileNotFoundError:
        return "", offset
    return data.decode("utf-8", "replace"), offset + len(data)


def follow(path: Path, offset: int, ended: Callable[[], bool], poll_s: float = 0.5) -> Iterator[str]:
    """Yield the text appended to `path` from `offset` on, until nothing new comes and `ended()` says the writer
    is gone (checked only when idle, so the last output is never cut off)."""
    while True:
        text, offset = read_new(path, offset)
        if text:
            yield text
        elif ended():
            return
        else:
            time.sleep(poll_s)
