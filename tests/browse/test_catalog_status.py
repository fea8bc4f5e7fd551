"""The catalog's status rows (replicated, in progress, not started) in the index, and `papers catalog --status`."""

import json
import re
from collections import Counter

import pytest

from shared.browse.index import catalog_section, fmt_verdict_summary, summary_profile
from shared.catalog import catalog
from shared.citation.sandbox import clone, run_papers

DECODING = "decoding-and-speculative"  # alpha_2024 (id 3) and the in-progress r2r_2025 (id 7) are both in it


def _run(status: str, **verdicts) -> dict:
    return {"status": status, "verdicts": Counter(verdicts), "fidelity": {"scaled-down"}}


@pytest.mark.parametrize(("statuses", "expected"), [
    ({"default": "fresh", "full": "fresh", "gpu": "stale"}, "full"),  # the largest fresh profile
    ({"default": "fresh", "full": "stale"}, "default"),
    ({"default": "stale", "full": "stale"}, "default"),  # none fresh: the default run
    ({"full": "stale"}, "full"),  # none fresh and no default: the headline
    ({"default": "stale", "extra": "fresh"}, "extra"),
])  # fmt: skip
def test_summary_profile_is_the_largest_fresh_else_default(statuses, expected):
    assert summary_profile({p: _run(s) for p, s in statuses.items()}) == expected


def test_catalog_rows_say_where_each_paper_stands():
    listed = [{"paper": "alpha_2024", "catalog_id": 3}, {"paper": "r2r_2025", "catalog_id": 7}]
    runs = {"alpha_2024": {"default": {"status": "fresh", "verdicts": Counter({"reproduced": 3, "inconclusive": 1,
                                                                               "partially reproduced": 1}),
                                       "fidelity": {"analogue", "faithful"}},
                           "full": _run("stale", reproduced=1)}}  # fmt: skip
    section = catalog_section(listed, runs)
    rows = {r["catalog_id"]: r for r in section["rows"]}
    assert list(rows) == sorted(catalog()) and len(rows) == 195
    alpha = rows[3]
    assert (alpha["state"], alpha["paper"], alpha["title"], alpha["category"], alpha["tier"]) == (
        "replicated", "alpha_2024", catalog()[3]["title"], DECODING, "T1")  # fmt: skip
    assert alpha["profiles"] == ["full", "default"] and alpha["freshness"] == {"full": "stale", "default": "fresh"}
    assert (alpha["summary_profile"], alpha["status"], alpha["claims"]) == ("default", "fresh", 5)
    assert alpha["fidelity"] == ["faithful", "analogue"]  # in the order of FIDELITIES, not alphabetical
    assert fmt_verdict_summary(alpha) == "3/5 reproduced, 1 partially, 1 inconclusive"
    assert rows[7]["state"] == "in progress" and rows[7]["paper"] == "r2r_2025" and rows[7]["verdict"] is None
    assert rows[5] == {"catalog_id": 5, "title": catalog()[5]["title"], "category": "tokenization", "tier": "T2",
                       "state": "not started", "paper": None, "profiles": [], "freshness": {}, "summary_profile": None,
                       "status": None, "claims": 0, "verdict": None, "fidelity": []}  # fmt: skip
    assert fmt_verdict_summary(rows[5]) == "-"

    c = section["counts"]
    assert c["papers"] == 195 and c["state"] == {"replicated": 1, "in progress": 1, "not started": 193}
    assert c["category"][DECODING] == {"papers": 14, "state": {"replicated": 1, "in progress": 1, "not started": 12}}
    assert sum(x["papers"] for x in c["category"].values()) == 195 and list(c["tier"]) == ["T1", "T2", "T3", "T4"]
    assert c["tier"]["T2"]["state"]["replicated"] == 0


@pytest.fixture(scope="module")
def catalog_sandbox(base_sandbox, tmp_path_factory):
    """The sandbox plus an in-progress paper (a folder from `papers new`, no results) and a stale `full` run of beta."""
    sb = clone(base_sandbox, tmp_path_factory.mktemp("catalog") / "project")
    r = run_papers(sb, "new", "r2r_2025", "--catalog-id", "7")
    assert r.returncode == 0, r.stderr
    full = sb / "papers/beta_2023/results/full.json"
    record = json.loads(full.read_text())
    record["provenance"]["inputs_hash"] = "0" * 64
    full.write_text(json.dumps(record, indent=2) + "\n")
    return sb


def test_the_index_carries_the_catalog_and_stays_deterministic(catalog_sandbox):
    r = run_papers(catalog_sandbox, "results", "--json", "--no-write")
    assert r.returncode == 0, r.stderr
    section = json.loads(r.stdout)["catalog"]
    rows = {x["catalog_id"]: x for x in section["rows"]}
    assert section["counts"]["state"] == {"replicated": 3, "in progress": 1, "not started": 191}
    assert {cid: rows[cid]["state"] for cid in (3, 5, 7, 29, 1)} == {
        3: "replicated", 5: "replicated", 7: "in progress", 29: "replicated", 1: "not started"}  # fmt: skip
    beta = rows[5]  # full is stale, so the verdicts come from the fresh default run
    assert (beta["summary_profile"], beta["status"], beta["freshness"]) == ("default", "fresh",
                                                                           {"full": "stale", "default": "fresh"})  # fmt: skip
    assert fmt_verdict_summary(rows[3]) == "1/2 reproduced, 1 not reproduced"
    assert rows[3]["fidelity"] == ["faithful", "scaled-down"]
    assert "utc" not in json.dumps(section).lower()  # no timestamps: the same tree gives the same index
    again = run_papers(catalog_sandbox, "results", "--json", "--no-write")
    assert again.stdout == r.stdout


def test_catalog_status_prints_the_table_and_totals(catalog_sandbox):
    r = run_papers(catalog_sandbox, "catalog", "--status", "--category", DECODING)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["id", "tier", "category", "state", "paper", "verdicts", "fidelity", "profiles",
                                "status", "title"]  # fmt: skip
    body = lines[1 : lines.index("")]
    assert len(body) == 14 and all(DECODING in line for line in body)
    alpha = next(line for line in body if "alpha_2024" in line)
    assert alpha.split()[:5] == ["3", "T1", DECODING, "replicated", "alpha_2024"]
    assert "1/2 reproduced, 1 not reproduced (default)" in alpha and "faithful, scaled-down" in alpha
    assert re.search(r"  default +fresh +Fast Controlled Generation", alpha)  # profiles, status, title
    assert "in progress  r2r_2025" in next(line for line in body if line.startswith("7 "))
    assert lines[-1] == ("Shown: 14 papers: 1 replicated, 1 in progress, 12 not started. "
                         "Whole catalog: 195 papers: 3 replicated, 1 in progress, 191 not started.")  # fmt: skip

    r = run_papers(catalog_sandbox, "catalog", "--state", "replicated")  # --state implies --status
    lines = r.stdout.splitlines()
    assert [line.split()[4] for line in lines[1 : lines.index("")]] == ["alpha_2024", "beta_2023", "gamma_2022"]
    assert "0/1 reproduced, 1 partially (default)" in r.stdout
    assert "full, default  fresh" in r.stdout  # every profile recorded; the status is the summarised profile's
    by_category = [line.split() for line in lines[lines.index("") + 2 :]]
    assert by_category[-1] == ["tokenization", "1", "paper:", "1", "replicated,", "0", "in", "progress,", "0", "not",
                               "started"]  # fmt: skip

    r = run_papers(catalog_sandbox, "catalog", "--status", "--category", DECODING, "--tier", "T3", "--state",
                   "not started")  # fmt: skip
    assert r.stdout.splitlines()[-1].startswith("Shown: 3 papers: 0 replicated, 0 in progress, 3 not started.")


@pytest.mark.parametrize(("args", "expected"), [
    (["--state", "done"], "unknown state 'done'; valid: replicated, in progress, not started"),
    (["--tier", "T9"], "unknown tier 'T9'; valid: T1, T2, T3, T4"),
    (["--category", "kv"], "unknown category 'kv'; valid: alignment-and-rl, architecture-and-training,"),
])  # fmt: skip
def test_bad_filters_list_the_valid_choices(args, expected, capsys):
    # checked before anything is read, so the real repository is safe to use here
    from shared.cli import main

    assert main(["catalog", "--status", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("papers catalog: error: ") and expected in err and len(err.strip().splitlines()) == 1
