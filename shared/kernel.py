"""Launch an IPython kernel with the project's pinned settings: the `argv` of every kernelspec in `kernels/`.

Thread counts must be set before numpy or torch load their BLAS, so they are fixed here, in the process that becomes the
kernel, rather than in a notebook cell. `TOKEN_PAPERS_THREADS` (set by the runner, which divides the cores between
parallel jobs) wins over the kernelspec's `TOKEN_PAPERS_DEFAULT_THREADS`.
"""

import os
import sys

THREAD_VARS = (
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
)


def pin_threads() -> str:
    threads = os.environ.get("TOKEN_PAPERS_THREADS") or os.environ.get("TOKEN_PAPERS_DEFAULT_THREADS") or "1"
    if not threads.isdigit() or int(threads) < 1:
        raise SystemExit(f"TOKEN_PAPERS_THREADS must be a positive integer, got {threads!r}")
    for var in THREAD_VARS:
        os.environ[var] = threads
    os.environ["TOKEN_PAPERS_THREADS"] = threads
    return threads


def main() -> None:
    pin_threads()
    from ipykernel import kernelapp

    # the extension pins torch, warnings and plotting, and records the environment fingerprint at start
    sys.argv = [sys.argv[0], *sys.argv[1:], "--IPKernelApp.extensions=shared.kernel_init"]
    kernelapp.launch_new_instance()


if __name__ == "__main__":
    main()
