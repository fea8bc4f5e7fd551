"""Throwaway project trees for the runner's tests and benchmarks: a `papers/` folder of tiny generated papers, a
`shared/` of their own, git and DVC, all in a temporary folder.

The trick that makes a temporary tree behave like the checkout: its `shared/__init__.py` sets `ROOT` to the temporary
folder and appends the real `shared/` to the package path. With the tree first on `PYTHONPATH`, the runner, papermill
and the kernel all see `shared.ROOT` there (so provenance, results and `papers/` resolve in the sandbox), while
`shared.results`, `shared.runner` and the rest still come from this checkout. Modules the sandbox adds to its own
`shared/` (say `shared/fixture_kv.py`) can be imported, changed and analysed like real project modules.
"""

import json
import os
import shutil
import subprocess
import textwrap
from pathlib import Path

import shared

# the checkout, also when this module is imported inside a sandbox (whose overlay lists the real `shared/` last)
REAL_ROOT = Path(list(shared.__path__)[-1]).resolve().parent

OVERLAY_INIT = '''"""Sandbox overlay of the Token Papers `shared` package (see shared/runner/sandbox.py)."""
from pathlib import Path

__version__ = "0.1.0"
ROOT = Path(__file__).resolve().parent.parent
__path__.append({real_shared!r})
'''

FINISH = """from shared.claims import AtMost, Claim, Tolerance, evaluate_claims
CLAIMS = [Claim("value-small", "the measured value is small", paper_value=0.0, paper_ref="Sec. 1", rule=AtMost(100.0),
                fidelity="analogue", kind="exact", tolerance=Tolerance(0.0, why="a deterministic count"))]
record = run.finish(evaluate_claims(CLAIMS, {{"value-small": float({value})}}))"""


def bin_dir() -> Path:
    """The folder of the interpreter running this code (the project's .venv/bin), which holds papers, dvc and dask."""
    import sys

    return Path(sys.executable).parent


def env(root: Path, **extra) -> dict:
    """Environment for a process that must see `root` as the project: the sandbox first on PYTHONPATH."""
    out = dict(os.environ)
    out["PYTHONPATH"] = os.pathsep.join([str(root), *filter(None, [os.environ.get("PYTHONPATH")])])
    out["PATH"] = os.pathsep.join([str(bin_dir()), os.environ.get("PATH", "")])
    out["DVC_NO_ANALYTICS"] = "1"
    out.pop("DVC_STAGE", None)
    out.update({k: str(v) for k, v in extra.items()})
    return out


def make_project(root: Path, *, git: bool = True, dvc: bool = True) -> Path:
    """A sandbox project in `root`: overlay `shared/`, empty `papers/`, the real kernelspecs and lock, git and DVC."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "shared").mkdir(exist_ok=True)
    (root / "shared" / "__init__.py").write_text(OVERLAY_INIT.format(real_shared=str(REAL_ROOT / "shared")))
    (root / "papers").mkdir(exist_ok=True)
    (root / "papers" / "__init__.py").write_text('"""Sandbox papers."""\n')
    shutil.copytree(REAL_ROOT / "kernels", root / "kernels", dirs_exist_ok=True)
    shutil.copy(REAL_ROOT / "requirements.lock", root / "requirements.lock")
    (root / ".gitignore").write_text("__pycache__/\npapers/*/runs/\n.runner/\nlogs/\n*.tmp\n")
    if git:
        run_quiet(["git", "init", "-q"], root)
        run_quiet(["git", "config", "user.email", "sandbox@example.invalid"], root)
        run_quiet(["git", "config", "user.name", "sandbox"], root)
    if dvc:
        run_quiet([str(bin_dir() / "dvc"), "init", "-q"] + ([] if git else ["--no-scm"]), root)
        run_quiet([str(bin_dir() / "dvc"), "config", "core.analytics", "false"], root)
    return root


def run_quiet(cmd: list[str], cwd: Path) -> None:
    subprocess.run(cmd, cwd=cwd, check=True, capture_output=True, env=env(cwd))


def write_module(root: Path, name: str, code: str) -> Path:
    """A project module `shared.<name>` (or `shared.a.b`) in the sandbox."""
    path = root.joinpath("shared", *name.split(".")).with_suffix(".py")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(code).lstrip())
    return path


def notebook(cells: list[str], parameters: dict, kernel: str = "token-papers-cpu") -> dict:
    """A notebook (nbformat 4 JSON) whose first code cell is the tagged parameters cell."""
    params_src = "\n".join(f"{k} = {v!r}" for k, v in parameters.items())
    code = [{"cell_type": "code", "execution_count": None, "id": "params", "metadata": {"tags": ["parameters"]},
             "outputs": [], "source": params_src}]  # fmt: skip
    code += [{"cell_type": "code", "execution_count": None, "id": f"cell-{i}", "metadata": {}, "outputs": [],
              "source": c} for i, c in enumerate(cells)]  # fmt: skip
    return {
        "cells": [{"cell_type": "markdown", "id": "title", "metadata": {}, "source": "# A sandbox paper"}, *code],
        "metadata": {
            "kernelspec": {"name": kernel, "display_name": kernel, "language": "python"},
            "language_info": {"name": "python"},
        },  # fmt: skip
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def add_paper(root: Path, slug: str, body: list[str] | None = None, *, parameters: dict | None = None,
              profiles: dict[str, dict] | None = None, value: float | str = 1.0, results: bool = True,
              catalog_id: int = 1, kernel: str = "cpu", meta: dict | None = None) -> Path:  # fmt: skip
    """A paper folder: `start_run`, the `body` cells, then a results cell with one claim.

    `value` is the claim's measured value, a number or an expression over the notebook's variables. With
    `results=False` the notebook is only the parameters and `body` cells (a quick-failing fixture). `meta` adds keys to
    paper.yaml (`timeout_s`, say).
    """
    paper = root / "papers" / slug
    paper.mkdir(parents=True, exist_ok=True)
    (paper / "__init__.py").write_text(f'"""Sandbox paper {slug}."""\n')
    yaml_meta = {"catalog_id": catalog_id, "arxiv_id": None, "title": f"Sandbox paper {slug}", "kernel": kernel,
                 "models": [], "data": [], **(meta or {})}  # fmt: skip
    (paper / "paper.yaml").write_text("".join(f"{k}: {json.dumps(v)}\n" for k, v in yaml_meta.items()))
    params = {"PROFILE": "default", **(parameters or {})}
    cells = list(body or [])
    if results:
        cells = [f'from shared.results import start_run\nrun = start_run("{slug}", globals())', *cells,
                 FINISH.format(value=value)]  # fmt: skip
    nb = notebook(cells, params, kernel=f"token-papers-{kernel}")
    (paper / f"{slug}.ipynb").write_text(json.dumps(nb, indent=1))
    (paper / f"{slug}.py").write_text(percent_text(nb))
    for name, values in (profiles or {}).items():
        (paper / "params").mkdir(exist_ok=True)
        (paper / "params" / f"{name}.yaml").write_text("".join(f"{k}: {json.dumps(v)}\n" for k, v in values.items()))
    return paper


def percent_text(nb: dict) -> str:
    """The jupytext percent-format twin of `nb` (written by hand: only code and markdown cells, tags kept)."""
    out = []
    for cell in nb["cells"]:
        tags = cell["metadata"].get("tags")
        head = "# %% [markdown]" if cell["cell_type"] == "markdown" else "# %%"
        if tags:
            head += f" tags={json.dumps(tags)}"
        body = cell["source"]
        if cell["cell_type"] == "markdown":
            body = "\n".join(f"# {line}" if line else "#" for line in body.splitlines())
        out.append(f"{head}\n{body}\n")
    return "\n".join(out)
