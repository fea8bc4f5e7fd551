"""pytest settings for the notebooks under papers/.

nbval re-executes every notebook, and a notebook's last cell (`run.finish`) writes `results/<profile>.json` and its
figures. Under nbval they go to a throwaway staging folder instead, so that testing never rewrites the committed
result records (only `papers run` does). The re-execution is held to the committed record by the rerun contract
(`shared.rerun`): the same verdicts, values within each claim's declared tolerance. The end of the session lists what
it compared.

When `TOKEN_PAPERS_CI_PLAN` names a plan file (`papers ci-plan --out`, written by `make test`), only the notebooks the
plan selects are collected: the papers whose own files changed, a capped sample of those a shared change staled, and
a rotating sample of the fresh ones (`shared.runner.ciplan`). `make test-all` sets no plan and re-executes every one.
"""

import os
import tempfile
from pathlib import Path


def _nbval(config) -> bool:
    return bool(getattr(config.option, "nbval", False) or getattr(config.option, "nbval_lax", False))


def pytest_ignore_collect(collection_path, config):
    plan = os.environ.get("TOKEN_PAPERS_CI_PLAN")
    if not plan or collection_path.suffix != ".ipynb":
        return None
    from shared import ROOT
    from shared.runner.ciplan import selected_paths

    try:
        rel = str(Path(collection_path).resolve().relative_to(ROOT))
    except ValueError:
        return None
    return None if rel in selected_paths(Path(plan)) else True


def pytest_configure(config):
    if _nbval(config):
        os.environ.setdefault("TOKEN_PAPERS_OUTPUT_DIR", tempfile.mkdtemp(prefix="token-papers-nbval-"))
        os.environ.setdefault("TOKEN_PAPERS_RERUN_CONTRACT", "1")
        _kernels_over_unix_sockets()


def _kernels_over_unix_sockets() -> None:
    """nbval starts its kernels with jupyter_client's TCP manager, and under `pytest -n 2` two of them can be handed
    the same port (`shared.runner.kernels`). nbval has no setting for the manager class; it looks the name up in its
    own module when it starts a kernel, so that name is pointed at the project's Unix-socket manager."""
    import jupyter_client.manager
    import nbval.kernel

    from shared.runner.kernels import IPCSyncKernelManager

    current = getattr(nbval.kernel, "KernelManager", None)
    if current is IPCSyncKernelManager:
        return
    if current is not jupyter_client.manager.KernelManager:
        raise RuntimeError(f"nbval.kernel.KernelManager is {current!r}, not jupyter_client's: check the nbval upgrade")
    nbval.kernel.KernelManager = IPCSyncKernelManager


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    staged = os.environ.get("TOKEN_PAPERS_OUTPUT_DIR")
    if not _nbval(config) or not staged or hasattr(config, "workerinput"):
        return
    from shared.rerun import summary_lines

    lines = summary_lines(Path(staged))
    if lines:
        terminalreporter.section("rerun contract")
        for line in lines:
            terminalreporter.write_line(line)
