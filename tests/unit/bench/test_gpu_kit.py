"""bench/kit.py without the network: pins, the size check against 64 MiB, and the device command."""

from __future__ import annotations

import importlib.metadata as md
import subprocess
from pathlib import Path
from types import ModuleType

import pytest


def test_device_command_fits_the_tool_and_installs_then_runs_the_check(kit: ModuleType) -> None:
    cmd = kit.device_command()
    assert len(cmd) <= 2000
    assert cmd.startswith("python3 -m pip install -q --no-index --no-deps --no-compile")
    assert "--target /tmp/site .whl/*.whl" in cmd and "PYTHONPATH=/tmp/site:$PWD" in cmd
    assert cmd.endswith("python3 bench/gpu_check.py $OUT --budget-s 480 --tokenizer .whl/smollm2-tokenizer")


def test_pins_are_the_versions_installed_here(kit: ModuleType) -> None:
    assert kit.pinned("trl") == f"trl=={md.version('trl')}"
    assert kit.pinned("liger-kernel").startswith("liger-kernel==")  # fallback pin when not installed here
    with pytest.raises(SystemExit, match="not installed"):
        kit.pinned("no-such-package-reins")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / ".gitignore").write_text("/.whl/\nbuild/\n")
    (tmp_path / "tracked.py").write_bytes(b"x" * 2**20)
    (tmp_path / "build").mkdir()
    (tmp_path / "build" / "ignored.bin").write_bytes(b"x" * 5 * 2**20)
    return tmp_path


def fake_kit(kit: ModuleType, monkeypatch: pytest.MonkeyPatch, wheel_mib: float) -> list[list[str]]:
    calls: list[list[str]] = []

    def download(reqs: list[str], dest: Path) -> None:
        calls.append(reqs)
        (dest / "trl-0.0.1-py3-none-any.whl").write_bytes(b"x")  # a stale version: must be removed
        for r in reqs:
            name, version = r.split("==")
            (dest / f"{name.replace('-', '_')}-{version}-py3-none-any.whl").write_bytes(
                b"x" * int(wheel_mib * 2**20 / len(reqs)))

    def tokenizer(dest: Path) -> None:
        dest.mkdir(parents=True, exist_ok=True)
        (dest / "tokenizer_config.json").write_text("{}")

    monkeypatch.setattr(kit, "download", download)
    monkeypatch.setattr(kit, "save_tokenizer", tokenizer)
    return calls


def test_kit_sizes_wheels_tokenizer_and_the_travelling_repo(kit: ModuleType, repo: Path,
                                                             monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    calls = fake_kit(kit, monkeypatch, wheel_mib=10.0)
    assert kit.main(["--root", str(repo)]) == 0
    out = capsys.readouterr().out
    assert calls and {r.split("==")[0] for r in calls[0]} == set(kit.PACKAGES)
    assert not (repo / ".whl" / "trl-0.0.1-py3-none-any.whl").exists()  # one version of each package
    # the ignored build/ folder does not travel; .gitignore and tracked.py do (1 MiB)
    assert "repository 1.00 MiB" in out and "wheels 10.00 MiB" in out
    assert kit.device_command() in out


def test_kit_can_swap_a_package(kit: ModuleType, repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = fake_kit(kit, monkeypatch, wheel_mib=1.0)
    assert kit.main(["--root", str(repo), "--drop", "bitsandbytes", "--add", "pyarrow"]) == 0
    names = {r.split("==")[0] for r in calls[0]}
    assert "pyarrow" in names and "bitsandbytes" not in names
    assert not list((repo / ".whl").glob("bitsandbytes-*"))


def test_kit_over_the_limit_exits_2(kit: ModuleType, repo: Path, monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    fake_kit(kit, monkeypatch, wheel_mib=70.0)
    assert kit.main(["--root", str(repo)]) == 2
    assert "too large" in capsys.readouterr().err


def test_every_package_the_engine_and_the_check_import_is_in_the_image_or_the_kit(kit: ModuleType) -> None:
    """A new dependency of the engine must join the kit (or be named as not needed on the GPU box), or the GPU
    check would fail there at its first import."""
    import ast
    import sys

    root = Path(__file__).resolve().parents[3]
    bench = root / "bench"
    files = [*(root / "engine").rglob("*.py"), *bench.glob("gpu_*.py"), *(bench / f"{name}.py" for name in (
        "plain_trl_dpo", "vram_validate", "overhead", "fit_from_results"))]
    tops = set()
    for path in files:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                tops |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                tops.add(node.module.split(".")[0])
    local = {"engine", "tui", "gpu_plan", "gpu_report", "gpu_kit", "vram_validate", "overhead", "fit_from_results"}
    dists = md.packages_distributions()
    known = {n.lower() for n in (*kit.IMAGE, *kit.PACKAGES, *kit.NOT_NEEDED)}
    missing = []
    for top in sorted(tops - local - set(sys.stdlib_module_names)):
        names = {d.lower().replace("_", "-") for d in dists.get(top, [top.replace("_", "-")])}
        if not names & known:
            missing.append(f"{top} ({', '.join(sorted(names))})")
    assert missing == []
