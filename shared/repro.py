"""Seeds, devices and the environment fingerprint that every result carries."""

import functools
import hashlib
import os
import platform
import random
import subprocess
from importlib import metadata

from shared import ROOT

# the packages whose versions can change a number in a result
FINGERPRINT_PACKAGES = (
    "torch", "transformers", "tokenizers", "datasets", "numpy", "scipy", "pandas", "accelerate", "safetensors",
    "papermill", "ipykernel", "nbval", "dvc",
)  # fmt: skip


def set_seed(seed: int) -> None:
    """Seed Python, numpy and torch (all devices)."""
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def device() -> str:
    """The device the kernel was started for: `cuda` under the gpu kernel when a GPU is present, else `cpu`."""
    import torch

    want = os.environ.get("TOKEN_PAPERS_DEVICE", "cpu")
    return "cuda" if want == "cuda" and torch.cuda.is_available() else "cpu"


def git_commit(root=ROOT) -> tuple[str, bool]:
    """`(commit, dirty)` of the checkout; `TOKEN_PAPERS_COMMIT` stands in where there is no git (a cluster worker)."""
    if os.environ.get("TOKEN_PAPERS_COMMIT"):
        return os.environ["TOKEN_PAPERS_COMMIT"], os.environ.get("TOKEN_PAPERS_DIRTY") == "1"
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True)
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                                capture_output=True, text=True, check=True)  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        return "unknown", True
    return commit.stdout.strip(), bool(status.stdout.strip())


def file_digest(path, algorithm: str = "sha256", chunk: int = 1 << 22) -> str:
    """Hex digest of a file, read in chunks (model weights and data files are too large to read at once)."""
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def file_sha256(path) -> str:
    return file_digest(path, "sha256")


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


@functools.cache
def fingerprint() -> dict:
    """What makes this kernel's numbers comparable to another's: commit, versions, hardware, threads, kernel."""
    import torch

    commit, dirty = git_commit()
    lock = ROOT / "requirements.lock"
    versions = {}
    for name in FINGERPRINT_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return {
        "commit": commit,
        "dirty": dirty,
        "python": platform.python_version(),
        "packages": versions,
        "lock_sha256": file_sha256(lock) if lock.exists() else None,
        "platform": platform.platform(),
        "cpu": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "gpu": gpu,
        "torch_threads": torch.get_num_threads(),
        "kernel": os.environ.get("TOKEN_PAPERS_KERNEL", "not a project kernel"),
        "deterministic": torch.are_deterministic_algorithms_enabled(),
    }


def describe_fingerprint(fp: dict | None = None) -> str:
    """One line for the notebook: enough to tell two environments apart at a glance."""
    fp = fp or fingerprint()
    pk = fp["packages"]
    dirty = "+dirty" if fp["dirty"] else ""
    return (f"env: commit {fp['commit'][:10]}{dirty} | kernel {fp['kernel']} | torch {pk['torch']} "
            f"transformers {pk['transformers']} | {fp['gpu'] or fp['cpu']} | {fp['torch_threads']} threads")  # fmt: skip
