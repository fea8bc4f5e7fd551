"""`papers status`: for each paper and profile, whether its result is fresh, and why not in words."""

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("slugs", nargs="*", metavar="SLUG", help="papers to check (default: all)")
    p.add_argument("--profile", metavar="NAME", help="only this profile (default: every profile of each paper)")
    p.add_argument("--check", action="store_true", help="exit with status 1 if any result is not fresh")


def main(args) -> int:
    from shared import ROOT
    from shared.paper import PaperError, discover, get
    from shared.runner.freshness import FRESH, assess
    from shared.runner.record import failed_notebook_path
    from shared.runner.state import State

    papers = [get(s) for s in args.slugs] if args.slugs else discover()
    state = State()
    not_fresh = 0
    for paper in papers:
        profiles = list(paper.profiles())
        if args.profile:
            if args.profile not in profiles:
                if args.slugs:
                    raise PaperError(f"{paper.slug} has no profile {args.profile!r}; valid: {', '.join(profiles)}")
                continue
            profiles = [args.profile]
        for profile in profiles:
            f = assess(paper, profile, state.get(paper.slug, profile))
            not_fresh += f.status != FRESH
            print(f"{paper.slug} [{profile}]  {f.describe()}")
            kept = failed_notebook_path(paper, profile)
            if f.status != FRESH and kept.exists():
                print(f"    failed notebook: {kept.relative_to(ROOT)}")
    return 1 if args.check and not_fresh else 0
