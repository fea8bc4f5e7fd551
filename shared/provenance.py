"""What a result depends on, found by import analysis, and content hashes of those inputs.

A paper's inputs are its notebook's code cells, the Python files of its folder, the project modules they import
(transitively, within `shared/` and `papers/`), its parameter profile, the data it reads (`data.dvc`) and the environment
lock. The runner compares these hashes with the ones recorded in a result to say, in words, why a result is stale.
"""

import ast
import functools
import hashlib
import json
from pathlib import Path

from shared import ROOT

PROJECT_PACKAGES = ("shared", "papers")


def notebook_code(path: Path) -> str:
    """The code cells of a notebook, joined; outputs, metadata and markdown do not count as inputs."""
    with open(path, encoding="utf-8") as f:
        nb = json.load(f)
    cells = [c for c in nb["cells"] if c.get("cell_type") == "code"]
    return "\n\n".join("".join(c["source"]) if isinstance(c["source"], list) else c["source"] for c in cells)


def _strip_magics(code: str) -> str:
    # IPython magics and shell escapes are not Python: blank them so that ast can parse the rest
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in code.splitlines())


def imported_modules(code: str, package: str | None = None) -> set[str]:
    """Absolute names of the project modules that `code` imports (`shared.x`, `papers.y.method`, ...).

    `package` resolves relative imports (`from .method import X` inside `papers.y`).
    """
    return set(_imported_modules(code, package))


# keyed by the source text itself, never by file times: a no-op `papers run` over hundreds of papers parses each shared
# module once, and an edit (however quick, whatever its size) is a different key
@functools.lru_cache(maxsize=2048)
def _imported_modules(code: str, package: str | None) -> frozenset[str]:
    if "import" not in code:
        return frozenset()
    tree = ast.parse(_strip_magics(code))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level and package:
                parts = package.split(".")
                parent = parts[: len(parts) - node.level + 1]
                base = ".".join(parent + ([base] if base else []))
            found.add(base)
            # `from shared import kvcache` imports a module, not a name: keep both spellings, resolve later
            found.update(f"{base}.{a.name}" for a in node.names)
    return frozenset(m for m in found if m.split(".")[0] in PROJECT_PACKAGES)


def module_file(name: str, root: Path = ROOT) -> Path | None:
    """The file that defines module `name` below `root`, or None (a name imported from a module, say).

    `shared.*` always resolves in this checkout; `papers.*` below `root` (another papers tree in tests and benchmarks).
    """
    base = (ROOT if name.split(".")[0] == "shared" else root).joinpath(*name.split("."))
    for cand in (base.with_suffix(".py"), base / "__init__.py"):
        if cand.is_file():
            return cand
    return None


def module_closure(code: str, package: str | None = None, root: Path = ROOT) -> dict[str, Path]:
    """Every project module `code` reaches through imports, with its file: `{module name: path}`.

    Importing `a.b.c` also runs `a/__init__.py` and `a/b/__init__.py`, so parents are included.
    """
    todo = list(imported_modules(code, package))
    seen: dict[str, Path] = {}
    while todo:
        name = todo.pop()
        parts = name.split(".")
        for i in range(1, len(parts) + 1):
            mod = ".".join(parts[:i])
            if mod in seen:
                continue
            path = module_file(mod, root)
            if path is None:
                continue
            seen[mod] = path
            pkg = mod if path.name == "__init__.py" else ".".join(mod.split(".")[:-1])
            todo.extend(imported_modules(path.read_text(encoding="utf-8"), pkg))
    return dict(sorted(seen.items()))


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def sha256_json(obj) -> str:
    return sha256_text(json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str))


def data_hash(root: Path = ROOT) -> str | None:
    """The md5 that `data.dvc` records for `data/` (the DVC content hash of the whole folder)."""
    import yaml

    path = root / "data.dvc"
    if not path.exists():
        return None
    outs = (yaml.safe_load(path.read_text()) or {}).get("outs") or [{}]
    return outs[0].get("md5")


def lock_hash(root: Path = ROOT) -> str | None:
    path = root / "requirements.lock"
    return sha256_text(path.read_text()) if path.exists() else None


def kernel_hash(kernel: str, root: Path = ROOT) -> str | None:
    """Hash of one kernelspec (`kernels/<kernel>/kernel.json`): its env block can change numbers (threads, seeds), so
    it is an input of every paper that runs on it, and only of those."""
    path = root / "kernels" / kernel / "kernel.json"
    return sha256_text(path.read_text()) if path.exists() else None
