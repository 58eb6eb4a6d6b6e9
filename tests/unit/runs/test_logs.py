"""Reading a run's text log from its end: the last lines without reading the whole file, then what is appended."""

from __future__ import annotations

from pathlib import Path

from engine.runs.logs import follow, read_new, tail_lines


def test_tail_returns_the_last_lines_whatever_the_block_boundaries(tmp_path: Path) -> None:
    path = tmp_path / "stdout.log"
    path.write_bytes(b"".join(b"line %d\n" % i for i in range(1000)) + b"torn last")
    for block in (7, 64, 4096, 1 << 20):
        tail = tail_lines(path, 3, block=block)
        assert tail.lines == ["line 998", "line 999", "torn last"] and tail.end == path.stat().st_size
    assert tail_lines(path, 0).lines == []
    assert tail_lines(path, 5000).lines[0] == "line 0"  # fewer lines than asked: the whole file


def test_tail_of_a_missing_log(tmp_path: Path) -> None:
    tail = tail_lines(tmp_path / "stdout.log", 5)
    assert (tail.exists, tail.lines, tail.end) == (False, [], 0)


def test_progress_bars_and_bad_bytes_do_not_break_lines(tmp_path: Path) -> None:
    path = tmp_path / "stdout.log"
    path.write_bytes(b"start\n 10%\r 50%\r100%\r\nbad \xff byte\n")
    assert tail_lines(path, 3).lines == [" 50%", "100%", "bad \ufffd byte"]


def test_following_reads_what_is_appended_until_the_writer_has_ended(tmp_path: Path) -> None:
    path = tmp_path / "stdout.log"
    path.write_text("old\n")
    end = tail_lines(path, 1).end
    assert read_new(path, end) == ("", end)
    asked: list[bool] = []

    def ended() -> bool:
        if not asked:
            with path.open("a") as fh:
                fh.write("new\n")  # the worker writes while the reader waits
        asked.append(True)
        return len(asked) > 1

    assert list(follow(path, end, ended, poll_s=0.01)) == ["new\n"]
    with path.open("a") as fh:
        fh.write("last words\n")
    # the writer has ended, but what it wrote before is still printed
    assert list(follow(path, end + 4, lambda: True, poll_s=0.01)) == ["last words\n"]
