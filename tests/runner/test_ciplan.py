"""`papers ci-plan`: CI re-executes the papers whose own files changed, a capped sample of those a shared change staled
and a rotating sample of the fresh ones; the plan is the same for the same commit, and the rotation reaches every
paper."""

import json
import subprocess
import sys

import pytest

from shared import ROOT
from shared.citation.sandbox import git, run_papers
from shared.runner.ciplan import rotation


def plan(sb, *args):
    r = run_papers(sb, "ci-plan", "--json", "--turn", "0", *args)
    assert r.returncode == 0, r.stderr
    p = json.loads(r.stdout[r.stdout.index("{") :])
    return p, {it["slug"]: it for it in p["items"]}


def test_rotation_reaches_every_paper_and_is_deterministic():
    slugs = [f"p{i:03d}" for i in range(200)]
    seen = set()
    for turn in range(100):  # 200 papers, 2 per turn: every paper within 100 consecutive commits
        got = rotation(slugs, 2, turn)
        assert len(got) == 2 and got == rotation(list(reversed(slugs)), 2, turn)
        seen |= set(got)
    assert seen == set(slugs)
    assert rotation(slugs, 0, 5) == [] and rotation(slugs[:3], 5, 7) == slugs[:3]


def test_fresh_papers_are_sampled_by_rotation(sb):
    p, items = plan(sb, "--sample", "1", "--cap", "1")
    assert p["papers"] == 3 and len(p["selected"]) == 1
    assert items[p["selected"][0]]["group"] == "sample"
    assert {it["group"] for s, it in items.items() if s not in p["selected"]} == {"skipped"}
    later, _ = plan(sb, "--sample", "1", "--turn", "1")
    assert later["selected"] != p["selected"]  # the next commit's turn takes the next paper
    assert p["notebooks"] == [{"path": f"papers/{p['selected'][0]}/{p['selected'][0]}.ipynb",
                               "kernel": "token-papers-cpu"}]  # fmt: skip


def test_a_paper_whose_own_code_changed_is_always_re_executed(sb):
    method = sb / "papers/gamma_2022/method.py"
    method.write_text(method.read_text() + "\nVALUE = 3\n")
    p, items = plan(sb, "--sample", "0", "--cap", "0")
    assert p["selected"] == ["gamma_2022"]
    assert items["gamma_2022"]["group"] == "changed" and "method.py" in items["gamma_2022"]["why"]


def test_a_comment_only_edit_changes_nothing(sb):
    method = sb / "papers/gamma_2022/method.py"
    method.write_text(method.read_text() + "\n# a comment\n")
    p, _ = plan(sb, "--sample", "0", "--cap", "0")
    assert p["selected"] == []


def test_a_change_every_paper_imports_re_executes_a_capped_sample_and_the_rest_stay_stale(sb):
    shared = sb / "papers/__init__.py"  # the package module every paper imports (the sandbox papers import no shared/)
    shared.write_text(shared.read_text() + "\n\ndef _new_helper():\n    return 1\n")
    p, items = plan(sb, "--sample", "0", "--cap", "1")
    assert len(p["selected"]) == 1 and items[p["selected"][0]]["group"] == "shared"
    left = [it for s, it in items.items() if s not in p["selected"]]
    assert len(left) == 2 and all("stays stale" in it["why"] and "papers/__init__.py" in it["why"] for it in left)
    status = run_papers(sb, "status", "--profile", "default")
    assert status.stdout.count("stale: code: papers/__init__.py changed") == 3  # the truth, whatever CI sampled
    text = run_papers(sb, "ci-plan", "--turn", "0", "--sample", "0", "--cap", "1").stdout
    assert "2 stale papers not re-executed this turn" in text


def test_the_plan_is_the_same_for_the_same_commit(sb):
    git(sb, "commit", "-q", "--allow-empty", "-m", "one more commit")
    a = run_papers(sb, "ci-plan", "--json")
    b = run_papers(sb, "ci-plan", "--json")
    assert a.returncode == 0 and a.stdout == b.stdout
    assert json.loads(a.stdout[a.stdout.index("{") :])["turn"] == 3  # sandbox, three papers, one more


def test_bad_plan_arguments_are_refused_in_one_line(sb):
    r = run_papers(sb, "ci-plan", "--sample", "-1")
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "--sample and --cap" in r.stderr
    r = run_papers(sb, "ci-plan", "--plan", "nowhere.json")
    assert r.returncode == 2 and "no plan file nowhere.json" in r.stderr


@pytest.mark.slow
def test_pytest_collects_only_the_planned_notebooks(tmp_path):
    from shared.paper import discover

    one, other = (p.slug for p in discover()[:2])
    nb = f"papers/{one}/{one}.ipynb"
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(json.dumps({"notebooks": [{"path": nb, "kernel": "token-papers-cpu"}]}))
    env = {"TOKEN_PAPERS_CI_PLAN": str(plan_file), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "--nbval-lax", "-p", "no:randomly",
                          f"papers/{one}", f"papers/{other}"], cwd=ROOT, env=env, capture_output=True,
                         text=True, check=False)  # fmt: skip
    notebooks = {line.split("::")[0] for line in out.stdout.splitlines() if ".ipynb::" in line}
    assert notebooks == {nb}, out.stdout[-2000:]
    assert f"papers/{other}/test_method.py" in out.stdout  # unit tests are still collected


def test_the_real_site_tests_take_a_rotating_sample_unless_every_notebook_runs(tmp_path, monkeypatch):
    from shared.paper import discover
    from shared.runner.ciplan import PLAN_ENV, site_sample

    papers = discover()
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(json.dumps({"everything": False, "turn": 0}))
    monkeypatch.setenv(PLAN_ENV, str(plan_file))
    first = [p.slug for p in site_sample(papers, k=2)]
    plan_file.write_text(json.dumps({"everything": False, "turn": 1}))
    assert len(first) == 2 and [p.slug for p in site_sample(papers, k=2)] != first
    plan_file.write_text(json.dumps({"everything": True, "turn": 1}))
    assert site_sample(papers, k=2) == papers


def test_site_sample_adds_the_papers_its_pages_link_to(tmp_path, monkeypatch):
    """A sampled README that links to `../other/` pulls that paper into the built site (else its link is broken)."""
    import json
    from types import SimpleNamespace

    from shared.runner import ciplan

    papers = []
    for slug in ("a_2024", "b_2024", "c_2024"):
        (tmp_path / slug).mkdir()
        (tmp_path / slug / "README.md").write_text(
            "see [b](../b_2024/README.md)\n" if slug != "b_2024" else "no links\n"
        )
        papers.append(SimpleNamespace(slug=slug, dir=tmp_path / slug))
    plan = tmp_path / "plan.json"
    for turn in range(3):
        plan.write_text(json.dumps({"turn": turn}))
        monkeypatch.setenv(ciplan.PLAN_ENV, str(plan))
        chosen = [p.slug for p in ciplan.site_sample(papers, k=1)]
        assert "b_2024" in chosen and len(chosen) <= 2
