"""`papers site build [--out site]` and `papers site serve [--port 8000]`: the static results site."""

import argparse
from pathlib import Path

from shared import ROOT


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    b = sub.add_parser("build", help="write the site (default: site/)", description="write the static site")
    b.add_argument("--out", type=Path, default=ROOT / "site", help="output folder (default: site/ at the repo root)")
    b.add_argument("--no-notebooks", action="store_true", help="skip rendering the notebooks (faster)")
    s = sub.add_parser("serve", help="serve the site on 127.0.0.1", description="serve the built site locally")
    s.add_argument("--dir", type=Path, default=ROOT / "site", help="the built site (default: site/)")
    s.add_argument("--port", type=int, default=8000, help="port on 127.0.0.1 (default: 8000; 0 = any free port)")
    s.add_argument("--build", action="store_true", help="build the site first")


def main(args) -> int:
    from shared.browse.build import SiteError, build
    from shared.cli import UsageError

    if args.action == "build" or getattr(args, "build", False):
        out = args.out if args.action == "build" else args.dir
        try:
            report = build(out, notebooks=not getattr(args, "no_notebooks", False))
        except SiteError as e:
            raise UsageError(str(e)) from None
        c = report["counts"]
        print(f"wrote {len(report['pages'])} pages to {out}: {c['claims']} claims from {c['papers']} paper{'s' if c['papers'] != 1 else ''}"
              f"{'' if report['katex'] else ' (no KaTeX: math shows as TeX)'}")  # fmt: skip
        if args.action == "build":
            print(f"open {out / 'index.html'}, or run `papers site serve`")
            return 0
    from shared.browse.serve import make_server

    if not (args.dir / "index.html").exists():
        raise UsageError(
            f"{args.dir} has no index.html: run `papers site build` first (or `papers site serve --build`)"
        )
    try:
        server = make_server(args.dir, args.port)
    except OSError as e:
        raise UsageError(
            f"cannot listen on 127.0.0.1:{args.port}: {e.strerror}; try --port 0 for any free port"
        ) from None
    print(f"serving {args.dir} at http://127.0.0.1:{server.server_address[1]}/ (Ctrl-C stops)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0
