"""`papers dvc-sync`: write each paper's `dvc.yaml` (one stage per profile) from its current import analysis."""

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("slugs", nargs="*", metavar="SLUG", help="papers to sync (default: all)")
    p.add_argument("--check", action="store_true", help="change nothing; exit 1 if a dvc.yaml is out of date")


def main(args) -> int:
    from shared.paper import discover, get
    from shared.runner.dvcstages import sync

    papers = [get(s) for s in args.slugs] if args.slugs else discover()
    changed = [p.slug for p in papers if sync(p, check=args.check)]
    verb = "out of date" if args.check else "written"
    for slug in changed:
        print(f"papers/{slug}/dvc.yaml {verb}")
    print(
        f"{len(changed)} of {len(papers)} dvc.yaml files {verb}"
        + (": run `papers dvc-sync`" if args.check and changed else "")
    )
    return 1 if args.check and changed else 0
