"""Give the sandbox's synthetic papers what newer ones have: scope tables and the verdict engine's per-claim fields.

After `enrich(sandbox)`: alpha_2024 has a scope table (3 headline results, 2 tested) and a schema-1 record (not
pre-registered); beta_2023 has no scope table and an exploratory `full` record; gamma_2022 has a scope table (2 results,
1 tested) and a pre-registered schema-2 record whose inconclusive claim c1 carries n units, an interval method, a
control, two preconditions (one failed), what would decide it, a tolerance and the paper's quote.
"""

import json
from pathlib import Path

ALPHA_SCOPE = """## Scope
The headline results of the paper.

| Headline result | Where | Status | Claim / reason |
|---|---|---|---|
| Alpha holds on the small task | Abstract; Tab. 1 | tested | `a1` |
| Alpha's ratio stays low | Tab. 2 | tested | a2 |
| Alpha scales to 70B \\| 8 GPUs | Abstract; Fig. 3 | not tested | needs a 70B model |

"""
GAMMA_SCOPE = """## Scope
| Headline result | Where | Status | Claim / reason |
|---|---|---|---|
| Gamma compresses the cache | Abstract | tested | `c1` |
| Gamma is fast on a GPU | Tab. 4 | not tested | needs a GPU |

"""
C1_FIELDS = {
    "kind": "noisy",
    "paper_version": "2306.09927v2",
    "paper_quote": "Gamma keeps 99% of the quality with a fifth of the cache.",
    "tolerance": {"rel": 0.01, "abs": 0.001, "why": "spread over thread counts"},
    "preconditions": [
        {
            "id": "learned",
            "text": "the model learned the task",
            "rule": "ours >= 0.9",
            "ours": {"value": 0.95, "n": 8},
            "passed": True,
            "reason": "0.95 >= 0.9",
        },
        {
            "id": "premise",
            "text": "the toy has heavy hitters",
            "rule": "ours >= 0.5",
            "ours": {"value": 0.31, "n": 8},
            "passed": False,
            "reason": "0.31 < 0.5",
        },
    ],
    "control": {
        "name": "random-eviction",
        "text": "random eviction that keeps the sinks",
        "ours": {"value": 0.52, "low": 0.48, "high": 0.56, "n": 8},
        "beaten": False,
        "reason": "paired difference interval straddles 0",
    },
    "decide": "about 40 more documents would separate 0.55 from the 0.5 bar",
}


def _insert_scope(readme: Path, section: str) -> None:
    text = readme.read_text()
    anchor = "## What we replicate"
    readme.write_text(text.replace(anchor, section + anchor, 1))


def _edit(path: Path, change) -> None:
    record = json.loads(path.read_text())
    change(record)
    path.write_text(json.dumps(record, indent=2) + "\n")


def enrich(sandbox: Path) -> Path:
    papers = Path(sandbox) / "papers"
    _insert_scope(papers / "alpha_2024" / "README.md", ALPHA_SCOPE)
    _insert_scope(papers / "gamma_2022" / "README.md", GAMMA_SCOPE)

    def gamma(record):
        record["schema_version"] = 2
        c1 = record["claims"][0]
        c1["ours"].update({"n": 8, "n_unit": "documents", "interval": "bootstrap"})
        c1.update(C1_FIELDS)
        record["provenance"].update({"exploratory": False, "preregistration": {
            "status": "clean", "checked_files": ["papers/gamma_2022/claims.py"], "problems": []}})  # fmt: skip

    def beta_full(record):
        record["schema_version"] = 2
        record["provenance"]["exploratory"] = True

    _edit(papers / "gamma_2022" / "results" / "default.json", gamma)
    _edit(papers / "beta_2023" / "results" / "full.json", beta_full)
    return Path(sandbox)
