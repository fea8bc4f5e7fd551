"""`papers doctor`: is this environment the project's? Python, the CPU torch build, kernels, the `shared` package."""

import argparse
import sys
from importlib import metadata

from shared import ROOT


def findings() -> list[tuple[bool, str]]:
    out = []
    out.append((sys.version_info[:2] == (3, 11), f"Python {sys.version.split()[0]} (the lock is for 3.11)"))
    try:
        import torch

        cpu_only = "+cpu" in torch.__version__ or not torch.version.cuda
        out.append((torch.__version__.startswith("2.13.0"), f"torch {torch.__version__}"
                    + ("" if cpu_only else " (a CUDA build: fine on a GPU machine, several GB elsewhere)")))  # fmt: skip
    except ImportError:
        out.append((False, "torch is not installed: run `make setup`"))
    import shared

    where = shared.__file__ or ""
    out.append((where.startswith(str(ROOT)), f"`shared` imports from {where} (must be this checkout, installed -e)"))
    try:
        dist = metadata.distribution("shared")
        out.append((False, f"the unrelated PyPI package `shared` {dist.version} is installed: `pip uninstall shared`"))
    except metadata.PackageNotFoundError:
        pass
    from jupyter_client.kernelspec import KernelSpecManager

    specs = KernelSpecManager().find_kernel_specs()
    for name in ("token-papers-cpu", "token-papers-gpu"):
        out.append((name in specs, f"kernel {name}: {specs.get(name, 'not installed (run `make setup`)')}"))
    return out


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--quiet", action="store_true", help="print only problems")


def main(args) -> int:
    bad = 0
    for ok, msg in findings():
        bad += not ok
        if not ok or not args.quiet:
            print(f"{'ok ' if ok else 'BAD'} {msg}")
    return 1 if bad else 0
