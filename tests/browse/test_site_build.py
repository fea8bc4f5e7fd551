"""`papers site build`: the pages it writes, and that none of them loads anything from another machine."""

import json

import pytest
from offline import audit
from scoped import enrich

from shared.browse.build import SiteError, build, markdown_html
from shared.citation.sandbox import clone, run_papers


@pytest.fixture(scope="module")
def sandbox_site(base_sandbox, tmp_path_factory):
    out = tmp_path_factory.mktemp("site") / "site"
    r = run_papers(base_sandbox, "site", "build", "--out", str(out))
    assert r.returncode == 0, r.stderr
    return out


def test_pages_figures_notebooks_and_data_are_written(sandbox_site):
    for rel in ("index.html", "catalog.html", "results/index.json", "assets/site.js", "assets/site.css",
                "assets/favicon.svg",
                "papers/alpha_2024/index.html", "papers/alpha_2024/notebook.html",
                "papers/alpha_2024/figures/default/ratio.png", "papers/beta_2023/results/full.json",
                "papers/beta_2023/figures/full/ratio.png"):  # fmt: skip
        assert (sandbox_site / rel).is_file(), rel
    index = (sandbox_site / "index.html").read_text()
    assert index.count("<tr data-category=") == 5 and index.count('data-headline="1"') == 4
    paper = (sandbox_site / "papers/alpha_2024/index.html").read_text()
    for needle in ("Synthetic alpha_2024", 'href="https://arxiv.org/abs/2306.09927"', "claim-default-a2",
                   "What was and was not replicated", "<strong>Not replicated:</strong> the big run.",
                   "Deviations from the paper", "@software{tokenpapers:alpha_2024", "papers cite alpha_2024 --claim a1",
                   "figures/default/ratio.png", "notebook.html"):  # fmt: skip
        assert needle in paper, needle
    assert json.loads((sandbox_site / "results/index.json").read_text())["counts"]["claims"] == 4
    # the catalog page: every catalog paper, the replicated ones linked to their pages, and the index links to it
    catalog = (sandbox_site / "catalog.html").read_text()
    assert catalog.count('<tr data-category="') == 195 + 13 and catalog.count('data-state="replicated"') == 3
    assert '<a href="papers/beta_2023/index.html">' in catalog and "0/1 reproduced, 1 partially" in catalog
    assert 'href="catalog.html"' in index
    # records without the verdict engine's fields and READMEs without scope tables render, and say so
    assert "Scope table missing" in paper and "not pre-registered" in paper and "Preconditions" not in paper
    index = (sandbox_site / "index.html").read_text()
    assert "Scope: 0 of 0\n    headline results tested" in index and index.count(">scope table missing</td>") == 3
    assert "Control, preconditions" not in index  # no claim has a control or preconditions: no column of dashes


@pytest.fixture(scope="module")
def scoped_site(base_sandbox, tmp_path_factory):
    """The sandbox with scope tables and schema-2 fields (tests/browse/scoped.py), built."""
    sb = enrich(clone(base_sandbox, tmp_path_factory.mktemp("scoped") / "project"))
    out = sb.parent / "site"
    r = run_papers(sb, "site", "build", "--out", str(out), "--no-notebooks")
    assert r.returncode == 0, r.stderr
    return out


def _between(html: str, start: str, end: str) -> str:
    i = html.index(start)
    return html[i : html.index(end, i)]


def test_the_site_shows_denominators_and_the_verdict_engine_fields(scoped_site):
    index = (scoped_site / "index.html").read_text()
    assert (
        "Scope: 3 of 5\n    headline results tested</strong>, from the scope tables of 2 of 3\n    papers (1 without one yet)"
        in index
    )
    papers = _between(index, '<table class="papers">', "</table>")
    assert '<tr data-paper="alpha_2024">' in papers and '<td class="num">3</td><td class="num">2</td>' in papers
    assert ">scope table missing</td>" in _between(papers, 'data-paper="beta_2023"', "</tr>")
    assert ">exploratory</span>" in _between(papers, 'data-paper="beta_2023"', "</tr>")
    assert ">pre-registered</span>" in _between(papers, 'data-paper="gamma_2022"', "</tr>")
    c1_row = _between(index, 'href="papers/gamma_2022/index.html#claim-default-c1"', "</tr>")
    assert '<span class="n">n = 8 documents</span>' in c1_row
    assert "does not beat random-eviction (0.52 [0.48, 0.56]); precondition failed: premise" in c1_row
    assert "registration" not in c1_row  # pre-registered rows carry no label
    a1_row = _between(index, 'href="papers/alpha_2024/index.html#claim-default-a1"', "</tr>")
    assert '<span class="n">n = 3</span>' in a1_row and ">not pre-registered</span>" in a1_row

    gamma = (scoped_site / "papers/gamma_2022/index.html").read_text()
    card = _between(gamma, 'id="claim-default-c1"', '<p class="measures')
    for needle in ("(n = 8 documents; bootstrap interval)", "Control: random-eviction",
                   "does not beat random-eviction (0.52 [0.48, 0.56])", "paired difference interval straddles 0",
                   '<li class="passed">', "the model learned the task", '<li class="failed">', "0.31 &lt; 0.5",
                   "<strong>What would decide it:</strong> about 40 more documents", "arXiv:2306.09927v2",
                   "Gamma keeps 99% of the quality", "spread over thread counts", '<span class="pill kind">noisy'):  # fmt: skip
        assert needle in card, needle
    scope = _between(gamma, '<section id="scope">', "</section>")
    assert "<strong>1 of 2 headline results tested</strong>" in scope
    assert '<a href="#claim-default-c1"><code>c1</code></a>' in scope and "needs a GPU" in scope
    assert ">pre-registered</span>" in gamma

    alpha = (scoped_site / "papers/alpha_2024/index.html").read_text()
    scope = _between(alpha, '<section id="scope">', "</section>")
    assert "<strong>2 of 3 headline results tested</strong>" in scope and "Alpha scales to 70B | 8 GPUs" in scope
    assert "<strong>Not replicated:</strong> the big run." in scope  # the prose section still shows beside the table
    assert "Control:" not in alpha and "What would decide it" not in alpha  # a schema-1 record: nothing invented
    beta = (scoped_site / "papers/beta_2023/index.html").read_text()
    assert "Scope table missing" in beta and "Exploratory: an exploratory run" in beta
    assert audit(scoped_site)["broken"] == []


def test_the_sandbox_site_references_nothing_outside_itself(sandbox_site):
    found = audit(sandbox_site)
    assert found["pages"] == 8  # index, catalog, three papers with their notebooks
    assert found["leaks"] == [] and found["broken"] == []
    assert any("https://arxiv.org/abs/2306.09927" in o for o in found["outbound"])


def test_the_real_projects_site_is_offline_safe(tmp_path):
    # the real notebooks go through nbconvert, whose stock templates pull require.js and MathJax from CDNs
    from shared.runner.ciplan import site_sample

    # every paper under `make test-all`; else a rotating sample (nbconvert of 200 notebooks takes 4 min on 2 cores)
    report = build(tmp_path / "site", papers=site_sample(), log=lambda msg: None)
    found = audit(tmp_path / "site")
    assert found["leaks"] == [], found["leaks"]
    assert found["broken"] == [], found["broken"]
    assert any(p.endswith("notebook.html") for p in report["pages"])


def test_the_audit_catches_a_cdn_script(tmp_path):
    (tmp_path / "index.html").write_text('<script src="https://cdn.example.org/x.js"></script><a href="gone.html">x</a>'
                                         "<style>/* https://fine.example */ p { background: url(//cdn.example/i.png) }"
                                         "</style>")  # fmt: skip
    found = audit(tmp_path)
    assert len(found["leaks"]) == 2 and found["broken"] == ["index.html: <a> gone.html"]


def test_build_refuses_to_empty_a_folder_it_did_not_build(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(SiteError, match="was not built by `papers site build`"):
        build(tmp_path, notebooks=False)
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_serve_answers_on_localhost_only(base_sandbox, sandbox_site):
    import subprocess
    import sys
    import urllib.request

    from shared.citation.sandbox import env

    main = "import sys; from shared.cli import main; sys.exit(main(sys.argv[1:]))"
    proc = subprocess.Popen([sys.executable, "-c", main, "site", "serve", "--dir", str(sandbox_site), "--port", "0"],
                            cwd=base_sandbox, env=env(base_sandbox), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)  # fmt: skip
    try:
        line = proc.stdout.readline()
        assert line.startswith(f"serving {sandbox_site} at http://127.0.0.1:"), line + proc.stderr.read()
        url = line.split(" at ")[1].split()[0]
        with urllib.request.urlopen(url + "papers/beta_2023/index.html", timeout=30) as r:
            assert r.status == 200 and b"Synthetic beta_2023" in r.read()
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_serve_without_a_built_site_says_what_to_do(tmp_path, capsys):
    from shared.cli import main

    assert main(["site", "serve", "--dir", str(tmp_path)]) == 2
    assert "has no index.html: run `papers site build` first" in capsys.readouterr().err


def test_links_to_paper_readmes_point_at_their_site_pages():
    html = markdown_html("[a](../spectr_2023/README.md#wall-clock) [b](README.md) [c](https://example.org/README.md)")
    assert 'href="../spectr_2023/index.html"' in html and 'href="index.html"' in html
    assert 'href="https://example.org/README.md"' in html  # outbound links are left alone
