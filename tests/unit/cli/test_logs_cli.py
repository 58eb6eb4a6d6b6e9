"""`reins logs`: the last lines of a long log without reading all of it, and `--follow` until the run ends."""

from __future__ import annotations

import builtins
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine.runs.events import EventWriter


def test_logs_reads_only_the_end_of_a_long_log(tmp_path: Path, make_run, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from engine.cli.app import app

    rd = make_run(tmp_path, "20261127-000000-long")
    with rd.stdout.open("w") as fh:
        for i in range(200_000):
            fh.write(f"step {i}: loss {1 / (i + 1):.6f} and some padding to make the line longer\n")
    size = rd.stdout.stat().st_size
    read_from_log: list[int] = []
    real_open = builtins.open

    class Counting:
        """A file whose reads are counted; everything else goes to the real file."""

        def __init__(self, fh) -> None:  # noqa: ANN001
            self._fh = fh

        def read(self, *args):  # noqa: ANN002, ANN202
            data = self._fh.read(*args)
            read_from_log.append(len(data))
            return data

        def __getattr__(self, name: str):  # noqa: ANN204
            return getattr(self._fh, name)

        def __enter__(self):  # noqa: ANN204
            return self

        def __exit__(self, *exc: object) -> None:
            self._fh.close()

    def counting_open(file, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        fh = real_open(file, *args, **kwargs)
        return Counting(fh) if str(file) == str(rd.stdout) else fh

    monkeypatch.setattr(builtins, "open", counting_open)
    res = CliRunner().invoke(app, ["logs", rd.id, "-n", "3", "--runs-dir", str(tmp_path)])
    assert res.exit_code == 0, res.output
    assert res.output.splitlines() == [f"step {i}: loss {1 / (i + 1):.6f} and some padding to make the line longer"
                                       for i in (199_997, 199_998, 199_999)]
    assert read_from_log and sum(read_from_log) < size / 100  # a few KiB of a ~14 MiB log


def test_logs_follow_prints_new_output_until_the_run_ends(tmp_path: Path, make_run, cli_env) -> None:
    launcher = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"], start_new_session=True)
    try:
        rd = make_run(tmp_path, "20261127-000000-live", status="running", pid=launcher.pid,
                      events=[("status", {"status": "running", "max_steps": 4})])
        rd.stdout.write_text("old 1\nold 2\n")
        follower = subprocess.Popen([sys.executable, "-m", "engine", "logs", rd.id, "-n", "1", "--follow"],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                    env=cli_env(tmp_path, PYTHONUNBUFFERED="1"))
        first = follower.stdout.readline()  # the tail is printed: now the run writes more, then ends
        with rd.stdout.open("a") as fh:
            fh.write("new 3\n")
        time.sleep(1.5)  # a poll or two while the run is still alive
        with EventWriter(rd.events) as w:
            w.status("completed", summary={"steps": 4})
        rest, err = follower.communicate(timeout=60)
    finally:
        os.kill(launcher.pid, signal.SIGKILL)
        launcher.wait()
    assert follower.returncode == 0, err
    assert first + rest == "old 2\nnew 3\n"
