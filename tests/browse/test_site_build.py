"""`papers site build`: the pages it writes, and that none of them loads anything from another machine."""

import json

import pytest
from offline import audit

from shared.browse.build import SiteError, build, markdown_html
from shared.citation.sandbox import run_papers


@pytest.fixture(scope="module")
def sandbox_site(base_sandbox, tmp_path_factory):
    out = tmp_path_factory.mktemp("site") / "site"
    r = run_papers(base_sandbox, "site", "build", "--out", str(out))
    assert r.returncode == 0, r.stderr
    return out


def test_pages_figures_notebooks_and_data_are_written(sandbox_site):
    for rel in ("index.html", "results/index.json", "assets/site.js", "assets/site.css", "assets/favicon.svg",
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


def test_the_sandbox_site_references_nothing_outside_itself(sandbox_site):
    found = audit(sandbox_site)
    assert found["pages"] == 7
    assert found["leaks"] == [] and found["broken"] == []
    assert any("https://arxiv.org/abs/2306.09927" in o for o in found["outbound"])


def test_the_real_projects_site_is_offline_safe(tmp_path):
    # the real notebooks go through nbconvert, whose stock templates pull require.js and MathJax from CDNs
    report = build(tmp_path / "site", log=lambda msg: None)
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
