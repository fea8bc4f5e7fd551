"""IPython extension loaded by every project kernel at start: determinism, quiet output, the environment fingerprint."""

import logging
import os
import tempfile
import warnings
from pathlib import Path

log = logging.getLogger("token_papers.kernel")


def _warnings_to_file() -> Path:
    # nbval compares stderr, and a stray library warning must not fail a result cell; warnings are kept, in a log file
    log_dir = Path(os.environ.get("TOKEN_PAPERS_LOG_DIR") or Path(tempfile.gettempdir()) / "token-papers")
    log_dir.mkdir(parents=True, exist_ok=True)
    path = log_dir / f"kernel-{os.getpid()}-warnings.log"
    handler = logging.FileHandler(path, delay=True)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(message)s"))
    logging.captureWarnings(True)
    logging.getLogger("py.warnings").addHandler(handler)
    logging.getLogger("py.warnings").propagate = False
    warnings.simplefilter("default")
    return path


def configure() -> None:
    """Pin what makes two runs comparable. Safe to call twice."""
    _warnings_to_file()
    import torch

    torch.set_num_threads(int(os.environ.get("TOKEN_PAPERS_THREADS", "1")))
    # warn_only: an op without a deterministic kernel logs (to the warnings file) instead of failing the notebook
    torch.use_deterministic_algorithms(True, warn_only=True)
    torch.backends.cudnn.benchmark = False
    torch.backends.cudnn.deterministic = True
    import matplotlib

    matplotlib.rcParams["svg.hashsalt"] = "token-papers"
    matplotlib.rcParams["figure.dpi"] = 100
    from shared import repro

    repro.fingerprint()  # computed once now, so every result of this kernel carries the same record


def load_ipython_extension(ipython) -> None:
    configure()
