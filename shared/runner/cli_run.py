"""`papers run`: execute paper notebooks whose results are stale, in parallel, and record what they produce."""

import argparse
import os
import sys


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("slugs", nargs="*", metavar="SLUG", help="papers to run (fresh ones are skipped unless --force)")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--all", action="store_true", help="every paper with the profile; fresh ones are skipped")
    which.add_argument("--stale", action="store_true", help="only papers whose result is stale, failed or missing")
    p.add_argument(
        "--profile",
        default="default",
        metavar="NAME",
        help="default (the notebook's parameters cell), full, gpu, or any params/NAME.yaml (default: default)",
    )
    p.add_argument(
        "--jobs",
        "-j",
        type=int,
        default=1,
        metavar="N",
        help="notebooks at once; BLAS threads per kernel = cores // N (default: 1)",
    )
    p.add_argument(
        "--executor",
        choices=("local", "dask"),
        default="local",
        help="local process pool (default) or a dask.distributed cluster",
    )
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="Dask scheduler, e.g. tcp://10.0.0.5:8786 (with --executor dask; default: a LocalCluster)",
    )
    p.add_argument("--force", action="store_true", help="run even papers whose result is fresh")
    p.add_argument(
        "--timeout",
        type=float,
        metavar="S",
        help="wall-clock limit per notebook in seconds (default: paper.yaml timeout_s, else 1800 for the "
        "default profile and 24 h for others)",
    )
    p.add_argument(
        "--memory",
        type=float,
        metavar="GIB",
        help="memory limit per notebook (papermill + kernel), in GiB (default: 90%% of RAM / jobs)",
    )
    p.add_argument("--no-dvc", action="store_true", help="do not record finished stages with `dvc commit`")
    p.add_argument("--dry-run", "-n", action="store_true", help="say what would run, run nothing")
    p.add_argument(
        "--exploratory",
        action="store_true",
        help="run even where the paper's claims, code, parameters or notebook code are not committed; the record is "
        "marked exploratory and is never released",
    )
    p.add_argument(
        "--progress",
        choices=("auto", "plain", "tty"),
        default="auto",
        help="live display on a terminal, plain lines elsewhere (default: auto)",
    )


def not_preregistered(papers, profile: str, force: bool) -> list[str]:
    """What keeps the papers about to run (stale ones, or all with `--force`) from a pre-registered record: their
    claims, code, params file or notebook code cells not committed (`shared.preregistration.check_clean`)."""
    from shared.preregistration import check_clean
    from shared.runner.freshness import assess

    found = []
    for paper in papers:
        problems = check_clean(paper, profile)  # git is quicker than hashing the inputs: ask it first
        if problems and (force or not assess(paper, profile).fresh):
            found += problems
    return found


def main(args) -> int:
    from shared.cli import UsageError
    from shared.preregistration import ENV_EXPLORATORY
    from shared.runner.orchestrate import Options, Runner, select, summary
    from shared.runner.state import RunnerBusy

    if args.slugs and (args.all or args.stale):
        raise UsageError("give paper slugs or --all/--stale, not both")
    if args.jobs < 1:
        raise UsageError(f"--jobs must be at least 1, got {args.jobs}")
    for flag, value, unit in (("--timeout", args.timeout, "seconds"), ("--memory", args.memory, "GiB")):
        if value is not None and not 0 < value < float("inf"):  # NaN fails too
            raise UsageError(f"{flag} must be a positive number of {unit}, got {value:g}")
    if args.scheduler and args.executor != "dask":
        raise UsageError("--scheduler needs --executor dask")
    opts = Options(profile=args.profile, jobs=args.jobs, executor=args.executor, scheduler=args.scheduler,
                   force=args.force, timeout_s=args.timeout, memory_gb=args.memory, dvc=not args.no_dvc,
                   dry_run=args.dry_run, progress=args.progress)  # fmt: skip
    papers = select(args.slugs, args.all or args.stale, args.profile)
    if args.exploratory:
        if args.executor == "dask":
            raise UsageError("--exploratory runs locally only: the flag does not reach Dask workers")
        os.environ[ENV_EXPLORATORY] = "1"  # the kernels inherit it; `Run.record` marks the record exploratory
    else:
        os.environ.pop(ENV_EXPLORATORY, None)
        found = not_preregistered(papers, args.profile, args.force)
        if found and args.dry_run:
            print(f"note: papers run would refuse: not pre-registered: {'; '.join(found)}", flush=True)
        elif found:
            print(f"papers run: error: not pre-registered: {'; '.join(found)}. Commit them before the run that they "
                  "judge, or run with --exploratory", file=sys.stderr)  # fmt: skip
            return 2
    try:
        report = Runner(opts).run(papers)
    except RunnerBusy as e:
        print(f"papers run: error: {e}", file=sys.stderr)
        return 3
    print(summary(report, args.profile, listed_skipped=not args.stale), flush=True)
    return report.exit_code
