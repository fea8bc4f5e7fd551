"""pytest settings for the notebooks under papers/.

nbval re-executes every notebook, and a notebook's last cell (`run.finish`) writes `results/<profile>.json` and its
figures. Under nbval they go to a throwaway staging folder instead, so that testing never rewrites the committed
result records (only `papers run` does).
"""

import os
import tempfile


def pytest_configure(config):
    if getattr(config.option, "nbval", False) or getattr(config.option, "nbval_lax", False):
        os.environ.setdefault("TOKEN_PAPERS_OUTPUT_DIR", tempfile.mkdtemp(prefix="token-papers-nbval-"))
