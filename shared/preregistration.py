"""Pre-registration you can check in git: the claims, code and parameters that judge a result were committed before it.

A run may be recorded only from a tree whose *pre-registered files* are committed: the paper's `claims.py`, `method.py`
and other non-test `.py` files, the profile's params file and the notebook's code cells (`check_clean`; `papers run`
refuses otherwise, unless `--exploratory`). Each record then carries the outcome of that check in
`provenance.preregistration`, and `verify_record` checks it against git afterwards: the files at the recorded commit
hash to what the run read, and that commit is strictly earlier than the commit that wrote the results file.

Statuses: `preregistered` (all of that holds), `not-preregistered` (a record from before this contract, or one run by
hand from a tree with uncommitted files: labelled, not failed), `exploratory` (`papers run --exploratory`: never the
record of a release) and `violation` (the record says it was pre-registered and git says otherwise).
"""

import json
import os
import subprocess
import tempfile
from pathlib import Path
from typing import NamedTuple

import yaml

from shared.paper import Paper, get
from shared.provenance import code_hash, notebook_code, notebook_code_hash, sha256_text, structured_hash

PREREGISTERED, LEGACY, EXPLORATORY, VIOLATION = "preregistered", "not-preregistered", "exploratory", "violation"
STATUSES = (PREREGISTERED, LEGACY, EXPLORATORY, VIOLATION)
MISSING = "missing"  # `preregistration_status` of a profile that has no results file
ENV_EXPLORATORY = "TOKEN_PAPERS_EXPLORATORY"  # "1": the runner was told `--exploratory`; the kernel records it
CODE_CELLS = " (code cells)"  # suffix of the notebook's key in `provenance.inputs` (`Paper.input_hashes`)


class Check(NamedTuple):
    """What `verify_record` found: one of `STATUSES`, and the reasons in words."""

    status: str
    reasons: list[str]


def _paper(paper: Paper | str) -> Paper:
    return paper if isinstance(paper, Paper) else get(paper)


def _git(top: Path, *args: str) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(["git", "-C", str(top), *args], capture_output=True, check=False)
    except OSError as e:  # no git on this machine (a cluster worker, say): as if the folder were not a repository
        return subprocess.CompletedProcess(["git", *args], 127, b"", str(e).encode())


def _toplevel(path: Path) -> Path | None:
    proc = _git(path, "rev-parse", "--show-toplevel")
    return Path(proc.stdout.decode().strip()) if proc.returncode == 0 else None


def _blob(top: Path, rev: str, rel: str) -> bytes | None:
    """The bytes of `rel` at `rev`, or None when it is not there."""
    proc = _git(top, "cat-file", "blob", f"{rev}:{rel}")
    return proc.stdout if proc.returncode == 0 else None


def _text(data: bytes) -> str:
    # what `Path.read_text` gives for the same bytes (universal newlines), so the hashes agree with `input_hashes`
    return data.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")


def _digests(data: bytes, kind: str) -> list[str]:
    """The hash of one file's content as `Paper.input_hashes` records it (`kind`: `code`, `notebook` or `params`), then
    the plain text hash that records made before inputs were normalized hold."""
    text = _text(data)
    if kind == "code":
        return [code_hash(text), sha256_text(text)]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / ("notebook.ipynb" if kind == "notebook" else "params.yaml")
        path.write_bytes(data)
        try:
            if kind == "notebook":
                return [notebook_code_hash(path), sha256_text(notebook_code(path))]
            return [structured_hash(path), sha256_text(text)]
        except (ValueError, yaml.YAMLError):  # not JSON or YAML: compared as text
            return [sha256_text(text)]


def _kind(paper: Paper, path: Path) -> str:
    if path == paper.notebook:
        return "notebook"
    return "code" if path.suffix == ".py" else "params"


def preregistered_files(paper: Paper | str, profile: str) -> list[Path]:
    """The files whose committed state a run of `profile` must start from: the paper's non-test `.py` files
    (`claims.py`, `method.py`, ...), the profile's params file if it has one, and the notebook (its code cells)."""
    paper = _paper(paper)
    files = list(paper.code_files())
    params = paper.profiles().get(profile)
    if params is not None:
        files.append(params)
    files.append(paper.notebook)
    return files


def _rel(top: Path, path: Path) -> str:
    return path.resolve().relative_to(top.resolve()).as_posix()


def _status(top: Path, rels: list[str]) -> dict[str, str]:
    """`{path: XY}` from `git status --porcelain` for those of `rels` that differ from HEAD, untracked or ignored."""
    out = _git(top, "status", "--porcelain=v1", "-z", "--untracked-files=all", "--ignored=matching", "--", *rels)
    found, tokens = {}, iter(out.stdout.decode().split("\0"))
    for tok in tokens:
        if len(tok) > 3:
            found[tok[3:]] = tok[:2]
            if tok[0] in "RC":
                next(tokens, None)  # a rename or copy is followed by its source path
    return found


def check_clean(paper: Paper | str, profile: str) -> list[str]:
    """The reasons a run of `profile` may not be recorded as pre-registered now, one per file; empty when every
    pre-registered file is committed and unchanged since HEAD (for the notebook: its code cells; outputs do not count)."""
    paper = _paper(paper)
    top = _toplevel(paper.dir)
    if top is None:
        return [f"{paper.dir} is not in a git repository: claims and parameters must be committed before the run"]
    if _git(top, "rev-parse", "--verify", "--quiet", "HEAD").returncode != 0:
        return [f"{top} has no commit yet: commit the paper's claims and parameters before the run"]
    files = preregistered_files(paper, profile)
    rels = [_rel(top, f) for f in files]
    changed = _status(top, rels)
    out = []
    for path, rel in zip(files, rels, strict=True):
        xy = changed.get(rel)
        if xy is None:
            continue
        if xy in ("??", "!!"):
            out.append(f"{rel} is {'untracked' if xy == '??' else 'ignored by git'}")
            continue
        committed = _blob(top, "HEAD", rel)
        if committed is None:
            out.append(f"{rel} is staged but not committed")
            continue
        # a change git sees may not count, as for staleness: a notebook's outputs, comments, formatting
        kind = _kind(paper, path)
        if _digests(path.read_bytes(), kind)[0] != _digests(committed, kind)[0]:
            out.append(f"{rel} has uncommitted changes" + (" to its code cells" if kind == "notebook" else ""))
    return out


def record_fields(paper: Paper, profile: str) -> dict:
    """The provenance fields `Run.record` adds: `exploratory` (the runner's `--exploratory`) and `preregistration`
    (the outcome of `check_clean` when the record is written, with the files it checked)."""
    problems = check_clean(paper, profile)
    top = _toplevel(paper.dir)
    checked = [_rel(top, f) if top else str(f) for f in preregistered_files(paper, profile)]
    return {
        "exploratory": os.environ.get(ENV_EXPLORATORY) == "1",
        "preregistration": {
            "status": "uncommitted" if problems else "clean",
            "checked_files": checked,
            "problems": problems,
        },  # fmt: skip
    }


def _is_ancestor(top: Path, older: str, newer: str) -> bool:
    return _git(top, "merge-base", "--is-ancestor", older, newer).returncode == 0


def verify_record(paper: Paper | str, results_path: str | Path) -> Check:
    """Check one results file against git: was what judged it committed, strictly before the commit that wrote it?

    (a) each pre-registered file the record hashed (`claims.py` first) hashes the same at `provenance.commit`;
    (b) that commit is an ancestor of, and not, the commit that last wrote the results file (for a results file not yet
        committed: an ancestor of HEAD, or HEAD, since it will land in a later commit);
    (c) the record says those files were committed when it ran (`provenance.preregistration.status == "clean"`).
    Records from before this contract (schema 1, or no `preregistration` and a dirty tree) are `not-preregistered`.
    """
    paper, path = _paper(paper), Path(results_path)
    record = json.loads(path.read_text(encoding="utf-8"))
    prov = record.get("provenance") or {}
    if prov.get("exploratory"):
        return Check(EXPLORATORY, ["an exploratory run (papers run --exploratory): never the record of a release"])
    prereg = prov.get("preregistration")
    if prereg is None:
        if record.get("schema_version", 1) < 2:
            return Check(LEGACY, ["recorded before pre-registration was checked (schema_version 1)"])
        if prov.get("dirty", True):
            return Check(LEGACY, ["run from a tree with uncommitted changes, before pre-registration was checked"])
    elif prereg.get("status") != "clean":
        found = prereg.get("problems") or ["pre-registered files were not committed"]
        return Check(LEGACY, ["run from a tree where " + "; ".join(found)])

    top = _toplevel(paper.dir)
    if top is None:
        return Check(VIOLATION, [f"{paper.dir} is not in a git repository: cannot check the record against git"])
    commit = str(prov.get("commit") or "")
    if not commit or _git(top, "cat-file", "-e", f"{commit}^{{commit}}").returncode != 0:
        return Check(VIOLATION, [f"provenance.commit {commit[:12] or '(none)'} is not a commit of this repository"])
    reasons = []

    # (a) the files as the run read them are the files at the recorded commit
    inputs = prov.get("inputs") or {}
    claims = paper.dir / "claims.py"
    if claims.exists() and paper._rel(claims) not in inputs:
        reasons.append(f"the record has no hash of {paper._rel(claims)}")
    for f in preregistered_files(paper, record.get("profile", path.stem)):
        notebook = f == paper.notebook
        key = paper._rel(f) + (CODE_CELLS if notebook else "")
        if key not in inputs:
            continue
        rel = _rel(top, f)
        data = _blob(top, commit, rel)
        if data is None:
            reasons.append(f"{rel} is not in commit {commit[:10]}: it was committed after the run")
        elif inputs[key] not in _digests(data, _kind(paper, f)):
            what = "its code cells differ" if notebook else "it differs"
            reasons.append(f"{rel} at commit {commit[:10]} is not what the run read ({what})")

    # (b) that commit is strictly earlier than the commit that wrote the results file
    rel = _rel(top, path)
    committed = _blob(top, "HEAD", rel)
    if committed is None or committed != path.read_bytes():
        if not _is_ancestor(top, commit, "HEAD"):
            reasons.append(f"commit {commit[:10]} is not in the history of HEAD")
    else:
        writer = _git(top, "log", "--format=%H", "-1", "--", rel).stdout.decode().strip()
        if writer == commit:
            reasons.append(f"{rel} was committed in {commit[:10]}, the commit the run started from: the claims and the "
                           "results that they judge landed together")  # fmt: skip
        elif not writer or not _is_ancestor(top, commit, writer):
            reasons.append(f"commit {commit[:10]} is not earlier than {writer[:10] or 'the commit'} that wrote {rel}")
    return Check(VIOLATION, reasons) if reasons else Check(PREREGISTERED, [])


def preregistration_status(paper: Paper | str, profile: str) -> str:
    """The label of `results/<profile>.json` for the index and the site: one of `STATUSES`, or `missing`."""
    paper = _paper(paper)
    path = paper.results_path(profile)
    if not path.exists():
        return MISSING
    return verify_record(paper, path).status
