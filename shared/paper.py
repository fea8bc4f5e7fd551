"""Paper folders: discovery, metadata (`paper.yaml`), the notebook's parameters cell and its profiles.

A paper lives in `papers/<slug>/`: `paper.yaml` (catalog id and what it needs), `<slug>.ipynb` (committed with the outputs
of its default run), `method.py`, `claims.py` (the claims and
verdict rules, fixed before running), `test_method.py`, `params/<profile>.yaml` and `results/<profile>.json`.
"""

import ast
import difflib
import json
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import yaml

from shared import ROOT
from shared.catalog import entry
from shared.provenance import (
    code_hash,
    data_inputs,
    external_imports,
    module_closure,
    notebook_code,
    notebook_code_hash,
    package_inputs,
    sha256_json,
    structured_hash,
)

PAPERS_DIR = ROOT / "papers"
SLUG_RE = re.compile(r"^[a-z][a-z0-9_]*_(19|20)\d\d[a-z]?$")
PARAM_RE = re.compile(r"^[A-Z][A-Z0-9_]*$")
REQUIRED_FILES = ("README.md", "paper.yaml", "__init__.py", "method.py", "claims.py", "test_method.py")
KERNELS = {"cpu": "token-papers-cpu", "gpu": "token-papers-gpu"}


class PaperError(ValueError):
    """Bad input about a paper (unknown slug or profile, malformed params file): the message says what to do."""


def _nearest(word: str, choices) -> str:
    close = difflib.get_close_matches(word, list(choices), n=3)
    return f" (did you mean {', '.join(close)}?)" if close else ""


@dataclass(frozen=True)
class Paper:
    slug: str
    root: Path = PAPERS_DIR

    @property
    def dir(self) -> Path:
        return self.root / self.slug

    @property
    def notebook(self) -> Path:
        return self.dir / f"{self.slug}.ipynb"

    @cached_property
    def meta(self) -> dict:
        path = self.dir / "paper.yaml"
        try:
            meta = yaml.safe_load(path.read_text()) or {}
        except FileNotFoundError:
            raise PaperError(f"{path} is missing: every paper folder records its catalog id there") from None
        except yaml.YAMLError as e:
            raise PaperError(f"{path} is not valid YAML: {e}") from None
        if "catalog_id" not in meta:
            raise PaperError(f"{path} has no catalog_id")
        return meta

    @property
    def catalog_id(self) -> int:
        return int(self.meta["catalog_id"])

    @property
    def catalog(self) -> dict:
        return entry(self.catalog_id)

    @property
    def title(self) -> str:
        return self.meta.get("title") or self.catalog["title"]

    @property
    def kernel(self) -> str:
        return KERNELS[self.meta.get("kernel", "cpu")]

    # parameters and profiles

    def parameters_cell(self) -> str:
        with open(self.notebook, encoding="utf-8") as f:
            nb = json.load(f)
        cells = [c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])]
        if len(cells) != 1:
            raise PaperError(f"{self.notebook.name} must have exactly one cell tagged `parameters`, found {len(cells)}")
        src = cells[0]["source"]
        return "".join(src) if isinstance(src, list) else src

    def parameters(self) -> dict:
        """The defaults of the parameters cell: `{NAME: literal}` in order. Non-literal values are an error."""
        out = {}
        for node in ast.parse(self.parameters_cell()).body:
            if not (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)):
                raise PaperError(f"{self.slug}: the parameters cell may only hold `NAME = literal` lines "
                                 f"(line {node.lineno})")  # fmt: skip
            name = node.targets[0].id
            if not PARAM_RE.match(name):
                raise PaperError(f"{self.slug}: parameter {name!r} is not UPPER_SNAKE_CASE")
            try:
                out[name] = ast.literal_eval(node.value)
            except ValueError:
                raise PaperError(
                    f"{self.slug}: parameter {name} is not a literal; derive values in the next cell"
                ) from None
        return out

    def profiles(self) -> dict[str, Path | None]:
        """`{"default": None, "full": papers/<slug>/params/full.yaml, ...}`."""
        found = {p.stem: p for p in sorted((self.dir / "params").glob("*.yaml"))}
        return {"default": None, **found}

    def profile_params(self, profile: str) -> dict:
        """The overrides a profile passes to papermill, checked against the parameters cell."""
        profiles = self.profiles()
        if profile not in profiles:
            raise PaperError(f"{self.slug} has no profile {profile!r}{_nearest(profile, profiles)}; "
                             f"valid: {', '.join(profiles)}")  # fmt: skip
        if profiles[profile] is None:
            return {}
        path = profiles[profile]
        try:
            values = yaml.safe_load(path.read_text())
        except yaml.YAMLError as e:
            raise PaperError(f"{path}: not valid YAML: {e}") from None
        if not isinstance(values, dict):
            raise PaperError(f"{path}: must be a mapping of parameter names to values, got {type(values).__name__}")
        check_params(self, values, source=self._rel(path))
        if values.get("PROFILE", profile) != profile:
            raise PaperError(f"{path}: PROFILE is {values['PROFILE']!r} but the file is the {profile!r} profile")
        return {"PROFILE": profile, **values}

    # results and provenance

    def results_path(self, profile: str) -> Path:
        return self.dir / "results" / f"{profile}.json"

    def code_files(self) -> list[Path]:
        return sorted(p for p in self.dir.glob("*.py") if not p.name.startswith("test_"))

    def modules(self) -> dict[str, Path]:
        """Project modules the notebook and the paper's code import, transitively."""
        code = notebook_code(self.notebook)
        top = self.root.parent  # the folder that holds `papers/`
        found = module_closure(code, root=top)
        for f in self.code_files():
            found.update(module_closure(f.read_text(encoding="utf-8"), f"papers.{self.slug}", root=top))
        return dict(sorted(found.items()))

    def input_hashes(self, profile: str) -> dict[str, str | None]:
        """Content hashes of everything a run of `profile` depends on, keyed by a path a person recognises.

        Code counts normalized (comments, docstrings, formatting do not), the params profile and the kernelspec by
        content; data by the folders `paper.yaml` declares, packages by the pinned versions of what the code imports.
        """
        hashes = {f"{self._rel(self.notebook)} (code cells)": notebook_code_hash(self.notebook)}
        files = {p.resolve() for p in self.code_files()} | {p.resolve() for p in self.modules().values()}
        imported = external_imports(notebook_code(self.notebook))
        for p in sorted(files):
            text = p.read_text(encoding="utf-8")
            hashes[self._rel(p)] = code_hash(text)
            imported |= external_imports(text)
        params = self.profiles().get(profile)
        if params is not None:
            hashes[self._rel(params)] = structured_hash(params)
        hashes.update(data_inputs(self.meta.get("data") or []))
        hashes.update(package_inputs(imported))
        kernel = self.meta.get("kernel", "cpu")
        hashes[f"kernels/{kernel}/kernel.json"] = structured_hash(ROOT / "kernels" / kernel / "kernel.json")
        return hashes

    def data_hash(self, profile: str) -> str | None:
        """One hash of the data a run reads (its declared folders), or None when it reads none."""
        data = {k: v for k, v in self.input_hashes(profile).items() if k.startswith("data/")}
        return sha256_json(data) if data else None

    def _rel(self, path: Path) -> str:
        # papers outside the checkout (test fixtures, a generated benchmark tree) are named from their papers/ root
        path = path.resolve()
        for base in (ROOT, self.root.resolve().parent):
            if path.is_relative_to(base):
                return str(path.relative_to(base))
        return str(path)

    def inputs_hash(self, profile: str) -> str:
        return sha256_json(self.input_hashes(profile))


def check_params(paper: Paper, values: dict, source: str = "parameters") -> None:
    """Unknown names and type changes are errors (papermill itself only warns on unknown names)."""
    defaults = paper.parameters()
    unknown = [k for k in values if k not in defaults]
    if unknown:
        hints = "".join(_nearest(k, defaults) for k in unknown)
        raise PaperError(f"{source}: unknown parameter(s) {unknown} for {paper.slug}{hints}; "
                         f"valid: {', '.join(defaults)}")  # fmt: skip
    for k, v in values.items():
        want = type(defaults[k])
        ok = isinstance(v, want) or (want is float and isinstance(v, int) and not isinstance(v, bool))
        if defaults[k] is not None and v is not None and not ok:
            raise PaperError(f"{source}: {k} must be {want.__name__} like its default {defaults[k]!r}, "
                             f"got {type(v).__name__} {v!r}")  # fmt: skip


def discover(root: Path = PAPERS_DIR) -> list[Paper]:
    """Every paper folder (one with a `paper.yaml`), sorted by slug."""
    return [Paper(p.parent.name, root) for p in sorted(root.glob("*/paper.yaml")) if not p.parent.name.startswith("_")]


def get(slug: str, root: Path = PAPERS_DIR) -> Paper:
    slugs = [p.slug for p in discover(root)]
    if slug not in slugs:
        raise PaperError(f"unknown paper {slug!r}{_nearest(slug, slugs)}; valid: {', '.join(slugs) or 'none yet'}")
    return Paper(slug, root)
