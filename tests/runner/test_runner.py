"""`papers run`, `status`, `list` and `dvc-sync` against a sandbox project: real papermill subprocesses and kernels,
real DVC, real Dask scheduler and worker processes on 127.0.0.1.

The tests share one sandbox and build on each other in file order (a paper that ran is then made stale, recorded by
DVC, run on Dask), which keeps the whole module near two minutes on two cores.
"""

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import time

import psutil
import pytest
from runner_support import SLOW, Lines, cpu_burners, papers, processes_under, start_papers, state, time_to_exit

from shared.runner import dvcstages, sandbox
from shared.runner.state import utc_now

pytestmark = pytest.mark.slow

FAILING = ["hang_2024", "boom_2024", "oom_2024", "die_2024"]  # the 40 s hang first: it sets the run's length


@pytest.fixture(scope="module")
def first_run(project):
    """One run of a good paper and four bad ones, two at a time, with a 1.5 GiB memory limit per notebook."""
    t0 = time.monotonic()
    # TOKEN_PAPERS_THREADS unset (`make test` sets it): the runner divides the cores between the jobs itself
    proc = papers(project, "run", *FAILING, "ok_2024", "--jobs", "2", "--memory", "1.5", "--progress", "plain",
                  TOKEN_PAPERS_THREADS="")  # fmt: skip
    return proc, time.monotonic() - t0


def test_failures_are_classified_and_the_run_goes_on(project, first_run):
    proc, _ = first_run
    assert proc.returncode == 1, proc.stdout + proc.stderr
    s = state(project)
    assert s["ok_2024/default"]["status"] == "ok"
    expected = {
        "boom_2024": ("cell-error", "cell error in cell 3: ValueError: boom"),
        "hang_2024": ("timeout", "timeout in cell 3 after 40 s"),
        "oom_2024": ("out-of-memory", "out of memory in cell 3"),
        "die_2024": ("kernel-died", "kernel died in cell 3"),
    }
    for slug, (failure, message) in expected.items():
        attempt = s[f"{slug}/default"]
        assert (attempt["status"], attempt["failure"]) == ("failed", failure), attempt
        assert attempt["message"].startswith(message), attempt
    assert s["hang_2024/default"]["duration_s"] < 60  # killed at its 40 s budget, not left to hang
    # the closing summary lists every paper with its status, duration and verdicts or reason
    table = proc.stdout.split("paper ", 1)[1]
    assert re.search(r"ok_2024 \[default\] +ok +\d+\.\d s  1/1 reproduced", table), table
    for slug, (failure, message) in expected.items():
        assert re.search(rf"{slug} \[default\] +{failure} +\d+\.\d s  {re.escape(message)}", table), table
    assert "4 failed, 1 succeeded" in proc.stdout


def test_nothing_is_left_running_or_half_written(project, first_run):
    assert processes_under(project) == []  # every kernel was killed, including the hung and the bloated one
    assert list((project / ".runner" / "staging").iterdir()) == []
    for slug in FAILING:
        paper = project / "papers" / slug
        assert not (paper / "results").exists()  # a failed run never writes results
        kept = paper / "runs" / "default" / f"FAILED-{slug}.ipynb"
        nb = json.loads(kept.read_text())
        assert "FAILED (" in nb["cells"][0]["source"]  # the banner says what went wrong
        assert (paper / "runs" / "default" / f"FAILED-{slug}.log").exists()


def test_a_good_run_updates_notebook_results_and_dvc(project, first_run):
    paper = project / "papers" / "ok_2024"
    record = json.loads((paper / "results" / "default.json").read_text())
    assert record["claims"][0]["ours"]["value"] == 6.0  # BASE * N from shared/fixture_base.py
    nb = json.loads((paper / "ok_2024.ipynb").read_text())
    outputs = [o.get("text", "") for c in nb["cells"] for o in c.get("outputs", [])]
    assert any("6" in "".join(t) for t in outputs)  # the committed notebook carries the default run's outputs
    assert "papermill" not in nb["cells"][2]["metadata"]  # cleaned of per-run timing metadata
    assert (paper / "runs" / "default" / "ok_2024.ipynb").exists()
    # two jobs at once share the cores: each kernel got cores // 2 BLAS and torch threads
    assert record["provenance"]["env"]["torch_threads"] == max(1, os.cpu_count() // 2)
    dvc = subprocess.run([str(sandbox.bin_dir() / "dvc"), "status", "--json", "papers/ok_2024/dvc.yaml:default"],
                         cwd=project, env=sandbox.env(project), capture_output=True, text=True)  # fmt: skip
    assert json.loads(dvc.stdout or "{}") == {}, dvc.stdout + dvc.stderr


def test_dvc_stage_lists_exactly_the_imported_modules(project, first_run):
    stages = (project / "papers" / "ok_2024" / "dvc.yaml").read_text()
    assert "../../shared/fixture_kv.py" in stages and "../../shared/fixture_base.py" in stages  # transitively
    assert "fixture_other" not in stages
    assert "params/full.yaml" in stages and "results/default.json" in stages
    check = papers(project, "dvc-sync", "--check")  # papers that never ran have no dvc.yaml yet
    assert check.returncode == 1 and "papers/boom_2024/dvc.yaml out of date" in check.stdout


def test_unchanged_paper_is_skipped(project, first_run):
    results = project / "papers" / "ok_2024" / "results" / "default.json"
    before = results.stat().st_mtime_ns
    (project / "papers" / "ok_2024" / "dvc.lock").unlink()  # DVC's record lost (say, in a merge)
    proc = papers(project, "run", "ok_2024", "--progress", "plain")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 fresh" in proc.stdout and "start" not in proc.stdout
    assert results.stat().st_mtime_ns == before
    # nothing ran, but the fresh result was recorded again, so that DVC agrees
    assert "recorded 1 stage(s) in DVC" in proc.stdout and (project / "papers" / "ok_2024" / "dvc.lock").exists()


def test_staleness_follows_imports(project, first_run):
    def status():
        proc = papers(project, "status", "ok_2024", "--profile", "default")
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    assert "fresh: inputs unchanged" in status()
    other, base = project / "shared" / "fixture_other.py", project / "shared" / "fixture_base.py"
    other.write_text("UNUSED = 2\n")  # a shared module the paper does not import
    assert "fresh" in status()
    base.write_text("BASE = 2  # same value, a new comment\n")  # imported through shared/fixture_kv.py
    assert "fresh" in status(), "a comment is not code"
    base.write_text("BASE = 3\n")
    assert "stale: code: shared/fixture_base.py changed since the recorded run" in status()
    base.write_text("BASE = 2\n")  # content, not time stamps, decides
    assert "fresh" in status()
    (project / "papers" / "ok_2024" / "params" / "full.yaml").write_text('PROFILE: "full"\nN: 31\n')
    assert "fresh" in status()  # only the full profile reads params/full.yaml
    full = papers(project, "status", "ok_2024", "--profile", "full").stdout
    assert "never run" in full


def test_status_and_list_explain_failures(project, first_run):
    proc = papers(project, "status", "hang_2024")
    assert "hang_2024 [default]  failed: timeout in cell 3 after 40 s" in proc.stdout
    assert "failed notebook: papers/hang_2024/runs/default/FAILED-hang_2024.ipynb" in proc.stdout
    planned = papers(project, "run", "--stale", "--dry-run").stdout
    assert "would run boom_2024 [default]: failed: cell error in cell 3" in planned
    assert "would run ok_2024" not in planned
    listing = papers(project, "list").stdout
    assert any(
        line.startswith("ok_2024") and "fresh" in line and "1/1 reproduced" in line for line in listing.splitlines()
    )
    assert any(line.startswith("after_2024") and "never run" in line for line in listing.splitlines())


def test_dvc_agrees_and_repro_runs_the_runner(project, first_run):
    dvc = [str(sandbox.bin_dir() / "dvc")]
    env = sandbox.env(project)
    (project / "shared" / "fixture_base.py").write_text("BASE = 5\n")
    assert "stale" in papers(project, "status", "ok_2024", "--profile", "default").stdout
    changed = subprocess.run([*dvc, "status", "--json", "papers/ok_2024/dvc.yaml:default"], cwd=project, env=env,
                             capture_output=True, text=True)  # fmt: skip
    assert "shared/fixture_base.py" in changed.stdout  # DVC sees the same change
    repro = subprocess.run([*dvc, "repro", "papers/ok_2024/dvc.yaml:default"], cwd=project, env=env,
                           capture_output=True, text=True, timeout=240)  # fmt: skip
    assert repro.returncode == 0, repro.stdout + repro.stderr
    assert "fresh" in papers(project, "status", "ok_2024", "--profile", "default").stdout
    after = subprocess.run([*dvc, "status", "--json", "papers/ok_2024/dvc.yaml:default"], cwd=project, env=env,
                           capture_output=True, text=True)  # fmt: skip
    assert json.loads(after.stdout or "{}") == {}
    record = json.loads((project / "papers" / "ok_2024" / "results" / "default.json").read_text())
    assert record["claims"][0]["ours"]["value"] == 15.0
    metrics = subprocess.run([*dvc, "metrics", "show"], cwd=project, env=env, capture_output=True, text=True)
    assert "papers/ok_2024/metrics/default.json" in metrics.stdout  # the compact file the runner wrote
    assert "claims.value-small.verdict" in metrics.stdout and "inputs_hash" not in metrics.stdout


def test_unknown_slug_and_profile_list_valid_choices(project):
    proc = papers(project, "run", "ok_2042")
    assert proc.returncode == 2
    assert "unknown paper 'ok_2042' (did you mean ok_2024" in proc.stderr
    assert "valid: after_2024, badparams_2024, boom_2024" in proc.stderr
    proc = papers(project, "run", "ok_2024", "--profile", "ful")
    assert proc.returncode == 2 and "ok_2024 has no profile 'ful'; valid: default, full" in proc.stderr
    proc = papers(project, "run", "--all", "--profile", "gpu")
    assert proc.returncode == 2 and "no paper has a profile 'gpu'; profiles in use: default, full" in proc.stderr


def test_bad_parameters_fail_that_paper_only(project):
    proc = papers(project, "run", "badparams_2024", "--profile", "full", "--progress", "plain")
    assert proc.returncode == 1
    attempt = state(project)["badparams_2024/full"]
    assert attempt["failure"] == "bad-parameters" and "unknown parameter(s) ['NOPE']" in attempt["message"]


EXIT_BUDGET_S = 10.0  # after Ctrl-C or SIGTERM: the runner, its papermill processes and its kernels all gone


@pytest.fixture
def no_leftovers(project):
    """After the test, pass or fail: the slow papers released and whatever still runs in the project killed, so that a
    failure here is reported once, not again by every test after it that counts processes."""
    yield
    for slug in SLOW:
        (project / "papers" / slug / "hold").unlink(missing_ok=True)
    left = processes_under(project)
    for p in left:
        with contextlib.suppress(psutil.Error):
            p.kill()
    psutil.wait_procs(left, timeout=10)


@pytest.mark.parametrize(
    ("sig", "burners"),
    [
        pytest.param(signal.SIGINT, 0, id="ctrl-c"),
        pytest.param(signal.SIGINT, 3, id="ctrl-c-under-load"),
        pytest.param(signal.SIGTERM, 3, id="sigterm-under-load"),
    ],
)
def test_interrupt_ends_everything_within_10_s_keeps_finished_work_and_resumes(project, sig, burners, no_leftovers):
    slow = [project / "papers" / slug for slug in SLOW]
    quick = ["after_2024", "third_2024"]
    for paper in slow:
        (paper / "hold").touch()
        (paper / "kernel.pid").unlink(missing_ok=True)
    started = utc_now()
    # three slots for four papers: whatever the order, both quick papers finish and both slow kernels then run
    runner = start_papers(project, "run", *quick, *SLOW, "--force", "--jobs", "3", "--progress", "plain")
    output = Lines(runner)
    try:
        for slug in quick:
            output.wait_for(f"ok      {slug}", 180)
        deadline = time.monotonic() + 120
        while not all((paper / "kernel.pid").exists() for paper in slow) and time.monotonic() < deadline:
            time.sleep(0.2)
        kernels = [psutil.Process(int(pid)) for paper in slow for pid in (paper / "kernel.pid").read_text().split()]

        second = papers(project, "run", "third_2024")
        assert second.returncode == 3
        assert "another runner is working in this checkout (pid" in second.stderr and "lock" in second.stderr

        with cpu_burners(burners):
            time.sleep(1 if burners else 0)  # let the load build up
            latency, left = time_to_exit(runner, sig)
        output.join(timeout=5)
    finally:
        if runner.poll() is None:
            runner.kill()
    out = output.text()
    print(f"\n{signal.Signals(sig).name} with {burners} CPU burners: runner and descendants gone in {latency:.2f} s")
    assert latency < EXIT_BUDGET_S, f"{latency:.1f} s; still running: {left}\n{out}"
    assert runner.returncode == 130, out
    assert "interrupted" in out
    assert not any(k.is_running() and k.status() != psutil.STATUS_ZOMBIE for k in kernels)  # the helpers too
    assert processes_under(project) == []
    assert list((project / ".runner" / "staging").iterdir()) == []
    s = state(project)
    for slug in quick:  # finished before the interrupt: installed and recorded, not lost
        assert s[f"{slug}/default"]["status"] == "ok"
        record = json.loads((project / "papers" / slug / "results" / "default.json").read_text())
        assert record["provenance"]["finished_utc"] >= started
    for paper in slow:
        assert s[f"{paper.name}/default"]["status"] == "interrupted" and not (paper / "results").exists()
    assert "not recorded in DVC yet (interrupted)" in out  # no `dvc commit` after an interrupt

    for paper in slow:
        (paper / "hold").unlink()
    resumed = papers(project, "run", *quick, *SLOW, "--jobs", "2", "--progress", "plain")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "2 succeeded, 2 fresh" in resumed.stdout  # the quick papers were done already and are not run again
    assert not any(f"start   {slug}" in resumed.stdout for slug in quick)
    assert "recorded 4 stage(s) in DVC" in resumed.stdout  # the finished stages the interrupted run left to it
    for paper in slow:
        shutil.rmtree(paper / "results")  # never run, for the next variant


def test_a_stopped_dvc_commit_leaves_dvc_lock_as_it_was(project):
    lock = project / "papers" / "after_2024" / "dvc.lock"
    if not lock.exists():  # the interrupt tests run it first; on its own, this test runs it itself
        ran = papers(project, "run", "after_2024", "--progress", "plain")
        assert ran.returncode == 0, ran.stdout + ran.stderr
    before = lock.read_bytes()

    def half_written_then_stop() -> bool:
        lock.write_text("schema: '2.0'\nstages:\n  defa")  # as DVC leaves it when stopped mid-write
        return True

    target = "papers/after_2024/dvc.yaml:default"
    assert dvcstages.commit([target], project, should_stop=half_written_then_stop) == dvcstages.STOPPED
    assert lock.read_bytes() == before


@pytest.fixture
def dask_cluster(project, tmp_path):
    """A `dask scheduler` and one `dask worker` on 127.0.0.1; the worker works in its own copy of the project."""
    worker_root = tmp_path / "worker-checkout"
    shutil.copytree(project, worker_root, ignore=shutil.ignore_patterns(".runner", "runs"))
    dask = str(sandbox.bin_dir() / "dask")
    info = tmp_path / "scheduler.json"
    scheduler = subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                                  "--scheduler-file", str(info)], cwd=tmp_path, env=sandbox.env(project),
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    worker = subprocess.Popen([dask, "worker", "--scheduler-file", str(info), "--nthreads", "1", "--no-dashboard",
                               "--no-nanny", "--host", "127.0.0.1"], cwd=worker_root, env=sandbox.env(worker_root),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not info.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        yield json.loads(info.read_text())["address"], worker_root
    finally:
        for proc in (worker, scheduler):  # the worker first, while it can still say goodbye to its scheduler
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def test_dask_backend_runs_on_a_worker_and_records_here(project, dask_cluster):
    address, worker_root = dask_cluster
    results = project / "papers" / "ok_2024" / "results" / "default.json"
    worker_results = worker_root / "papers" / "ok_2024" / "results" / "default.json"
    worker_before = worker_results.read_bytes() if worker_results.exists() else None
    started = utc_now()
    proc = papers(project, "run", "ok_2024", "--force", "--executor", "dask", "--scheduler", address,
                  "--progress", "plain")  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    attempt = state(project)["ok_2024/default"]
    assert attempt["status"] == "ok" and attempt["worker"].startswith("tcp://127.0.0.1:")
    assert json.loads(results.read_text())["provenance"]["finished_utc"] >= started  # recorded here, just now
    # results land here, not in the worker's checkout
    assert (worker_results.read_bytes() if worker_results.exists() else None) == worker_before
    assert "start   ok_2024" in proc.stdout  # progress events travel back from the worker

    # a worker whose checkout differs is refused by name, before anything runs
    (worker_root / "shared" / "fixture_kv.py").write_text("def double(n):\n    return 3 * n\n")
    proc = papers(project, "run", "ok_2024", "--force", "--executor", "dask", "--scheduler", address)
    assert proc.returncode == 1
    attempt = state(project)["ok_2024/default"]
    assert attempt["failure"] == "worker-mismatch" and "shared/fixture_kv.py differs" in attempt["message"]
    assert "fresh" in papers(project, "status", "ok_2024", "--profile", "default").stdout  # last good result kept
