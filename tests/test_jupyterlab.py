"""JupyterLab, as a user starts it (`make lab`), lists the project's kernels and serves a paper notebook with outputs."""

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from shared import ROOT

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab():
    port, token = _free_port(), "token-papers-test"
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
           f"--IdentityProvider.token={token}", f"--notebook-dir={ROOT / 'papers'}", "--ServerApp.open_browser=False", *(["--allow-root"] if os.geteuid() == 0 else [])]  # fmt: skip
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(ROOT / "build" / "jupyter-test-config")}
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
            break
        except OSError:
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("JupyterLab did not start within 90 s")
    get = lambda path: json.load(urllib.request.urlopen(f"{base}{path}?token={token}", timeout=30))  # noqa: E731
    get.page_url = f"{base}/lab?token={token}"
    yield get
    proc.terminate()
    proc.wait(timeout=30)


def test_lab_lists_the_project_kernels(lab):
    specs = lab("/api/kernelspecs")["kernelspecs"]
    assert {"token-papers-cpu", "token-papers-gpu"} <= set(specs)
    assert specs["token-papers-cpu"]["spec"]["display_name"] == "Token Papers (CPU, deterministic, offline)"


def test_lab_opens_the_first_replication_with_its_outputs(lab):
    from shared.paper import discover

    first = discover()[0].slug
    nb = lab(f"/api/contents/{first}/{first}.ipynb")["content"]
    assert nb["metadata"]["kernelspec"]["name"] == "token-papers-cpu"
    outputs = [o for c in nb["cells"] if c["cell_type"] == "code" for o in c["outputs"]]
    assert any("image/png" in o.get("data", {}) for o in outputs), "the plots are stored in the notebook"
    assert any("claims reproduced" in "".join(o.get("text", "")) for o in outputs), "the verdict line is stored"


def test_lab_greets_a_new_user_without_the_news_prompt(lab, tmp_path):
    # JupyterLab 4 asks every new user whether to fetch Jupyter news; the project's settings
    # (kernels/jupyterlab-settings.json, installed by `make setup`) answer it. Checked in a real browser.
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("needs the playwright package") if not os.environ.get("CI") else pytest.fail("needs playwright")
    if not Path(chromium).exists():
        pytest.skip("needs chromium") if not os.environ.get("CI") else pytest.fail("needs chromium")
    overrides = Path(sys.prefix) / "share/jupyter/lab/settings/overrides.json"
    assert json.loads(overrides.read_text()) == json.loads((ROOT / "kernels/jupyterlab-settings.json").read_text())
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run",
             "--disable-component-update", "--disable-sync"]  # fmt: skip
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=flags, headless=True)
        page = browser.new_page()
        page.goto(lab.page_url)
        page.wait_for_selector("#jp-main-dock-panel", timeout=90_000)
        page.wait_for_timeout(4000)  # the prompt appears a moment after the shell
        text = page.inner_text("body")
        browser.close()
    assert "Jupyter news" not in text, "JupyterLab asks a new user about Jupyter news"
