"""The results contract: every notebook ends by writing `papers/<slug>/results/<profile>.json` through `Run.finish`.

`start_run` is called in a notebook's setup cell; it checks the parameters, seeds everything, shows the environment
fingerprint and starts the clock. `Run.finish` judges nothing itself: it takes the claim results that
`shared.claims.evaluate_claims` computed, adds provenance, validates against `results.schema.json` and writes atomically.
"""

import datetime as dt
import functools
import importlib
import json
import os
import tempfile
import time
from collections import Counter
from pathlib import Path

from shared import preregistration
from shared.claims import VERDICTS
from shared.paper import Paper, PaperError, check_params, get
from shared.provenance import sha256_json
from shared.repro import describe_fingerprint, device, fingerprint, set_seed

SCHEMA_FILE = Path(__file__).with_name("results.schema.json")


class ResultsError(ValueError):
    """A results file that breaks the contract; the message names the file and the field."""


@functools.cache
def schema() -> dict:
    return json.loads(SCHEMA_FILE.read_text())


def validate(record: dict, source: str = "results") -> dict:
    """Raise `ResultsError` naming `source` and the offending field; return the record when it is valid."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema())
    errors = sorted(validator.iter_errors(record), key=lambda e: list(e.absolute_path))
    if errors:
        e = errors[0]
        where = "/".join(str(p) for p in e.absolute_path) or "(top level)"
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise ResultsError(f"{source}: field {where}: {e.message}{more}")
    counts = Counter(c["verdict"] for c in record["claims"])
    if {v: counts.get(v, 0) for v in VERDICTS} != record["summary"]:
        raise ResultsError(f"{source}: field summary: does not count the claims' verdicts")
    return record


def load(path: str | Path) -> dict:
    path = Path(path)
    try:
        record = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise ResultsError(f"{path}: not valid JSON: {e}") from None
    return validate(record, str(path))


def write_json_atomic(path: Path, obj) -> None:
    """Write to a temporary file beside `path`, then rename: a crash never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        # mkstemp creates the file private (0600); a result is for everyone who can read the checkout
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(obj, f, indent=2, sort_keys=False, ensure_ascii=False)
            f.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _utc() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Run:
    """One execution of one paper's notebook under one profile. Create it with `start_run`."""

    def __init__(self, paper: Paper, profile: str, params: dict, seeds: list[int]):
        self.paper, self.profile, self.params, self.seeds = paper, profile, params, [int(s) for s in seeds]
        self.started_utc, self._t0 = _utc(), time.perf_counter()
        self.device = device()

    @property
    def results_dir(self) -> Path:
        """Where results go: `papers/<slug>/results/`, or the staging folder a runner names in `TOKEN_PAPERS_OUTPUT_DIR`
        (it moves the files into place only when the whole notebook succeeded)."""
        staged = os.environ.get("TOKEN_PAPERS_OUTPUT_DIR")
        return Path(staged) if staged else self.paper.dir / "results"

    @property
    def figures_dir(self) -> Path:
        return self.results_dir / self.profile

    def save_figure(self, fig, name: str) -> Path:
        """Save a matplotlib figure as `results/<profile>/<name>.png`, without a timestamp (stable bytes)."""
        self.figures_dir.mkdir(parents=True, exist_ok=True)
        path = self.figures_dir / f"{name}.png"
        fig.savefig(path, dpi=110, bbox_inches="tight", metadata={"Software": None})
        return path

    def record(self, claim_results: list[dict]) -> dict:
        meta, paper = self.paper.meta, self.paper
        return {
            "schema_version": 2,
            "catalog_id": paper.catalog_id,
            "slug": paper.slug,
            "title": paper.title,
            "arxiv_id": meta.get("arxiv_id"),
            "profile": self.profile,
            "claims": claim_results,
            "summary": {v: sum(c["verdict"] == v for c in claim_results) for v in VERDICTS},
            "params": self.params,
            "provenance": {
                "commit": fingerprint()["commit"],
                "dirty": fingerprint()["dirty"],
                "inputs_hash": paper.inputs_hash(self.profile),
                "inputs": paper.input_hashes(self.profile),
                "params_hash": sha256_json(self.params),
                "data_hash": paper.data_hash(self.profile),
                "env": fingerprint(),
                "device": self.device,
                "seeds": self.seeds,
                "wall_time_s": round(time.perf_counter() - self._t0, 1),
                "started_utc": self.started_utc,
                "finished_utc": _utc(),
                **preregistration.record_fields(paper, self.profile),
            },
        }

    def finish(self, claim_results: list[dict]) -> dict:
        """Validate and write `results/<profile>.json`; print the verdicts (a tagged output that must be identical on
        every machine: claim ids and verdicts, no numbers; a timing claim is named, its verdict left to the record).

        Under the rerun contract (`TOKEN_PAPERS_RERUN_CONTRACT`, set by CI's notebook tests) the fresh record is held
        to the committed one first: a moved verdict or a value outside a claim's tolerance raises `RerunContractError`.
        """
        from shared import rerun
        from shared.claims import verdict_lines, verdict_summary

        record = validate(self.record(claim_results), f"{self.paper.slug} results ({self.profile})")
        write_json_atomic(self.results_dir / f"{self.profile}.json", record)
        if rerun.enabled():
            claims = getattr(importlib.import_module(f"papers.{self.paper.slug}.claims"), "CLAIMS", None)
            rerun.check(self.paper, self.profile, record, claims, report_dir=self.results_dir)
        fidelity = ", ".join(sorted({c["fidelity"] for c in claim_results}))
        print(f"{self.paper.slug} [{self.profile}]: {verdict_summary(record['claims'])} ({fidelity})")
        print(verdict_lines(record["claims"]))
        return record


def injected_parameters(namespace: dict) -> dict:
    """The values of the cell papermill injected in this kernel (its source starts with `# Parameters`), if any.

    IPython keeps the source of every executed cell in `In`; the injected cell holds only literal assignments.
    """
    import ast

    out = {}
    for src in namespace.get("In", []) or []:
        if not src.lstrip().startswith("# Parameters"):
            continue
        for node in ast.parse(src).body:
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                try:
                    out[node.targets[0].id] = ast.literal_eval(node.value)
                except ValueError:
                    out[node.targets[0].id] = None
    return out


def start_run(slug: str, namespace: dict, seeds: list[int] | None = None) -> Run:
    """Begin a run from a notebook's setup cell: `run = start_run("my_paper_2024", globals(), seeds=SEEDS)`.

    Reads the parameter names from the notebook's `parameters` cell and their values from `namespace`, so what papermill
    injected is what gets recorded; a value whose type differs from its default is rejected with a clear message.
    """
    paper = get(slug)
    names = paper.parameters()
    injected = injected_parameters(namespace)
    if injected:
        # papermill only warns about names the parameters cell does not define; here they are an error
        check_params(paper, injected, source=f"{slug}: parameters injected by papermill")
    missing = [k for k in names if k not in namespace]
    if missing:
        raise PaperError(f"{slug}: parameters {missing} are not defined: run the parameters cell first")
    params = {k: namespace[k] for k in names}
    check_params(paper, params, source=f"{slug} parameters")
    profile = params.get("PROFILE", "default")
    if profile not in paper.profiles():
        raise PaperError(
            f"{slug}: PROFILE={profile!r} has no params/{profile}.yaml; valid: {', '.join(paper.profiles())}"
        )
    seeds = list(seeds) if seeds is not None else [int(params.get("SEED", 0))]
    set_seed(seeds[0])
    run = Run(paper, profile, params, seeds)
    print(describe_fingerprint())
    if os.environ.get("TOKEN_PAPERS_KERNEL") is None:
        print("note: not running in a project kernel (token-papers-cpu/gpu): threads and seeds may differ")
    return run
