"""Benchmarks of the `papers` runner, each a ratio against a baseline measured in the same run (not timed tests).

    .venv/bin/python ci/bench_runner.py                 # all four, in a throwaway sandbox project
    .venv/bin/python ci/bench_runner.py --only a,c      # some of them
    .venv/bin/python ci/bench_runner.py --real          # (a) also on papers/icl_lsa_2023, the first real paper

(a) runner overhead per notebook: `papers run SLUG --force` vs bare `papermill` on the same notebook    target <= 1.15x
(b) `--jobs 2` vs `--jobs 1` wall time on a set of light notebooks                                     target <= 0.65x
(c) no-op `papers run --all` over 200 generated, up-to-date papers                                     target <  10 s
(d) dask backend (LocalCluster of 2 single-threaded workers, and real `dask scheduler`/`dask worker`
    processes on 127.0.0.1) vs the local backend with `--jobs 2`, same papers                          reported

Timings alternate baseline and candidate and report medians, so that load from other processes on a shared machine
hits both about equally; say how busy the machine was (printed) when you quote the figures.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from shared.runner import sandbox

BIN = sandbox.bin_dir()
LIGHT = "import numpy as np\nrng = np.random.default_rng(SEED)\na = rng.standard_normal((400, 400))\nfor _ in range(ROUNDS):\n    a = np.tanh(a @ a.T / 400)\nx = float(abs(a).mean())"  # fmt: skip


def timed(cmd: list[str], cwd: Path, env: dict, expect_ok: bool = True) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    took = time.perf_counter() - t0
    if expect_ok and proc.returncode != 0:
        raise SystemExit(f"benchmark command failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stdout}\n{proc.stderr}")
    return took


def interleaved(variants: dict[str, tuple[list[str], dict]], cwd: Path, reps: int) -> dict[str, float]:
    """Median wall time of each command, the variants taking turns and each repetition starting with the next one, so
    that a trend in the machine's load (other processes starting or ending) does not favour one of them."""
    names = list(variants)
    times: dict[str, list[float]] = {n: [] for n in names}
    for rep in range(reps):
        for name in names[rep % len(names) :] + names[: rep % len(names)]:
            cmd, env = variants[name]
            times[name].append(timed(cmd, cwd, env))
    return {n: statistics.median(t) for n, t in times.items()}


def light_project(root: Path, n: int, rounds: int = 30) -> list[str]:
    sandbox.make_project(root)
    slugs = [f"light{i:03d}_2024" for i in range(n)]
    for i, slug in enumerate(slugs):
        sandbox.add_paper(root, slug, [LIGHT], parameters={"SEED": i, "ROUNDS": rounds}, value="x")
    return slugs


def bench_overhead(root: Path, slug: str, reps: int, label: str) -> float:
    """(a): the same notebook through `papers run --force` and through bare papermill (its own output folder)."""
    env = sandbox.env(root) if root != sandbox.REAL_ROOT else dict(os.environ)
    paper = root / "papers" / slug
    scratch = Path(tempfile.mkdtemp(prefix="bench-papermill-"))
    bare_env = {**env, "TOKEN_PAPERS_OUTPUT_DIR": str(scratch / "results")}  # results land in scratch, not the paper
    bare_cmd = [str(BIN / "papermill"), str(paper / f"{slug}.ipynb"), str(scratch / "out.ipynb"), "-k",
                "token-papers-cpu", "--cwd", str(paper), "--no-progress-bar"]  # fmt: skip
    run_cmd = [str(BIN / "papers"), "run", slug, "--force", "--progress", "plain"]
    timed(bare_cmd, root, bare_env)  # warm the file cache once
    m = interleaved({
        "papermill": (bare_cmd, bare_env),
        "papers run": (run_cmd, env),
        "papers run --no-dvc": ([*run_cmd, "--no-dvc"], env),
        "papers --help": ([str(BIN / "papers"), "--help"], env),  # what every `papers` command pays first
    }, root, reps)  # fmt: skip
    shutil.rmtree(scratch, ignore_errors=True)
    ratio = m["papers run"] / m["papermill"]
    print(f"(a) overhead, {label}: papermill {m['papermill']:.1f} s, papers run {m['papers run']:.1f} s -> ratio "
          f"{ratio:.2f}x (target <= 1.15x); without the DVC record {m['papers run --no-dvc'] / m['papermill']:.2f}x; "
          f"the `papers` command alone starts in {m['papers --help']:.1f} s (medians of {reps})")  # fmt: skip
    return ratio


def bench_jobs(root: Path, reps: int) -> float:
    """(b): the whole light set, forced, one notebook at a time vs two at a time."""
    env = sandbox.env(root)
    base = [str(BIN / "papers"), "run", "--all", "--force", "--no-dvc"]
    m = interleaved({"1": ([*base, "--jobs", "1"], env), "2": ([*base, "--jobs", "2"], env)}, root, reps)
    ratio = m["2"] / m["1"]
    n = len(list((root / "papers").glob("*/paper.yaml")))
    print(f"(b) {n} light notebooks: --jobs 1 {m['1']:.1f} s, --jobs 2 {m['2']:.1f} s -> ratio {ratio:.2f}x "
          f"(target <= 0.65x; medians of {reps})")  # fmt: skip
    return ratio


RECORD_ALL = """
import sys
from shared.paper import discover
from shared.results import Run, write_json_atomic
from shared.claims import AtMost, Claim, evaluate_claims

claims = evaluate_claims([Claim("c", "c", 0.0, "Sec. 1", AtMost(1.0), "analogue")], {"c": 0.5})
for paper in discover():
    run = Run(paper, "default", paper.parameters(), [0])
    write_json_atomic(paper.results_path("default"), run.record(claims))
"""


def bench_noop(root: Path, n: int = 200) -> float:
    """(c): 200 papers whose results match their inputs (recorded without running them); `papers run --all` must
    decide that all are fresh and do nothing."""
    sandbox.make_project(root)
    sandbox.write_module(root, "fixture_kv", "from shared.fixture_base import BASE\n")
    sandbox.write_module(root, "fixture_base", "BASE = 2\n")
    for i in range(n):
        body = ["from shared.fixture_kv import BASE\ny = BASE * N"] if i % 2 else ["y = N"]
        sandbox.add_paper(root, f"gen{i:03d}_2024", body, parameters={"N": i}, profiles={"full": {"N": i + 1}})
    subprocess.run([sys.executable, "-c", RECORD_ALL], cwd=root, env=sandbox.env(root), check=True)
    env = sandbox.env(root)
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        proc = subprocess.run([str(BIN / "papers"), "run", "--all"], cwd=root, env=env, capture_output=True, text=True)
        times.append(time.perf_counter() - t0)
        if proc.returncode != 0 or f"{n} fresh" not in proc.stdout:
            raise SystemExit(f"no-op run did something:\n{proc.stdout}\n{proc.stderr}")
    baseline = timed([str(BIN / "papers"), "--help"], root, env)
    best = min(times)
    print(f"(c) no-op `papers run --all` over {n} up-to-date papers: {best:.2f} s (best of 3; the `papers` CLI alone "
          f"starts in {baseline:.2f} s) (target < 10 s)")  # fmt: skip
    return best


def start_cluster(root: Path, workers: int) -> tuple[str, list[subprocess.Popen]]:
    """A real `dask scheduler` and `workers` single-threaded `dask worker` processes on 127.0.0.1."""
    info = root / ".bench-scheduler.json"
    info.unlink(missing_ok=True)
    env = sandbox.env(root)
    procs = [subprocess.Popen([str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                               "--scheduler-file", str(info)], cwd=root, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)]  # fmt: skip
    while not info.exists():
        time.sleep(0.2)
    for _ in range(workers):
        procs.append(subprocess.Popen([str(BIN / "dask"), "worker", "--scheduler-file", str(info), "--nthreads", "1",
                                       "--no-nanny", "--no-dashboard", "--host", "127.0.0.1"], cwd=root, env=env,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))  # fmt: skip
    time.sleep(5)
    return json.loads(info.read_text())["address"], procs


def bench_dask(root: Path, reps: int) -> tuple[float, float]:
    """(d): the light set through the dask backend vs the local backend, both two notebooks at a time."""
    env = sandbox.env(root)
    papers = str(BIN / "papers")
    local_cmd = [papers, "run", "--all", "--force", "--jobs", "2", "--no-dvc"]
    cluster_cmd = [*local_cmd, "--executor", "dask"]
    address, procs = start_cluster(root, 2)
    remote_cmd = [*local_cmd, "--executor", "dask", "--scheduler", address]
    try:
        m = interleaved({"local": (local_cmd, env), "cluster": (cluster_cmd, env), "remote": (remote_cmd, env)}, root,
                        reps)  # fmt: skip
    finally:
        for p in reversed(procs):
            p.terminate()
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
    r1, r2 = m["cluster"] / m["local"], m["remote"] / m["local"]
    print(f"(d) local --jobs 2 {m['local']:.1f} s; dask LocalCluster {m['cluster']:.1f} s -> {r1:.2f}x; "
          f"dask scheduler + 2 worker processes {m['remote']:.1f} s -> {r2:.2f}x (medians of {reps})")  # fmt: skip
    return r1, r2


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default="a,b,c,d", help="comma-separated subset of a,b,c,d")
    parser.add_argument("--reps", type=int, default=3, help="repetitions per timing (medians are reported)")
    parser.add_argument("--light", type=int, default=6, help="light notebooks for (b) and (d)")
    parser.add_argument("--real", action="store_true", help="(a) also on papers/icl_lsa_2023 (runs it 2 x reps times)")
    parser.add_argument("--keep", action="store_true", help="keep the sandbox folder")
    args = parser.parse_args()
    only = set(args.only.split(","))
    load = os.getloadavg()
    print(f"machine: {os.cpu_count()} cores, load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} at start")
    tmp = Path(tempfile.mkdtemp(prefix="bench-runner-"))
    try:
        if only & {"a", "b", "d"}:
            light = tmp / "light"
            slugs = light_project(light, args.light)
            subprocess.run([str(BIN / "papers"), "run", "--all", "--jobs", "2"], cwd=light, env=sandbox.env(light),
                           capture_output=True, check=True)  # fmt: skip
        if "a" in only:
            bench_overhead(light, slugs[0], args.reps, "light sandbox notebook")
            if args.real:
                bench_overhead(sandbox.REAL_ROOT, "icl_lsa_2023", args.reps, "papers/icl_lsa_2023 (default)")
        if "b" in only:
            bench_jobs(light, args.reps)
        if "c" in only:
            bench_noop(tmp / "noop")
        if "d" in only:
            bench_dask(light, args.reps)
    finally:
        if args.keep:
            print(f"sandbox kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    load = os.getloadavg()
    print(f"load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} at the end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
