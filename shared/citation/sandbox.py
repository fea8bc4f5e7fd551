"""A throwaway copy of the project in its own git repository, with small synthetic papers: where tests tag, release,
diff and build the site for real without touching the real checkout or its tags.

The copy takes the working tree's `shared/`, `kernels/` and environment files (so it runs the code under test), but none
of the real papers, whose results change while people work; `add_paper` writes papers with known claims instead. Commands
run in a subprocess with `PYTHONPATH` pointing at the copy, so `shared.ROOT` is the copy and staleness is computed there.
"""

import base64
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from shared import ROOT

COPIED = ("shared", "kernels", "requirements.lock", "pyproject.toml", "jupytext.toml", ".gitignore", "CITATION.cff",
          "data.dvc")  # fmt: skip
README = """# Sandbox

Text above the table stays.

<!-- verdicts:begin -->
<!-- verdicts:end -->

Text below the table stays.
"""


def _png(width: int = 40, height: int = 24) -> bytes:
    """A small valid PNG (a blue gradient), enough for an <img> to load with a real size."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(
        b"\x00" + b"".join(bytes([30, (60 + 4 * x) % 256, 200]) for x in range(width)) for _ in range(height)
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


PNG = _png()
GIT_ENV = {"GIT_AUTHOR_NAME": "Sandbox", "GIT_AUTHOR_EMAIL": "sandbox@example.invalid",
           "GIT_COMMITTER_NAME": "Sandbox", "GIT_COMMITTER_EMAIL": "sandbox@example.invalid"}  # fmt: skip


def env(sandbox: Path) -> dict:
    """The environment for commands in the sandbox: its code first on the path, a fixed git identity."""
    return {**os.environ, **GIT_ENV, "PYTHONPATH": str(sandbox), "PYTHONDONTWRITEBYTECODE": "1"}


def git(sandbox: Path, *args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=sandbox, env=env(sandbox), capture_output=True, text=True, check=True)
    return proc.stdout.strip()


def run_papers(sandbox: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """`papers ARGS` inside the sandbox; returns the completed process (stdout and stderr as text)."""
    # the way the `papers` console script runs (`python -m shared.cli` would load cli.py twice, as __main__ and as
    # shared.cli, and its `except UsageError` would then miss errors raised as shared.cli.UsageError)
    main = "import sys; from shared.cli import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.run([sys.executable, "-c", main, *args], cwd=sandbox, env=env(sandbox),
                          capture_output=True, text=True, timeout=timeout, check=False)  # fmt: skip


def python(sandbox: Path, code: str) -> str:
    """Run `code` with the sandbox's `shared` and return its stdout."""
    proc = subprocess.run([sys.executable, "-c", code], cwd=sandbox, env=env(sandbox), capture_output=True, text=True,
                          check=False)  # fmt: skip
    if proc.returncode:
        raise RuntimeError(f"sandbox python failed: {proc.stderr.strip()}")
    return proc.stdout


def make_sandbox(dest: Path, readme: str = README) -> Path:
    """Copy the project's code into `dest` (no papers), write a README with markers, `git init` and commit."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints")
    for name in COPIED:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=ignore)
        elif src.exists():
            shutil.copyfile(src, dest / name)
    (dest / "papers").mkdir(exist_ok=True)
    shutil.copyfile(ROOT / "papers" / "__init__.py", dest / "papers" / "__init__.py")
    (dest / "README.md").write_text(readme)
    git(dest, "init", "-q", "-b", "main")
    git(dest, "add", "-A")
    git(dest, "commit", "-q", "-m", "sandbox")
    return dest


def _notebook(slug: str) -> dict:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "token-papers-cpu", "display_name": "Token Papers (CPU)", "language": "python"}
    nb.cells = [
        nbformat.v4.new_markdown_cell(f"# {slug}: a synthetic paper\n\n**Replicated here:** the claims below, with "
                                      "$x_{t+1} = x_t^2$ inline math.\n**Not replicated:** anything else."),  # fmt: skip
        nbformat.v4.new_code_cell('PROFILE = "default"  # profile\nN = 3  # size', metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell(f"from papers.{slug} import method\nprint(method.VALUE * N)",
                                  outputs=[nbformat.v4.new_output("stream", name="stdout", text="6\n")],
                                  execution_count=2),  # fmt: skip
        nbformat.v4.new_code_cell("figure()", execution_count=3, outputs=[nbformat.v4.new_output(
            "display_data", data={"image/png": base64.b64encode(PNG).decode(), "text/plain": "<Figure>"})]),
    ]  # fmt: skip
    return json.loads(nbformat.writes(nb))


def claim(cid: str, verdict: str = "reproduced", fidelity: str = "scaled-down", value: float = 1.0) -> dict:
    """One claim entry as `results/<profile>.json` stores it."""
    return {"id": cid, "text": f"Claim {cid} holds", "paper_value": 1.0, "paper_unit": "ratio", "paper_ref": "Sec. 1",
            "measures": "a ratio", "ours": {"value": value, "n": 3, "low": value - 0.1, "high": value + 0.1},
            "rule": "reproduced if ours >= 0.5", "verdict": verdict, "reason": f"{value} vs 0.5", "fidelity": fidelity}  # fmt: skip


def add_paper(sandbox: Path, slug: str, catalog_id: int, claims: list[dict], profiles=("default",),
              fresh: bool = True) -> Path:  # fmt: skip
    """Write `papers/<slug>/` with a notebook, README, figure and results for `profiles`; `fresh` records the inputs
    hash the sandbox computes now, so the results are not stale. Nothing is committed."""
    d = Path(sandbox) / "papers" / slug
    (d / "params").mkdir(parents=True, exist_ok=True)
    (d / "paper.yaml").write_text(f'catalog_id: {catalog_id}\narxiv_id: "2306.09927"\ntitle: Synthetic {slug}\n'
                                  f"authors: Ada Lovelace, Alan M. Turing\nvenue: Journal of Tests, 2024\n"
                                  f"kernel: cpu\nmodels: []\ndata: []\n")  # fmt: skip
    (d / "__init__.py").write_text("")
    (d / "method.py").write_text('"""The method."""\n\nVALUE = 2\n')
    (d / f"{slug}.ipynb").write_text(json.dumps(_notebook(slug), indent=1) + "\n")
    (d / "README.md").write_text(f"# {slug}\n\n## Claims and verdicts\n<!-- results:begin -->\n<!-- results:end -->\n\n"
                                 "## What we replicate, what we do not, and why\n- **Replicated:** all claims, "
                                 "with $d = 5$.\n- **Not replicated:** the big run.\n\n## Deviations from the paper\n"
                                 "- Smaller.\n")  # fmt: skip
    for profile in profiles:
        if profile != "default":
            (d / "params" / f"{profile}.yaml").write_text(f"PROFILE: {profile}\nN: 30\n")
        write_results(sandbox, slug, profile, claims, fresh=fresh)
        (d / "results" / profile).mkdir(parents=True, exist_ok=True)
        (d / "results" / profile / "ratio.png").write_bytes(PNG)
    return d


def write_results(sandbox: Path, slug: str, profile: str, claims: list[dict], fresh: bool = True) -> Path:
    """A schema-valid `results/<profile>.json` for `claims`, with the sandbox's current inputs hash when `fresh`."""
    code = (f"import json; from shared.paper import get; p = get({slug!r}); "
            f"print(json.dumps([p.inputs_hash({profile!r}), p.input_hashes({profile!r}), p.catalog_id]))")  # fmt: skip
    inputs_hash, inputs, catalog_id = json.loads(python(sandbox, code))
    if not fresh:
        inputs_hash = "0" * 64
    verdicts = ("reproduced", "partially reproduced", "not reproduced", "inconclusive")
    env_ = {"commit": "0" * 40, "packages": {"torch": "2.13.0+cpu"}, "cpu": "test", "torch_threads": 1,
            "kernel": "token-papers-cpu", "python": "3.11.7"}  # fmt: skip
    record = {
        "schema_version": 1, "catalog_id": catalog_id, "slug": slug, "title": f"Synthetic {slug}",
        "arxiv_id": "2306.09927", "profile": profile, "claims": claims,
        "summary": {v: sum(c["verdict"] == v for c in claims) for v in verdicts},
        "params": {"PROFILE": profile, "N": 3},
        "provenance": {"commit": "0" * 40, "dirty": False, "inputs_hash": inputs_hash, "inputs": inputs,
                       "params_hash": "a" * 64, "data_hash": None, "env": env_, "device": "cpu", "seeds": [0, 1, 2],
                       "wall_time_s": 1.5, "started_utc": "2026-11-20T10:00:00Z", "finished_utc": "2026-11-20T10:00:02Z"},
    }  # fmt: skip
    path = Path(sandbox) / "papers" / slug / "results" / f"{profile}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=2) + "\n")
    return path


def demo_project(dest: Path) -> Path:
    """A sandbox with three committed papers covering every verdict and fidelity, two categories' worth of catalog
    ids, a paper with two profiles, and fresh results: the fixture the citation and site tests start from."""
    sb = make_sandbox(dest)
    add_paper(sb, "alpha_2024", 3, [claim("a1"), claim("a2", "not reproduced", "faithful", 0.2)])
    add_paper(sb, "beta_2023", 5, [claim("b1", "partially reproduced", "analogue", 0.7)], profiles=("default", "full"))
    add_paper(sb, "gamma_2022", 29, [claim("c1", "inconclusive", value=0.55)])
    git(sb, "add", "-A")
    git(sb, "commit", "-q", "-m", "three papers")
    return sb


def clone(base: Path, dest: Path) -> Path:
    """A private copy of a sandbox (history included) for one test to change, tag and release."""
    subprocess.run(["git", "clone", "-q", str(base), str(dest)], env=env(base), check=True, capture_output=True)
    return Path(dest)
