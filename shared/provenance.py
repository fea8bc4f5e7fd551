"""What a result depends on, found by import analysis, and content hashes of those inputs.

A paper's inputs are its notebook's code cells, the Python files of its folder, the project modules they import
(transitively, within `shared/` and `papers/`), its parameter profile, the data folders it declares and the versions of
the third-party packages it imports. Code is hashed normalized (comments, docstrings and formatting do not count),
params and kernelspecs by content, data by the committed manifest's per-dataset hashes, packages by their pinned version. The runner compares these hashes with the ones recorded in a result to say, in words, why a result is stale.
"""

import ast
import functools
import hashlib
import json
import re
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


@functools.lru_cache(maxsize=4096)
def normalized_code(text: str) -> str:
    """Python source as the interpreter sees it: comments, docstrings and formatting removed (an `ast` round trip), so
    that `ruff format` or a comment never makes a result stale. IPython magics and shell escapes are kept, stripped of
    surrounding space; text that does not parse is returned as it is."""
    magics = [line.strip() for line in text.splitlines() if line.lstrip().startswith(("%", "!"))]
    try:
        tree = ast.parse(_strip_magics(text))
    except SyntaxError:
        return text
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) and node.body:
            first = node.body[0]
            if (
                isinstance(first, ast.Expr)
                and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)
            ):
                node.body = node.body[1:] or ([] if isinstance(node, ast.Module) else [ast.Pass()])
    return "\n".join([ast.unparse(tree), *magics])


@functools.lru_cache(maxsize=4096)
def code_hash(text: str) -> str:
    """The hash of a Python file or a notebook's code as an input: of its normalized code."""
    return sha256_text(normalized_code(text))


def notebook_code_hash(path: Path) -> str:
    """The hash of a notebook's code cells, each normalized (outputs, metadata, markdown and formatting do not count)."""
    with open(path, encoding="utf-8") as f:
        nb = json.load(f)
    cells = ["".join(c["source"]) if isinstance(c["source"], list) else c["source"]
             for c in nb["cells"] if c.get("cell_type") == "code"]  # fmt: skip
    return sha256_text("\n\n".join(normalized_code(c) for c in cells))


def structured_hash(path: Path) -> str | None:
    """The hash of a YAML or JSON file's content (a params profile, a kernelspec): comments and layout do not count."""
    import yaml

    if not path.exists():
        return None
    return sha256_json(yaml.safe_load(path.read_text()))


def external_imports(code: str) -> set[str]:
    """Top-level names of the third-party modules `code` imports (not the project's, not the standard library)."""
    return set(_external_imports(code))


@functools.lru_cache(maxsize=4096)
def _external_imports(code: str) -> frozenset[str]:
    import sys

    try:
        tree = ast.parse(_strip_magics(code))
    except SyntaxError:
        return frozenset()
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.split(".")[0])
    return frozenset(
        n for n in names if n not in PROJECT_PACKAGES and n not in sys.stdlib_module_names and n != "__future__"
    )


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@functools.cache
def locked_versions(root: Path = ROOT) -> dict[str, str]:
    """`{distribution: version}` pinned by `requirements.lock` and `requirements-nodeps.txt` (names canonicalised)."""
    out = {}
    # the project's lock first; a kernel's own environment (kernels/<name>/requirements.txt) adds only what it lacks
    paths = [
        root / "requirements.lock",
        root / "requirements-nodeps.txt",
        *sorted(root.glob("kernels/*/requirements.txt")),
    ]
    for path in paths:
        if not path.exists():
            continue
        for line in path.read_text().splitlines():
            m = re.match(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*([^\s;#]+)", line)
            if m:
                out.setdefault(_canonical(m.group(1)), m.group(2))
    return out


@functools.cache
def _module_distributions() -> dict[str, list[str]]:
    from importlib.metadata import packages_distributions

    return packages_distributions()


def package_inputs(modules: set[str], root: Path = ROOT) -> dict[str, str]:
    """`{"package <distribution>": version}` for the imported modules, versions as the lock pins them.

    A module no installed distribution provides is looked up by its own name; one the lock does not pin is recorded as
    "unpinned" (it can still change a result, and a later pin shows up as a change).
    """
    locked = locked_versions(root)
    out = {}
    for mod in sorted(modules):
        dists = _module_distributions().get(mod) or [mod]
        for dist in dists:
            out[f"package {_canonical(dist)}"] = locked.get(_canonical(dist), "unpinned")
    return out


def data_inputs(folders: list[str], root: Path = ROOT) -> dict[str, str | None]:
    """`{"data/<folder>": hash}` for the data folders a paper declares, from the committed data manifest (each dataset's
    sha256), so that adding or changing another dataset stales only the papers that read it. A folder no dataset lies
    in hashes to None."""
    path = root / "shared" / "data" / "manifest.json"
    datasets = json.loads(path.read_text()).get("datasets", {}) if path.exists() else {}
    out = {}
    for folder in sorted(set(folders)):
        prefix = folder.strip("/")
        hit = {k: v.get("sha256") for k, v in datasets.items() if k == prefix or k.startswith(prefix + "/")}
        out[f"data/{prefix}"] = sha256_json(hit) if hit else None
    return out


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
