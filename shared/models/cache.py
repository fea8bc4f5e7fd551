"""Checked, rebuildable cache folders: GGUF assembly and the one-time GGUF -> HF conversion.

A cache folder holds the files a builder wrote plus `cache.json`, which records each file's size, sha256 and mtime.
`ensure(folder, build)` returns the folder when it is intact and rebuilds it otherwise. The quick check compares sizes
and mtimes (a load must stay fast: hashing a 1.1 GB Gemma cache takes ~2-3 s on the project's CPUs); a file whose stat
changed is hashed, and a hash mismatch means corruption, so the folder is rebuilt. `full=True` hashes every file
(`papers models verify`), which also catches corruption that kept the mtime.
"""

import fcntl
import json
import os
import shutil
import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

from shared.data.manifest import file_sha256

RECORD = "cache.json"


def _log(msg: str) -> None:
    print(msg, flush=True)


@contextmanager
def locked(path: Path):
    """An exclusive lock on `<path>.lock`, so that two processes (pytest -n 2, two notebooks) build a cache once."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def write_record(folder: Path, meta: dict) -> None:
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.name != RECORD)
    record = {**meta, "files": {}}
    for p in files:
        st = p.stat()
        record["files"][p.relative_to(folder).as_posix()] = {"size": st.st_size, "mtime_ns": st.st_mtime_ns,
                                                             "sha256": file_sha256(p)}  # fmt: skip
    (folder / RECORD).write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")


def problems(folder: Path, full: bool = False) -> list[str]:
    """What is wrong with a cache folder: missing record or files, or files whose sha256 changed. Empty = intact."""
    rec_path = folder / RECORD
    if not rec_path.exists():
        return [f"{folder} has no {RECORD} (never built, or the build was interrupted)"]
    try:
        record = json.loads(rec_path.read_text())
    except json.JSONDecodeError:
        return [f"{rec_path} is not valid JSON"]
    out = []
    for rel, meta in record["files"].items():
        p = folder / rel
        if not p.is_file():
            out.append(f"{rel}: missing")
            continue
        st = p.stat()
        if st.st_size != meta["size"]:
            out.append(f"{rel}: size {st.st_size} != {meta['size']} (truncated or corrupted)")
        elif full or st.st_mtime_ns != meta["mtime_ns"]:
            if file_sha256(p) != meta["sha256"]:
                out.append(f"{rel}: sha256 mismatch (corrupted)")
    return out


def ensure(folder: Path, build: Callable[[Path], dict], full: bool = False, quiet: bool = False) -> Path:
    """Return `folder` if intact, else rebuild it with `build(tmp_folder) -> metadata` and record it.

    The build writes into a temporary sibling that is renamed into place, so an interrupted build leaves no
    half-written cache behind.
    """
    with locked(folder):
        found = problems(folder, full=full)
        if not found:
            return folder
        if folder.exists() and (folder / RECORD).exists():
            _log(f"cache {folder} is damaged, rebuilding: {'; '.join(found[:3])}")
        tmp = folder.with_name(folder.name + f".tmp{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        t0 = time.perf_counter()
        try:
            meta = build(tmp)
            write_record(tmp, meta or {})
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        shutil.rmtree(folder, ignore_errors=True)
        tmp.rename(folder)
        if not quiet:
            _log(f"built cache {folder} in {time.perf_counter() - t0:.1f} s")
        return folder
