"""Benchmark: how long `papers data build` takes here, against the 10-minute target and an I/O baseline.

    .venv/bin/python ci/bench_data.py [--jobs 2] [--also-serial]

Builds the full data set into a temporary folder (data/ and data.dvc are not touched), checks that it reproduces the
md5 in data.dvc, then times a plain copy of the same files (the floor any build must pay) in the same run. Prints
ratios, not pass/fail: wall time depends on how busy the machine is, so CPU time and the load average are printed too.
"""

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

TARGET_S = 600.0


def cpu_seconds() -> float:
    """User + system CPU time of this process and its finished children (the build's worker processes)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def timed_build(folder: Path, jobs: int) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds and the build's status (0 = reproduces data.dvc)."""
    from shared.data.build import build

    t0, c0 = time.perf_counter(), cpu_seconds()
    status = build(jobs=jobs, data_dir=folder, record_result=False, push=False)
    return time.perf_counter() - t0, cpu_seconds() - c0, status


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--also-serial", action="store_true", help="also time a 1-worker build (parallel speedup)")
    args = ap.parse_args()
    print(f"cores: {os.cpu_count()}, load average before: {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory(prefix="bench-data-") as tmp:
        tmp = Path(tmp)
        secs, cpu, status = timed_build(tmp / "data", args.jobs)
        size = sum(p.stat().st_size for p in (tmp / "data").rglob("*") if p.is_file())
        t0 = time.perf_counter()
        shutil.copytree(tmp / "data", tmp / "copy")
        copy_s = time.perf_counter() - t0
        serial = None
        if args.also_serial:
            serial, _, _ = timed_build(tmp / "serial", 1)
    print()
    print(f"data build, {args.jobs} workers: {secs:7.1f} s for {size / 1e6:.0f} MB "
          f"({'reproduces data.dvc' if status == 0 else 'DOES NOT reproduce data.dvc'})")  # fmt: skip
    print(f"  vs the 10-min target:  {secs / TARGET_S:6.2f} x target ({TARGET_S / secs:.1f}x headroom)")
    # on a busy machine wall time mostly measures other people's jobs; CPU time does not
    print(
        f"  CPU time:              {cpu:7.1f} s (an idle {os.cpu_count()}-core machine needs about "
        f"{cpu / min(args.jobs, os.cpu_count() or 1):.0f}-{cpu:.0f} s of wall time)"
    )
    print(f"  vs copying the bytes:  {secs / copy_s:6.1f} x a plain copy ({copy_s:.1f} s)")
    if serial:
        print(f"  1 worker:              {serial:7.1f} s, parallel speedup {serial / secs:.2f}x")
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    return status


if __name__ == "__main__":
    sys.exit(main())
