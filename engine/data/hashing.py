"""Content hashes of the data files a run reads (run.json `data_files`), so two runs can be said to share data
whatever the files are called or wherever they sit."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from engine.data.mixture import train_sources
from engine.recipe.loading import looks_like_path

CHUNK = 1 << 20


def sha256_of(path: Path) -> str:
    """The SHA-256 of a file's bytes, or of a folder's files (names and bytes, in sorted order)."""
    digest = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for f in files:
        if path.is_dir():
            digest.update(str(f.relative_to(path)).encode() + b"\0")
        with open(f, "rb") as fh:
            while chunk := fh.read(CHUNK):
                digest.update(chunk)
    return digest.hexdigest()


def data_files(data: Any) -> list[dict[str, Any]]:
    """One record per data source the data section names: `path`, `role` (train or eval), `weight` (train),
    `sha256` (null for a hub dataset, which has no one file to hash) and `bytes`."""
    sources = [(path, "train", weight) for path, weight in train_sources(data)]
    sources += [(data.eval, "eval", None)] if data.eval else []
    out = []
    for source, role, weight in sources:
        record: dict[str, Any] = {"path": source, "role": role}
        if weight is not None:
            record["weight"] = weight
        path = Path(source).expanduser()
        if looks_like_path(source) and path.exists():
            record["sha256"] = sha256_of(path)
            record["bytes"] = sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() \
                else path.stat().st_size
        else:
            record["sha256"] = None
        out.append(record)
    return out
