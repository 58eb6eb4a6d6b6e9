"""Build the GPU check's kit: the wheels the GPU image lacks and SmolLM2's tokenizer in `.whl/`, size-checked.

    .venv/bin/python bench/gpu_kit.py            # (make gpu-kit) download, size-check, print the device command

The GPU box (Python 3.12, torch 2.11/CUDA 13, transformers, accelerate, peft, …; see issue 18) reaches no package
index, so what Reins needs beyond its image travels as wheels with the working tree, which may be 64 MiB in all.
Versions are pinned to the ones installed here, so the GPU runs the code the CPU tests ran. Not carried, on purpose:
triton (torch 2.11's CUDA build ships triton 3.6, which liger-kernel's `triton>=2.3.1` accepts; its wheel is
~150 MB), xxhash and filelock (in the image), pyarrow (52.5 MiB: it cannot fit beside bitsandbytes' 41 MiB; the check's
preflight reports whether the image's pyarrow meets datasets' bound, and if not, `--drop bitsandbytes --add
pyarrow` builds a kit for a run without the QLoRA points). fsspec is carried (0.2 MB) because datasets
caps it (`fsspec<=2026.9.0`) and the image's version is unknown here.
"""

from __future__ import annotations

import argparse
import importlib.metadata as md
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

LIMIT_MIB = 64.0
KIT = ".whl"
TOKENIZER = f"{KIT}/smollm2-tokenizer"
# What the GPU image lacks (issue 18), by distribution name; each is pinned to the version installed here.
PACKAGES = ("trl", "datasets", "dill", "multiprocess", "bitsandbytes", "pydantic", "pydantic-core",
            "annotated-types", "typing-inspection", "tinydb", "liger-kernel", "fsspec")
PLATFORMS = ("manylinux_2_28_x86_64", "manylinux_2_27_x86_64", "manylinux_2_24_x86_64", "manylinux_2_17_x86_64",
             "manylinux2014_x86_64", "manylinux1_x86_64")
# What the GPU image already has that Reins imports (issue 18 and the device notes), by distribution name.
IMAGE = ("torch", "transformers", "accelerate", "peft", "safetensors", "tokenizers", "numpy", "pyarrow", "pandas",
         "rich", "typer", "pyyaml", "requests", "nvidia-ml-py", "filelock", "xxhash", "packaging", "jinja2",
         "huggingface-hub", "tqdm", "triton")
# Imported by Reins only outside the GPU check's paths: the TUI, `reins data inspect`, lm-eval probes, the embedded
# GGUF model (the check carries its tokenizer instead).
NOT_NEEDED = ("textual", "textual-plot", "rapidfuzz", "lm-eval", "gguf")
INSTALL = ("python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade "
           f"--target /tmp/site {KIT}/*.whl")
# Versions used when a package is not installed here (liger-kernel is only needed on the GPU).
FALLBACK_VERSIONS = {"liger-kernel": "0.8.5"}


def pinned(name: str) -> str:
    """`name==version` of the installed distribution (or the fallback pin)."""
    try:
        return f"{name}=={md.version(name)}"
    except md.PackageNotFoundError:
        if name in FALLBACK_VERSIONS:
            return f"{name}=={FALLBACK_VERSIONS[name]}"
        raise SystemExit(f"{name} is not installed here and has no fallback version: install it first") from None


def download(requirements: list[str], dest: Path) -> None:
    """pip download each requirement as a CPython 3.12 manylinux x86_64 wheel, without dependencies."""
    cmd = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:", "--python-version",
           "3.12", "--implementation", "cp", "-d", str(dest)]
    for p in PLATFORMS:
        cmd += ["--platform", p]
    subprocess.run(cmd + requirements, check=True)


def save_tokenizer(dest: Path) -> None:
    """SmolLM2's tokenizer files (from the embedded model, converted once), for every random model on the GPU."""
    if (dest / "tokenizer_config.json").is_file():
        return
    from engine.worker.loading import embedded_tokenizer

    embedded_tokenizer().save_pretrained(dest)


def mib(paths: list[Path]) -> float:
    return sum(p.stat().st_size for p in paths if p.is_file()) / 2**20


def travelling_files(root: Path) -> list[Path]:
    """The files that travel without `carry`: tracked plus untracked files git does not ignore."""
    out = subprocess.run(["git", "-C", str(root), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                         capture_output=True, check=True).stdout
    return [root / p for p in out.decode().split("\0") if p]


def device_command(budget_s: int = 480) -> str:
    """The one command to run on the GPU box (the device tool's `run`, with carry [".whl"])."""
    return (f"{INSTALL} && export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1 || exit; "
            f"python3 bench/gpu_check.py $OUT --budget-s {budget_s} --tokenizer {TOKENIZER}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", type=Path, default=ROOT)
    ap.add_argument("--clean", action="store_true", help="Remove the kit's old wheels first.")
    ap.add_argument("--add", action="append", default=[], metavar="NAME", help="Carry this package too.")
    ap.add_argument("--drop", action="append", default=[], metavar="NAME", help="Do not carry this package.")
    args = ap.parse_args(argv)
    kit = args.root / KIT
    if args.clean:
        shutil.rmtree(kit, ignore_errors=True)
    kit.mkdir(exist_ok=True)
    reqs = [pinned(n) for n in (*PACKAGES, *args.add) if n not in args.drop]
    download(reqs, kit)
    keep = tuple(r.replace("-", "_").replace("==", "-").lower() + "-" for r in reqs)
    for old in kit.glob("*.whl"):  # two versions of one package stop the whole install there
        if not old.name.lower().startswith(keep):
            old.unlink()
    save_tokenizer(args.root / TOKENIZER)
    wheels = sorted(kit.glob("*.whl"))
    wheels_mib = mib(wheels)
    tok_mib = mib(list((args.root / TOKENIZER).rglob("*")))
    repo_mib = mib(travelling_files(args.root))
    total = wheels_mib + tok_mib + repo_mib
    for w in wheels:
        print(f"  {w.stat().st_size / 2**20:7.2f} MiB  {w.name}")
    print(f"wheels {wheels_mib:.2f} MiB ({len(wheels)}) + tokenizer {tok_mib:.2f} MiB + repository {repo_mib:.2f} MiB"
          f" = {total:.2f} MiB of {LIMIT_MIB:.0f} MiB")
    if total > LIMIT_MIB:
        print(f"too large: {total:.2f} MiB > {LIMIT_MIB:.0f} MiB — drop a wheel or untracked files", file=sys.stderr)
        return 2
    print('\nOn the GPU box (device tool `run`, carry [".whl"], timeout_s 600):\n')
    print(device_command())
    return 0


if __name__ == "__main__":
    sys.exit(main())
