"""The results site in a real headless Chromium, served over real HTTP on 127.0.0.1.

Checks that pages load without console errors, that the verdict table filters and sorts, that every link resolves
(pages, files and #anchors), that no request leaves the machine (any other host is recorded and blocked), and keeps
screenshots under build/test-artifacts/ (gitignored). Needs Debian's chromium and the playwright package; without them
the test is skipped locally and fails under CI (where `make setup` installs both).
"""

import os
import shutil
from collections import deque
from pathlib import Path
from urllib.parse import urldefrag, urljoin, urlsplit

import pytest

from shared import ROOT
from shared.browse.build import build
from shared.browse.serve import serve_in_thread
from shared.citation.sandbox import clone, run_papers

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = ROOT / "build" / "test-artifacts"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run", "--disable-default-apps", "--disable-domain-reliability"]  # fmt: skip


def _need_browser():
    missing = []
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("the playwright package (pip)")
    if not Path(CHROMIUM).exists():
        missing.append("chromium (Debian package, ci/system-packages.txt)")
    if missing:
        msg = "needs " + " and ".join(missing)
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)


@pytest.fixture(scope="module")
def browser():
    _need_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield b
        b.close()


class Session:
    """One browser page on one served site, recording console errors, failed requests and outside requests."""

    def __init__(self, browser, site: Path):
        self.server, self.base = serve_in_thread(site)
        self.context = browser.new_context(viewport={"width": 1400, "height": 900})
        self.outside, self.errors, self.failed = [], [], []
        self._anchors: dict[str, set[str]] = {}  # page -> ids that links point at
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on(
            "console", lambda m: self.errors.append(f"console {m.type}: {m.text}") if m.type == "error" else None
        )
        self.page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        self.page.on("requestfailed", lambda r: self.failed.append(f"{r.url}: {r.failure}"))
        self.page.on("response", lambda r: self.failed.append(f"{r.url}: HTTP {r.status}") if r.status >= 400 else None)

    def _route(self, route):
        url = route.request.url
        if url.startswith((self.base, "data:", "blob:", "about:")):
            route.continue_()
        else:
            self.outside.append(url)  # recorded, then blocked: nothing leaves the machine even if a page tries
            route.abort()

    def goto(self, path: str):
        response = self.page.goto(urljoin(self.base, path), wait_until="networkidle")
        assert response is not None and response.status == 200, f"{path}: {response and response.status}"
        return response

    def close(self):
        self.context.close()
        self.server.shutdown()
        self.server.server_close()

    def has_id(self, frag: str) -> bool:
        # ids from notebook headings may hold quotes and colons: look them up by value, not through a CSS selector
        return self.page.evaluate("f => document.querySelectorAll('[id]').length > 0 && "
                                  "Array.from(document.querySelectorAll('[id]')).filter(e => e.id === f).length === 1",
                                  frag)  # fmt: skip

    def crawl(self) -> dict:
        """Visit every page reachable from index.html; check links, anchors and images on each."""
        seen, todo, outbound, files = set(), deque(["index.html"]), set(), set()
        while todo:
            path = todo.popleft()
            if path in seen:
                continue
            seen.add(path)
            self.goto(path)
            # figures are loading="lazy": below the fold a headless page never fetches them unless told to
            self.page.eval_on_selector_all(
                "img", "els => Promise.all(els.map(i => { i.loading = 'eager'; return i.complete ? null : "
                "new Promise(r => { i.onload = i.onerror = r; setTimeout(r, 10000); }); }))")  # fmt: skip
            broken_images = self.page.eval_on_selector_all(
                "img", "els => els.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src)")  # fmt: skip
            assert broken_images == [], f"{path}: images that did not load: {broken_images}"
            hrefs = self.page.eval_on_selector_all("a[href]", "els => els.map(a => a.href)")
            for href in hrefs:
                url, frag = urldefrag(href)
                if not url.startswith(self.base):
                    assert urlsplit(url).hostname in {"arxiv.org", "doi.org"}, (
                        f"{path}: unexpected outbound link {href}"
                    )
                    outbound.add(url)
                    continue
                rel = url[len(self.base) :] or "index.html"
                if frag:
                    # the anchor must exist on its page (checked when we get there)
                    self._anchors.setdefault(rel, set()).add(frag)
                if rel.endswith(".html"):
                    todo.append(rel)
                else:
                    files.add(rel)
            for frag in self._anchors.get(path, set()):
                assert self.has_id(frag), f"{path}#{frag} does not exist"
        for rel in sorted(files):
            response = self.page.request.get(urljoin(self.base, rel))
            assert response.status == 200, f"{rel}: HTTP {response.status}"
        # anchors on pages visited before the link to them was seen
        for rel, frags in self._anchors.items():
            if rel.endswith(".html"):
                self.goto(rel)
                for frag in frags:
                    assert self.has_id(frag), f"{rel}#{frag} does not exist"
        return {"pages": sorted(seen), "outbound": sorted(outbound), "files": sorted(files)}


@pytest.fixture(scope="module")
def sandbox_site(base_sandbox, tmp_path_factory):
    from scoped import enrich

    # with scope tables and schema-2 fields, so the crawl follows their links too (scope rows -> claim cards), and a
    # paper in progress (a folder from `papers new`, no results) for the catalog page
    sb = enrich(clone(base_sandbox, tmp_path_factory.mktemp("browser-sandbox") / "project"))
    r = run_papers(sb, "new", "r2r_2025", "--catalog-id", "7")
    assert r.returncode == 0, r.stderr
    out = tmp_path_factory.mktemp("browser-site") / "site"
    r = run_papers(sb, "site", "build", "--out", str(out))
    assert r.returncode == 0, r.stderr
    return out


def visible_rows(page) -> list[str]:
    """`paper/claim` of the rows the table shows now."""
    return page.eval_on_selector_all(
        "#verdicts tbody tr:not([hidden])",
        "rows => rows.map(r => r.cells[0].innerText.trim() + '/' + r.querySelector('.claim-id').innerText.trim())",
    )


def test_table_filters_sorts_and_every_link_resolves(browser, sandbox_site):
    s = Session(browser, sandbox_site)
    try:
        s.goto("index.html")
        page = s.page
        everything = ["alpha_2024/a1", "alpha_2024/a2", "beta_2023/b1", "gamma_2022/c1"]
        assert sorted(visible_rows(page)) == everything
        assert page.inner_text("#shown-count") == "4"

        page.select_option("#f-verdict", "not reproduced")
        assert visible_rows(page) == ["alpha_2024/a2"]
        assert "verdict=not%20reproduced" in page.url  # the filtered view can be shared
        page.select_option("#f-verdict", "")
        page.select_option("#f-fidelity", "analogue")
        assert visible_rows(page) == ["beta_2023/b1"]
        page.click("#f-reset")
        page.select_option("#f-category", "kv-cache-and-sparse-attention")
        assert visible_rows(page) == ["gamma_2022/c1"]
        page.click("#f-reset")
        page.check("#f-all-profiles")  # beta's default run appears beside its headline (full) run
        assert sorted(visible_rows(page)) == sorted([*everything, "beta_2023/b1"])
        page.click("#f-reset")
        page.fill("#f-search", "gamma")
        assert visible_rows(page) == ["gamma_2022/c1"]
        page.fill("#f-search", "no such thing")
        assert visible_rows(page) == [] and page.is_visible("#no-rows")
        page.fill("#f-search", "precondition failed")  # the checks column is searchable like the rest
        assert visible_rows(page) == ["gamma_2022/c1"]
        page.click("#f-reset")
        page.click("button.card.verdict-inconclusive")  # the summary cards filter too
        assert visible_rows(page) == ["gamma_2022/c1"]
        page.click("#f-reset")

        page.click("th:has-text('Ours')")
        values = page.eval_on_selector_all(
            "#verdicts tbody tr:not([hidden]) td.num", "t => t.map(x => +x.dataset.value)"
        )
        assert values == sorted(values) and values[0] == 0.2
        page.click("th:has-text('Ours')")
        values = page.eval_on_selector_all(
            "#verdicts tbody tr:not([hidden]) td.num", "t => t.map(x => +x.dataset.value)"
        )
        assert values == sorted(values, reverse=True)

        # a shared URL restores its filters (leave first: a hash-only change is not a new page load)
        page.goto("about:blank")
        s.goto("index.html#fidelity=faithful")
        assert visible_rows(page) == ["alpha_2024/a2"]

        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        s.goto("index.html")
        page.screenshot(path=ARTIFACTS / "site-index.png", full_page=True)
        assert page.is_visible("table.papers tr[data-paper='alpha_2024']")
        s.goto("papers/beta_2023/index.html")
        assert page.locator(".katex").count() >= 1  # math typeset by the local KaTeX
        page.screenshot(path=ARTIFACTS / "site-paper.png", full_page=True)
        s.goto("papers/gamma_2022/index.html")
        card = page.locator("#claim-default-c1")
        assert card.locator(".preconditions li.failed").is_visible() and card.locator(".decide").is_visible()
        page.click("table.scope a[href='#claim-default-c1']")  # a tested scope row leads to its claim
        assert page.evaluate("location.hash") == "#claim-default-c1"
        page.screenshot(path=ARTIFACTS / "site-paper-checks.png", full_page=True)
        print(f"\nscreenshots: {ARTIFACTS / 'site-index.png'}, {ARTIFACTS / 'site-paper.png'}")

        crawled = s.crawl()
        assert len(crawled["pages"]) == 10  # index, catalog, three papers and r2r_2025 in progress, with notebooks
        assert "papers/r2r_2025/index.html" in crawled["pages"]
        assert "papers/alpha_2024/results/default.json" in crawled["files"]
        assert crawled["outbound"] == ["https://arxiv.org/abs/2306.09927"]
        assert s.outside == [], f"requests left the machine: {s.outside}"
        assert s.errors == [], s.errors
        assert s.failed == [], s.failed
    finally:
        s.close()


def test_the_real_projects_site_loads_cleanly(browser, tmp_path):
    from shared.runner.ciplan import site_sample

    # every paper under `make test-all`; else a rotating sample (crawling 200 papers' pages takes 17 min on 2 cores)
    build(tmp_path / "site", papers=site_sample(), log=lambda msg: None)
    s = Session(browser, tmp_path / "site")
    try:
        crawled = s.crawl()
        assert len(crawled["pages"]) >= 1
        for page in crawled["pages"]:
            if page.endswith("notebook.html"):
                s.goto(page)
                assert s.page.locator(".jp-Cell").count() > 0
                s.page.screenshot(path=ARTIFACTS / "site-notebook.png")
        assert s.outside == [], f"requests left the machine: {s.outside}"
        assert s.errors == [], s.errors
        assert s.failed == [], s.failed
    finally:
        s.close()


def visible_catalog(page) -> list[str]:
    """`id:state` of the catalog rows the page shows now."""
    return page.eval_on_selector_all(
        "#catalog tbody tr:not([hidden])", "rows => rows.map(r => r.cells[0].innerText.trim() + ':' + r.dataset.state)"
    )


def test_catalog_page_filters_by_category_tier_and_status(browser, sandbox_site):
    s = Session(browser, sandbox_site)
    try:
        s.goto("index.html")
        s.page.click("#catalog-link")  # the index page links to the catalog
        s.page.wait_for_load_state("networkidle")
        page = s.page
        assert page.url.endswith("/catalog.html")
        assert len(visible_catalog(page)) == 195 and page.inner_text("#shown-count") == "195"
        total = page.inner_text("#catalog-total")
        assert "All 195 catalogued papers" in total and "3 replicated" in total and "1 in progress" in total
        assert page.inner_text("button.card.state-in-progress .num") == "1"

        page.select_option("#f-category", "decoding-and-speculative")
        assert len(visible_catalog(page)) == 14 and page.inner_text("#shown-count") == "14"
        page.select_option("#f-state", "replicated")
        assert visible_catalog(page) == ["3:replicated"]
        page.select_option("#f-state", "in progress")
        assert visible_catalog(page) == ["7:in progress"]
        assert "state=in%20progress" in page.url and "category=decoding-and-speculative" in page.url
        page.select_option("#f-tier", "T3")
        assert visible_catalog(page) == [] and page.is_visible("#no-rows")
        page.click("#f-reset")
        page.click("button.card.state-replicated")  # the totals filter too
        assert visible_catalog(page) == ["3:replicated", "5:replicated", "29:replicated"]
        alpha = page.locator("#catalog tbody tr:not([hidden])").first
        assert "1/2 reproduced, 1 not reproduced" in alpha.inner_text() and "fresh" in alpha.inner_text()
        alpha.locator("a").click()  # the link to the paper's page
        page.wait_for_load_state("networkidle")
        assert page.url.endswith("/papers/alpha_2024/index.html")

        page.goto("about:blank")
        s.goto("catalog.html#category=tokenization&state=not%20started")  # a shared view restores its filters
        assert len(visible_catalog(page)) == 19
        page.click("#f-reset")
        page.click("#by-category button[data-value='kv-cache-and-sparse-attention']")
        assert len(visible_catalog(page)) == 9
        page.click("th:has-text('Verdicts')")  # share reproduced, ascending; papers without results last
        assert visible_catalog(page)[0] == "29:replicated"
        page.screenshot(path=ARTIFACTS / "site-catalog.png", full_page=True)
        assert s.outside == [], f"requests left the machine: {s.outside}"
        assert s.errors == [], s.errors
        assert s.failed == [], s.failed
    finally:
        s.close()
